/**
 * kube-proxy of one node: informers of every Service and Endpoints; on each change it recomputes the
 * routing table and, when it differs, logs "Routes updated" and publishes it on
 * `kl.node.<node>.proxy.routes`. Forwarding real TCP comes in a later issue.
 * @module
 */
import type { Endpoints, Service } from "../../shared/api/core.ts";
import type { Bus } from "../../shared/bus/bus.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { Informer } from "../../shared/client/watch.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { computeRoutes, formatRoute, type Route } from "./routes.ts";

/** kube-proxy's syncPeriod: the table is republished this often even when nothing changed. */
export const SYNC_PERIOD_MS = 30_000;

/** What is published on `kl.node.<node>.proxy.routes`. */
export interface RoutesMessage {
  node: string;
  /** RFC 3339 time of the change. */
  updatedAt: string;
  routes: Route[];
}

/** Options for {@linkcode KubeProxy}. */
export interface KubeProxyOptions {
  client: ApiClient;
  /** Where the table is published. @default client.bus */
  bus?: Bus;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  nodeName: string;
}

/** One node's kube-proxy. */
export class KubeProxy {
  readonly #opts: KubeProxyOptions;
  readonly #log: Logger;
  readonly #controller = new AbortController();
  readonly #services: Informer<Service>;
  readonly #endpoints: Informer<Endpoints>;
  #routes: Route[] = [];
  #updatedAt = "";
  #synced = false;
  #pending = false;
  #loop?: Promise<void>;

  constructor(options: KubeProxyOptions) {
    this.#opts = options;
    this.#log = options.log.with({ node: options.nodeName });
    if (options.signal.aborted) this.#controller.abort();
    options.signal.addEventListener("abort", () => this.#controller.abort(), { once: true });
    const common = { client: options.client, log: this.#log, signal: this.#controller.signal };
    const onEvent = () => this.#schedule();
    this.#services = new Informer<Service>({ ...common, resource: "services", onEvent });
    this.#endpoints = new Informer<Endpoints>({ ...common, resource: "endpoints", onEvent });
  }

  /** The current routing table. */
  get routes(): Route[] {
    return this.#routes;
  }

  /** Starts both informers and publishes the first table once both are synced. */
  async start(): Promise<void> {
    await Promise.all([this.#services.start(), this.#endpoints.start()]);
    this.#synced = true;
    this.#sync();
    this.#loop = this.#republish();
    this.#log.info("Kube-proxy started", { routes: this.#routes.length });
  }

  /** Stops the informers and the republish loop. */
  async stop(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled([this.#loop, this.#services.done, this.#endpoints.done]);
  }

  /** Coalesces a burst of events into one recomputation. */
  #schedule(): void {
    if (!this.#synced || this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      this.#sync();
    });
  }

  #sync(): void {
    const routes = computeRoutes(this.#services.list(), this.#endpoints.list());
    if (this.#updatedAt && JSON.stringify(routes) === JSON.stringify(this.#routes)) return;
    this.#routes = routes;
    this.#updatedAt = new Date(this.#opts.clock.now()).toISOString();
    this.#log.info("Routes updated", { count: routes.length, table: routes.map(formatRoute) });
    this.#publish();
  }

  #publish(): void {
    const message: RoutesMessage = {
      node: this.#opts.nodeName,
      updatedAt: this.#updatedAt,
      routes: this.#routes,
    };
    (this.#opts.bus ?? this.#opts.client.bus).publish(
      subjects.proxy(this.#opts.nodeName, "routes"),
      message,
    );
  }

  async #republish(): Promise<void> {
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      await this.#opts.clock.sleep(SYNC_PERIOD_MS, signal).catch(() => {});
      if (!signal.aborted) this.#publish();
    }
  }
}
