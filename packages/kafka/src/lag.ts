import type { KafkaRuntime } from './consumer-state';

/**
 * How many records of a channel are not handled yet. With a group: that group's lag over the
 * channel's partitions (from the start or the end of a partition it never committed, as its
 * `startFrom`). Without: the largest lag of the channel's groups, or every record when it has none.
 */
export async function channelLag(runtime: KafkaRuntime, channel: string, group?: string): Promise<number> {
  const { topics, settings } = runtime;
  const topic = topics.topicName(channel);
  const admin = await topics.admin();
  let ends: { partition: number; high: string; low: string }[];
  try {
    ends = await admin.fetchTopicOffsets(topic);
  } catch {
    return 0;
  }
  const lagOf = async (groupId: string) => {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    let lag = 0;
    for (const end of ends) {
      const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      const from = Number(at) >= 0 ? Number(at) : settings.fromBeginning ? Number(end.low) : Number(end.high);
      lag += Math.max(0, Number(end.high) - from);
    }
    return lag;
  };
  if (group !== undefined) return lagOf(topics.groupId(channel, group));
  const prefix = topics.groupId(channel, '');
  const { groups } = await admin.listGroups();
  const ids = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
  if (ids.length === 0) return ends.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0);
  const lags = await Promise.all(ids.map(lagOf));
  return Math.max(...lags);
}
