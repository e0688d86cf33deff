import { Command, DomainEvent, Query } from '@finaegis/core';
import type { Depth } from './work';

export class PlaceOrder extends Command<number> {
  static readonly messageType = 'bench.PlaceOrder';
  constructor(
    readonly pair: string,
    readonly quantity: number,
  ) {
    super();
  }
}

export class GetDepth extends Query<Depth> {
  static readonly messageType = 'bench.GetDepth';
  constructor(
    readonly pair: string,
    readonly levels: number,
  ) {
    super();
  }
}

/**
 * GetDepth again, for Nest's query bus, which allows one handler per class and so needs a second
 * class for the hand-cached handler; same fields, same base class, same construction cost.
 */
export class GetDepthCachedForNest extends Query<Depth> {
  static readonly messageType = 'bench.GetDepthCachedForNest';
  constructor(
    readonly pair: string,
    readonly levels: number,
  ) {
    super();
  }
}

export class OrderPlaced extends DomainEvent {
  static readonly messageType = 'bench.OrderPlaced';
  constructor(
    readonly orderId: string,
    readonly quantity: number,
  ) {
    super({ aggregateId: orderId, aggregateType: 'order' });
  }
}
