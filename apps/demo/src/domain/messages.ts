// The exchange's messages: commands, queries and events, each kind in its own module.
import { CancelOrderCommand, DepositCommand, PlaceOrderCommand } from './commands';
import { EXCHANGE_EVENTS } from './events';
import { GetBalancesQuery, GetOrderBookQuery, GetOrderQuery, ListOrdersQuery } from './queries';

export * from './commands';
export * from './events';
export {
  IDEMPOTENCY_KEY,
  type IdempotencyClaim,
  marketOf,
  type OrderType,
  orderRuleProblems,
  type Side,
} from './order-rules';
export * from './queries';

export const EXCHANGE_MESSAGES = [
  PlaceOrderCommand,
  CancelOrderCommand,
  DepositCommand,
  GetOrderBookQuery,
  GetOrderQuery,
  ListOrdersQuery,
  GetBalancesQuery,
  ...EXCHANGE_EVENTS,
] as const;
