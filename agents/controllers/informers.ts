/**
 * Shared informers, as client-go's SharedInformerFactory: one list+watch per resource for the whole
 * controllers process, fanned out to every controller that registers a handler, with indexes
 * (pods by node, objects by owner) kept current from the same events.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import { type ApiClient, objectName } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import { Informer } from "../../shared/client/watch.ts";
import type { Logger } from "../../shared/log.ts";

/** Hears every change of a resource; must only note work (enqueue), never block. */
export type EventHandler<T> = (type: WatchEventType, obj: T, old: T | undefined) => void;

/** Computes the index values of an object (`spec.nodeName`, owner uids…). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** One resource's informer, shared by the controllers that registered handlers on it. */
export class SharedInformer<T extends KubeObject> {
  readonly informer: Informer<T>;
  readonly #handlers: EventHandler<T>[] = [];
  readonly #indexes = new Map<string, { fn: IndexFunc<T>; values: Map<string, Set<string>> }>();
  readonly #log: Logger;

  constructor(opts: { client: ApiClient; resource: string; log: Logger; signal: AbortSignal }) {
    this.#log = opts.log;
    this.informer = new Informer<T>({
      client: opts.client,
      resource: opts.resource,
      log: opts.log,
      signal: opts.signal,
      onEvent: (type, obj, old) => this.#dispatch(type, obj, old),
    });
  }

  /** Registers a handler; it also hears the ADDED events of the first list. */
  addHandler(handler: EventHandler<T>): void {
    this.#handlers.push(handler);
  }

  /** Adds an index named `name` (idempotent); register before the informer starts. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (!this.#indexes.has(name)) this.#indexes.set(name, { fn, values: new Map() });
  }

  /** The cached objects whose index `name` holds `value`. */
  byIndex(name: string, value: string): T[] {
    const keys = this.#indexes.get(name)?.values.get(value);
    if (!keys) return [];
    return [...keys].map((k) => this.informer.get(k)).filter((o): o is T => o !== undefined);
  }

  /** A cached object by `ns/name` (or `name`). */
  get(key: string): T | undefined {
    return this.informer.get(key);
  }

  /** Every cached object. */
  list(): T[] {
    return this.informer.list();
  }

  #dispatch(type: WatchEventType, obj: T, old: T | undefined): void {
    const key = objectName(obj);
    for (const { fn, values } of this.#indexes.values()) {
      if (old) { for (const v of fn(old)) values.get(v)?.delete(key); }
      if (type !== "DELETED") {
        for (const v of fn(obj)) {
          let keys = values.get(v);
          if (!keys) values.set(v, keys = new Set());
          keys.add(key);
        }
      }
    }
    for (const handler of this.#handlers) {
      try {
        handler(type, obj, old);
      } catch (err) {
        this.#log.error("Event handler failed", { object: key, error: err });
      }
    }
  }
}

/** Options for {@linkcode SharedInformerFactory}. */
export interface SharedInformerFactoryOptions {
  client: ApiClient;
  log: Logger;
  signal: AbortSignal;
}

/** Makes one {@linkcode SharedInformer} per resource and starts them together. */
export class SharedInformerFactory {
  readonly #opts: SharedInformerFactoryOptions;
  readonly #informers = new Map<string, SharedInformer<KubeObject>>();

  constructor(opts: SharedInformerFactoryOptions) {
    this.#opts = opts;
  }

  /** The shared informer of `resource` (created on first use). */
  for<T extends KubeObject>(resource: string): SharedInformer<T> {
    let informer = this.#informers.get(resource);
    if (!informer) {
      informer = new SharedInformer<KubeObject>({ ...this.#opts, resource });
      this.#informers.set(resource, informer);
    }
    return informer as unknown as SharedInformer<T>;
  }

  /** Starts every informer made so far; resolves once all have listed. */
  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.informer.start()));
  }

  /** Resolves once every informer has stopped (after the signal aborted). */
  async done(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.informer.done));
  }
}

/** Index of namespaced objects by namespace. */
export const BY_NAMESPACE = "namespace";
/** Index of objects by the uid of their controller owner. */
export const BY_CONTROLLER = "controller";
/** Index of objects by the uid of every owner. */
export const BY_OWNER = "owner";
/** Index of objects by their own uid. */
export const BY_UID = "uid";
/** Index of pods by `spec.nodeName`. */
export const BY_NODE = "node";

/** Index functions for the names above. */
export const INDEX_FUNCS = {
  [BY_NAMESPACE]: (o: KubeObject) => o.metadata.namespace ? [o.metadata.namespace] : [],
  [BY_CONTROLLER]: (o: KubeObject) =>
    (o.metadata.ownerReferences ?? []).filter((r) => r.controller).map((r) => r.uid),
  [BY_OWNER]: (o: KubeObject) => (o.metadata.ownerReferences ?? []).map((r) => r.uid),
  [BY_UID]: (o: KubeObject) => o.metadata.uid ? [o.metadata.uid] : [],
  [BY_NODE]: (o: KubeObject) => {
    const node = (o as { spec?: { nodeName?: string } }).spec?.nodeName;
    return node ? [node] : [];
  },
} as const;

/** Adds the index called `name` from {@linkcode INDEX_FUNCS} to `informer`. */
export function withIndex<T extends KubeObject>(
  informer: SharedInformer<T>,
  name: keyof typeof INDEX_FUNCS,
): SharedInformer<T> {
  informer.addIndex(name, INDEX_FUNCS[name]);
  return informer;
}
