// The same work through @nestjs/cqrs, wired the way a Nest application wires it: a module that
// imports CqrsModule.forRoot() and lists the handler classes as providers, started with
// NestFactory. Nest's decorators are plain functions, so they are applied by calling them, which
// spares this app the legacy-decorator compiler options.
import 'reflect-metadata';
import type { CacheStore } from '@finaegis/core';
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CommandBus,
  CommandHandler,
  CqrsModule,
  EventBus,
  EventsHandler,
  type ICommandHandler,
  type IEventHandler,
  type IQueryHandler,
  Command as NestCommand,
  Query as NestQuery,
  QueryBus,
  QueryHandler,
} from '@nestjs/cqrs';
import { GetDepth, GetDepthCachedForNest, OrderPlaced, PlaceOrder } from './messages';
import { type Depth, getDepth, onOrderPlaced, placeOrder } from './work';

// Nest's own message classes, as a Nest application declares them.
export class NestPlaceOrder extends NestCommand<number> {
  constructor(
    readonly pair: string,
    readonly quantity: number,
  ) {
    super();
  }
}

export class NestGetDepth extends NestQuery<Depth> {
  constructor(
    readonly pair: string,
    readonly levels: number,
  ) {
    super();
  }
}

export class NestGetDepthCached extends NestQuery<Depth> {
  constructor(
    readonly pair: string,
    readonly levels: number,
  ) {
    super();
  }
}

export class NestOrderPlaced {
  constructor(
    readonly orderId: string,
    readonly quantity: number,
  ) {}
}

export const DEPTH_NAMESPACE = 'query:bench.GetDepth';
export const DEPTH_TTL_SECONDS = 3600;

/**
 * Cache-aside as an application writes it by hand around a handler that has no cache of its own
 * (Nest's query bus has none): a key from the fields, one `get`, the handler and a `set` on a miss.
 */
export function cachedDepth(cache: CacheStore) {
  return async (query: { readonly pair: string; readonly levels: number }): Promise<Depth> => {
    const key = `${query.pair}:${query.levels}`;
    const hit = await cache.get(DEPTH_NAMESPACE, key);
    if (hit !== undefined) return hit.value as Depth;
    const depth = await getDepth(query);
    await cache.set(DEPTH_NAMESPACE, key, depth, DEPTH_TTL_SECONDS);
    return depth;
  };
}

export interface NestContenders {
  readonly commandBus: CommandBus;
  readonly queryBus: QueryBus;
  readonly eventBus: EventBus;
  close(): Promise<void>;
}

/**
 * Starts a Nest application context with handlers for Nest's own message classes (`nest`) or for
 * ours (`ours`): two contexts, so that each EventBus has only the 3 subscribers of its event.
 */
export async function startNest(cache: CacheStore, messages: 'nest' | 'ours'): Promise<NestContenders> {
  const cached = cachedDepth(cache);
  const providers: Type[] = [];
  const provide = <T extends Type>(decorate: (target: T) => void, target: T) => {
    decorate(target);
    providers.push(target);
  };

  if (messages === 'nest') provideForNestMessages();
  else provideForOurMessages();

  function provideForNestMessages() {
    provide(
      CommandHandler(NestPlaceOrder),
      class PlaceOrderHandler implements ICommandHandler<NestPlaceOrder, number> {
        execute(command: NestPlaceOrder) {
          return placeOrder(command);
        }
      },
    );
    provide(
      QueryHandler(NestGetDepth),
      class GetDepthHandler implements IQueryHandler<NestGetDepth, Depth> {
        execute(query: NestGetDepth) {
          return getDepth(query);
        }
      },
    );
    provide(
      QueryHandler(NestGetDepthCached),
      class GetDepthCachedHandler implements IQueryHandler<NestGetDepthCached, Depth> {
        execute(query: NestGetDepthCached) {
          return cached(query);
        }
      },
    );
    for (const name of ['A', 'B', 'C']) {
      const handler = class implements IEventHandler<NestOrderPlaced> {
        handle(event: NestOrderPlaced) {
          return onOrderPlaced(event);
        }
      };
      Object.defineProperty(handler, 'name', { value: `OrderPlacedSubscriber${name}` });
      provide(EventsHandler(NestOrderPlaced), handler);
    }
  }

  // Our message classes through Nest's buses: the same bus work on the same objects as ours.
  function provideForOurMessages() {
    provide(
      CommandHandler(PlaceOrder),
      class OurPlaceOrderHandler implements ICommandHandler<PlaceOrder, number> {
        execute(command: PlaceOrder) {
          return placeOrder(command);
        }
      },
    );
    provide(
      QueryHandler(GetDepth),
      class OurGetDepthHandler implements IQueryHandler<GetDepth, Depth> {
        execute(query: GetDepth) {
          return getDepth(query);
        }
      },
    );
    provide(
      QueryHandler(GetDepthCachedForNest),
      class OurGetDepthCachedHandler implements IQueryHandler<GetDepthCachedForNest, Depth> {
        execute(query: GetDepthCachedForNest) {
          return cached(query);
        }
      },
    );
    for (const name of ['A', 'B', 'C']) {
      const handler = class implements IEventHandler<OrderPlaced> {
        handle(event: OrderPlaced) {
          return onOrderPlaced(event);
        }
      };
      Object.defineProperty(handler, 'name', { value: `OurOrderPlacedSubscriber${name}` });
      provide(EventsHandler(OrderPlaced), handler);
    }
  }

  class BenchModule {}
  Module({ imports: [CqrsModule.forRoot()], providers })(BenchModule);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  return {
    commandBus: app.get(CommandBus),
    queryBus: app.get(QueryBus),
    eventBus: app.get(EventBus),
    close: () => app.close(),
  };
}
