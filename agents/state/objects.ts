/**
 * The API server's rules about an object's life that need no I/O: system metadata on create, what an
 * update may change, when generation moves, what a delete does (graceful, finalizers, at once). Pure functions; `now` is a parameter.
 * @module
 */

import { rfc3339 } from "../../shared/api/time.ts";

export { rfc3339 };
import { type ApiError, apiError } from "../../shared/api/errors.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import type { Pod } from "../../shared/api/core.ts";
import { qosClass } from "../../shared/api/defaults.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import type { DeleteRequest } from "../../shared/client/protocol.ts";

/** The characters of a generated name suffix (apimachinery's rand.String: no vowels, no confusables). */
export const NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** Namespaces the state service creates at start; the first three can never be deleted. */
export const SYSTEM_NAMESPACES = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
] as const;

/** Namespaces a delete is refused for (the namespace lifecycle admission plugin). */
export const UNDELETABLE_NAMESPACES: ReadonlySet<string> = new Set([
  "default",
  "kube-system",
  "kube-public",
]);

/** Resources whose update creates the object when it is absent (their strategies' AllowCreateOnUpdate). */
export const CREATE_ON_UPDATE: ReadonlySet<string> = new Set([
  "services",
  "endpoints",
  "events",
  "leases",
]);

/** A generated name: `generateName` + 5 random characters (names.SimpleNameGenerator). */
export function generateName(prefix: string, random: () => number = Math.random): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) {
    suffix += NAME_SUFFIX_ALPHABET[Math.floor(random() * NAME_SUFFIX_ALPHABET.length)];
  }
  return prefix + suffix;
}

/** Whether `a` and `b` are the same JSON value (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) return false;
  const [ka, kb] = [Object.keys(a), Object.keys(b)];
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length &&
    ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

/**
 * The status a new object starts with (the strategies' PrepareForCreate): a pod is Pending with its QoS
 * class, a namespace Active, a node keeps what it was given, other kinds with a status subresource start
 * empty. Kinds without one keep everything.
 */
export function initialStatus(info: ResourceInfo, obj: KubeObject): unknown {
  switch (info.kind) {
    case "Pod":
      return { phase: "Pending", qosClass: qosClass(obj as Pod) };
    case "Namespace":
      return { phase: "Active" };
    case "Node":
      return obj.status;
    default:
      return info.hasStatus ? {} : obj.status;
  }
}

/** Whether an update moves generation: the spec changed (Endpoints and Events have none, so never). */
export function specChanged(old: KubeObject, next: KubeObject): boolean {
  if (!("spec" in old) && !("spec" in next)) return false;
  return !jsonEqual(old.spec, next.spec);
}

/**
 * Whether an update removes the object (ShouldDeleteDuringUpdate): deletion was requested, the update empties
 * the finalizers that held it, and — for pods — the grace period is over (the kubelet's final delete).
 * Never for namespaces: they also wait until they are empty, and the namespace finalizer removes them.
 */
export function shouldDeleteDuringUpdate(
  resource: string,
  old: KubeObject,
  next: KubeObject,
): boolean {
  if (resource === "namespaces" || !old.metadata.deletionTimestamp) return false;
  if ((next.metadata.finalizers?.length ?? 0) > 0) return false;
  if ((old.metadata.finalizers?.length ?? 0) === 0) return false;
  return resource !== "pods" || next.metadata.deletionGracePeriodSeconds === 0;
}

/** The 409 for delete preconditions that do not hold, or undefined. */
export function preconditionError(
  obj: KubeObject,
  pre: DeleteRequest["preconditions"],
): ApiError | undefined {
  if (pre?.uid !== undefined && pre.uid !== obj.metadata.uid) {
    return apiError(
      "Conflict",
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${
        obj.metadata.uid ?? ""
      }`,
    );
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== obj.metadata.resourceVersion) {
    return apiError(
      "Conflict",
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ` +
        `ResourceVersion in object meta: ${obj.metadata.resourceVersion ?? ""}`,
    );
  }
  return undefined;
}

/**
 * What a delete does to a stored object: `remove` it now, store `object` (deletionTimestamp set or a grace
 * period shortened) and keep it, or `keep` it unchanged (a graceful deletion is already under way).
 */
export type DeletePlan =
  | { action: "remove" }
  | { action: "update"; object: KubeObject }
  | { action: "keep" };

/**
 * Plans a delete as rest.BeforeDelete and the pod strategy's CheckGracefulDeleteConditions do. The grace
 * period defaults to the pod's terminationGracePeriodSeconds (30) and to 0 for every other kind; a pod that
 * is not bound to a node or is already Succeeded or Failed goes at once. A graceful deletion sets
 * deletionTimestamp = now + grace and deletionGracePeriodSeconds; a later delete may only shorten it. An
 * object with finalizers gets a deletionTimestamp and stays until they are removed.
 */
export function planDelete(
  resource: string,
  obj: KubeObject,
  gracePeriodSeconds: number | undefined,
  now: number,
): DeletePlan {
  const meta = obj.metadata;
  const hasFinalizers = (meta.finalizers?.length ?? 0) > 0;
  const grace = resource === "pods" ? podGrace(obj as Pod, gracePeriodSeconds) : 0;
  const mark = (deletionTimestamp: string, seconds: number): DeletePlan => ({
    action: "update",
    object: {
      ...obj,
      metadata: {
        ...meta,
        deletionTimestamp,
        deletionGracePeriodSeconds: seconds,
        generation: meta.deletionTimestamp ? meta.generation : (meta.generation ?? 0) + 1,
      },
    },
  });

  if (meta.deletionTimestamp) {
    const existing = meta.deletionGracePeriodSeconds ?? 0;
    if (existing === 0) return hasFinalizers ? { action: "keep" } : { action: "remove" };
    if (grace >= existing) return { action: "keep" };
    if (grace === 0 && !hasFinalizers) return { action: "remove" };
    const shortened = Date.parse(meta.deletionTimestamp) - existing * 1000 + grace * 1000;
    return mark(rfc3339(shortened), grace);
  }
  if (grace > 0) return mark(rfc3339(now + grace * 1000), grace);
  if (hasFinalizers) return mark(rfc3339(now), 0);
  return { action: "remove" };
}

function podGrace(pod: Pod, requested: number | undefined): number {
  const phase = pod.status?.phase;
  if (!pod.spec?.nodeName || phase === "Succeeded" || phase === "Failed") return 0;
  return requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
}
