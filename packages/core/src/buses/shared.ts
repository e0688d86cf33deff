import { assertSendSupported } from '../adapter/checks';
import type { DomainConfig } from '../config';
import { ConfigError } from '../errors/config-error';
import { type Message, messageTypeOf } from '../messages';
import type { CacheStore } from '../ports/cache-store';
import type { Logger } from '../ports/logger';
import type { TransactionManager } from '../ports/transaction-manager';
import type { SendOptions, Transport, TransportMessage } from '../ports/transport';
import type { MessageEnvelope, MessageRegistry } from '../serialization';
import type { AfterCommit } from './after-commit';
import type { Instrumentation } from './instrumentation';
import type { Middleware } from './middleware';
import { currentUnitOfWork } from './unit-of-work';

/** @internal What the three buses share. */
export interface BusContext {
  readonly config: DomainConfig;
  readonly registry: MessageRegistry;
  readonly logger: Logger;
  readonly middleware: readonly Middleware[];
  readonly transport: Transport | undefined;
  readonly cache: CacheStore | undefined;
  readonly transactionManager: TransactionManager | undefined;
  readonly afterCommit: AfterCommit;
  readonly instrumentation: Instrumentation | undefined;
}

/** Options of `dispatchAsync` and `publishAsync`. */
export interface AsyncOptions {
  /** Seconds before the message may be handled (fractions allowed), as in the guide. */
  readonly delay?: number;
  /** Higher first, when the transport supports priorities. */
  readonly priority?: number;
  /** Ordering / partition key. Events default to their aggregate id. */
  readonly key?: string;
  /** Drop a second message with this id, when the transport supports dedupe. */
  readonly dedupeId?: string;
}

/** The `content-type` header of every async message the buses send: our JSON envelope, version 1. */
export const ENVELOPE_CONTENT_TYPE = 'application/vnd.finaegis.envelope+json;v=1';

/** @internal Serialises a message and sends it, or holds it in the current unit of work. */
export async function sendAsync(
  context: BusContext,
  channel: string,
  message: Message,
  kind: MessageEnvelope['kind'],
  options: AsyncOptions,
  defaultKey: string | undefined,
): Promise<string> {
  const transport = context.transport;
  if (transport === undefined) {
    throw new ConfigError(
      'transport',
      undefined,
      `a Transport passed to createCqrs() to send ${kind}s asynchronously`,
    );
  }
  if (options.delay !== undefined && (!Number.isFinite(options.delay) || options.delay < 0)) {
    throw new ConfigError('delay', options.delay, 'a number of seconds, 0 or more');
  }
  const sendOptions: { delayMs?: number; priority?: number; key?: string; dedupeId?: string } = {};
  if (options.delay !== undefined && options.delay > 0)
    sendOptions.delayMs = Math.round(options.delay * 1000);
  if (options.priority !== undefined) sendOptions.priority = options.priority;
  const key = options.key ?? defaultKey;
  if (key !== undefined && key !== '') sendOptions.key = key;
  if (options.dedupeId !== undefined) sendOptions.dedupeId = options.dedupeId;
  assertSendSupported(transport, sendOptions);

  const type = messageTypeOf(message);
  const headers: Record<string, string> = { 'content-type': ENVELOPE_CONTENT_TYPE, 'message-kind': kind };
  const transportMessage: TransportMessage = {
    id: message.messageId,
    type,
    body: context.registry.encode(message, kind),
    headers,
    ...(sendOptions.key === undefined ? {} : { key: sendOptions.key }),
  };
  const finalOptions: SendOptions = sendOptions;
  const unit = currentUnitOfWork();
  const tx = unit?.transactional ? unit.transaction : undefined;
  if (unit?.transactional) unit.assertOpen(`sending ${type}`);
  const via = unit?.transactional ? (tx?.enqueue ? 'enqueue' : 'hold') : 'send';
  const leave = async (): Promise<void> => {
    if (via === 'enqueue') await tx!.enqueue!(channel, transportMessage, finalOptions);
    else if (via === 'hold')
      unit!.pendingSends.push({ channel, message: transportMessage, options: finalOptions });
    else await transport.send(channel, transportMessage, finalOptions);
  };
  const hook = context.instrumentation?.send;
  if (hook === undefined) await leave();
  else {
    const correlationId =
      (message as { correlationId?: unknown }).correlationId ?? message.metadata.correlationId;
    await hook(
      {
        channel,
        kind: kind === 'event' ? 'event' : 'command',
        messageType: type,
        messageId: transportMessage.id,
        key: sendOptions.key,
        via,
        correlationId: typeof correlationId === 'string' && correlationId !== '' ? correlationId : undefined,
      },
      headers,
      leave,
    );
  }
  return transportMessage.id;
}
