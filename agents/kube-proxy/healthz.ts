/**
 * kube-proxy's health endpoint (pkg/proxy/healthcheck/proxier_health.go): `GET /healthz` answers 200
 * with `lastUpdated` (the last time the rules were synced) and `currentTime`, or 503 when the proxy has
 * not synced yet or a change has waited longer than the health timeout (2 × syncPeriod) to be applied.
 * A plain `(Request) => Response` handler over a snapshot of the sync state.
 * @module
 */

/** What the handler reads of the proxy. */
export interface SyncState {
  /** When the rules were last applied (ms), undefined before the first sync. */
  lastUpdated?: number;
  /** When the oldest change not applied yet arrived (ms), undefined when none waits. */
  oldestPending?: number;
}

/** Options for {@linkcode healthzHandler}. */
export interface HealthzOptions {
  /** The current sync state. */
  state(): SyncState;
  now(): number;
  /** How long a change may wait before the proxy is unhealthy. */
  healthTimeoutMs: number;
}

/** Whether the proxy is healthy at `now`. */
export function isHealthy(state: SyncState, now: number, healthTimeoutMs: number): boolean {
  if (state.lastUpdated === undefined) return false;
  return state.oldestPending === undefined || now - state.oldestPending <= healthTimeoutMs;
}

/** The handler: `/healthz` (and `/livez`) as JSON; 404 for other paths. */
export function healthzHandler(opts: HealthzOptions): (req: Request) => Response {
  return (req) => {
    const path = new URL(req.url).pathname;
    if (path !== "/healthz" && path !== "/livez") {
      return new Response("404 page not found\n", { status: 404 });
    }
    const state = opts.state();
    const now = opts.now();
    const healthy = isHealthy(state, now, opts.healthTimeoutMs);
    const body = {
      lastUpdated: state.lastUpdated === undefined ? "" : new Date(state.lastUpdated).toISOString(),
      currentTime: new Date(now).toISOString(),
      nodeEligible: true,
    };
    return Response.json(body, { status: healthy ? 200 : 503 });
  };
}
