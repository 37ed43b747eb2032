/**
 * The forwarding half of kube-proxy, as the old userspace proxier (pkg/proxy/userspace/proxier.go): one
 * listening socket per TCP frontend (a NodePort on the node's address, a Service port on its cluster
 * IP or, in `node` mode, on the node's address); each accepted connection gets an endpoint from the
 * Service port's round robin, a dial with retries, and a byte pipe both ways. A frontend whose Service
 * port has no endpoint accepts and closes at once, as the userspace proxy did when it found none.
 * Endpoint changes only change what new connections get: connections in flight carry on until they
 * end (draining). Each connection is reported when it opens and closes.
 * @module
 */
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { ClusterIPMode, LoopbackAddresses } from "./cluster_ip.ts";
import { LabNetwork } from "../../shared/net/lab_network.ts";
import { type Dial, dialTcp, guardDial, splitHostPort, tryConnectEndpoints } from "./dial.ts";
import { LoadBalancerRR } from "./load_balancer.ts";
import { type DuplexConn, pipe } from "./pipe.ts";
import { type Route, servicePortKey } from "./routes.ts";

/** How often frontends that could not listen try again (a standby cluster IP, a taken port). */
export const RETRY_BIND_MS = 1_000;

/** Whether a frontend listens. */
export type ListenerState = "listening" | "standby" | "failed" | "unsupported";

/** Where a route listens and whether it does. */
export interface ListenerStatus {
  /** The socket address: `127.1.0.1:30080`, `10.96.0.10:80`. */
  listen: string;
  state: ListenerState;
  /** Why it does not listen. */
  error?: string;
}

/** What is published on `kl.node.<node>.proxy.connections` for each connection. */
export interface ConnectionRecord {
  node: string;
  /** `open` once the backend is dialled, `close` when both directions ended, `reject` without a backend. */
  event: "open" | "close" | "reject";
  /** This kube-proxy's number for the connection. */
  id: number;
  /** `namespace/name`. */
  service: string;
  portName: string;
  type: Route["type"];
  /** The address the client connected to. */
  frontend: string;
  /** `ip:port` of the client. */
  client: string;
  /** `ip:port` of the backend (open, close). */
  endpoint?: string;
  /** Client → backend bytes (close). */
  bytesIn?: number;
  /** Backend → client bytes (close). */
  bytesOut?: number;
  /** From accept to close (close), or to the failed dial (reject). */
  durationMs?: number;
  /** Dials that failed before this one connected, or why there is no backend. */
  error?: string;
  /** RFC 3339 time of the event. */
  at: string;
}

/** A connection the proxier accepted. */
type ClientConn = DuplexConn & { readonly remoteAddr: Deno.Addr };

/** Options for {@linkcode Proxier}. */
export interface ProxierOptions {
  nodeName: string;
  /** The address NodePorts listen on (`--nodeport-addresses`): the node's address, or 0.0.0.0. */
  nodePortAddress: string;
  /** The node's address: where Service ports listen in `node` mode. */
  nodeAddress: string;
  clusterIPMode: ClusterIPMode;
  /** Adds and removes cluster IPs on `lo` in `alias` mode. */
  addresses: LoopbackAddresses;
  clock: Clock;
  log: Logger;
  /** Hears every connection record. */
  onConnection(record: ConnectionRecord): void;
  /** Hears a change of any listener's state. */
  onListenerChange?(): void;
  /** @default a new LoadBalancerRR */
  balancer?: LoadBalancerRR;
  /** @default dialTcp */
  dial?: Dial<DuplexConn>;
  /** Which endpoints may be dialled; the others are rejected undialled. @default new LabNetwork() */
  network?: LabNetwork;
  /** @default ENDPOINT_DIAL_TIMEOUTS_MS */
  dialTimeoutsMs?: readonly number[];
  /** @default RETRY_BIND_MS */
  retryBindMs?: number;
}

/** One wanted listening socket. */
interface Frontend {
  /** `hostname:port`. */
  listen: string;
  hostname: string;
  port: number;
  route: Route;
  /** In `alias` mode, the cluster IP whose lowest port is the lock. */
  clusterIP?: string;
  listener?: Deno.TcpListener;
  accepting?: Promise<void>;
  state: ListenerState;
  error?: string;
}

interface Tracked {
  client: ClientConn;
  backend?: DuplexConn;
  done: Promise<void>;
}

/** Listens on every TCP frontend of the routing table and forwards connections. */
export class Proxier {
  readonly #opts: ProxierOptions;
  readonly #balancer: LoadBalancerRR;
  readonly #dial: Dial<DuplexConn>;
  readonly #frontends = new Map<string, Frontend>();
  /** The status of each route, by {@linkcode routeId}. */
  #status = new Map<string, ListenerStatus>();
  /** The status of routes that have no frontend of their own (taken port, not TCP). */
  #unbound = new Map<string, ListenerStatus>();
  readonly #connections = new Set<Tracked>();
  #nextId = 1;
  #draining = false;
  #stopped = false;
  #retry?: Timer;
  /** Changes are applied one at a time, in order. */
  #work: Promise<void> = Promise.resolve();

  constructor(opts: ProxierOptions) {
    this.#opts = opts;
    this.#balancer = opts.balancer ?? new LoadBalancerRR();
    this.#dial = guardDial(opts.network ?? new LabNetwork(), opts.dial ?? dialTcp);
  }

  /** The connections being forwarded now. */
  get activeConnections(): number {
    return this.#connections.size;
  }

  /** Where a route listens, and whether. */
  status(route: Route): ListenerStatus | undefined {
    return this.#status.get(routeId(route));
  }

  /** Makes the listeners match `routes`; resolves once applied. */
  sync(routes: readonly Route[]): Promise<void> {
    this.#work = this.#work.then(() => this.#apply(routes)).catch((err) =>
      this.#opts.log.error("Proxy sync failed", { error: err })
    );
    return this.#work;
  }

  /** Drops sticky sessions idle for longer than their timeout. */
  cleanupStaleStickySessions(): void {
    this.#balancer.cleanupStaleStickySessions(this.#opts.clock.now());
  }

  /**
   * Stops: accepts no more connections, lets those in flight finish for up to `drainMs`, closes
   * what is left, removes the cluster IPs it served and closes every listener.
   */
  async stop(drainMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#retry?.cancel();
    await this.#work;
    this.#draining = true;
    // A cluster IP's listeners stay bound while it drains, so no other kube-proxy takes it over
    // (and has its address removed from under it below).
    for (const f of this.#frontends.values()) if (!f.clusterIP) this.#close(f);
    const inFlight = Promise.all([...this.#connections].map((c) => c.done));
    let timer: Timer | undefined;
    const timedOut = new Promise<void>((r) => timer = this.#opts.clock.after(drainMs, r));
    await Promise.race([inFlight, timedOut]);
    timer?.cancel();
    if (this.#connections.size) {
      this.#opts.log.warn("Closing connections still open", { count: this.#connections.size });
      for (const c of this.#connections) closeQuietly(c.client, c.backend);
      await inFlight;
    }
    const owned = new Set(
      [...this.#frontends.values()].filter((f) => f.clusterIP && f.listener).map((f) =>
        f.clusterIP!
      ),
    );
    for (const ip of owned) await this.#removeAddress(ip);
    for (const f of this.#frontends.values()) this.#close(f);
    await Promise.allSettled([...this.#frontends.values()].map((f) => f.accepting));
    this.#frontends.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Applying the table

  async #apply(routes: readonly Route[]): Promise<void> {
    if (this.#stopped) return;
    this.#updateBalancer(routes);
    const wanted = this.#wanted(routes);
    const gone = [...this.#frontends.values()].filter((f) => !wanted.frontends.has(f.listen));
    for (const f of gone) this.#frontends.delete(f.listen);
    for (const [listen, next] of wanted.frontends) {
      const f = this.#frontends.get(listen);
      if (f) f.route = next.route;
      else this.#frontends.set(listen, next);
    }
    // A cluster IP no frontend of this proxy serves any more goes back while its listeners still
    // hold the lock; then the listeners close (connections already accepted carry on).
    const released = new Set(
      gone.filter((f) => f.clusterIP && f.listener).map((f) => f.clusterIP!),
    );
    for (const ip of released) {
      if (![...this.#frontends.values()].some((f) => f.clusterIP === ip)) {
        await this.#removeAddress(ip);
      }
    }
    for (const f of gone) this.#close(f);
    await Promise.allSettled(gone.map((f) => f.accepting));
    this.#unbound = wanted.unbound;
    await this.#bindAll();
    this.#refreshStatus();
  }

  #updateBalancer(routes: readonly Route[]): void {
    const keys = new Set<string>();
    for (const r of routes) {
      const key = servicePortKey(r);
      if (keys.has(key)) continue;
      keys.add(key);
      this.#balancer.update(key, r.endpoints, {
        type: r.sessionAffinity,
        timeoutSeconds: r.affinityTimeoutSeconds,
      });
    }
    for (const key of this.#balancer.keys()) if (!keys.has(key)) this.#balancer.delete(key);
  }

  /** The frontends `routes` want, and the status of the routes that get none. */
  #wanted(routes: readonly Route[]) {
    const { clusterIPMode, nodeAddress, nodePortAddress } = this.#opts;
    const frontends = new Map<string, Frontend>();
    const unbound = new Map<string, ListenerStatus>();
    for (const route of routes) {
      let hostname: string;
      let port: number;
      let clusterIP: string | undefined;
      if (route.type === "NodePort") {
        [hostname, port] = [nodePortAddress, splitHostPort(route.frontend).port];
      } else if (clusterIPMode === "alias") {
        ({ hostname, port } = splitHostPort(route.frontend));
        clusterIP = hostname;
      } else {
        [hostname, port] = [nodeAddress, route.port];
      }
      const listen = `${hostname}:${port}`;
      const taken = frontends.get(listen);
      if (route.protocol !== "TCP") {
        const error = `${route.protocol} is not forwarded`;
        unbound.set(routeId(route), { listen, state: "unsupported", error });
      } else if (taken) {
        const error = `${listen} is taken by ${taken.route.service} port ${taken.route.port}`;
        unbound.set(routeId(route), { listen, state: "failed", error });
      } else {
        frontends.set(listen, { listen, hostname, port, route, clusterIP, state: "failed" });
      }
    }
    return { frontends, unbound };
  }

  /** Binds every frontend that does not listen yet; schedules a retry while some cannot. */
  async #bindAll(): Promise<void> {
    const byClusterIP = new Map<string, Frontend[]>();
    for (const f of this.#frontends.values()) {
      if (f.listener) continue;
      if (f.clusterIP) {
        const group = byClusterIP.get(f.clusterIP) ?? [];
        byClusterIP.set(f.clusterIP, [...group, f]);
      } else this.#bind(f);
    }
    for (const [ip, pending] of byClusterIP) await this.#bindClusterIP(ip, pending);
    const waiting = [...this.#frontends.values()].some((f) => !f.listener);
    if (waiting && !this.#retry && !this.#stopped) {
      this.#retry = this.#opts.clock.after(this.#opts.retryBindMs ?? RETRY_BIND_MS, () => {
        this.#retry = undefined;
        this.#work = this.#work.then(async () => {
          if (this.#stopped) return;
          await this.#bindAll();
          this.#refreshStatus();
        });
      });
    }
  }

  /**
   * Binds the pending ports of a cluster IP. Unless this proxy serves the IP already, the lowest port
   * of the IP is bound first, as a lock: taken means another kube-proxy serves it (standby).
   */
  async #bindClusterIP(ip: string, pending: Frontend[]): Promise<void> {
    const all = [...this.#frontends.values()].filter((f) => f.clusterIP === ip)
      .sort((a, b) => a.port - b.port);
    const owned = all.some((f) => f.listener);
    if (!owned) {
      const lock = all[0];
      let error = this.#bind(lock);
      if (error instanceof Deno.errors.AddrNotAvailable) {
        try {
          await this.#opts.addresses.add(ip);
          error = this.#bind(lock);
        } catch (err) {
          error = err as Error;
          lock.error = (err as Error).message;
        }
      }
      if (error) {
        const standby = error instanceof Deno.errors.AddrInUse;
        for (const f of all) {
          f.state = standby ? "standby" : "failed";
          f.error = standby ? "served by another kube-proxy of this host" : lock.error;
        }
        return;
      }
      this.#opts.log.info("Serving cluster IP", { clusterIP: ip, ports: all.map((f) => f.port) });
    }
    for (const f of pending) if (!f.listener) this.#bind(f);
  }

  /** Listens on `f`; returns the error when it cannot. */
  #bind(f: Frontend): Error | undefined {
    try {
      f.listener = Deno.listen({ hostname: f.hostname, port: f.port, transport: "tcp" });
    } catch (err) {
      f.state = "failed";
      f.error = (err as Error).message;
      return err as Error;
    }
    f.state = "listening";
    f.error = undefined;
    f.accepting = this.#accept(f, f.listener);
    return undefined;
  }

  #close(f: Frontend): void {
    if (!f.listener) return;
    try {
      f.listener.close();
    } catch { /* closed */ }
    f.listener = undefined;
  }

  async #removeAddress(ip: string): Promise<void> {
    try {
      await this.#opts.addresses.remove(ip);
      this.#opts.log.info("Released cluster IP", { clusterIP: ip });
    } catch (err) {
      this.#opts.log.warn("Cannot remove cluster IP", { clusterIP: ip, error: err });
    }
  }

  /**
   * Recomputes every route's status; logs what changed and tells `onListenerChange` when anything did.
   */
  #refreshStatus(): void {
    const next = new Map(this.#unbound);
    for (const f of this.#frontends.values()) {
      next.set(routeId(f.route), {
        listen: f.listen,
        state: f.state,
        ...(f.error && f.state !== "listening" ? { error: f.error } : {}),
      });
    }
    let changed = next.size !== this.#status.size;
    for (const [id, status] of next) {
      const prev = this.#status.get(id);
      if (prev && prev.state === status.state && prev.error === status.error) continue;
      changed = true;
      const fields = { route: id, listen: status.listen, error: status.error };
      if (status.state === "listening") this.#opts.log.info("Listening", fields);
      else if (status.state === "standby") this.#opts.log.info("Standing by", fields);
      else this.#opts.log.warn("Not listening", { ...fields, state: status.state });
    }
    this.#status = next;
    if (changed) this.#opts.onListenerChange?.();
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  async #accept(f: Frontend, listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        if (this.#draining) {
          closeQuietly(conn);
          continue;
        }
        this.#track(f.route, f.listen, conn);
      }
    } catch (err) {
      if (f.listener === listener) {
        this.#opts.log.warn("Accept failed", { listen: f.listen, error: err });
      }
    }
  }

  #track(route: Route, listen: string, client: ClientConn): void {
    const tracked: Tracked = { client, done: Promise.resolve() };
    this.#connections.add(tracked);
    tracked.done = this.#forward(route, listen, tracked)
      .catch((err) => this.#opts.log.error("Forwarding failed", { listen, error: err }))
      .finally(() => this.#connections.delete(tracked));
  }

  async #forward(route: Route, listen: string, tracked: Tracked): Promise<void> {
    const { clock, onConnection, nodeName } = this.#opts;
    const client = tracked.client;
    const addr = client.remoteAddr as Deno.NetAddr;
    const started = clock.now();
    const base = {
      node: nodeName,
      id: this.#nextId++,
      service: route.service,
      portName: route.portName,
      type: route.type,
      frontend: listen,
      client: `${addr.hostname}:${addr.port}`,
    };
    const key = servicePortKey(route);
    const dialed = await tryConnectEndpoints(
      (reset) => this.#balancer.next(key, addr.hostname, reset, clock.now()),
      this.#dial,
      this.#opts.dialTimeoutsMs,
    );
    const failures = dialed.failures.map((f) => `${f.endpoint}: ${f.error}`).join("; ");
    if (!dialed.ok) {
      closeQuietly(client);
      onConnection({
        ...base,
        event: "reject",
        durationMs: clock.now() - started,
        error: failures ? `${dialed.reason} (${failures})` : dialed.reason,
        at: iso(clock.now()),
      });
      return;
    }
    tracked.backend = dialed.conn;
    const endpoint = dialed.endpoint;
    onConnection({
      ...base,
      event: "open",
      endpoint,
      ...(failures ? { error: failures } : {}),
      at: iso(clock.now()),
    });
    const result = await pipe(client, dialed.conn);
    onConnection({
      ...base,
      event: "close",
      endpoint,
      bytesIn: result.bytesIn,
      bytesOut: result.bytesOut,
      durationMs: clock.now() - started,
      ...(result.error ? { error: result.error } : {}),
      at: iso(clock.now()),
    });
  }
}

/** The identity of a route's frontend: `NodePort *:30080/TCP`. */
function routeId(r: Route): string {
  return `${r.type} ${r.frontend}/${r.protocol}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function closeQuietly(...conns: (DuplexConn | undefined)[]): void {
  for (const c of conns) {
    try {
      c?.close();
    } catch { /* closed */ }
  }
}
