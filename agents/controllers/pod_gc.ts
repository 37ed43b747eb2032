/**
 * The pod garbage collector's orphan pass (pkg/controller/podgc, gcOrphaned): a pod bound to a node that
 * no longer exists is, after a quarantine in case the node comes back, marked Failed with the
 * `DisruptionTarget` condition (reason `DeletionByPodGC`) and deleted at once (grace 0), since no
 * kubelet is left to stop it. Driven by events — a node's deletion, a pod bound to a node not in the
 * cache — never by polling every pod.
 * @module
 */
import type { Node, Pod } from "../../shared/api/core.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { TimingProfile } from "../../shared/timing.ts";
import { isNotFound, keyOf, rfc3339 } from "./controller_utils.ts";
import {
  BY_NODE,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import { withPodCondition } from "./pods.ts";
import { WorkQueue } from "./workqueue.ts";

/** Options for {@linkcode PodGarbageCollector}. */
export interface PodGarbageCollectorOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  clock: Clock;
  log: Logger;
  timing: Pick<TimingProfile, "podGCQuarantineMs">;
}

/** Deletes pods whose node is gone. */
export class PodGarbageCollector {
  readonly #opts: PodGarbageCollectorOptions;
  readonly #log: Logger;
  readonly #pods: SharedInformer<Pod>;
  readonly #nodes: SharedInformer<Node>;
  /** Pod keys, looked at once their quarantine is over. */
  readonly #queue: WorkQueue;

  constructor(opts: PodGarbageCollectorOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "pod-garbage-collector" });
    this.#queue = new WorkQueue({ name: "podgc", clock: opts.clock, log: this.#log });
    this.#pods = withIndex(opts.informers.for<Pod>("pods"), BY_NODE);
    this.#nodes = opts.informers.for<Node>("nodes");
    const quarantine = opts.timing.podGCQuarantineMs;
    this.#nodes.addHandler((type, node) => {
      if (type !== "DELETED") return;
      for (const pod of this.#pods.byIndex(BY_NODE, node.metadata.name!)) {
        this.#queue.addAfter(keyOf(pod), quarantine);
      }
    });
    this.#pods.addHandler((type, pod) => {
      const node = pod.spec.nodeName;
      if (type !== "DELETED" && node && !this.#nodes.get(node)) {
        this.#queue.addAfter(keyOf(pod), quarantine);
      }
    });
  }

  /** Runs the workers until {@linkcode stop}. */
  run(): Promise<void> {
    return this.#queue.run(2, (key) => this.#sync(key));
  }

  /** Stops the workers. */
  stop(): void {
    this.#queue.shutDown();
  }

  async #sync(key: string): Promise<void> {
    const { client, clock } = this.#opts;
    const pod = this.#pods.get(key);
    const nodeName = pod?.spec.nodeName;
    if (!pod || !nodeName || this.#nodes.get(nodeName)) return;
    // The cache may be behind: only a node the API does not have makes the pod an orphan.
    try {
      await client.get<Node>("nodes", undefined, nodeName);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    this.#log.info("Deleting an orphaned pod", { pod: key, node: nodeName });
    try {
      const phase = pod.status?.phase;
      if (phase !== "Succeeded" && phase !== "Failed") {
        const conditions = withPodCondition(pod.status?.conditions, {
          type: "DisruptionTarget",
          status: "True",
          reason: "DeletionByPodGC",
          message: "PodGC: node no longer exists",
        }, rfc3339(clock.now()));
        await client.updateStatus<Pod>("pods", {
          ...pod,
          status: {
            ...pod.status,
            phase: "Failed",
            conditions: conditions ?? pod.status?.conditions,
          },
        });
      }
      await client.delete("pods", {
        namespace: ns,
        name,
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
