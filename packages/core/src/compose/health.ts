import type { HealthCheck, HealthStatus } from '../ports/health';

/** The parts of a composed app whose health `app.health()` reports. */
export type ComponentName = 'transport' | 'cache' | 'eventStore' | 'transactionManager' | 'relay';

/** One adapter's part of `app.health()`. */
export interface ComponentHealth {
  readonly component: ComponentName;
  /** The adapter's `name` (`kafka`, `keyv`, `postgres`, `memory`, ...). */
  readonly adapter: string;
  /**
   * The worst of its checks. `up` with no checks when the adapter offers no `health()` (the
   * in-process memory adapters, which work as long as the process does).
   */
  readonly status: HealthStatus;
  /**
   * Whether the app is unready while this is not up. The cache is not required: a query whose
   * cache is down runs its handler.
   */
  readonly required: boolean;
  readonly checks: readonly HealthCheck[];
}

/** What `app.health()` resolves: one answer for a readiness probe, one for a liveness probe, and why. */
export interface AppHealth {
  /**
   * `up`: everything up. `degraded`: only what is not required (the cache) is down. `down`: a
   * required component is down (a broker or the database unreachable, a consumer not in its group);
   * it may recover by itself. `failed`: something stopped for good, or the app is shut down.
   */
  readonly status: 'up' | 'degraded' | 'down' | 'failed';
  /** For a readiness probe: every required component is up (status `up` or `degraded`). */
  readonly ready: boolean;
  /**
   * For a liveness probe: false once the app is shutting down or something stopped for good, where
   * only a restart helps. An unreachable broker leaves it true: a restart would not bring it back.
   */
  readonly live: boolean;
  readonly components: readonly ComponentHealth[];
  /** When the checks ran (ISO 8601). */
  readonly checkedAt: string;
}

/** Something that may offer `health()`, and what to call it in the report. */
export interface HealthSource {
  readonly component: ComponentName;
  readonly adapter: string;
  readonly required: boolean;
  readonly health?: () => Promise<readonly HealthCheck[]>;
}

const RANK: Record<HealthStatus, number> = { up: 0, down: 1, failed: 2 };

function worst(checks: readonly HealthCheck[]): HealthStatus {
  let status: HealthStatus = 'up';
  for (const check of checks) if (RANK[check.status] > RANK[status]) status = check.status;
  return status;
}

/** Asks one source, within `timeoutMs`; a check that throws or hangs is reported `down`. */
async function ask(source: HealthSource, timeoutMs: number): Promise<ComponentHealth> {
  const base = { component: source.component, adapter: source.adapter, required: source.required };
  if (source.health === undefined) return { ...base, status: 'up', checks: [] };
  let timer: NodeJS.Timeout | undefined;
  try {
    const checks = await Promise.race([
      source.health(),
      new Promise<readonly HealthCheck[]>((resolve) => {
        timer = setTimeout(
          () => resolve([{ name: 'health', status: 'down', detail: `no answer within ${timeoutMs} ms` }]),
          timeoutMs,
        );
      }),
    ]);
    return { ...base, status: worst(checks), checks };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ...base, status: 'down', checks: [{ name: 'health', status: 'down', detail }] };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every source's checks at once and sums them up. */
export async function gatherHealth(sources: readonly HealthSource[], timeoutMs: number): Promise<AppHealth> {
  const components = await Promise.all(sources.map((source) => ask(source, timeoutMs)));
  const failed = components.some((c) => c.status === 'failed');
  const requiredDown = components.some((c) => c.required && c.status !== 'up');
  const optionalDown = components.some((c) => !c.required && c.status !== 'up');
  const status = failed ? 'failed' : requiredDown ? 'down' : optionalDown ? 'degraded' : 'up';
  return {
    status,
    ready: status === 'up' || status === 'degraded',
    live: !failed,
    components,
    checkedAt: new Date().toISOString(),
  };
}

/** The report of an app that is shutting down or shut down. */
export function stoppedHealth(): AppHealth {
  return { status: 'failed', ready: false, live: false, components: [], checkedAt: new Date().toISOString() };
}
