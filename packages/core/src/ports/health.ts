/**
 * What an adapter reports about its readiness, for liveness and readiness probes. Adapters offer it
 * through the optional `health()` member of their port; `composeCqrs()` gathers them in
 * `app.health()`.
 */

/**
 * `up`: works now. `down`: does not work now but may recover by itself (a broker that is
 * unreachable, a consumer group that is rebalancing). `failed`: stopped for good; only a restart of
 * the process helps (a consumer that gave up, a relay whose loop ended).
 */
export type HealthStatus = 'up' | 'down' | 'failed';

/** One thing an adapter checked. */
export interface HealthCheck {
  /** What was checked, e.g. `redis`, `broker`, `database`, `consumer commands/workers`, `relay`. */
  readonly name: string;
  readonly status: HealthStatus;
  /** Why it is not up (the error's message), or a short fact about it. */
  readonly detail?: string;
}
