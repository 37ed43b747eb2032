/**
 * The garbage collector's decisions, pure (pkg/controller/garbagecollector attemptToDeleteItem and
 * classifyReferences): what an object's owners are to it, and whether it stays, loses references to
 * owners that are gone, or is deleted — and with which propagation policy.
 * @module
 */
import type { KubeObject, OwnerReference } from "../../shared/api/meta.ts";

/** metav1.FinalizerDeleteDependents: the owner goes once its blocking dependents are gone. */
export const FOREGROUND_FINALIZER = "foregroundDeletion";
/** metav1.FinalizerOrphanDependents: the owner goes once its dependents no longer refer to it. */
export const ORPHAN_FINALIZER = "orphan";

/** A propagation policy of delete. */
export type PropagationPolicy = "Orphan" | "Background" | "Foreground";

/**
 * What an owner is to a dependent: `solid` (exists and is not deleting its dependents), `waiting`
 * (being deleted in the foreground, waiting for its dependents), or `dangling` (gone, or replaced by
 * another object with the same name).
 */
export type OwnerState = "solid" | "waiting" | "dangling";

/** Whether `obj` carries `finalizer`. */
export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/** Being deleted in the foreground: deletionTimestamp and the foregroundDeletion finalizer. */
export function isDeletingDependents(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp && hasFinalizer(obj, FOREGROUND_FINALIZER);
}

/** Being deleted with its dependents orphaned: deletionTimestamp and the orphan finalizer. */
export function isOrphaningDependents(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp && hasFinalizer(obj, ORPHAN_FINALIZER);
}

/** classifyReferences for one reference: `owner` is what a read by name found (or nothing). */
export function ownerState(ref: OwnerReference, owner: KubeObject | undefined): OwnerState {
  if (!owner || owner.metadata.uid !== ref.uid) return "dangling";
  return isDeletingDependents(owner) ? "waiting" : "solid";
}

/** What the collector does with a dependent. */
export type DependentAction =
  | { action: "none" }
  /** Drop the references to these owners (some other owner is solid). */
  | { action: "removeRefs"; uids: string[] }
  | { action: "delete"; policy: PropagationPolicy };

/**
 * attemptToDeleteItem's decision. An object already being deleted (but not in the foreground) is left
 * alone; one with a solid owner stays, dropping references to dangling and waiting owners; one whose
 * owners are all waiting and that has dependents of its own is deleted in the foreground (so the wait
 * carries down); otherwise it is deleted with the policy its own finalizers ask for (orphan,
 * foreground, else background).
 */
export function decideDependent(
  obj: KubeObject,
  states: ReadonlyMap<string, OwnerState>,
  hasDependents: boolean,
): DependentAction {
  const refs = obj.metadata.ownerReferences ?? [];
  if (obj.metadata.deletionTimestamp && !hasFinalizer(obj, FOREGROUND_FINALIZER)) {
    return { action: "none" };
  }
  if (!refs.length) return { action: "none" };
  const of = (s: OwnerState) => refs.filter((r) => states.get(r.uid) === s).map((r) => r.uid);
  const solid = of("solid"), waiting = of("waiting"), dangling = of("dangling");
  if (solid.length) {
    const uids = [...dangling, ...waiting];
    return uids.length ? { action: "removeRefs", uids } : { action: "none" };
  }
  if (waiting.length && hasDependents) return { action: "delete", policy: "Foreground" };
  if (hasFinalizer(obj, ORPHAN_FINALIZER)) return { action: "delete", policy: "Orphan" };
  if (hasFinalizer(obj, FOREGROUND_FINALIZER)) return { action: "delete", policy: "Foreground" };
  return { action: "delete", policy: "Background" };
}

/** Whether `dependent`'s reference to `ownerUid` blocks the owner's foreground deletion. */
export function blocksOwnerDeletion(dependent: KubeObject, ownerUid: string): boolean {
  return (dependent.metadata.ownerReferences ?? []).some((r) =>
    r.uid === ownerUid && r.blockOwnerDeletion === true
  );
}
