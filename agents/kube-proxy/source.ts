/**
 * What kube-proxy routes from: every Service and every Endpoints, kept current by two informers. One
 * source serves every kube-proxy of a process — a pool hosting many nodes' proxies watches Services and
 * Endpoints once, not once per node — and tells each of them of every change.
 * @module
 */
import type { Endpoints, Service } from "../../shared/api/core.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { Informer } from "../../shared/client/watch.ts";
import type { Logger } from "../../shared/log.ts";

/** Options for {@linkcode ServiceSource}. */
export interface ServiceSourceOptions {
  client: ApiClient;
  log: Logger;
  signal: AbortSignal;
}

/** Services and Endpoints, shared by the kube-proxies of a process. */
export class ServiceSource {
  readonly #services: Informer<Service>;
  readonly #endpoints: Informer<Endpoints>;
  readonly #listeners = new Set<() => void>();
  #started?: Promise<void>;

  constructor(opts: ServiceSourceOptions) {
    const onEvent = () => {
      for (const fn of this.#listeners) fn();
    };
    const common = { client: opts.client, log: opts.log, signal: opts.signal, onEvent };
    this.#services = new Informer<Service>({ ...common, resource: "services" });
    this.#endpoints = new Informer<Endpoints>({ ...common, resource: "endpoints" });
  }

  /** Starts both informers (once, however many proxies ask); resolves when both have listed. */
  start(): Promise<void> {
    this.#started ??= Promise.all([this.#services.start(), this.#endpoints.start()]).then(() => {});
    return this.#started;
  }

  /** Calls `fn` on every change; returns the function that stops it. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  services(): Service[] {
    return this.#services.list();
  }

  endpoints(): Endpoints[] {
    return this.#endpoints.list();
  }

  /** Resolves once both informers have stopped (their signal aborted). */
  get done(): Promise<void> {
    return Promise.allSettled([this.#services.done, this.#endpoints.done]).then(() => {});
  }
}
