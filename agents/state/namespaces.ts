/**
 * Namespace deletion, as the namespace controller does it: a Terminating namespace has every object in it
 * deleted (pods on nodes gracefully), and is removed once it is empty and its finalizers are gone.
 * Level-triggered: a change in a Terminating namespace only queues its name; a sync re-reads the cache.
 * @module
 */
import { ApiError } from "../../shared/api/errors.ts";
import { RESOURCES } from "../../shared/api/registry.ts";
import { objectKey } from "../../shared/bus/subjects.ts";
import type { Logger } from "../../shared/log.ts";
import type { StateApi } from "./api.ts";
import type { CacheChange, WatchCache } from "./watch_cache.ts";

/** Options for {@linkcode NamespaceFinalizer}. */
export interface NamespaceFinalizerOptions {
  api: StateApi;
  cache: WatchCache;
  log: Logger;
}

const NAMESPACED = RESOURCES.filter((r) => r.namespaced);

/** Empties and removes Terminating namespaces. */
export class NamespaceFinalizer {
  readonly #opts: NamespaceFinalizerOptions;
  readonly #log: Logger;
  readonly #queue = new Set<string>();
  #wake?: () => void;
  #stopped = false;
  #loop?: Promise<void>;

  constructor(opts: NamespaceFinalizerOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ component: "namespace-finalizer" });
  }

  /** Starts the worker and queues every namespace already Terminating. */
  start(): void {
    this.#loop ??= this.#run();
    for (const ns of this.#opts.cache.objects("namespaces")) {
      if (ns.metadata.deletionTimestamp) this.enqueue(ns.metadata.name!);
    }
  }

  /** Queues the namespace a change touches when that namespace is Terminating. */
  observe(change: CacheChange): void {
    const ns = change.resource === "namespaces" ? change.name : change.namespace;
    if (ns && this.#terminating(ns)) this.enqueue(ns);
  }

  /** Queues a namespace for a sync. */
  enqueue(namespace: string): void {
    if (this.#stopped) return;
    this.#queue.add(namespace);
    this.#wake?.();
  }

  /** Stops after the sync under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  #terminating(namespace: string): boolean {
    return !!this.#opts.cache.get(objectKey("namespaces", undefined, namespace))?.metadata
      .deletionTimestamp;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const [ns] = this.#queue;
      if (ns === undefined) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        continue;
      }
      this.#queue.delete(ns);
      try {
        await this.#sync(ns);
      } catch (err) {
        if (this.#stopped) break;
        this.#log.warn("Namespace sync failed; will retry on the next change", {
          namespace: ns,
          error: err,
        });
      }
    }
  }

  async #sync(namespace: string): Promise<void> {
    if (!this.#terminating(namespace)) return;
    const { api } = this.#opts;
    for (const info of NAMESPACED) {
      for (const obj of api.select(info, namespace)) {
        if (obj.metadata.deletionTimestamp || this.#stopped) continue;
        await api.delete(info, { namespace, name: obj.metadata.name! }).catch(ignoreGoneOrRaced);
      }
    }
    const removed = await api.finalizeNamespace(namespace, () => this.#isEmpty(namespace));
    if (removed) this.#log.info("Namespace deleted", { namespace });
  }

  #isEmpty(namespace: string): boolean {
    return NAMESPACED.every((info) => this.#opts.api.select(info, namespace).length === 0);
  }
}

function ignoreGoneOrRaced(err: unknown): void {
  if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return;
  throw err;
}
