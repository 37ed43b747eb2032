/**
 * The old userspace proxy's round robin (pkg/proxy/userspace/roundrobin.go, LoadBalancerRR), one state
 * per Service port: endpoints are shuffled whenever the set changes and the index goes back to 0;
 * `next` hands out `endpoints[index]` and moves the index on. With ClientIP affinity a client keeps
 * the endpoint it last got while it comes back within the timeout; a failed dial asks again with
 * `resetAffinity`, which skips the sticky endpoint. Deterministic given `now` and the injected
 * `random`, so it is tested with tables.
 * @module
 */

/** A Service port's session affinity. */
export interface Affinity {
  type: "None" | "ClientIP";
  /** How long a client keeps its endpoint after its last connection. */
  timeoutSeconds: number;
}

interface StickySession {
  endpoint: string;
  lastUsed: number;
}

interface BalancerState {
  endpoints: string[];
  index: number;
  affinity: Affinity;
  sessions: Map<string, StickySession>;
}

/** Options for {@linkcode LoadBalancerRR}. */
export interface LoadBalancerOptions {
  /** Returns [0, 1); shuffles endpoints. @default Math.random */
  random?: () => number;
}

/** Round robin with optional ClientIP affinity, per Service port key. */
export class LoadBalancerRR {
  readonly #random: () => number;
  readonly #services = new Map<string, BalancerState>();

  constructor(options: LoadBalancerOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  /**
   * OnEndpointsUpdate for one Service port: a changed endpoint set is shuffled and the index reset,
   * sessions on endpoints that are gone are dropped; a changed affinity drops every session.
   */
  update(key: string, endpoints: readonly string[], affinity: Affinity): void {
    const state = this.#services.get(key);
    if (!state) {
      this.#services.set(key, {
        endpoints: shuffle(endpoints, this.#random),
        index: 0,
        affinity,
        sessions: new Map(),
      });
      return;
    }
    if (state.affinity.type !== affinity.type) state.sessions.clear();
    state.affinity = affinity;
    if (!sameSet(state.endpoints, endpoints)) {
      const keep = new Set(endpoints);
      for (const [client, s] of state.sessions) {
        if (!keep.has(s.endpoint)) state.sessions.delete(client);
      }
      state.endpoints = shuffle(endpoints, this.#random);
      state.index = 0;
    }
  }

  /** Forgets a Service port that no longer exists. */
  delete(key: string): void {
    this.#services.delete(key);
  }

  /** The Service port keys known. */
  keys(): string[] {
    return [...this.#services.keys()];
  }

  /**
   * NextEndpoint: the endpoint for a connection from `clientIP` at `now` (ms), or undefined when the
   * Service port has none. `resetAffinity` (after a failed dial) ignores the client's sticky endpoint.
   */
  next(key: string, clientIP: string, resetAffinity: boolean, now: number): string | undefined {
    const state = this.#services.get(key);
    if (!state || state.endpoints.length === 0) return undefined;
    const sticky = state.affinity.type === "ClientIP";
    if (sticky && !resetAffinity) {
      const session = state.sessions.get(clientIP);
      if (session && now - session.lastUsed < state.affinity.timeoutSeconds * 1000) {
        session.lastUsed = now;
        return session.endpoint;
      }
    }
    const endpoint = state.endpoints[state.index];
    state.index = (state.index + 1) % state.endpoints.length;
    if (sticky) state.sessions.set(clientIP, { endpoint, lastUsed: now });
    return endpoint;
  }

  /** CleanupStaleStickySessions: drops sessions idle for longer than their timeout. */
  cleanupStaleStickySessions(now: number): void {
    for (const state of this.#services.values()) {
      for (const [client, s] of state.sessions) {
        if (now - s.lastUsed >= state.affinity.timeoutSeconds * 1000) {
          state.sessions.delete(client);
        }
      }
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/** Fisher–Yates with the given source of randomness; returns a new array. */
export function shuffle(items: readonly string[], random: () => number): string[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
