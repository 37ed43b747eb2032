/**
 * The node heartbeat Lease (pkg/kubelet/nodelease, k8s.io/component-helpers/apimachinery/lease): the
 * kubelet renews `kube-node-lease/<node>` every renew interval; a failed renewal is retried with a
 * backoff from 200 ms doubling to 7 s.
 * @module
 */
import type { Lease } from "../../shared/api/coordination.ts";
import { ApiError } from "../../shared/api/errors.ts";
import type { OwnerReference } from "../../shared/api/meta.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { microTime } from "./format.ts";

/** The namespace of node leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** The first retry delay after a failed renewal. */
export const LEASE_RETRY_INITIAL_MS = 200;
/** The longest retry delay. */
export const LEASE_RETRY_MAX_MS = 7_000;

/** The delay before the next retry after one that waited `prevMs` (none yet: undefined). */
export function nextLeaseRetryMs(prevMs: number | undefined): number {
  return prevMs === undefined ? LEASE_RETRY_INITIAL_MS : Math.min(prevMs * 2, LEASE_RETRY_MAX_MS);
}

/** The Lease as the kubelet writes it at `now`, from the existing one if any. */
export function renewedLease(
  nodeName: string,
  durationSeconds: number,
  now: number,
  existing?: Lease,
  owner?: OwnerReference,
): Lease {
  const base: Lease = existing ?? {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE },
  };
  return {
    ...base,
    metadata: {
      ...base.metadata,
      ...(owner && !base.metadata.ownerReferences?.length ? { ownerReferences: [owner] } : {}),
    },
    spec: {
      ...base.spec,
      holderIdentity: nodeName,
      leaseDurationSeconds: durationSeconds,
      renewTime: microTime(now),
    },
  };
}

/** Options for {@linkcode LeaseController}. */
export interface LeaseControllerOptions {
  client: ApiClient;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  nodeName: string;
  renewIntervalMs: number;
  leaseDurationSeconds: number;
  /** The Node that owns the Lease, once known. */
  owner?: () => OwnerReference | undefined;
  /** While it answers true, renewals are skipped (the lab's pause-node fault). */
  paused?: () => boolean;
}

/** Renews the node's Lease until the signal aborts. */
export class LeaseController {
  readonly #opts: LeaseControllerOptions;
  #lease?: Lease;

  constructor(options: LeaseControllerOptions) {
    this.#opts = options;
  }

  /** Renews once: update the known Lease, or read it, or create it. */
  async renew(): Promise<Lease> {
    const { client, clock, nodeName, leaseDurationSeconds, owner } = this.#opts;
    if (this.#lease) {
      try {
        this.#lease = await client.update(
          "leases",
          renewedLease(nodeName, leaseDurationSeconds, clock.now(), this.#lease, owner?.()),
        );
        return this.#lease;
      } catch (err) {
        this.#lease = undefined;
        if (!(err instanceof ApiError && (err.code === 409 || err.code === 404))) throw err;
      }
    }
    let existing: Lease | undefined;
    try {
      existing = await client.get<Lease>("leases", NODE_LEASE_NAMESPACE, nodeName);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
    const lease = renewedLease(nodeName, leaseDurationSeconds, clock.now(), existing, owner?.());
    if (!existing) lease.spec!.acquireTime = lease.spec!.renewTime;
    this.#lease = existing
      ? await client.update("leases", lease)
      : await client.create("leases", lease);
    return this.#lease;
  }

  /** Renews every interval; after a failure retries with backoff. Resolves when the signal aborts. */
  async run(): Promise<void> {
    const { clock, log, signal, renewIntervalMs } = this.#opts;
    let retryMs: number | undefined;
    while (!signal.aborted) {
      let waitMs = renewIntervalMs;
      try {
        if (!this.#opts.paused?.()) await this.renew();
        retryMs = undefined;
      } catch (err) {
        retryMs = nextLeaseRetryMs(retryMs);
        waitMs = retryMs;
        log.warn("Failed to renew lease, will retry", { retryMs, error: err });
      }
      await clock.sleep(waitMs, signal).catch(() => {});
    }
  }
}
