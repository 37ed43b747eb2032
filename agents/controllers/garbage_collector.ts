/**
 * The garbage collector (pkg/controller/garbagecollector): deletes objects whose owners are gone,
 * following ownerReferences across every kind it watches. Deleting an owner with propagationPolicy
 * Background removes it at once and its dependents after; Foreground leaves it with the
 * `foregroundDeletion` finalizer until its blocking dependents (blockOwnerDeletion) are gone; Orphan
 * leaves it with the `orphan` finalizer until its dependents' references to it are removed.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import { resourceForKind, RESOURCES } from "../../shared/api/registry.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { isNotFound, keyOf } from "./controller_utils.ts";
import {
  BY_OWNER,
  BY_UID,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import {
  blocksOwnerDeletion,
  decideDependent,
  FOREGROUND_FINALIZER,
  isDeletingDependents,
  isOrphaningDependents,
  ORPHAN_FINALIZER,
  type OwnerState,
  ownerState,
} from "./ownership.ts";
import { jsonEqual } from "./semantic.ts";
import { WorkQueue } from "./workqueue.ts";

/** Kinds the collector does not watch: Events own nothing and are many; namespaces have their own. */
const UNWATCHED = new Set(["events", "namespaces"]);
/**
 * How soon a dependent is looked at again when a read found an owner its cache does not hold: the
 * owner may be new (the cache will catch up) or just deleted (the read came from a cache behind the
 * watch stream), and only a second look tells which.
 */
const RECHECK_MS = 1_000;

/** Options for {@linkcode GarbageCollector}. */
export interface GarbageCollectorOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  clock: Clock;
  log: Logger;
  /** Items processed at once (--concurrent-gc-syncs). @default 5 */
  workers?: number;
}

/** Deletes dependents of deleted owners; finishes foreground and orphan deletions. */
export class GarbageCollector {
  readonly #opts: GarbageCollectorOptions;
  readonly #log: Logger;
  /** Items `<resource>|<ns/name>`. */
  readonly #queue: WorkQueue;
  readonly #informers = new Map<string, SharedInformer<KubeObject>>();

  constructor(opts: GarbageCollectorOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "garbage-collector" });
    this.#queue = new WorkQueue({ name: "garbage-collector", clock: opts.clock, log: this.#log });
    for (const info of RESOURCES) {
      if (UNWATCHED.has(info.resource)) continue;
      const informer = withIndex(withIndex(opts.informers.for(info.resource), BY_UID), BY_OWNER);
      informer.addHandler((type, obj, old) => this.#onEvent(info.resource, type, obj, old));
      this.#informers.set(info.resource, informer);
    }
  }

  /** Runs the workers until {@linkcode stop}; call once the informers have synced. */
  run(): Promise<void> {
    return this.#queue.run(this.#opts.workers ?? 5, (item) => this.sync(item));
  }

  /** Stops taking work. */
  stop(): void {
    this.#queue.shutDown();
  }

  #enqueue(resource: string, obj: KubeObject): void {
    this.#queue.add(`${resource}|${keyOf(obj)}`);
  }

  #onEvent(resource: string, type: WatchEventType, obj: KubeObject, old?: KubeObject): void {
    if (type === "DELETED") {
      // Its dependents may now be dangling; a foreground owner may now be done waiting.
      for (const [r, dep] of this.#dependents(obj.metadata.uid ?? "")) this.#enqueue(r, dep);
      for (const [r, owner] of this.#owners(obj)) {
        if (isDeletingDependents(owner)) this.#enqueue(r, owner);
      }
      return;
    }
    const deleting = isDeletingDependents(obj) || isOrphaningDependents(obj);
    const refsChanged = !old ||
      !jsonEqual(old.metadata.ownerReferences ?? [], obj.metadata.ownerReferences ?? []);
    if (deleting || (refsChanged && obj.metadata.ownerReferences?.length)) {
      this.#enqueue(resource, obj);
    }
    if (old && refsChanged) {
      for (const [r, owner] of this.#owners(old)) {
        if (isDeletingDependents(owner)) this.#enqueue(r, owner);
      }
    }
  }

  /** Every cached object with an owner reference to `uid`, with its resource. */
  #dependents(uid: string): [string, KubeObject][] {
    return [...this.#informers].flatMap(([r, inf]) =>
      inf.byIndex(BY_OWNER, uid).map((o): [string, KubeObject] => [r, o])
    );
  }

  /** The cached owners of `obj` (those the cache holds with the referenced uid). */
  #owners(obj: KubeObject): [string, KubeObject][] {
    const out: [string, KubeObject][] = [];
    for (const ref of obj.metadata.ownerReferences ?? []) {
      for (const [r, inf] of this.#informers) {
        const owner = inf.byIndex(BY_UID, ref.uid)[0];
        if (owner) out.push([r, owner]);
      }
    }
    return out;
  }

  /** Processes one item: an owner being deleted in the foreground or orphaning, or a dependent. */
  async sync(item: string): Promise<void> {
    const sep = item.indexOf("|");
    const resource = item.slice(0, sep);
    const obj = this.#informers.get(resource)?.get(item.slice(sep + 1));
    if (!obj) return;
    if (isDeletingDependents(obj)) return await this.#processDeletingDependents(resource, obj);
    if (isOrphaningDependents(obj)) return await this.#orphanDependents(resource, obj);
    await this.#attemptToDelete(item, resource, obj);
  }

  /** attemptToDeleteItem for a dependent. */
  async #attemptToDelete(item: string, resource: string, obj: KubeObject): Promise<void> {
    const states = new Map<string, OwnerState>();
    let unconfirmed = false;
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const { state, cached } = await this.#ownerState(obj, ref);
      states.set(ref.uid, state);
      if (state !== "dangling" && !cached) unconfirmed = true;
    }
    if (unconfirmed) this.#queue.addAfter(item, RECHECK_MS);
    const uid = obj.metadata.uid ?? "";
    const decision = decideDependent(obj, states, this.#dependents(uid).length > 0);
    const { client } = this.#opts;
    const { namespace, name = "" } = obj.metadata;
    switch (decision.action) {
      case "none":
        return;
      case "removeRefs":
        this.#log.info("Removing references to owners that are gone", {
          object: `${resource}/${keyOf(obj)}`,
          owners: decision.uids,
        });
        await this.#patchRefs(resource, obj, new Set(decision.uids));
        return;
      case "delete":
        this.#log.info("Deleting dependent", {
          object: `${resource}/${keyOf(obj)}`,
          propagationPolicy: decision.policy,
        });
        try {
          await client.delete(resource, {
            namespace,
            name,
            propagationPolicy: decision.policy,
            preconditions: { uid },
          });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
    }
  }

  /**
   * What an owner is to `obj`: from the cache when it holds the uid (`cached`), else from a read by
   * name, so that an owner the cache has not caught up with is never taken for gone.
   */
  async #ownerState(
    obj: KubeObject,
    ref: NonNullable<KubeObject["metadata"]["ownerReferences"]>[number],
  ): Promise<{ state: OwnerState; cached: boolean }> {
    for (const inf of this.#informers.values()) {
      const owner = inf.byIndex(BY_UID, ref.uid)[0];
      if (owner) return { state: ownerState(ref, owner), cached: true };
    }
    const info = resourceForKind(ref.apiVersion, ref.kind);
    if (!info) {
      this.#log.warn("Owner of an unknown kind, keeping the dependent", {
        object: keyOf(obj),
        owner: `${ref.apiVersion}/${ref.kind}`,
      });
      return { state: "solid", cached: true };
    }
    try {
      const owner = await this.#opts.client.get(
        info.resource,
        info.namespaced ? obj.metadata.namespace : undefined,
        ref.name,
      );
      return { state: ownerState(ref, owner), cached: false };
    } catch (err) {
      if (isNotFound(err)) return { state: "dangling", cached: false };
      throw err;
    }
  }

  /**
   * processDeletingDependentsItem: the owner's dependents are deleted; once none that blocks it is
   * left, its foregroundDeletion finalizer is removed (and so is it).
   */
  async #processDeletingDependents(resource: string, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? "";
    const dependents = this.#dependents(uid);
    const blocking = dependents.filter(([, d]) => blocksOwnerDeletion(d, uid));
    if (!blocking.length) {
      this.#log.info("Dependents are gone, removing the foregroundDeletion finalizer", {
        object: `${resource}/${keyOf(owner)}`,
      });
      return await this.#removeFinalizer(resource, owner, FOREGROUND_FINALIZER);
    }
    for (const [r, dep] of dependents) if (!isDeletingDependents(dep)) this.#enqueue(r, dep);
  }

  /** attemptToOrphan: removes every dependent's reference to the owner, then the orphan finalizer. */
  async #orphanDependents(resource: string, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? "";
    for (const [r, dep] of this.#dependents(uid)) await this.#patchRefs(r, dep, new Set([uid]));
    this.#log.info("Dependents orphaned, removing the orphan finalizer", {
      object: `${resource}/${keyOf(owner)}`,
    });
    await this.#removeFinalizer(resource, owner, ORPHAN_FINALIZER);
  }

  /** Drops references to `uids` from `obj`, compare-and-set. */
  async #patchRefs(resource: string, obj: KubeObject, uids: ReadonlySet<string>): Promise<void> {
    const { namespace, name = "", resourceVersion } = obj.metadata;
    const ownerReferences = (obj.metadata.ownerReferences ?? []).filter((r) => !uids.has(r.uid));
    try {
      await this.#opts.client.patch(resource, {
        namespace,
        name,
        patch: { metadata: { resourceVersion, ownerReferences } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Removes `finalizer` from `obj`, compare-and-set (the API removes the object with the last one). */
  async #removeFinalizer(resource: string, obj: KubeObject, finalizer: string): Promise<void> {
    const { namespace, name = "", resourceVersion } = obj.metadata;
    const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      await this.#opts.client.patch(resource, {
        namespace,
        name,
        patch: { metadata: { resourceVersion, finalizers } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
