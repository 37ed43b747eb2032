/**
 * Kubelet admission (pkg/kubelet/lifecycle/predicate.go): before a pod bound to the node runs, the
 * kubelet re-checks that it fits next to the pods already admitted — one more pod within
 * `allocatable.pods`, and each requested resource within `allocatable − Σ requests`. A pod that does
 * not fit is rejected: phase Failed, reason `OutOfcpu` (`OutOfmemory`, `OutOfpods`, …), message "Pod was
 * rejected: Node didn't have enough resource: cpu, requested: 8000, used: 500, capacity: 4000". Pure.
 * @module
 */
import type { Pod } from "../../shared/api/core.ts";
import { addResources as add, podRequests, type Resources } from "../../shared/api/resources.ts";

export type { Resources };

/** The outcome of {@linkcode admitPod}. */
export type AdmitResult =
  | { admit: true }
  | { admit: false; reason: string; message: string };

/** The prefix of a rejected pod's status message (rejectPod). */
export const REJECTED_PREFIX = "Pod was rejected: ";

/** The order the fit check visits resources in: cpu, memory, ephemeral-storage, then by name. */
function resourceOrder(a: string, b: string): number {
  const rank = (r: string) => ["cpu", "memory", "ephemeral-storage"].indexOf(r) + 1 || 4;
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * canAdmitPod's resource fit (noderesources.Fits via generalFilter): the first resource that does not
 * fit decides the reason. `activePods` are the node's other admitted, non-terminal pods.
 */
export function admitPod(
  pod: Pod,
  activePods: readonly Pod[],
  allocatable: Resources,
): AdmitResult {
  const insufficient = (resource: string, requested: number, used: number, capacity: number) => ({
    admit: false as const,
    reason: `OutOf${resource}`,
    message:
      `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, ` +
      `capacity: ${capacity}`,
  });
  const allowedPods = allocatable.pods ?? 0;
  if (activePods.length + 1 > allowedPods) {
    return insufficient("pods", 1, activePods.length, allowedPods);
  }
  const requested = podRequests(pod);
  const used = activePods.reduce((sum, p) => add(sum, podRequests(p)), {} as Resources);
  const names = Object.keys(requested).filter((r) => r !== "pods").sort(resourceOrder);
  for (const name of names) {
    const want = requested[name];
    if (!(want > 0)) continue;
    // Extended resources the node does not know are not kubelet admission's business (device plugins).
    if (!(name in allocatable) && !["cpu", "memory", "ephemeral-storage"].includes(name)) continue;
    const capacity = allocatable[name] ?? 0;
    const taken = used[name] ?? 0;
    if (want > capacity - taken) return insufficient(name, want, taken, capacity);
  }
  return { admit: true };
}
