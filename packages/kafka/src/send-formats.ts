import { ConfigError } from '@finaegis/core';
import { ADAPTER } from './kafka-options';
import type { SendFormat } from './kafka-wire';

/** The `cloudEvents` option of `createKafkaTransport`: which channels send CloudEvents, and how. */
export interface KafkaCloudEventsOptions {
  /**
   * Channels whose sends are written as CloudEvents 1.0 (the Kafka protocol binding), by channel
   * name: `binary` (attributes in `ce_` headers, the data as the record value) or `structured`
   * (the JSON event format as the value); or a function of the channel name that says so, or
   * undefined for our format (called once per channel). Other channels send our own format.
   * Consumers read all formats on every channel, whatever this says.
   */
  readonly channels:
    | Readonly<Record<string, 'binary' | 'structured'>>
    | ((channel: string) => 'binary' | 'structured' | undefined);
  /**
   * The CloudEvents `source` of the events sent (a URI reference naming the sender). Default
   * `/finaegis/<channel>`.
   */
  readonly source?: string;
}

/** How one channel's sends are written. */
export interface ChannelFormat {
  readonly format: SendFormat;
  /** The CloudEvents `source` (unused in our own format). */
  readonly source: string;
}

const OURS: ChannelFormat = Object.freeze({ format: 'finaegis', source: '' });

/**
 * The format of each channel's sends: ours, unless `cloudEvents` names the channel.
 * @throws ConfigError for a mode other than `binary` or `structured` (from the function: when the
 *   channel is first sent to, as the send's rejection), or an empty `source`.
 */
export function resolveSendFormats(
  options: KafkaCloudEventsOptions | undefined,
): (channel: string) => ChannelFormat {
  if (options === undefined) return () => OURS;
  const kind = typeof options?.channels;
  if (
    typeof options !== 'object' ||
    options === null ||
    options.channels === null ||
    (kind !== 'object' && kind !== 'function')
  ) {
    throw new ConfigError(
      'cloudEvents',
      options,
      '{ channels: { <channel>: "binary" | "structured" }, source? }',
      {
        adapter: ADAPTER,
      },
    );
  }
  const { source } = options;
  if (source !== undefined && (typeof source !== 'string' || source === '')) {
    throw new ConfigError('cloudEvents.source', source, 'a non-empty URI reference', { adapter: ADAPTER });
  }
  const formats = new Map<string, ChannelFormat>();
  const resolve = (channel: string, mode: unknown): ChannelFormat => {
    if (mode === undefined) return OURS;
    if (mode !== 'binary' && mode !== 'structured') {
      throw new ConfigError(`cloudEvents.channels.${channel}`, mode, '"binary" or "structured"', {
        adapter: ADAPTER,
      });
    }
    return Object.freeze({
      format: mode === 'binary' ? 'cloudevents-binary' : 'cloudevents-structured',
      source: source ?? `/finaegis/${channel}`,
    });
  };
  const { channels } = options;
  if (typeof channels === 'function') {
    return (channel) => {
      let format = formats.get(channel);
      if (format === undefined) {
        format = resolve(channel, channels(channel));
        formats.set(channel, format);
      }
      return format;
    };
  }
  for (const [channel, mode] of Object.entries(channels)) formats.set(channel, resolve(channel, mode));
  return (channel) => formats.get(channel) ?? OURS;
}
