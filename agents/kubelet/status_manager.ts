/**
 * The status manager (pkg/kubelet/status/status_manager.go): keeps the latest status the kubelet
 * generated for each pod and writes it to the API only when it differs from what the API holds, one
 * write at a time per pod; every resync period it writes again whatever drifted.
 * @module
 */
import type { Pod, PodStatus } from "../../shared/api/core.ts";
import { ApiError } from "../../shared/api/errors.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { isTerminalPhase } from "./pod_phase.ts";
import { statusEqual } from "./pod_status.ts";

/** Options for {@linkcode StatusManager}. */
export interface StatusManagerOptions {
  client: ApiClient;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  resyncMs: number;
  /** The newest cached pod with this UID (from the informer). */
  getPod: (uid: string) => Pod | undefined;
}

/** Writes pod statuses. */
export class StatusManager {
  readonly #opts: StatusManagerOptions;
  readonly #statuses = new Map<string, PodStatus>();
  /** The pod as our last write returned it: newer than the informer's until the watch catches up. */
  readonly #written = new Map<string, Pod>();
  readonly #writes = new Map<string, Promise<void>>();
  #loop?: Promise<void>;

  constructor(options: StatusManagerOptions) {
    this.#opts = options;
  }

  /** Records the pod's status and writes it if the API holds something else; resolves once written. */
  setPodStatus(pod: Pod, status: PodStatus): Promise<void> {
    const uid = pod.metadata.uid!;
    this.#statuses.set(uid, status);
    return this.#enqueueWrite(uid, pod);
  }

  /** The status last set for the pod (GetPodStatus): what probe workers and deadlines read. */
  podStatus(uid: string): PodStatus | undefined {
    return this.#statuses.get(uid);
  }

  /** Drops what is known of a pod that is gone. */
  forget(uid: string): void {
    this.#statuses.delete(uid);
    this.#written.delete(uid);
  }

  /** Starts the resync loop. */
  start(): void {
    this.#loop = this.#run();
  }

  /** Waits for the resync loop and pending writes to end (the signal stops the loop). */
  async stop(): Promise<void> {
    await this.#loop;
    await Promise.allSettled([...this.#writes.values()]);
  }

  #enqueueWrite(uid: string, fallback: Pod): Promise<void> {
    const prev = this.#writes.get(uid) ?? Promise.resolve();
    const next = prev.then(() => this.#write(uid, fallback)).catch((err) => {
      this.#opts.log.warn("Failed to update pod status", { uid, error: err });
    });
    this.#writes.set(uid, next);
    next.finally(() => {
      if (this.#writes.get(uid) === next) this.#writes.delete(uid);
    });
    return next;
  }

  /** The newest version of the pod we know: the informer's or the one our last write returned. */
  #latest(uid: string, fallback: Pod): Pod {
    const candidates = [this.#opts.getPod(uid), this.#written.get(uid), fallback]
      .filter((p): p is Pod => p !== undefined && p.metadata.uid === uid);
    return candidates.reduce((a, b) =>
      Number(b.metadata.resourceVersion ?? 0) > Number(a.metadata.resourceVersion ?? 0) ? b : a
    );
  }

  async #write(uid: string, fallback: Pod): Promise<void> {
    let status = this.#statuses.get(uid);
    if (!status) return;
    let pod = this.#latest(uid, fallback);
    for (let attempt = 0; attempt < 3; attempt++) {
      // kubelet: a terminal phase in the API is never overwritten by a non-terminal one.
      if (isTerminalPhase(pod.status?.phase) && !isTerminalPhase(status.phase)) {
        status = { ...status, phase: pod.status!.phase };
      }
      if (statusEqual(pod.status, status)) return;
      try {
        const written = await this.#opts.client.updateStatus<Pod>("pods", { ...pod, status });
        this.#written.set(uid, written);
        this.#opts.log.debug("Status updated", {
          pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
          phase: status.phase,
        });
        return;
      } catch (err) {
        if (err instanceof ApiError && err.code === 404) return;
        if (!(err instanceof ApiError && err.code === 409)) throw err;
        const fresh = await this.#opts.client.get<Pod>(
          "pods",
          pod.metadata.namespace,
          pod.metadata.name!,
        )
          .catch((e) => {
            if (e instanceof ApiError && e.code === 404) return undefined;
            throw e;
          });
        if (!fresh || fresh.metadata.uid !== uid) return;
        pod = fresh;
      }
    }
  }

  async #run(): Promise<void> {
    const { clock, signal, resyncMs, getPod } = this.#opts;
    while (!signal.aborted) {
      await clock.sleep(resyncMs, signal).catch(() => {});
      if (signal.aborted) break;
      for (const uid of this.#statuses.keys()) {
        const pod = getPod(uid);
        if (pod) await this.#enqueueWrite(uid, pod);
      }
    }
  }
}
