/** Types of cluster.mjs, for the TypeScript tests that import it. */

/** One process of the cluster, as state.json records it. */
export interface ClusterNode {
  readonly id: number;
  readonly role: 'broker' | 'controller';
  /** `127.0.0.1:<port>` of its PLAINTEXT (broker) or CONTROLLER (controller) listener. */
  readonly address: string;
  readonly dir: string;
  readonly config: string;
  readonly log: string;
  /** The java command line that starts it. */
  readonly args: readonly string[];
  /** The pid of its last start. */
  pid: number;
}

/** scripts/.state/kafka-cluster/state.json. */
export interface ClusterState {
  readonly version: string;
  readonly clusterId: string;
  /** The brokers' addresses, comma-separated. */
  readonly brokers: string;
  readonly controllers: readonly string[];
  readonly nodes: ClusterNode[];
}

export const BROKER_IDS: readonly number[];
export const CONTROLLER_IDS: readonly number[];
export function clusterDir(stateDir: string): string;
export function stateFileOf(stateDir: string): string;
export function readClusterState(stateFile: string): ClusterState | undefined;
export function writeClusterState(stateFile: string, state: ClusterState): void;
export function nodeRunning(node: ClusterNode): boolean;
export function startNode(node: ClusterNode): number;
export function stopNode(node: ClusterNode, signal?: NodeJS.Signals, graceMs?: number): Promise<number>;
export function tailOf(file: string, lines?: number): string;
export function downCluster(stateDir: string): Promise<number>;
export function upCluster(options: {
  stateDir: string;
  lib: string;
  version: string;
  ready: (brokers: string) => Promise<void>;
}): Promise<{ brokers: string; stateFile: string; action: string; detail: string; started: boolean }>;
