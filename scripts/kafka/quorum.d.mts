/** Types of quorum.mjs, for the TypeScript tests that import it. */

/** One voter or observer of the metadata quorum, as the leading controller sees it. */
export interface ReplicaState {
  readonly replicaId: number;
  /** The last offset of the metadata log it is known to have (-1 when unknown). */
  readonly logEndOffset: bigint;
}

/** A controller's answer to DescribeQuorum. */
export interface QuorumAnswer {
  /** 0 from the leading controller, 6 (NOT_LEADER_OR_FOLLOWER) from the others. */
  readonly errorCode: number;
  readonly leaderId?: number;
  readonly leaderEpoch?: number;
  readonly highWatermark?: bigint;
  readonly voters?: readonly ReplicaState[];
  readonly observers?: readonly ReplicaState[];
}

/** The quorum as its leader sees it. */
export interface Quorum {
  readonly errorCode: 0;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: bigint;
  readonly voters: readonly ReplicaState[];
  readonly observers: readonly ReplicaState[];
}

export function describeQuorum(address: string, timeoutMs?: number): Promise<QuorumAnswer>;
export function activeQuorum(controllers: readonly string[]): Promise<Quorum | undefined>;
