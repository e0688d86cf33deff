import { FinAegisError } from '@finaegis/core';
import type { OrderStatus } from '../views';

/** The order is final (filled, cancelled or rejected): it cannot be cancelled. The API answers 409. */
export class OrderNotCancellableError extends FinAegisError {
  readonly code = 'ORDER_NOT_CANCELLABLE';
  override readonly retryable = false;
  readonly orderId: string;
  readonly status: OrderStatus;

  constructor(orderId: string, status: OrderStatus) {
    super(`[finaegis-demo] order ${orderId} is ${status} and cannot be cancelled`);
    this.orderId = orderId;
    this.status = status;
  }
}
