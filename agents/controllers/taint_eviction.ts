/**
 * The taint eviction controller (pkg/controller/tainteviction, formerly the NoExecute taint manager):
 * deletes the pods of a node tainted NoExecute — at once when a taint is not tolerated, else when the
 * shortest tolerationSeconds of the tolerations in use runs out (300 s for the not-ready and
 * unreachable taints, from DefaultTolerationSeconds). A taint removed in time cancels the eviction.
 * Events: TaintManagerEviction "Marking for deletion Pod ns/name" / "Cancelling deletion of Pod ns/name".
 * @module
 */
import type { Node, Pod, Taint } from "../../shared/api/core.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import { isNotFound, keyOf, rfc3339, splitKey } from "./controller_utils.ts";
import {
  BY_NODE,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import { withPodCondition } from "./pods.ts";
import { jsonEqual } from "./semantic.ts";
import { planEviction, type ScheduledEviction } from "./tolerations.ts";
import { WorkQueue } from "./workqueue.ts";

/** Attempts of one eviction before giving up (retries). */
const DELETE_ATTEMPTS = 5;

/** Options for {@linkcode TaintEvictionController}. */
export interface TaintEvictionControllerOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  /** Records TaintManagerEviction as `taint-eviction-controller`. */
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
}

/** Evicts pods from nodes with NoExecute taints they do not tolerate (long enough). */
export class TaintEvictionController {
  readonly #opts: TaintEvictionControllerOptions;
  readonly #log: Logger;
  /** `node:<name>` and `pod:<ns>/<name>` items, one worker, so node and pod updates never race. */
  readonly #queue: WorkQueue;
  readonly #nodes: SharedInformer<Node>;
  readonly #pods: SharedInformer<Pod>;
  /** Nodes with NoExecute taints, as last handled. */
  readonly #tainted = new Map<string, Taint[]>();
  /** Scheduled evictions by pod key. */
  readonly #scheduled = new Map<string, ScheduledEviction & { timer: Timer }>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(opts: TaintEvictionControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "taint-eviction" });
    this.#queue = new WorkQueue({ name: "taint-eviction", clock: opts.clock, log: this.#log });
    this.#nodes = opts.informers.for<Node>("nodes");
    this.#pods = withIndex(opts.informers.for<Pod>("pods"), BY_NODE);
    this.#nodes.addHandler((type, node, old) => this.#onNode(type, node, old));
    this.#pods.addHandler((type, pod, old) => this.#onPod(type, pod, old));
  }

  /** Runs the worker until {@linkcode stop}; call once the informers have synced. */
  run(): Promise<void> {
    return this.#queue.run(1, (item) => this.#handle(item));
  }

  /** Stops: no new work, scheduled evictions cancelled, evictions in flight finished. */
  async stop(): Promise<void> {
    this.#queue.shutDown();
    for (const s of this.#scheduled.values()) s.timer.cancel();
    this.#scheduled.clear();
    await Promise.allSettled([...this.#inFlight]);
  }

  /** The pods with an eviction scheduled, and when (for tests and logs). */
  scheduled(): Map<string, number> {
    return new Map([...this.#scheduled].map(([k, v]) => [k, v.fireAt]));
  }

  #onNode(type: WatchEventType, node: Node, old: Node | undefined): void {
    if (type === "MODIFIED" && old && jsonEqual(noExecute(old), noExecute(node))) return;
    this.#queue.add(`node:${node.metadata.name}`);
  }

  #onPod(type: WatchEventType, pod: Pod, old: Pod | undefined): void {
    if (
      type === "MODIFIED" && old && old.spec.nodeName === pod.spec.nodeName &&
      jsonEqual(old.spec.tolerations ?? [], pod.spec.tolerations ?? [])
    ) return;
    this.#queue.add(`pod:${keyOf(pod)}`);
  }

  async #handle(item: string): Promise<void> {
    const [kind, key] = [item.slice(0, item.indexOf(":")), item.slice(item.indexOf(":") + 1)];
    if (kind === "node") await this.#handleNode(key);
    else await this.#handlePod(key);
  }

  async #handleNode(name: string): Promise<void> {
    const node = this.#nodes.get(name);
    if (!node) {
      this.#tainted.delete(name);
      return;
    }
    const taints = noExecute(node);
    if (taints.length) this.#tainted.set(name, taints);
    else this.#tainted.delete(name);
    const pods = this.#pods.byIndex(BY_NODE, name);
    if (!taints.length) {
      for (const pod of pods) await this.#cancel(keyOf(pod));
      return;
    }
    const now = this.#opts.clock.now();
    for (const pod of pods) await this.#process(pod, taints, now);
  }

  async #handlePod(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod) return await this.#cancel(key);
    const taints = pod.spec.nodeName ? this.#tainted.get(pod.spec.nodeName) : undefined;
    if (taints) await this.#process(pod, taints, this.#opts.clock.now());
  }

  /** processPodOnNode. */
  async #process(pod: Pod, taints: Taint[], now: number): Promise<void> {
    const key = keyOf(pod);
    const plan = planEviction(taints, pod.spec.tolerations ?? [], now, this.#scheduled.get(key));
    switch (plan.action) {
      case "evictNow":
        await this.#cancel(key);
        this.#schedule(key, now, now);
        return;
      case "cancel":
        return await this.#cancel(key);
      case "keep":
        return;
      case "schedule":
        await this.#cancel(key);
        this.#schedule(key, plan.createdAt, plan.fireAt);
    }
  }

  #schedule(key: string, createdAt: number, fireAt: number): void {
    const { clock } = this.#opts;
    this.#log.info("Scheduling eviction", { pod: key, at: rfc3339(fireAt) });
    const timer = clock.after(fireAt - clock.now(), () => {
      this.#scheduled.delete(key);
      const p = this.#evict(key);
      this.#inFlight.add(p);
      p.finally(() => this.#inFlight.delete(p));
    });
    this.#scheduled.set(key, { createdAt, fireAt, timer });
  }

  /** Cancels a scheduled eviction, recording that it was cancelled. */
  async #cancel(key: string): Promise<void> {
    const s = this.#scheduled.get(key);
    if (!s) return;
    s.timer.cancel();
    this.#scheduled.delete(key);
    this.#log.info("Cancelling eviction", { pod: key });
    await this.#opts.recorder.event(
      podRef(key),
      "Normal",
      "TaintManagerEviction",
      `Cancelling deletion of Pod ${key}`,
    );
  }

  /** The eviction: a DisruptionTarget condition, then a delete with the pod's grace period. */
  async #evict(key: string): Promise<void> {
    const { client, recorder, clock } = this.#opts;
    const { namespace, name } = splitKey(key);
    this.#log.info("Deleting pod", { pod: key });
    await recorder.event(
      podRef(key),
      "Normal",
      "TaintManagerEviction",
      `Marking for deletion Pod ${key}`,
    );
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS; attempt++) {
      try {
        const pod = await client.get<Pod>("pods", namespace, name);
        const conditions = withPodCondition(pod.status?.conditions, {
          type: "DisruptionTarget",
          status: "True",
          reason: "DeletionByTaintManager",
          message: "Taint manager: deleting due to NoExecute taint",
        }, rfc3339(clock.now()));
        if (conditions) {
          await client.patch("pods", {
            namespace,
            name,
            subresource: "status",
            patch: {
              metadata: { resourceVersion: pod.metadata.resourceVersion },
              status: { conditions },
            },
          });
        }
        await client.delete("pods", { namespace, name, preconditions: { uid: pod.metadata.uid } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (attempt === DELETE_ATTEMPTS) {
          this.#log.warn("Eviction failed", { pod: key, error: err });
          return;
        }
        await clock.sleep(10).catch(() => {});
      }
    }
  }
}

/** The node's NoExecute taints. */
function noExecute(node: Node): Taint[] {
  return (node.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
}

/** The object reference Events about a pod are recorded on (by name, as the taint manager does). */
function podRef(key: string): KubeObject {
  const { namespace, name } = splitKey(key);
  return { apiVersion: "v1", kind: "Pod", metadata: { namespace, name } };
}
