/**
 * Resource amounts of pods and nodes, as Kubernetes' resourcehelper computes them. The scheduler's
 * NodeResourcesFit and the kubelet's admission both count a pod's requests with {@linkcode podRequests}.
 * @module
 */
import type { Pod, ResourceList } from "./core.ts";
import { parseQuantity } from "./quantity.ts";

/** Amounts by resource name: cpu in millicores, memory and storage in bytes, anything else in units. */
export type Resources = Record<string, number>;

/** Parses a ResourceList into amounts (see {@linkcode Resources} for the units). */
export function parseResources(list: ResourceList | undefined): Resources {
  const out: Resources = {};
  for (const [name, q] of Object.entries(list ?? {})) out[name] = parseQuantity(name, q);
  return out;
}

/** Adds `from` into `into`, resource by resource; returns `into`. */
export function addResources(into: Resources, from: Resources): Resources {
  for (const [name, amount] of Object.entries(from)) into[name] = (into[name] ?? 0) + amount;
  return into;
}

function raise(into: Resources, from: Resources): void {
  for (const [name, amount] of Object.entries(from)) into[name] = Math.max(into[name] ?? 0, amount);
}

/** Options for {@linkcode podRequests}. */
export interface PodRequestsOptions {
  /**
   * Amounts to count for a container that does not request a resource at all, as resourcehelper's
   * NonMissingContainerRequests: scheduler scoring uses 100m cpu and 200Mi memory. @default {}
   */
  nonMissingContainerRequests?: Resources;
}

/**
 * What a pod asks of a node, as resourcehelper.PodRequests computes it: the sum of the app containers'
 * requests, raised to the largest init container's request where that is higher (an init container runs
 * alone, next to the sidecars started before it; sidecars — init containers with `restartPolicy: Always` —
 * keep running and add to the sum), plus `spec.overhead`.
 */
export function podRequests(pod: Pod, options: PodRequestsOptions = {}): Resources {
  const nonMissing = options.nonMissingContainerRequests ?? {};
  const containerRequests = (requests: ResourceList | undefined) => {
    const parsed = parseResources(requests);
    for (const [name, amount] of Object.entries(nonMissing)) {
      if (!(name in parsed)) parsed[name] = amount;
    }
    return parsed;
  };
  const reqs: Resources = {};
  for (const c of pod.spec.containers) addResources(reqs, containerRequests(c.resources?.requests));
  const sidecars: Resources = {};
  const initMax: Resources = {};
  for (const c of pod.spec.initContainers ?? []) {
    const own = containerRequests(c.resources?.requests);
    if (c.restartPolicy === "Always") {
      addResources(reqs, own);
      addResources(sidecars, own);
      raise(initMax, sidecars);
    } else {
      raise(initMax, addResources({ ...own }, sidecars));
    }
  }
  raise(reqs, initMax);
  const overhead = (pod.spec as { overhead?: unknown }).overhead;
  if (overhead && typeof overhead === "object") {
    addResources(reqs, parseResources(overhead as ResourceList));
  }
  return reqs;
}
