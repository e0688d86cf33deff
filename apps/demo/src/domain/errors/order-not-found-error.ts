import { FinAegisError } from '@finaegis/core';

/**
 * No order with this id belongs to the caller. It exists so the API can answer 404 by `instanceof`;
 * another account's order is reported the same way, so ids of others' orders cannot be probed.
 */
export class OrderNotFoundError extends FinAegisError {
  readonly code = 'ORDER_NOT_FOUND';
  override readonly retryable = false;
  readonly orderId: string;

  constructor(orderId: string) {
    super(`[finaegis-demo] order ${orderId} not found`);
    this.orderId = orderId;
  }
}
