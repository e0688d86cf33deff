/**
 * `@finaegis/kafka/testing`: hooks for tests that the transport does not offer to applications
 * (the contract suite's crash cases use them).
 */
import { crashTransport, type KafkaTransport } from './kafka-transport';

/**
 * Simulates the process of `transport` dying: its consumers stop at once without waiting for their
 * handlers, commit nothing more and leave their groups, so the records they held go to other
 * consumers. Results of the abandoned handlers are ignored. The transport is closed afterwards.
 * @throws InvalidArgumentError when `transport` was not made by `createKafkaTransport`.
 */
export async function crashKafkaTransport(transport: KafkaTransport): Promise<void> {
  await crashTransport(transport);
}
