/**
 * Connecting to a backend as the userspace proxy did (pkg/proxy/userspace/proxysocket.go,
 * TryConnectEndpoints): ask the load balancer for an endpoint, dial it with the next of the timeouts
 * 250 ms, 500 ms, 1 s and 2 s; on failure ask again — for another endpoint, affinity reset — until the
 * timeouts run out.
 * @module
 */

/** EndpointDialTimeouts. */
export const ENDPOINT_DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

/** Dials `endpoint` (`ip:port`), failing after `timeoutMs`. */
export type Dial<C> = (endpoint: string, timeoutMs: number) => Promise<C>;

/** Picks an endpoint; `resetAffinity` is true after a failed dial. Undefined when there is none. */
export type NextEndpoint = (resetAffinity: boolean) => string | undefined;

/** A dial that did not connect. */
export interface DialFailure {
  endpoint: string;
  error: string;
}

/** What {@linkcode tryConnectEndpoints} got. */
export type DialResult<C> =
  | { ok: true; conn: C; endpoint: string; failures: DialFailure[] }
  | { ok: false; reason: string; failures: DialFailure[] };

/** Tries endpoints in turn, one per timeout, until a dial connects. */
export async function tryConnectEndpoints<C>(
  next: NextEndpoint,
  dial: Dial<C>,
  timeoutsMs: readonly number[] = ENDPOINT_DIAL_TIMEOUTS_MS,
): Promise<DialResult<C>> {
  const failures: DialFailure[] = [];
  let resetAffinity = false;
  for (const timeoutMs of timeoutsMs) {
    const endpoint = next(resetAffinity);
    if (endpoint === undefined) return { ok: false, reason: "no endpoints available", failures };
    try {
      return { ok: true, conn: await dial(endpoint, timeoutMs), endpoint, failures };
    } catch (err) {
      failures.push({ endpoint, error: err instanceof Error ? err.message : String(err) });
      resetAffinity = true;
    }
  }
  return { ok: false, reason: "failed to connect to an endpoint", failures };
}

/** `10.244.1.2:8080` → hostname and port. */
export function splitHostPort(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  return { hostname: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Dials TCP with Deno.connect, aborting the attempt after `timeoutMs`. */
export const dialTcp: Dial<Deno.TcpConn> = async (endpoint, timeoutMs) => {
  const { hostname, port } = splitHostPort(endpoint);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`dial tcp ${endpoint}: i/o timeout`)),
    timeoutMs,
  );
  try {
    const connecting = Deno.connect({ hostname, port, signal: controller.signal });
    // The signal would also close an established connection: race it only during the dial.
    return await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        controller.signal.addEventListener("abort", () => {
          connecting.then((c) => c.close(), () => {});
          reject(controller.signal.reason);
        }, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};
