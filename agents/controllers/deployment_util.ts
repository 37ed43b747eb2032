/**
 * The Deployment controller's arithmetic and bookkeeping, pure (pkg/controller/deployment/util,
 * rolling.go, sync.go, recreate.go): maxSurge/maxUnavailable resolution, how far the new ReplicaSet may
 * scale up and the old ones down in one rolling-update step, proportional scaling, revisions and their
 * annotations, status and the Available/Progressing conditions. Every time is a parameter.
 * @module
 */
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import type { PodTemplateSpec } from "../../shared/api/core.ts";
import type { Condition, IntOrString } from "../../shared/api/meta.ts";
import { rfc3339 } from "./controller_utils.ts";
import { semanticEqual } from "./semantic.ts";

/** The revision of a ReplicaSet (and the Deployment's latest). */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** The revisions a ReplicaSet had before a rollback made it current again. */
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
/** The Deployment's replicas when the ReplicaSet was last scaled. */
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
/** replicas + maxSurge when the ReplicaSet was last scaled. */
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
/** The label that tells a Deployment's ReplicaSets (and their pods) apart. */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";
/** The change cause `rollout history` shows. */
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";
/** Where `kubectl apply` keeps what it applied. */
const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
/** MaxRevHistoryLengthInChars. */
const MAX_REVISION_HISTORY_CHARS = 2000;

/** Annotations never copied from a Deployment to its ReplicaSets (annotationsToSkip). */
export const ANNOTATIONS_TO_SKIP: ReadonlySet<string> = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  "deprecated.deployment.rollback.to",
]);

/** Deployment condition reasons (deploymentutil). */
export const REASONS = {
  newReplicaSet: "NewReplicaSetCreated",
  foundNewReplicaSet: "FoundNewReplicaSet",
  newRSAvailable: "NewReplicaSetAvailable",
  timedOut: "ProgressDeadlineExceeded",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
  replicaSetUpdated: "ReplicaSetUpdated",
  failedRSCreate: "ReplicaSetCreateError",
  minimumAvailable: "MinimumReplicasAvailable",
  minimumUnavailable: "MinimumReplicasUnavailable",
} as const;

/** The largest int32: a progressDeadlineSeconds of this means no deadline. */
const MAX_INT32 = 2 ** 31 - 1;

// -------------------------------------------------------------------------------------------------
// Sizes.

/** `spec.replicas` with its default. */
export function replicasOf(obj: Deployment | ReplicaSet): number {
  return obj.spec.replicas ?? 1;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an integer as it is; `"25%"` of `total`, rounded up or down.
 * @throws {RangeError} for a string that is not a percentage.
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  const m = /^(-?\d+)%$/.exec(value);
  if (!m) throw new RangeError(`Invalid value for IntOrString: invalid value "${value}"`);
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/**
 * ResolveFenceposts: maxSurge rounded up and maxUnavailable rounded down against `desired`; if both
 * come to 0, maxUnavailable is 1 so that a rollout can always make progress.
 */
export function resolveFenceposts(
  maxSurge: IntOrString | undefined,
  maxUnavailable: IntOrString | undefined,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  const unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
}

/** MaxSurge: how many pods above replicas a rolling update may run (0 for Recreate). */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge ?? "25%", ru?.maxUnavailable ?? "25%", replicasOf(d)).surge;
}

/** MaxUnavailable: how many pods below replicas a rolling update may go (0 for Recreate). */
export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  const { unavailable } = resolveFenceposts(
    ru?.maxSurge ?? "25%",
    ru?.maxUnavailable ?? "25%",
    replicas,
  );
  return Math.min(unavailable, replicas);
}

/** Σ spec.replicas. */
export function specReplicas(sets: readonly (ReplicaSet | undefined)[]): number {
  return sets.reduce((n, rs) => n + (rs ? replicasOf(rs) : 0), 0);
}

/** Σ status.replicas (the pods that exist). */
export function actualReplicas(sets: readonly (ReplicaSet | undefined)[]): number {
  return sets.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
}

/** Σ status.readyReplicas. */
export function readyReplicas(sets: readonly (ReplicaSet | undefined)[]): number {
  return sets.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
}

/** Σ status.availableReplicas. */
export function availableReplicas(sets: readonly (ReplicaSet | undefined)[]): number {
  return sets.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);
}

/** FilterActiveReplicaSets: those with spec.replicas > 0. */
export function activeReplicaSets(sets: readonly (ReplicaSet | undefined)[]): ReplicaSet[] {
  return sets.filter((rs): rs is ReplicaSet => !!rs && replicasOf(rs) > 0);
}

// -------------------------------------------------------------------------------------------------
// Orders.

function created(rs: ReplicaSet): number {
  return rs.metadata.creationTimestamp ? Date.parse(rs.metadata.creationTimestamp) : 0;
}

/** ReplicaSetsByCreationTimestamp: older first, then by name. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  return created(a) - created(b) || (a.metadata.name! < b.metadata.name! ? -1 : 1);
}

/** ReplicaSetsBySizeOlder: larger first; equal sizes older first (scaling down). */
export function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  return replicasOf(b) - replicasOf(a) || byCreation(a, b);
}

/** ReplicaSetsBySizeNewer: larger first; equal sizes newer first (scaling up). */
export function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  return replicasOf(b) - replicasOf(a) || byCreation(b, a);
}

/** ReplicaSetsByRevision: lower revision first, then older first. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const [ra, rb] = [revisionOf(a) ?? 0, revisionOf(b) ?? 0];
  return ra - rb || byCreation(a, b);
}

// -------------------------------------------------------------------------------------------------
// Revisions and templates.

/** The revision annotation as a number; undefined when absent or not a number. */
export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }) {
  const v = obj.metadata.annotations?.[REVISION_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** MaxRevision: the highest revision among `sets` (0 when none has one). */
export function maxRevision(sets: readonly ReplicaSet[]): number {
  return Math.max(0, ...sets.map((rs) => revisionOf(rs) ?? 0));
}

/** EqualIgnoreHash: whether two pod templates are the same but for the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined) {
  const strip = (t: PodTemplateSpec | undefined) => {
    if (!t) return t;
    const { [POD_TEMPLATE_HASH_LABEL]: _hash, ...labels } = t.metadata?.labels ?? {};
    return { ...t, metadata: { ...t.metadata, labels } };
  };
  return semanticEqual(strip(a), strip(b));
}

/** FindNewReplicaSet: the oldest ReplicaSet whose template is the Deployment's. */
export function findNewReplicaSet(d: Deployment, sets: readonly ReplicaSet[]) {
  return [...sets].sort(byCreation).find((rs) =>
    equalIgnoreHash(rs.spec.template, d.spec.template)
  );
}

/** FindOldReplicaSets: every other ReplicaSet. */
export function findOldReplicaSets(d: Deployment, sets: readonly ReplicaSet[]): ReplicaSet[] {
  const current = findNewReplicaSet(d, sets);
  return sets.filter((rs) => rs !== current);
}

/**
 * SetNewReplicaSetAnnotations: the annotations the new ReplicaSet should carry — the Deployment's own
 * (but for {@linkcode ANNOTATIONS_TO_SKIP}), the revision if `newRevision` is higher than its own (a
 * rollback appends its old revision to revision-history), and for a ReplicaSet about to be created
 * the desired and max replicas. Returns undefined when nothing changes.
 */
export function newReplicaSetAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: number,
  exists: boolean,
): Record<string, string> | undefined {
  const annotations = { ...rs.metadata.annotations };
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const oldText = annotations[REVISION_ANNOTATION];
  if (oldText !== undefined && !/^\d+$/.test(oldText)) return undefined;
  const oldRevision = oldText === undefined ? 0 : Number(oldText);
  if (oldRevision < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (oldText !== undefined) {
      const history = appendRevisionHistory(annotations[REVISION_HISTORY_ANNOTATION], oldText);
      if (history !== undefined) annotations[REVISION_HISTORY_ANNOTATION] = history;
    }
  }
  if (!exists) {
    const replicas = replicasOf(d);
    const withReplicas = replicasAnnotations(annotations, replicas, replicas + maxSurge(d));
    if (withReplicas) return withReplicas;
  }
  return changed ? annotations : undefined;
}

/** revision-history with `revision` appended, dropping the oldest past 2000 characters. */
function appendRevisionHistory(history: string | undefined, revision: string): string | undefined {
  if (!history) return revision;
  const old = history.split(",");
  let total = history.length + revision.length + 1;
  let start = 0;
  while (total > MAX_REVISION_HISTORY_CHARS && start < old.length) {
    total -= old[start].length + 1;
    start++;
  }
  return total <= MAX_REVISION_HISTORY_CHARS ? [...old.slice(start), revision].join(",") : history;
}

/**
 * SetReplicasAnnotations: the annotations with desired-replicas and max-replicas set, or undefined
 * when they already say so.
 */
export function replicasAnnotations(
  annotations: Record<string, string> | undefined,
  desired: number,
  max: number,
): Record<string, string> | undefined {
  const a = annotations ?? {};
  if (
    a[DESIRED_REPLICAS_ANNOTATION] === String(desired) && a[MAX_REPLICAS_ANNOTATION] === String(max)
  ) {
    return undefined;
  }
  return {
    ...a,
    [DESIRED_REPLICAS_ANNOTATION]: String(desired),
    [MAX_REPLICAS_ANNOTATION]: String(max),
  };
}

/** The desired-replicas annotation as a number. */
export function desiredReplicasAnnotation(rs: ReplicaSet): number | undefined {
  const v = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** The Deployment's labels + the hash label: what the new ReplicaSet's template and selector get. */
export function newReplicaSetFor(d: Deployment, hash: string, replicas: number): ReplicaSet {
  const template = structuredClone(d.spec.template);
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
  };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: template.metadata.labels,
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: d.metadata.name!,
        uid: d.metadata.uid!,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: {
      replicas,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector: {
        ...d.spec.selector,
        matchLabels: { ...d.spec.selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash },
      },
      template,
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Rolling update steps.

/**
 * NewRSNewReplicas: what the new ReplicaSet should be scaled to now. Rolling update: up by as much as
 * maxSurge leaves room for (all ReplicaSets' spec.replicas count), never above replicas. Recreate: all.
 */
export function newRSNewReplicas(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet) {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  const surge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge ?? "25%", replicas, true);
  // Kubernetes counts spec.replicas only; kubelab also counts pods an old ReplicaSet still has
  // (status.replicas) while it scales down, so new pods never start before the surplus ones go.
  const current = all.reduce((n, rs) => n + Math.max(replicasOf(rs), rs.status?.replicas ?? 0), 0);
  const maxTotal = replicas + surge;
  if (current >= maxTotal) return replicasOf(newRS);
  const scaleUp = Math.min(maxTotal - current, replicas - replicasOf(newRS));
  return replicasOf(newRS) + scaleUp;
}

/** A ReplicaSet's new size in a plan. */
export interface ScaleStep {
  rs: ReplicaSet;
  replicas: number;
}

/**
 * reconcileOldReplicaSets as a plan: how far the old ReplicaSets may go down without taking available
 * pods below replicas − maxUnavailable. Unhealthy old replicas are cleaned up first (oldest
 * ReplicaSet first, at most what the budget allows), then available ones while more than the minimum
 * are available. Returns the steps in the order to apply them.
 */
export function planOldReplicaSetsScaleDown(
  d: Deployment,
  all: readonly ReplicaSet[],
  oldSets: readonly ReplicaSet[],
  newRS: ReplicaSet | undefined,
): ScaleStep[] {
  const old = activeReplicaSets(oldSets);
  if (specReplicas(old) === 0) return [];
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = newRS ? replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0) : 0;
  const maxScaledDown = specReplicas(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const sizes = new Map<ReplicaSet, number>(old.map((rs) => [rs, replicasOf(rs)]));
  const sorted = [...old].sort(byCreation);
  // cleanupUnhealthyReplicas
  let cleaned = 0;
  for (const rs of sorted) {
    if (cleaned >= maxScaledDown) break;
    const size = sizes.get(rs)!;
    const available = rs.status?.availableReplicas ?? 0;
    if (size === 0 || size === available) continue;
    const down = Math.min(maxScaledDown - cleaned, size - available);
    if (down <= 0) continue; // more available than wanted: nothing unhealthy to clean up
    sizes.set(rs, size - down);
    cleaned += down;
  }
  // scaleDownOldReplicaSetsForRollingUpdate (on the cleaned-up sizes). A ReplicaSet counts at most
  // spec.replicas available pods: a status that has not caught up with a scale-down would otherwise
  // count pods that are already going (kubelab is stricter than Kubernetes here).
  const counted = (rs: ReplicaSet, size: number) =>
    Math.min(rs.status?.availableReplicas ?? 0, size);
  const availableNow = old.reduce((n, rs) => n + counted(rs, sizes.get(rs)!), 0) +
    (newRS ? counted(newRS, replicasOf(newRS)) : 0);
  if (availableNow > minAvailable) {
    const budget = availableNow - minAvailable;
    let scaled = 0;
    for (const rs of sorted) {
      if (scaled >= budget) break;
      const size = sizes.get(rs)!;
      if (size === 0) continue;
      const down = Math.min(size, budget - scaled);
      sizes.set(rs, size - down);
      scaled += down;
    }
  }
  return sorted.filter((rs) => sizes.get(rs) !== replicasOf(rs)).map((rs) => ({
    rs,
    replicas: sizes.get(rs)!,
  }));
}

// -------------------------------------------------------------------------------------------------
// Scaling a Deployment that is not rolling out (sync.go scale).

/** FindActiveOrLatest: the one active ReplicaSet, or the newest when none is active. */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, oldSets: readonly ReplicaSet[]) {
  if (!newRS && oldSets.length === 0) return undefined;
  const newestFirst = [...oldSets].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

/** IsSaturated: the new ReplicaSet runs every replica and all are available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const replicas = replicasOf(d);
  return replicasOf(rs) === replicas && desiredReplicasAnnotation(rs) === replicas &&
    (rs.status?.availableReplicas ?? 0) === replicas;
}

/**
 * isScalingEvent: some active ReplicaSet was last sized for a different replicas count than the
 * Deployment now asks for.
 */
export function isScalingEvent(d: Deployment, sets: readonly (ReplicaSet | undefined)[]): boolean {
  return activeReplicaSets(sets).some((rs) => {
    const desired = desiredReplicasAnnotation(rs);
    return desired !== undefined && desired !== replicasOf(d);
  });
}

/**
 * The sizes `scale` gives the ReplicaSets: the only active (or the newest) one takes all replicas; a
 * saturated new ReplicaSet scales the old ones to 0; otherwise, in a rolling update, replicas +
 * maxSurge is shared out in proportion to each ReplicaSet's share when it was last scaled
 * (max-replicas), the leftover going to the largest. Empty when nothing is to be done.
 */
export function planProportionalScale(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  oldSets: readonly ReplicaSet[],
): ScaleStep[] {
  const replicas = replicasOf(d);
  const only = findActiveOrLatest(newRS, oldSets);
  if (only) return replicasOf(only) === replicas ? [] : [{ rs: only, replicas }];
  if (isSaturated(d, newRS)) {
    return activeReplicaSets(oldSets).map((rs) => ({ rs, replicas: 0 }));
  }
  if (!isRollingUpdate(d)) return [];
  const active = activeReplicaSets([...oldSets, newRS]);
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
  const toAdd = allowed - specReplicas(active);
  const ordered = [...active].sort(toAdd > 0 ? bySizeNewer : bySizeOlder);
  const sizes = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of ordered) {
    const proportion = toAdd !== 0 ? replicaSetProportion(rs, d, toAdd, added) : 0;
    sizes.set(rs, replicasOf(rs) + proportion);
    added += proportion;
  }
  if (ordered.length && toAdd !== 0) {
    const largest = ordered[0];
    sizes.set(largest, Math.max(0, sizes.get(largest)! + toAdd - added));
  }
  return ordered.map((rs) => ({ rs, replicas: sizes.get(rs)! }));
}

/** GetReplicaSetProportion: this ReplicaSet's share of `toAdd`, within what is left to add. */
export function replicaSetProportion(
  rs: ReplicaSet,
  d: Deployment,
  toAdd: number,
  added: number,
): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/** getReplicaSetFraction: its size scaled from max-replicas to the new replicas + maxSurge. */
function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -replicasOf(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const v = rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION];
  const annotated = v !== undefined && /^\d+$/.test(v) ? Number(v) : d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return roundHalfAway((replicasOf(rs) * deploymentReplicas) / annotated) - replicasOf(rs);
}

/** Go's math.Round: halves away from zero. */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * cleanupDeployment: the old ReplicaSets past revisionHistoryLimit to delete, lowest revision first;
 * only those scaled to 0 with no pods left and their latest spec observed.
 */
export function replicaSetsToCleanUp(d: Deployment, oldSets: readonly ReplicaSet[]): ReplicaSet[] {
  const limit = d.spec.revisionHistoryLimit;
  if (limit === undefined) return [];
  const alive = oldSets.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = alive.length - limit;
  if (diff <= 0) return [];
  return [...alive].sort(byRevision).slice(0, diff).filter((rs) =>
    (rs.status?.replicas ?? 0) === 0 && replicasOf(rs) === 0 &&
    (rs.metadata.generation ?? 0) <= (rs.status?.observedGeneration ?? 0)
  );
}

// -------------------------------------------------------------------------------------------------
// Status and conditions.

/** The Deployment's status fields. */
export type DeploymentStatus = NonNullable<Deployment["status"]> & { collisionCount?: number };

/** A condition of `type`, if present. */
export function deploymentCondition(status: DeploymentStatus | undefined, type: string) {
  return status?.conditions?.find((c) => c.type === type);
}

/** NewDeploymentCondition: both times now. */
export function newCondition(
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  now: number,
): Condition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/**
 * SetDeploymentCondition: the conditions with `cond` in place of its type; nothing changes when the
 * status and reason are the same, and lastTransitionTime is kept while the status is.
 */
export function setCondition(conditions: readonly Condition[] | undefined, cond: Condition) {
  const list = conditions ?? [];
  const current = list.find((c) => c.type === cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return [...list];
  const next = current && current.status === cond.status
    ? { ...cond, lastTransitionTime: current.lastTransitionTime }
    : cond;
  return [...list.filter((c) => c.type !== cond.type), next];
}

/** RemoveDeploymentCondition. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string) {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** HasProgressDeadline. */
export function hasProgressDeadline(d: Deployment): boolean {
  const s = d.spec.progressDeadlineSeconds;
  return s !== undefined && s !== MAX_INT32;
}

/**
 * calculateStatus: counts summed over the ReplicaSets (replicas and updatedReplicas from their
 * status; unavailableReplicas against their spec), and Available True (MinimumReplicasAvailable) when
 * at least replicas − maxUnavailable pods are available, else False (MinimumReplicasUnavailable).
 */
export function calculateDeploymentStatus(
  all: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
  now: number,
): DeploymentStatus {
  const available = availableReplicas(all);
  const status: DeploymentStatus = {
    ...d.status,
    observedGeneration: d.metadata.generation,
    replicas: actualReplicas(all),
    updatedReplicas: actualReplicas([newRS]),
    readyReplicas: readyReplicas(all),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, specReplicas(all) - available),
  };
  const minimum = available >= replicasOf(d) - maxUnavailable(d);
  status.conditions = setCondition(
    d.status?.conditions,
    minimum
      ? newCondition(
        "Available",
        "True",
        REASONS.minimumAvailable,
        "Deployment has minimum availability.",
        now,
      )
      : newCondition(
        "Available",
        "False",
        REASONS.minimumUnavailable,
        "Deployment does not have minimum availability.",
        now,
      ),
  );
  return status;
}

/** DeploymentComplete: every replica updated and available, and the latest spec observed. */
export function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const replicas = replicasOf(d);
  return status.updatedReplicas === replicas && status.replicas === replicas &&
    status.availableReplicas === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** DeploymentProgressing: more updated, ready or available pods than before, or fewer old ones. */
export function deploymentProgressing(d: Deployment, status: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld ||
    (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/**
 * DeploymentTimedOut: the Progressing condition was last updated more than progressDeadlineSeconds
 * before `now` (never after a completed rollout).
 */
export function deploymentTimedOut(d: Deployment, status: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = deploymentCondition(status, "Progressing");
  if (!cond || cond.reason === REASONS.newRSAvailable) return false;
  if (cond.reason === REASONS.timedOut) return true;
  const from = Date.parse(cond.lastUpdateTime ?? cond.lastTransitionTime ?? "");
  return from + d.spec.progressDeadlineSeconds! * 1000 < now;
}

/**
 * syncRolloutStatus's new status: calculateStatus plus the Progressing condition — True
 * NewReplicaSetAvailable once complete, True ReplicaSetUpdated while progress is made (keeping its
 * transition time), False ProgressDeadlineExceeded once the deadline passed — and the ReplicaSets'
 * ReplicaFailure condition, if any.
 */
export function rolloutStatus(
  all: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
  now: number,
): DeploymentStatus {
  const status = calculateDeploymentStatus(all, newRS, d, now);
  if (!hasProgressDeadline(d)) {
    status.conditions = removeCondition(status.conditions, "Progressing");
  }
  const current = deploymentCondition(d.status, "Progressing");
  const complete = status.replicas === status.updatedReplicas &&
    current?.reason === REASONS.newRSAvailable;
  if (hasProgressDeadline(d) && !complete) {
    const subject = newRS
      ? `ReplicaSet "${newRS.metadata.name}"`
      : `Deployment "${d.metadata.name}"`;
    if (deploymentComplete(d, status)) {
      status.conditions = setCondition(
        status.conditions,
        newCondition(
          "Progressing",
          "True",
          REASONS.newRSAvailable,
          `${subject} has successfully progressed.`,
          now,
        ),
      );
    } else if (deploymentProgressing(d, status)) {
      const cond = newCondition(
        "Progressing",
        "True",
        REASONS.replicaSetUpdated,
        `${subject} is progressing.`,
        now,
      );
      if (current?.status === "True") cond.lastTransitionTime = current.lastTransitionTime;
      status.conditions = [...removeCondition(status.conditions, "Progressing"), cond];
    } else if (deploymentTimedOut(d, status, now)) {
      status.conditions = setCondition(
        status.conditions,
        newCondition(
          "Progressing",
          "False",
          REASONS.timedOut,
          `${subject} has timed out progressing.`,
          now,
        ),
      );
    }
  }
  // getReplicaFailures: the new ReplicaSet's failure first, else an old one's.
  const failure = [newRS, ...all].map((rs) =>
    rs?.status?.conditions?.find((c) => c.type === "ReplicaFailure")
  ).find((c) => c !== undefined);
  status.conditions = failure
    ? setCondition(status.conditions, { ...failure, lastUpdateTime: failure.lastTransitionTime })
    : removeCondition(status.conditions, "ReplicaFailure");
  return status;
}

/**
 * requeueStuckDeployment: how long until the rollout's deadline should be checked again, or
 * undefined when there is nothing to watch (complete, already timed out, or no deadline).
 */
export function progressCheckDelay(
  d: Deployment,
  status: DeploymentStatus,
  now: number,
): number | undefined {
  const cond = deploymentCondition(d.status, "Progressing");
  if (!hasProgressDeadline(d) || !cond) return undefined;
  if (deploymentComplete(d, status) || cond.reason === REASONS.timedOut) return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? cond.lastTransitionTime ?? "");
  const after = from + d.spec.progressDeadlineSeconds! * 1000 - now;
  return after < 1000 ? 0 : after + 1000;
}

/**
 * checkPausedConditions: the Progressing condition Unknown/DeploymentPaused when paused, and
 * Unknown/DeploymentResumed when resumed; undefined when there is nothing to change (or the rollout
 * already timed out, which a pause must not hide).
 */
export function pausedConditions(d: Deployment, now: number): Condition[] | undefined {
  if (!hasProgressDeadline(d)) return undefined;
  const cond = deploymentCondition(d.status, "Progressing");
  if (cond?.reason === REASONS.timedOut) return undefined;
  const pausedShown = cond?.reason === REASONS.paused;
  if (d.spec.paused && !pausedShown) {
    return setCondition(
      d.status?.conditions,
      newCondition("Progressing", "Unknown", REASONS.paused, "Deployment is paused", now),
    );
  }
  if (!d.spec.paused && pausedShown) {
    return setCondition(
      d.status?.conditions,
      newCondition("Progressing", "Unknown", REASONS.resumed, "Deployment is resumed", now),
    );
  }
  return undefined;
}
