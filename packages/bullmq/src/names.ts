import { InvalidArgumentError } from '@finaegis/core';
import { checkChannelName } from '@finaegis/core/adapter';

/** The name in front of this package's error messages. */
export const ADAPTER = '@finaegis/bullmq';

// The channel pattern of @finaegis/core's config. `~` is in neither pattern, so names built with it
// (the backlog queue, the groups set) can never collide with a channel or group a user chose.
const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,200}$/;
// No `.` in group names: the queue of a group is `<channel>.<group>`, and allowing dots would let
// channel `a` group `b.c` share a queue with channel `a.b` group `c`.
const GROUP_NAME = /^[A-Za-z0-9_-]{1,200}$/;

/** @throws InvalidArgumentError unless `channel` is 1-200 letters, digits, `.`, `_` and `-`. */
export function assertChannel(channel: unknown): asserts channel is string {
  checkChannelName(ADAPTER, 'channel', channel);
  if (!CHANNEL_NAME.test(channel)) {
    throw new InvalidArgumentError(
      ADAPTER,
      'channel',
      `must be 1-200 characters of letters, digits, ".", "_" and "-", got ${JSON.stringify(channel.slice(0, 60))}`,
    );
  }
}

/** @throws InvalidArgumentError unless `group` is 1-200 letters, digits, `_` and `-` (no `.`). */
export function assertGroup(group: unknown): asserts group is string {
  checkChannelName(ADAPTER, 'group', group);
  if (!GROUP_NAME.test(group)) {
    throw new InvalidArgumentError(
      ADAPTER,
      'group',
      `must be 1-200 characters of letters, digits, "_" and "-" (no "."), got ${JSON.stringify(group.slice(0, 60))}`,
    );
  }
}

/** BullMQ queue name of one consumer group of a channel. */
export function groupQueueName(channel: string, group: string): string {
  return `${channel}.${group}`;
}

/** BullMQ queue that holds what was sent to a channel before any group existed. */
export function backlogQueueName(channel: string): string {
  return `${channel}.~backlog`;
}

/** Redis set of the groups registered on a channel. */
export function groupsKey(prefix: string, channel: string): string {
  return `${prefix}:${channel}.~groups`;
}

/** Dead-letter ids carry the group, so `redrive` finds the job's queue. */
export function deadLetterId(group: string, jobId: string): string {
  return `${group}/${jobId}`;
}

export function parseDeadLetterId(id: string): { group: string; jobId: string } | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return undefined;
  return { group: id.slice(0, slash), jobId: id.slice(slash + 1) };
}

/**
 * The id of a backlog job in a group's queue: its own, but for the integer ids BullMQ gives jobs
 * added without one (another producer's), which BullMQ refuses as custom ids. The same for every
 * adopter, so that two of them cannot duplicate a job.
 */
export function adoptedJobId(jobId: string): string {
  return /^\d+$/.test(jobId) ? `bl.${jobId}` : jobId;
}

/** BullMQ job ids may be neither integers nor contain `:`; these are neither. */
export function dedupeJobId(dedupeId: string): string {
  return `dd.${encodeURIComponent(dedupeId)}`;
}

/** BullMQ's lowest priority number (its highest priority is 1). */
export const BULLMQ_PRIORITY_LIMIT = 2 ** 21 - 1;
/** Our highest accepted priority: it maps to BullMQ priority 1. */
export const MAX_PRIORITY = BULLMQ_PRIORITY_LIMIT - 1;

/**
 * Ours: higher first, 0 lowest. BullMQ: lower number first, and jobs without a priority jump ahead
 * of every prioritised job; so every job gets a BullMQ priority, and 0 becomes the largest number.
 */
export function toBullmqPriority(priority: number): number {
  return BULLMQ_PRIORITY_LIMIT - priority;
}
