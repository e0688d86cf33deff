/**
 * `@finaegis/memory/testing`: hooks for tests that the adapters do not offer to applications
 * (the contract suite's crash and undecodable-message cases use them, `@finaegis/testing` reads a
 * broker's activity).
 */
import type { MemoryBrokerActivity } from './activity';
import { type MemoryBroker, sendRawToBroker, stateOf } from './memory-broker';
import { crashTransport, type MemoryTransport } from './memory-transport';

export type { MemoryBrokerActivity, MemoryGroupActivity } from './activity';

/**
 * Simulates the process of `transport` dying: its consumers stop at once, and the messages they
 * were handling go back to their groups without an ack, to be delivered again (to another consumer
 * if one is subscribed). Results of the abandoned handlers are ignored. The transport is closed
 * afterwards.
 * @throws InvalidArgumentError when `transport` was not made by `createMemoryTransport`.
 */
export async function crashMemoryTransport(transport: MemoryTransport): Promise<void> {
  crashTransport(transport);
}

/**
 * Sends raw text to a channel of `broker` as if a foreign producer had written it. It is decoded
 * at delivery; text that is not a transport message is dead-lettered with a `MessageDecodeError`.
 * @throws InvalidArgumentError for an empty channel, text that is not a string, or a broker not
 *   made by `createMemoryBroker`.
 */
export function sendRawToMemoryBroker(broker: MemoryBroker, channel: string, raw: string): void {
  sendRawToBroker(broker, channel, raw);
}

/**
 * What `broker` holds now, per consumer group: messages due, in flight, scheduled for later and
 * waiting behind their key, and those sent to channels no group consumes yet. `@finaegis/testing`
 * reads it to tell when an app has handled everything due (`idle()`).
 * @throws InvalidArgumentError for a broker not made by `createMemoryBroker`.
 */
export function memoryBrokerActivity(broker: MemoryBroker): MemoryBrokerActivity {
  return stateOf(broker).activity();
}
