/**
 * Helpers every workload controller shares (pkg/controller/controller_ref_manager.go and
 * controller_utils.go): claiming objects by selector and controller reference (adopt orphans that
 * match, release owned objects that no longer do), slow-start batches, and error tests.
 * @module
 */

import { rfc3339 } from "../../shared/api/time.ts";

export { rfc3339 };
import { ApiError } from "../../shared/api/errors.ts";
import type { KubeObject, OwnerReference } from "../../shared/api/meta.ts";
import { type LabelRequirement, matchesLabels } from "../../shared/api/selector.ts";
import type { LabelSelector } from "../../shared/api/meta.ts";
import { controllerRef, newControllerRef } from "./pods.ts";

/** What a claim does with one object. */
export type ClaimAction = "keep" | "adopt" | "release" | "ignore";

/**
 * ClaimObject's decision for `obj` and `owner`: keep what the owner controls and still selects;
 * release what it controls but no longer selects (unless the owner is being deleted); adopt an
 * orphan it selects (unless either is being deleted); ignore the rest.
 */
export function claimAction(owner: KubeObject, matches: boolean, obj: KubeObject): ClaimAction {
  const ref = controllerRef(obj);
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  if (ref) {
    if (ref.uid !== owner.metadata.uid) return "ignore";
    if (matches) return "keep";
    return ownerDeleting ? "ignore" : "release";
  }
  if (ownerDeleting || !matches || obj.metadata.deletionTimestamp) return "ignore";
  return "adopt";
}

/** The owner references of `obj` with `owner` as controller added. */
export function adoptedRefs(obj: KubeObject, owner: KubeObject): OwnerReference[] {
  return [
    ...(obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid),
    newControllerRef(owner),
  ];
}

/** The owner references of `obj` without the ones to `uid`. */
export function refsWithout(obj: KubeObject, uids: ReadonlySet<string>): OwnerReference[] {
  return (obj.metadata.ownerReferences ?? []).filter((r) => !uids.has(r.uid));
}

/** Whether `sel` has no terms (a selector that would select every object). */
export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  return !Object.keys(sel?.matchLabels ?? {}).length && !(sel?.matchExpressions?.length);
}

/** Whether `obj`'s labels satisfy `selector`. */
export function selects(selector: readonly LabelRequirement[], obj: KubeObject): boolean {
  return matchesLabels(selector, obj.metadata.labels);
}

/** The batch sizes of slowStartBatch: 1, 2, 4, … summing to `count`. */
export function slowStartBatches(count: number, initial = 1): number[] {
  const sizes: number[] = [];
  let remaining = count;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    sizes.push(size);
    remaining -= size;
  }
  return sizes;
}

/**
 * slowStartBatch: calls `fn` `count` times in batches of growing size, stopping after the first
 * batch with a failure, so a quota or admission error costs one call instead of hundreds. Returns how
 * many calls succeeded and the first error.
 */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let successes = 0;
  for (const size of slowStartBatches(count)) {
    const results = await Promise.allSettled(Array.from({ length: size }, fn));
    successes += results.filter((r) => r.status === "fulfilled").length;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) return { successes, error: failed.reason };
  }
  return { successes };
}

/** Whether `err` is the API's 404 NotFound. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.code === 404;
}

/** Whether `err` is the API's 409 Conflict (not AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.reason === "Conflict";
}

/** Whether `err` is the API's 409 AlreadyExists. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.reason === "AlreadyExists";
}

/** `Error: message` text for Events, as `%v` of a Go error prints it. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `ns/name` of a namespaced object. */
export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : `${obj.metadata.name}`;
}

/** Splits `ns/name` (or `name`). */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
