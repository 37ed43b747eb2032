/**
 * Connecting to a backend as the userspace proxy did (pkg/proxy/userspace/proxysocket.go,
 * TryConnectEndpoints): ask the load balancer for an endpoint, dial it with the next of the timeouts
 * 250 ms, 500 ms, 1 s and 2 s; on failure ask again — for another endpoint, affinity reset — until the
 * timeouts run out. An endpoint outside the lab's network is refused before any packet
 * ({@linkcode guardDial}) and costs no timeout: the next endpoint is asked for at once.
 * @module
 */
import { type LabNetwork, NO_ROUTE_IN_LAB, NotInLabError } from "../../shared/net/lab_network.ts";

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

/**
 * Tries endpoints in turn, one per timeout, until a dial connects. Endpoints the lab's network refuses
 * use no timeout; once the balancer has offered nothing but refused endpoints for a full round, the
 * connection is rejected with {@linkcode NO_ROUTE_IN_LAB}.
 */
export async function tryConnectEndpoints<C>(
  next: NextEndpoint,
  dial: Dial<C>,
  timeoutsMs: readonly number[] = ENDPOINT_DIAL_TIMEOUTS_MS,
): Promise<DialResult<C>> {
  const failures: DialFailure[] = [];
  const refused = new Set<string>();
  let refusedInARow = 0;
  let resetAffinity = false;
  for (let attempt = 0; attempt < timeoutsMs.length;) {
    const endpoint = next(resetAffinity);
    if (endpoint === undefined) return { ok: false, reason: "no endpoints available", failures };
    resetAffinity = true;
    if (refused.has(endpoint) && refusedInARow >= refused.size) break;
    try {
      return { ok: true, conn: await dial(endpoint, timeoutsMs[attempt]), endpoint, failures };
    } catch (err) {
      if (err instanceof NotInLabError) {
        if (!refused.has(endpoint)) failures.push({ endpoint, error: err.message });
        refused.add(endpoint);
        refusedInARow++;
        continue;
      }
      failures.push({ endpoint, error: err instanceof Error ? err.message : String(err) });
      refusedInARow = 0;
      attempt++;
    }
  }
  const onlyRefused = failures.length > 0 && failures.every((f) => refused.has(f.endpoint));
  return {
    ok: false,
    reason: onlyRefused ? NO_ROUTE_IN_LAB : "failed to connect to an endpoint",
    failures,
  };
}

/** `dial`, but only to addresses of the lab: any other is refused with a NotInLabError, undialled. */
export function guardDial<C>(network: LabNetwork, dial: Dial<C>): Dial<C> {
  return (endpoint, timeoutMs) => {
    network.check(splitHostPort(endpoint).hostname);
    return dial(endpoint, timeoutMs);
  };
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
