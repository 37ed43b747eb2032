/**
 * kube-proxy of one node: informers of every Service and Endpoints; on each change it recomputes the
 * routing table (routes.ts), makes its listeners forward it (proxier.ts) and, when the table or a
 * listener's state differs, logs "Routes updated" and publishes it on `kl.node.<node>.proxy.routes`
 * (in parts, when it is larger than a NATS message).
 * Every forwarded connection is published on `kl.node.<node>.proxy.connections` when it opens and
 * closes. `/healthz` reports the sync state.
 * @module
 */
import type { Bus } from "../../shared/bus/bus.ts";
import { splitPages } from "../../shared/bus/pager.ts";
import { maxMessageBytes } from "../../shared/bus/payload.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { type ClusterIPMode, type LoopbackAddresses, loopbackAddresses } from "./cluster_ip.ts";
import type { LabNetwork } from "../../shared/net/lab_network.ts";
import type { Dial } from "./dial.ts";
import { healthzHandler, type SyncState } from "./healthz.ts";
import type { DuplexConn } from "./pipe.ts";
import { type ConnectionRecord, type ListenerStatus, Proxier } from "./proxier.ts";
import { computeRoutes, formatRoute, type Route } from "./routes.ts";
import { ServiceSource } from "./source.ts";

/** kube-proxy's syncPeriod: the table is republished this often even when nothing changed. */
export const SYNC_PERIOD_MS = 30_000;

/** kube-proxy's health timeout: 2 × syncPeriod. */
export const HEALTH_TIMEOUT_MS = 2 * SYNC_PERIOD_MS;

/** How long in-flight connections may take to finish when the proxy stops. */
export const DEFAULT_DRAIN_MS = 5_000;

/** A route with where it listens. */
export type PublishedRoute = Route & { listener?: ListenerStatus };

/**
 * What is published on `kl.node.<node>.proxy.routes`. A table larger than one NATS message goes out in
 * several, each with a run of the routes and `part` of `parts`, all with the same `updatedAt`.
 */
export interface RoutesMessage {
  node: string;
  /** RFC 3339 time of the change. */
  updatedAt: string;
  /** How cluster IPs are realised on this node. */
  clusterIPMode: ClusterIPMode;
  routes: PublishedRoute[];
  /** Which part of the table this is, from 1; absent when the table is whole. */
  part?: number;
  /** How many parts the table was cut into; absent when the table is whole. */
  parts?: number;
}

/** Options for {@linkcode KubeProxy}. */
export interface KubeProxyOptions {
  client: ApiClient;
  /** Where the table and connections are published. @default client.bus */
  bus?: Bus;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  nodeName: string;
  /** The node's address. @default "127.0.0.1" */
  nodeAddress?: string;
  /** Where NodePorts listen. @default nodeAddress */
  nodePortAddress?: string;
  /** How cluster IPs are realised (cluster_ip.ts). @default "node" */
  clusterIPMode?: ClusterIPMode;
  /** @default loopbackAddresses() */
  addresses?: LoopbackAddresses;
  /** `host:port` of `/healthz`; none when undefined or "". */
  healthzAddress?: string;
  /** @default DEFAULT_DRAIN_MS */
  drainMs?: number;
  /** Dialling backends. @default dialTcp */
  dial?: Dial<DuplexConn>;
  /**
   * Services and Endpoints, shared with the other kube-proxies of the process (a pool); started and
   * stopped by its owner. @default informers of this proxy's own
   */
  source?: ServiceSource;
  /** Which endpoints may be dialled. @default new LabNetwork() (loopback and this host's interfaces) */
  network?: LabNetwork;
}

/** One node's kube-proxy. */
export class KubeProxy {
  readonly #opts: KubeProxyOptions;
  readonly #log: Logger;
  readonly #controller = new AbortController();
  readonly #source: ServiceSource;
  readonly #ownSource: boolean;
  #unsubscribe?: () => void;
  readonly #proxier: Proxier;
  #routes: Route[] = [];
  #published = "";
  #table: PublishedRoute[] = [];
  #updatedAt = "";
  #sync: SyncState = {};
  #synced = false;
  #pending = false;
  #loop?: Promise<void>;
  #syncing: Promise<void> = Promise.resolve();
  #healthz?: Deno.HttpServer<Deno.NetAddr>;
  #stopped?: Promise<void>;

  constructor(options: KubeProxyOptions) {
    this.#opts = options;
    this.#log = options.log.with({ node: options.nodeName });
    if (options.signal.aborted) this.#controller.abort();
    options.signal.addEventListener("abort", () => this.#controller.abort(), { once: true });
    this.#ownSource = options.source === undefined;
    this.#source = options.source ?? new ServiceSource({
      client: options.client,
      log: this.#log,
      signal: this.#controller.signal,
    });
    const nodeAddress = options.nodeAddress ?? "127.0.0.1";
    this.#proxier = new Proxier({
      nodeName: options.nodeName,
      nodeAddress,
      nodePortAddress: options.nodePortAddress ?? nodeAddress,
      clusterIPMode: this.clusterIPMode,
      addresses: options.addresses ?? loopbackAddresses(),
      clock: options.clock,
      log: this.#log,
      dial: options.dial,
      network: options.network,
      onConnection: (record) => this.#onConnection(record),
      onListenerChange: () => this.#publishIfChanged(),
    });
  }

  /** How cluster IPs are realised. */
  get clusterIPMode(): ClusterIPMode {
    return this.#opts.clusterIPMode ?? "node";
  }

  /** The current routing table. */
  get routes(): Route[] {
    return this.#routes;
  }

  /** The connections being forwarded now. */
  get activeConnections(): number {
    return this.#proxier.activeConnections;
  }

  /** The address `/healthz` listens on, once started. */
  get healthzAddress(): Deno.NetAddr | undefined {
    return this.#healthz?.addr;
  }

  /** Starts both informers, applies and publishes the first table, and serves `/healthz`. */
  async start(): Promise<void> {
    this.#unsubscribe = this.#source.subscribe(() => this.#schedule());
    await this.#source.start();
    this.#synced = true;
    await this.#resync();
    if (this.#opts.healthzAddress) this.#serveHealthz(this.#opts.healthzAddress);
    this.#loop = this.#republish();
    this.#log.info("Kube-proxy started", {
      routes: this.#routes.length,
      clusterIPMode: this.clusterIPMode,
    });
  }

  /**
   * Stops: informers and the health endpoint first, then the listeners; connections in flight get
   * `drainMs` to finish.
   */
  stop(): Promise<void> {
    return this.#stopped ??= this.#stop();
  }

  async #stop(): Promise<void> {
    this.#controller.abort();
    this.#unsubscribe?.();
    await Promise.allSettled([this.#loop, this.#ownSource ? this.#source.done : undefined]);
    await this.#healthz?.shutdown();
    await this.#syncing;
    await this.#proxier.stop(this.#opts.drainMs ?? DEFAULT_DRAIN_MS);
  }

  /** Coalesces a burst of events into one recomputation. */
  #schedule(): void {
    this.#sync.oldestPending ??= this.#opts.clock.now();
    if (!this.#synced || this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      this.#syncing = this.#syncing.then(() => this.#resync());
    });
  }

  async #resync(): Promise<void> {
    if (this.#controller.signal.aborted) return;
    this.#sync.oldestPending = undefined;
    const routes = computeRoutes(this.#source.services(), this.#source.endpoints());
    this.#routes = routes;
    await this.#proxier.sync(routes);
    this.#sync.lastUpdated = this.#opts.clock.now();
    this.#publishIfChanged();
  }

  /** Publishes the table when it, or the state of a listener, changed. */
  #publishIfChanged(): void {
    const routes: PublishedRoute[] = this.#routes.map((r) => {
      const listener = this.#proxier.status(r);
      return listener ? { ...r, listener } : r;
    });
    const text = JSON.stringify(routes);
    if (this.#updatedAt && text === this.#published) return;
    this.#published = text;
    this.#table = routes;
    this.#updatedAt = new Date(this.#opts.clock.now()).toISOString();
    this.#log.info("Routes updated", {
      count: routes.length,
      table: routes.map((r) =>
        formatRoute(r) +
        (r.listener && r.listener.state !== "listening"
          ? ` [${r.listener.state}${r.listener.error ? `: ${r.listener.error}` : ""}]`
          : "")
      ),
    });
    this.#publish();
  }

  /**
   * Publishes the table, in parts when it is larger than a message. It never throws: a table that
   * cannot be published is logged, and routing goes on (a throw here would end the resync chain and
   * the republish loop for good).
   */
  #publish(): void {
    const subject = subjects.proxy(this.#opts.nodeName, "routes");
    const message: RoutesMessage = {
      node: this.#opts.nodeName,
      updatedAt: this.#updatedAt,
      clusterIPMode: this.clusterIPMode,
      routes: this.#table,
    };
    try {
      const parts = splitPages(message, "routes", maxMessageBytes(this.#bus.nc), subject);
      for (const [i, part] of parts.entries()) {
        this.#bus.publish(
          subject,
          parts.length > 1 ? { ...part, part: i + 1, parts: parts.length } : part,
        );
      }
    } catch (err) {
      this.#log.error("Cannot publish the routing table", {
        subject,
        routes: this.#table.length,
        error: err,
      });
    }
  }

  get #bus(): Bus {
    return this.#opts.bus ?? this.#opts.client.bus;
  }

  #onConnection(record: ConnectionRecord): void {
    this.#log.debug("Connection", { ...record });
    this.#bus.publish(subjects.proxy(this.#opts.nodeName, "connections"), record);
  }

  #serveHealthz(address: string): void {
    const i = address.lastIndexOf(":");
    const handler = healthzHandler({
      state: () => this.#sync,
      now: () => this.#opts.clock.now(),
      healthTimeoutMs: HEALTH_TIMEOUT_MS,
    });
    try {
      this.#healthz = Deno.serve({
        hostname: address.slice(0, i),
        port: Number(address.slice(i + 1)),
        onListen: () => {},
      }, handler);
    } catch (err) {
      // kube-proxy goes on without its health endpoint rather than not proxying at all.
      this.#log.warn("Cannot serve /healthz", { address, error: err });
    }
  }

  async #republish(): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      await this.#opts.clock.sleep(SYNC_PERIOD_MS, signal).catch(() => {});
      if (signal.aborted) break;
      this.#proxier.cleanupStaleStickySessions();
      this.#publish();
    }
  }
}
