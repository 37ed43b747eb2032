/**
 * Controller expectations (pkg/controller/controller_utils.go, UIDTrackingControllerExpectations): before a
 * controller creates or deletes pods it records how many it expects to see, and it does not act on its
 * owner again until its informer has observed them all (or five minutes passed). That is what keeps a
 * ReplicaSet from creating twice the pods it needs while its cache lags behind its own writes.
 * @module
 */

/** ExpectationsTimeout: after this, unmet expectations no longer block a sync. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  /** When the expectation was set. */
  timestamp: number;
  /** Keys of the pods whose deletion is awaited, so a deletion seen twice counts once. */
  deleteKeys: Set<string>;
}

/** Creations and deletions each owner (by key) is waiting to observe. */
export class ControllerExpectations {
  readonly #byOwner = new Map<string, Expectation>();

  /**
   * Whether the owner may be synced at `now`: nothing is awaited, everything awaited was observed, or the
   * expectation is older than {@linkcode EXPECTATIONS_TIMEOUT_MS}.
   */
  satisfied(key: string, now: number): boolean {
    const e = this.#byOwner.get(key);
    if (!e) return true;
    return (e.add <= 0 && e.del <= 0) || now - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  /** Expects `count` creations (replacing what was expected). */
  expectCreations(key: string, count: number, now: number): void {
    this.#byOwner.set(key, { add: count, del: 0, timestamp: now, deleteKeys: new Set() });
  }

  /** Expects the deletion of the pods `podKeys` (replacing what was expected). */
  expectDeletions(key: string, podKeys: readonly string[], now: number): void {
    this.#byOwner.set(key, {
      add: 0,
      del: podKeys.length,
      timestamp: now,
      deleteKeys: new Set(podKeys),
    });
  }

  /** One creation was observed (or will never happen: the create failed). */
  creationObserved(key: string): void {
    const e = this.#byOwner.get(key);
    if (e) e.add--;
  }

  /** The deletion of `podKey` was observed (or will never happen); counted once per pod. */
  deletionObserved(key: string, podKey: string): void {
    const e = this.#byOwner.get(key);
    if (e?.deleteKeys.delete(podKey)) e.del--;
  }

  /** Forgets the owner (it was deleted). */
  delete(key: string): void {
    this.#byOwner.delete(key);
  }

  /** What is still awaited, for logs and tests. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.#byOwner.get(key);
    return e && { add: e.add, del: e.del };
  }
}
