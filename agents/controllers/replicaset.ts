/**
 * The ReplicaSet controller (pkg/controller/replicaset): keeps `spec.replicas` active pods matching the
 * selector, owned through a controller reference. Creations and deletions go through expectations, so a
 * ReplicaSet is not synced again until its informer has seen its own writes — it never overshoots while
 * its cache lags. Surplus pods are deleted in ActivePods order (unscheduled, pending, not ready first).
 * @module
 */
import type { ReplicaSet } from "../../shared/api/apps.ts";
import type { Pod } from "../../shared/api/core.ts";
import type { OwnerReference } from "../../shared/api/meta.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { claimObjects } from "./claim.ts";
import {
  errorText,
  isEmptySelector,
  isNotFound,
  keyOf,
  selects,
  slowStartBatch,
  splitKey,
} from "./controller_utils.ts";
import { selectorFromLabelSelector } from "../../shared/api/selector.ts";
import { ControllerExpectations } from "./expectations.ts";
import {
  BY_CONTROLLER,
  BY_NAMESPACE,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import {
  controllerRef,
  isPodActive,
  isPodReady,
  podFromTemplate,
  podKey,
  podsToDelete,
} from "./pods.ts";
import { calculateReplicaSetStatus, replicaSetStatusUnchanged } from "./replicaset_status.ts";
import { jsonEqual } from "./semantic.ts";
import { WorkQueue } from "./workqueue.ts";

/** BurstReplicas: the most pods created or deleted in one sync. */
export const BURST_REPLICAS = 500;

/** Options for {@linkcode ReplicaSetController}. */
export interface ReplicaSetControllerOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  /** Records SuccessfulCreate, SuccessfulDelete… as `replicaset-controller`. */
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  /** ReplicaSets synced at once (--concurrent-replicaset-syncs). @default 5 */
  workers?: number;
}

/** Reconciles ReplicaSets with their pods. */
export class ReplicaSetController {
  readonly #opts: ReplicaSetControllerOptions;
  readonly #log: Logger;
  readonly #queue: WorkQueue;
  readonly #expectations = new ControllerExpectations();
  readonly #sets: SharedInformer<ReplicaSet>;
  readonly #pods: SharedInformer<Pod>;

  constructor(opts: ReplicaSetControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "replicaset" });
    this.#queue = new WorkQueue({ name: "replicaset", clock: opts.clock, log: this.#log });
    this.#sets = withIndex(opts.informers.for<ReplicaSet>("replicasets"), BY_CONTROLLER);
    this.#pods = withIndex(
      withIndex(opts.informers.for<Pod>("pods"), BY_NAMESPACE),
      BY_CONTROLLER,
    );
    this.#sets.addHandler((type, rs) => this.#onReplicaSet(type, rs));
    this.#pods.addHandler((type, pod, old) => this.#onPod(type, pod, old));
  }

  /** Runs the workers until {@linkcode stop}; call once the informers have synced. */
  run(): Promise<void> {
    return this.#queue.run(this.#opts.workers ?? 5, (key) => this.sync(key));
  }

  /** Stops taking work. */
  stop(): void {
    this.#queue.shutDown();
  }

  // ---------------------------------------------------------------------------------------------
  // Event handlers: only enqueue, and count what expectations await.

  #onReplicaSet(type: WatchEventType, rs: ReplicaSet): void {
    const key = keyOf(rs);
    if (type === "DELETED") this.#expectations.delete(key);
    this.#queue.add(key);
  }

  #onPod(type: WatchEventType, pod: Pod, old: Pod | undefined): void {
    if (type === "DELETED") return this.#podGone(pod);
    // A pod marked for deletion no longer counts: act now rather than when the kubelet removes it.
    if (pod.metadata.deletionTimestamp) {
      this.#podGone(pod);
      if (old && labelsChanged(old, pod)) this.#podGone(old);
      return;
    }
    const ref = controllerRef(pod);
    if (type === "ADDED") {
      const rs = ref && this.#resolve(pod.metadata.namespace, ref);
      if (rs) {
        this.#expectations.creationObserved(keyOf(rs));
        this.#queue.add(keyOf(rs));
      } else if (!ref) this.#enqueueSelecting(pod);
      return;
    }
    const oldRef = old && controllerRef(old);
    const refChanged = !jsonEqual(ref ?? null, oldRef ?? null);
    if (refChanged && oldRef) {
      const prev = this.#resolve(old!.metadata.namespace, oldRef);
      if (prev) this.#queue.add(keyOf(prev));
    }
    if (ref) {
      const rs = this.#resolve(pod.metadata.namespace, ref);
      if (!rs) return;
      this.#queue.add(keyOf(rs));
      // Availability needs minReadySeconds to pass after Ready: look again then.
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (old && !isPodReady(old) && isPodReady(pod) && minReady > 0) {
        this.#queue.addAfter(keyOf(rs), minReady * 1000 + 1000);
      }
      return;
    }
    if (refChanged || (old && labelsChanged(old, pod))) this.#enqueueSelecting(pod);
  }

  /** A pod was deleted (or marked for deletion): its owner observed the deletion. */
  #podGone(pod: Pod): void {
    const ref = controllerRef(pod);
    const rs = ref && this.#resolve(pod.metadata.namespace, ref);
    if (!rs) return;
    this.#expectations.deletionObserved(keyOf(rs), podKey(pod));
    this.#queue.add(keyOf(rs));
  }

  /** The ReplicaSet a controller reference points to, if it is in the cache with that uid. */
  #resolve(namespace: string | undefined, ref: OwnerReference): ReplicaSet | undefined {
    if (ref.kind !== "ReplicaSet") return undefined;
    const rs = this.#sets.get(`${namespace}/${ref.name}`);
    return rs?.metadata.uid === ref.uid ? rs : undefined;
  }

  /** An orphan: every ReplicaSet whose selector takes it may want to adopt it. */
  #enqueueSelecting(pod: Pod): void {
    for (const rs of this.#sets.list()) {
      if (rs.metadata.namespace !== pod.metadata.namespace) continue;
      if (isEmptySelector(rs.spec.selector)) continue;
      if (selects(selectorFromLabelSelector(rs.spec.selector), pod)) this.#queue.add(keyOf(rs));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sync

  /** syncReplicaSet: claims pods, creates or deletes to reach spec.replicas, writes the status. */
  async sync(key: string): Promise<void> {
    const rs = this.#sets.get(key);
    if (!rs) {
      this.#expectations.delete(key);
      return;
    }
    const { client, clock } = this.#opts;
    const now = clock.now();
    const needsSync = this.#expectations.satisfied(key, now);
    const { namespace, name } = splitKey(key);
    const selector = selectorFromLabelSelector(rs.spec.selector);
    const active = this.#pods.byIndex(BY_NAMESPACE, namespace ?? "default").filter(isPodActive);
    const pods = await claimObjects({
      client,
      resource: "pods",
      owner: rs,
      selector,
      objects: active,
      canAdopt: async () => {
        const fresh = await client.get<ReplicaSet>("replicasets", namespace, name);
        return fresh.metadata.uid === rs.metadata.uid && !fresh.metadata.deletionTimestamp;
      },
      log: this.#log,
    });
    let manageError: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await this.#manageReplicas(key, rs, pods);
    }
    const status = calculateReplicaSetStatus(rs, pods, manageError, clock.now());
    if (!replicaSetStatusUnchanged(rs, status)) {
      await client.updateStatus<ReplicaSet>("replicasets", {
        ...rs,
        status: { ...status, observedGeneration: rs.metadata.generation },
      });
    }
    if (manageError !== undefined) throw manageError;
    // A last line of defence against missing the moment pods become available.
    const replicas = rs.spec.replicas ?? 1;
    const minReady = rs.spec.minReadySeconds ?? 0;
    if (
      minReady > 0 && status.readyReplicas === replicas && status.availableReplicas !== replicas
    ) {
      this.#queue.addAfter(key, minReady * 1000);
    }
  }

  /** manageReplicas: creates or deletes the difference; returns the first error. */
  async #manageReplicas(key: string, rs: ReplicaSet, pods: Pod[]): Promise<unknown> {
    const diff = pods.length - (rs.spec.replicas ?? 1);
    const log = this.#log.with({ replicaSet: key });
    if (diff < 0) {
      const count = Math.min(-diff, BURST_REPLICAS);
      this.#expectations.expectCreations(key, count, this.#opts.clock.now());
      log.info("Too few replicas, creating", { need: rs.spec.replicas, creating: count });
      const { successes, error } = await slowStartBatch(count, () => this.#createPod(rs));
      // The informer will never see the pods that were not created.
      for (let i = successes; i < count; i++) this.#expectations.creationObserved(key);
      return error;
    }
    if (diff > 0) {
      const count = Math.min(diff, BURST_REPLICAS);
      const victims = podsToDelete(pods, this.#relatedPods(rs), count, this.#opts.clock.now());
      this.#expectations.expectDeletions(key, victims.map(podKey), this.#opts.clock.now());
      log.info("Too many replicas, deleting", { need: rs.spec.replicas, deleting: count });
      const errors = await Promise.all(victims.map((pod) => this.#deletePod(key, rs, pod)));
      return errors.find((e) => e !== undefined);
    }
    return undefined;
  }

  async #createPod(rs: ReplicaSet): Promise<void> {
    const { client, recorder } = this.#opts;
    try {
      const pod = await client.create<Pod>("pods", podFromTemplate(rs.spec.template!, rs));
      await recorder.event(rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
    } catch (err) {
      await recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${errorText(err)}`);
      throw err;
    }
  }

  /** Deletes one surplus pod; returns the error unless the pod was already gone. */
  async #deletePod(key: string, rs: ReplicaSet, pod: Pod): Promise<unknown> {
    const { client, recorder } = this.#opts;
    const { namespace, name = "" } = pod.metadata;
    try {
      await client.delete("pods", { namespace, name, preconditions: { uid: pod.metadata.uid } });
      await recorder.event(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
      return undefined;
    } catch (err) {
      // The informer will never see this deletion.
      this.#expectations.deletionObserved(key, podKey(pod));
      if (isNotFound(err)) return undefined;
      await recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${errorText(err)}`);
      return err;
    }
  }

  /**
   * getIndirectlyRelatedPods: the pods of every ReplicaSet with the same controller (the Deployment's
   * other ReplicaSets), for ranking surplus pods by how crowded their node is.
   */
  #relatedPods(rs: ReplicaSet): Pod[] {
    const ref = controllerRef(rs);
    const siblings = ref ? this.#sets.byIndex(BY_CONTROLLER, ref.uid) : [rs];
    return siblings.flatMap((s) => this.#pods.byIndex(BY_CONTROLLER, s.metadata.uid ?? ""));
  }
}

function labelsChanged(a: Pod, b: Pod): boolean {
  return !jsonEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {});
}
