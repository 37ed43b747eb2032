/**
 * What controllers ask of pods, pure (pkg/api/v1/pod, pkg/controller/controller_utils.go): readiness and
 * availability, which pods still count, controller references, the order in which a ReplicaSet deletes
 * surplus pods (ActivePodsWithRanks), and the pod a template stamps out (GetPodFromTemplate).
 * @module
 */
import type { Pod, PodTemplateSpec } from "../../shared/api/core.ts";
import type { Condition, KubeObject, OwnerReference } from "../../shared/api/meta.ts";

/** The condition of `type`, if the object carries it. */
export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getCondition(pod.status?.conditions, "Ready")?.status === "True";
}

/** When the pod became Ready (ms), or undefined when it is not ready or the time is unknown. */
export function podReadyTime(pod: Pod): number | undefined {
  const c = getCondition(pod.status?.conditions, "Ready");
  if (c?.status !== "True" || !c.lastTransitionTime) return undefined;
  return Date.parse(c.lastTransitionTime);
}

/**
 * podutil.IsPodAvailable: ready, and ready for longer than `minReadySeconds` (at once when it is 0).
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = podReadyTime(pod);
  return since !== undefined && since + minReadySeconds * 1000 < now;
}

/** controller.IsPodActive: not Succeeded, not Failed, not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

/** metav1.GetControllerOf: the owner reference with `controller: true`. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** metav1.NewControllerRef: a reference that makes `owner` the controller, blocking its deletion. */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** `ns/name`, the key of pods in expectations and queues. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
}

/**
 * GetPodFromTemplate: a pod from `template`, named `<owner>-` + 5 random characters by the API server,
 * carrying the template's labels and annotations and the owner's controller reference.
 */
export function podFromTemplate(template: PodTemplateSpec, owner: KubeObject): Pod {
  const meta = template.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ownerReferences: [newControllerRef(owner)],
    },
    spec: structuredClone(template.spec),
  };
}

/** podPhaseToOrdinal: Pending < Unknown < Running (anything else counts as Pending). */
const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** The highest restart count of the pod's containers (and restartable init containers). */
function maxRestarts(pod: Pod): number {
  const statuses = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []).filter((s) =>
      pod.spec.initContainers?.find((c) => c.name === s.name)?.restartPolicy === "Always"
    ),
  ];
  return Math.max(0, ...statuses.map((s) => s.restartCount));
}

/** `controller.kubernetes.io/pod-deletion-cost`, 0 when absent or not an integer. */
function deletionCost(pod: Pod): number {
  const v = pod.metadata.annotations?.["controller.kubernetes.io/pod-deletion-cost"];
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : 0;
}

/**
 * logarithmicRankDiff: compares how long ago two times were on a log2 scale of nanoseconds, so pods
 * that came up at roughly the same time count as equally old (LogarithmicScaleDown).
 */
function logarithmicRankDiff(t1: number, t2: number, now: number): number {
  const rank = (t: number) => {
    const ns = (now - t) * 1e6;
    return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
  };
  return rank(t1) - rank(t2);
}

/** Compares two times, newer first, on the logarithmic scale; ties by uid. Unset times come first. */
function newerFirst(
  t1: number | undefined,
  t2: number | undefined,
  uids: [string, string],
  now: number,
): number {
  if (t1 === t2) return 0;
  if (t1 === undefined || t2 === undefined) return t1 === undefined ? -1 : 1;
  const diff = logarithmicRankDiff(t1, t2, now);
  if (diff === 0) return uids[0] < uids[1] ? -1 : uids[0] > uids[1] ? 1 : 0;
  return diff < 0 ? -1 : 1;
}

/** A pod with its rank: how many active related pods share its node. */
export interface RankedPod {
  pod: Pod;
  rank: number;
}

/**
 * ActivePodsWithRanks.Less as a comparator: negative when `a` should be deleted before `b`.
 * 1. unscheduled before scheduled; 2. Pending before Unknown before Running; 3. not ready before
 * ready; 4. lower pod-deletion-cost first; 5. more related pods on the same node first; 6. ready for
 * less time first; 7. more container restarts first; 8. newer before older (6 and 8 on a log scale).
 */
export function compareForDeletion(a: RankedPod, b: RankedPod, now: number): number {
  const [pa, pb] = [a.pod, b.pod];
  const [na, nb] = [pa.spec.nodeName ?? "", pb.spec.nodeName ?? ""];
  if (na !== nb && (na === "" || nb === "")) return na === "" ? -1 : 1;
  const [oa, ob] = [
    PHASE_ORDINAL[pa.status?.phase ?? ""] ?? 0,
    PHASE_ORDINAL[pb.status?.phase ?? ""] ?? 0,
  ];
  if (oa !== ob) return oa - ob;
  const [ra, rb] = [isPodReady(pa), isPodReady(pb)];
  if (ra !== rb) return ra ? 1 : -1;
  const [ca, cb] = [deletionCost(pa), deletionCost(pb)];
  if (ca !== cb) return ca - cb;
  if (a.rank !== b.rank) return b.rank - a.rank;
  const uids: [string, string] = [pa.metadata.uid ?? "", pb.metadata.uid ?? ""];
  if (ra && rb) {
    const c = newerFirst(podReadyTime(pa), podReadyTime(pb), uids, now);
    if (c !== 0) return c;
  }
  const [xa, xb] = [maxRestarts(pa), maxRestarts(pb)];
  if (xa !== xb) return xb - xa;
  const created = (p: Pod) =>
    p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : undefined;
  return newerFirst(created(pa), created(pb), uids, now);
}

/**
 * getPodsToDelete: the `count` pods a ReplicaSet deletes first, ranked against `related` (the active
 * pods of every ReplicaSet with the same controller, its own included).
 */
export function podsToDelete(
  pods: readonly Pod[],
  related: readonly Pod[],
  count: number,
  now: number,
): Pod[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const node = p.spec.nodeName ?? "";
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  return pods
    .map((pod) => ({ pod, rank: onNode.get(pod.spec.nodeName ?? "") ?? 0 }))
    .sort((a, b) => compareForDeletion(a, b, now))
    .slice(0, count)
    .map((r) => r.pod);
}

/**
 * UpdatePodCondition's rule for the new condition: lastTransitionTime moves only when the status
 * changes. Returns the new conditions, or undefined when nothing would change.
 */
export function withPodCondition(
  conditions: readonly Condition[] | undefined,
  next: Condition,
  nowTime: string,
): Condition[] | undefined {
  const list = conditions ?? [];
  const prev = list.find((c) => c.type === next.type);
  const merged: Condition = {
    ...next,
    lastProbeTime: next.lastProbeTime ?? null,
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : nowTime,
  };
  if (
    prev && prev.status === merged.status && prev.reason === merged.reason &&
    prev.message === merged.message
  ) return undefined;
  return prev ? list.map((c) => c === prev ? merged : c) : [...list, merged];
}
