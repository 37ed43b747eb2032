/**
 * The Deployment controller (pkg/controller/deployment): owns one ReplicaSet per pod template, named
 * `<deployment>-<pod-template-hash>`, and moves replicas from the old ones to the new one — a rolling
 * update bounded by maxSurge and maxUnavailable, or Recreate (all old pods gone before new ones
 * start). It numbers revisions, keeps revisionHistoryLimit old ReplicaSets, scales proportionally
 * when resized mid-rollout, stands still while paused, and reports replicas and the Available and
 * Progressing conditions. Rollback is `kubelab rollout undo`, which copies an old template back, as
 * kubectl does for apps/v1.
 * @module
 */
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import type { Pod } from "../../shared/api/core.ts";
import type { OwnerReference } from "../../shared/api/meta.ts";
import { selectorFromLabelSelector } from "../../shared/api/selector.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { claimObjects } from "./claim.ts";
import {
  errorText,
  isAlreadyExists,
  isEmptySelector,
  isNotFound,
  keyOf,
  selects,
} from "./controller_utils.ts";
import {
  activeReplicaSets,
  actualReplicas,
  calculateDeploymentStatus,
  deploymentComplete,
  deploymentCondition,
  type DeploymentStatus,
  equalIgnoreHash,
  findNewReplicaSet,
  findOldReplicaSets,
  hasProgressDeadline,
  isScalingEvent,
  maxRevision,
  maxSurge,
  newCondition,
  newReplicaSetAnnotations,
  newReplicaSetFor,
  newRSNewReplicas,
  pausedConditions,
  planOldReplicaSetsScaleDown,
  planProportionalScale,
  progressCheckDelay,
  REASONS,
  replicasAnnotations,
  replicaSetsToCleanUp,
  replicasOf,
  REVISION_ANNOTATION,
  rolloutStatus,
  setCondition,
} from "./deployment_util.ts";
import { computeHash } from "./hash.ts";
import {
  BY_CONTROLLER,
  BY_NAMESPACE,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import { controllerRef } from "./pods.ts";
import { jsonEqual } from "./semantic.ts";
import { WorkQueue } from "./workqueue.ts";

/** Options for {@linkcode DeploymentController}. */
export interface DeploymentControllerOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  /** Records ScalingReplicaSet… as `deployment-controller`. */
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Deployments synced at once (--concurrent-deployment-syncs). @default 5 */
  workers?: number;
}

/** The ReplicaSets of one sync: the new one (if any) and the old ones. */
interface ReplicaSets {
  d: Deployment;
  newRS: ReplicaSet | undefined;
  oldSets: ReplicaSet[];
}

/** Reconciles Deployments with their ReplicaSets. */
export class DeploymentController {
  readonly #opts: DeploymentControllerOptions;
  readonly #log: Logger;
  readonly #queue: WorkQueue;
  readonly #deployments: SharedInformer<Deployment>;
  readonly #sets: SharedInformer<ReplicaSet>;
  readonly #pods: SharedInformer<Pod>;

  constructor(opts: DeploymentControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "deployment" });
    this.#queue = new WorkQueue({ name: "deployment", clock: opts.clock, log: this.#log });
    this.#deployments = withIndex(opts.informers.for<Deployment>("deployments"), BY_NAMESPACE);
    this.#sets = withIndex(opts.informers.for<ReplicaSet>("replicasets"), BY_NAMESPACE);
    this.#pods = withIndex(
      withIndex(opts.informers.for<Pod>("pods"), BY_NAMESPACE),
      BY_CONTROLLER,
    );
    this.#deployments.addHandler((_type, d) => this.#queue.add(keyOf(d)));
    this.#sets.addHandler((type, rs, old) => this.#onReplicaSet(type, rs, old));
    this.#pods.addHandler((type, pod) => {
      if (type === "DELETED") this.#onPodDeleted(pod);
    });
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
  // Event handlers

  #onReplicaSet(type: WatchEventType, rs: ReplicaSet, old: ReplicaSet | undefined): void {
    const ref = controllerRef(rs);
    const owner = ref && this.#resolve(rs.metadata.namespace, ref);
    if (type !== "MODIFIED" || !old) {
      if (owner) this.#queue.add(keyOf(owner));
      else if (!ref && type === "ADDED") this.#enqueueSelecting(rs);
      return;
    }
    const oldRef = controllerRef(old);
    const refChanged = !jsonEqual(ref ?? null, oldRef ?? null);
    if (refChanged && oldRef) {
      const prev = this.#resolve(old.metadata.namespace, oldRef);
      if (prev) this.#queue.add(keyOf(prev));
    }
    if (ref) {
      if (owner) this.#queue.add(keyOf(owner));
      return;
    }
    if (refChanged || !jsonEqual(rs.metadata.labels ?? {}, old.metadata.labels ?? {})) {
      this.#enqueueSelecting(rs);
    }
  }

  /** A Recreate rollout waits for the old pods to be gone: look again when one goes. */
  #onPodDeleted(pod: Pod): void {
    const rsRef = controllerRef(pod);
    if (rsRef?.kind !== "ReplicaSet") return;
    const rs = this.#sets.get(`${pod.metadata.namespace}/${rsRef.name}`);
    const ref = rs && rs.metadata.uid === rsRef.uid ? controllerRef(rs) : undefined;
    const d = ref && this.#resolve(rs!.metadata.namespace, ref);
    if (d?.spec.strategy?.type === "Recreate") this.#queue.add(keyOf(d));
  }

  #resolve(namespace: string | undefined, ref: OwnerReference): Deployment | undefined {
    if (ref.kind !== "Deployment") return undefined;
    const d = this.#deployments.get(`${namespace}/${ref.name}`);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  /** An orphaned ReplicaSet: every Deployment that selects it may adopt it. */
  #enqueueSelecting(rs: ReplicaSet): void {
    for (const d of this.#deployments.byIndex(BY_NAMESPACE, rs.metadata.namespace ?? "default")) {
      if (isEmptySelector(d.spec.selector)) continue;
      if (selects(selectorFromLabelSelector(d.spec.selector), rs)) this.#queue.add(keyOf(d));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sync

  /** syncDeployment. */
  async sync(key: string): Promise<void> {
    const cached = this.#deployments.get(key);
    if (!cached) return;
    let d = structuredClone(cached);
    if (isEmptySelector(d.spec.selector)) {
      await this.#opts.recorder.event(
        d,
        "Warning",
        "SelectingAll",
        "This deployment is selecting all pods. A non-empty selector is required.",
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        await this.#writeStatus(d, { ...d.status, observedGeneration: d.metadata.generation });
      }
      return;
    }
    const sets = await this.#claimReplicaSets(d);
    if (d.metadata.deletionTimestamp) {
      const { d: latest, newRS, oldSets } = await this.#replicaSets(d, sets, false);
      return await this.#syncDeploymentStatus(latest, [...oldSets, newRS], newRS);
    }

    const paused = pausedConditions(d, this.#opts.clock.now());
    if (paused) d = await this.#writeStatus(d, { ...d.status, conditions: paused });
    const current = await this.#replicaSets(d, sets, false);
    if (d.spec.paused || isScalingEvent(current.d, [...current.oldSets, current.newRS])) {
      return await this.#syncScale(current);
    }
    if (d.spec.strategy?.type === "Recreate") return await this.#rolloutRecreate(current, sets);
    return await this.#rolloutRolling(current, sets);
  }

  /** getReplicaSetsForDeployment: the ReplicaSets it controls after adopting and releasing. */
  async #claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const { client } = this.#opts;
    const { namespace, name } = d.metadata;
    return await claimObjects({
      client,
      resource: "replicasets",
      owner: d,
      selector: selectorFromLabelSelector(d.spec.selector),
      objects: this.#sets.byIndex(BY_NAMESPACE, namespace ?? "default"),
      canAdopt: async () => {
        const fresh = await client.get<Deployment>("deployments", namespace, name!);
        return fresh.metadata.uid === d.metadata.uid && !fresh.metadata.deletionTimestamp;
      },
      log: this.#log,
    });
  }

  /**
   * getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created when `create` and absent) with its
   * annotations and minReadySeconds brought up to date, the old ones, and the Deployment with its
   * revision annotation and NewReplicaSetCreated / FoundNewReplicaSet condition.
   */
  async #replicaSets(d: Deployment, sets: ReplicaSet[], create: boolean): Promise<ReplicaSets> {
    const { client } = this.#opts;
    const oldSets = findOldReplicaSets(d, sets);
    const existing = findNewReplicaSet(d, sets);
    const newRevision = maxRevision(oldSets) + 1;
    const now = this.#opts.clock.now();
    if (existing) {
      const annotations = newReplicaSetAnnotations(d, existing, newRevision, true);
      const minReady = d.spec.minReadySeconds ?? 0;
      if (annotations || (existing.spec.minReadySeconds ?? 0) !== minReady) {
        const newRS = await client.update<ReplicaSet>("replicasets", {
          ...existing,
          metadata: {
            ...existing.metadata,
            annotations: annotations ?? existing.metadata.annotations,
          },
          spec: { ...existing.spec, minReadySeconds: minReady },
        });
        return { d, newRS, oldSets };
      }
      let status = d.status;
      if (hasProgressDeadline(d) && !deploymentCondition(d.status, "Progressing")) {
        const msg = `Found new replica set "${existing.metadata.name}"`;
        status = {
          ...status,
          conditions: setCondition(
            status?.conditions,
            newCondition("Progressing", "True", REASONS.foundNewReplicaSet, msg, now),
          ),
        };
      }
      const revision = existing.metadata.annotations?.[REVISION_ANNOTATION];
      d = await this.#saveDeployment(d, revision, status);
      return { d, newRS: existing, oldSets };
    }
    if (!create) return { d, newRS: undefined, oldSets };

    const collisionCount = (d.status as DeploymentStatus | undefined)?.collisionCount;
    const draft = newReplicaSetFor(d, computeHash(d.spec.template, collisionCount), 0);
    const replicas = newRSNewReplicas(d, [...oldSets, draft], draft);
    draft.spec.replicas = replicas;
    draft.metadata.annotations = newReplicaSetAnnotations(d, draft, newRevision, false) ?? {};
    const name = draft.metadata.name!;
    let newRS: ReplicaSet;
    let alreadyExisted = false;
    try {
      newRS = await client.create<ReplicaSet>("replicasets", draft);
    } catch (err) {
      if (isAlreadyExists(err)) {
        // A slow cache, or a hash collision: only our own ReplicaSet with this template will do.
        const found = this.#sets.get(`${d.metadata.namespace}/${name}`) ??
          await client.get<ReplicaSet>("replicasets", d.metadata.namespace, name);
        const ref = controllerRef(found);
        if (ref?.uid !== d.metadata.uid || !equalIgnoreHash(d.spec.template, found.spec.template)) {
          const status: DeploymentStatus = {
            ...d.status,
            collisionCount: (collisionCount ?? 0) + 1,
          };
          await this.#writeStatus(d, status);
          this.#log.info("Hash collision, bumping collisionCount", { deployment: keyOf(d) });
          throw err;
        }
        newRS = found;
        alreadyExisted = true;
      } else {
        const msg = `Failed to create new replica set "${name}": ${errorText(err)}`;
        if (hasProgressDeadline(d)) {
          const conditions = setCondition(
            d.status?.conditions,
            newCondition("Progressing", "False", REASONS.failedRSCreate, msg, now),
          );
          await this.#writeStatus(d, { ...d.status, conditions }).catch(() => {});
        }
        await this.#opts.recorder.event(d, "Warning", REASONS.failedRSCreate, msg);
        throw err;
      }
    }
    if (!alreadyExisted && replicas > 0) {
      await this.#opts.recorder.event(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${name} from 0 to ${replicas}`,
      );
    }
    let status = d.status;
    if (!alreadyExisted && hasProgressDeadline(d)) {
      status = {
        ...status,
        conditions: setCondition(
          status?.conditions,
          newCondition(
            "Progressing",
            "True",
            REASONS.newReplicaSet,
            `Created new replica set "${name}"`,
            now,
          ),
        ),
      };
    }
    d = await this.#saveDeployment(d, String(newRevision), status);
    return { d, newRS, oldSets };
  }

  /** rolloutRolling: one step of scaling the new ReplicaSet up or the old ones down. */
  async #rolloutRolling(current: ReplicaSets, sets: ReplicaSet[]): Promise<void> {
    const rs = current.newRS ? current : await this.#replicaSets(current.d, sets, true);
    let { newRS } = rs;
    const { d, oldSets } = rs;
    const all = () => [...oldSets, newRS];
    if (newRS && replicasOf(newRS) !== replicasOf(d)) {
      const target = replicasOf(newRS) > replicasOf(d)
        ? replicasOf(d)
        : newRSNewReplicas(d, all().filter((s): s is ReplicaSet => !!s), newRS);
      if (target !== replicasOf(newRS)) {
        newRS = await this.#scaleReplicaSet(newRS, target, d);
        return await this.#syncRolloutStatus(d, all(), newRS);
      }
    }
    const steps = planOldReplicaSetsScaleDown(
      d,
      all().filter((s): s is ReplicaSet => !!s),
      oldSets,
      newRS,
    );
    if (steps.length) {
      for (const step of steps) {
        oldSets[oldSets.indexOf(step.rs)] = await this.#scaleReplicaSet(step.rs, step.replicas, d);
      }
      return await this.#syncRolloutStatus(d, all(), newRS);
    }
    if (d.status && deploymentComplete(d, d.status)) await this.#cleanup(d, oldSets);
    await this.#syncRolloutStatus(d, all(), newRS);
  }

  /** rolloutRecreate: scale every old ReplicaSet to 0, wait for their pods to go, then scale up. */
  async #rolloutRecreate(current: ReplicaSets, sets: ReplicaSet[]): Promise<void> {
    let { d, newRS, oldSets } = current;
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldSets)) {
      oldSets[oldSets.indexOf(rs)] = await this.#scaleReplicaSet(rs, 0, d);
      scaledDown = true;
    }
    if (scaledDown || this.#oldPodsRunning(d, newRS, oldSets, sets)) {
      return await this.#syncRolloutStatus(d, [...oldSets, newRS], newRS);
    }
    if (!newRS) ({ d, newRS, oldSets } = await this.#replicaSets(d, sets, true));
    if (newRS && replicasOf(newRS) !== replicasOf(d)) {
      newRS = await this.#scaleReplicaSet(newRS, replicasOf(d), d);
    }
    if (d.status && deploymentComplete(d, d.status)) await this.#cleanup(d, oldSets);
    await this.#syncRolloutStatus(d, [...oldSets, newRS], newRS);
  }

  /**
   * oldPodsRunning: old ReplicaSets still report pods, or some pod of theirs (terminating ones
   * included) has not finished.
   */
  #oldPodsRunning(
    d: Deployment,
    newRS: ReplicaSet | undefined,
    oldSets: ReplicaSet[],
    sets: ReplicaSet[],
  ): boolean {
    if (actualReplicas(oldSets) > 0) return true;
    const selector = selectorFromLabelSelector(d.spec.selector);
    return sets.filter((rs) => rs !== newRS).some((rs) =>
      this.#pods.byIndex(BY_CONTROLLER, rs.metadata.uid ?? "").some((pod) =>
        selects(selector, pod) && pod.status?.phase !== "Failed" &&
        pod.status?.phase !== "Succeeded"
      )
    );
  }

  /** sync: scaling (or paused): resize the ReplicaSets proportionally, write the status. */
  async #syncScale(current: ReplicaSets): Promise<void> {
    let { newRS } = current;
    const { d, oldSets } = current;
    for (const step of planProportionalScale(d, newRS, oldSets)) {
      const scaled = await this.#scaleReplicaSet(step.rs, step.replicas, d);
      if (step.rs === newRS) newRS = scaled;
      else oldSets[oldSets.indexOf(step.rs)] = scaled;
    }
    if (d.spec.paused) await this.#cleanup(d, oldSets);
    await this.#syncDeploymentStatus(d, [...oldSets, newRS], newRS);
  }

  /** scaleReplicaSet: sets the size and the desired/max-replicas annotations; records scaling. */
  async #scaleReplicaSet(rs: ReplicaSet, replicas: number, d: Deployment): Promise<ReplicaSet> {
    const desired = replicasOf(d);
    const annotations = replicasAnnotations(
      rs.metadata.annotations,
      desired,
      desired + maxSurge(d),
    );
    const from = replicasOf(rs);
    if (from === replicas && !annotations) return rs;
    const updated = await this.#opts.client.update<ReplicaSet>("replicasets", {
      ...rs,
      metadata: { ...rs.metadata, annotations: annotations ?? rs.metadata.annotations },
      spec: { ...rs.spec, replicas },
    });
    if (from !== replicas) {
      const direction = replicas > from ? "up" : "down";
      await this.#opts.recorder.event(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${direction} replica set ${rs.metadata.name} from ${from} to ${replicas}`,
      );
    }
    return updated;
  }

  /** cleanupDeployment: deletes old ReplicaSets beyond revisionHistoryLimit. */
  async #cleanup(d: Deployment, oldSets: ReplicaSet[]): Promise<void> {
    for (const rs of replicaSetsToCleanUp(d, oldSets)) {
      this.#log.info("Deleting old replica set", {
        deployment: keyOf(d),
        replicaSet: rs.metadata.name,
      });
      try {
        await this.#opts.client.delete("replicasets", {
          namespace: rs.metadata.namespace,
          name: rs.metadata.name!,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** syncRolloutStatus: writes status and conditions; rechecks a stuck rollout at its deadline. */
  async #syncRolloutStatus(
    d: Deployment,
    all: (ReplicaSet | undefined)[],
    newRS: ReplicaSet | undefined,
  ): Promise<void> {
    const now = this.#opts.clock.now();
    const status = rolloutStatus(all, newRS, d, now);
    if (jsonEqual(d.status ?? {}, status)) {
      const delay = progressCheckDelay(d, status, now);
      if (delay === 0) this.#queue.addRateLimited(keyOf(d));
      else if (delay !== undefined) this.#queue.addAfter(keyOf(d), delay);
      return;
    }
    await this.#writeStatus(d, status);
  }

  async #syncDeploymentStatus(
    d: Deployment,
    all: (ReplicaSet | undefined)[],
    newRS: ReplicaSet | undefined,
  ): Promise<void> {
    const status = calculateDeploymentStatus(all, newRS, d, this.#opts.clock.now());
    if (!jsonEqual(d.status ?? {}, status)) await this.#writeStatus(d, status);
  }

  /**
   * Writes the revision annotation (when it changed) and then the status (when it changed), each
   * compare-and-set; returns the Deployment as stored. Kubernetes writes both in one status update,
   * which may change annotations; kubelab's status subresource keeps metadata, hence two writes.
   */
  async #saveDeployment(
    d: Deployment,
    revision: string | undefined,
    status: Deployment["status"],
  ): Promise<Deployment> {
    let latest = d;
    if (revision !== undefined && d.metadata.annotations?.[REVISION_ANNOTATION] !== revision) {
      latest = await this.#opts.client.patch<Deployment>("deployments", {
        namespace: d.metadata.namespace,
        name: d.metadata.name!,
        patch: {
          metadata: {
            resourceVersion: d.metadata.resourceVersion,
            annotations: { [REVISION_ANNOTATION]: revision },
          },
        },
      });
    }
    if (!jsonEqual(d.status ?? {}, status ?? {})) latest = await this.#writeStatus(latest, status);
    return latest;
  }

  async #writeStatus(d: Deployment, status: Deployment["status"]): Promise<Deployment> {
    return await this.#opts.client.updateStatus<Deployment>("deployments", { ...d, status });
  }
}
