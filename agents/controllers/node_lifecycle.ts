/**
 * The node lifecycle controller (pkg/controller/nodelifecycle). Every node-monitor-period it checks
 * that each kubelet is still heard from — its Lease in kube-node-lease renewed, or its Ready heartbeat
 * moved — and after node-monitor-grace-period of silence sets Ready and the pressure conditions to
 * Unknown and marks the node's pods not Ready. Nodes whose Ready is False or Unknown are tainted
 * `node.kubernetes.io/not-ready` / `unreachable`: NoSchedule at once, NoExecute through a
 * per-zone rate-limited queue (the taint eviction controller then evicts). Healthy again, the taints
 * go. When every node of every zone is down the controller assumes its own view is at fault and stops
 * evicting (full disruption).
 *
 * It also stands in for the cloud node lifecycle controller, which deletes a Node whose machine is
 * gone: a node annotated `kubelab.io/ephemeral` (a compose node container's) that has not been heard
 * from for the ephemeral-node grace period is deleted with its Lease, so that scaling containers down
 * leaves no ghost nodes.
 * @module
 */
import type { Lease } from "../../shared/api/coordination.ts";
import {
  EPHEMERAL_NODE_ANNOTATION,
  type Node,
  type Pod,
  type Taint,
} from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import type { WatchEventType } from "../../shared/client/protocol.ts";
import type { EventRecorder } from "../../shared/client/recorder.ts";
import type { Clock } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type { TimingProfile } from "../../shared/timing.ts";
import { isConflict, isNotFound, keyOf, rfc3339 } from "./controller_utils.ts";
import {
  BY_NODE,
  type SharedInformer,
  type SharedInformerFactory,
  withIndex,
} from "./informers.ts";
import {
  computeZoneState,
  EXCLUDE_DISRUPTION_LABEL,
  hasTaint,
  type NodeHealth,
  noScheduleTaintDiff,
  swapTaints,
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  tryUpdateNodeHealth,
  zoneEvictionRate,
  zoneKey,
  type ZoneState,
} from "./node_health.ts";
import { getCondition, withPodCondition } from "./pods.ts";
import { RateLimitedTimedQueue, type TryResult } from "./rate_limited_queue.ts";
import { WorkQueue } from "./workqueue.ts";

/** The namespace of node Leases. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** NodeEvictionPeriod: how often the NoExecute tainting queues are drained. */
const TAINTING_PERIOD_MS = 100;
/** NodeHealthUpdateRetry. */
const STATUS_UPDATE_ATTEMPTS = 5;
/** Taint writes that lose a race are retried this often (UpdateTaintBackoff). */
const TAINT_UPDATE_ATTEMPTS = 5;
/** Nodes processed at once in a monitor pass (nodeUpdateWorkerSize). */
const NODE_WORKERS = 8;

const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: "NoExecute" };
const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: "NoExecute" };

/** Options for {@linkcode NodeLifecycleController}. */
export interface NodeLifecycleControllerOptions {
  client: ApiClient;
  informers: SharedInformerFactory;
  /** Records RegisteredNode, NodeNotReady… as `node-controller`. */
  recorder: EventRecorder;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  timing: Pick<
    TimingProfile,
    | "nodeMonitorPeriodMs"
    | "nodeMonitorGraceMs"
    | "nodeStartupGraceMs"
    | "nodeEvictionRate"
    | "secondaryNodeEvictionRate"
    | "ephemeralNodeGraceMs"
  >;
  /** --large-cluster-size-threshold. @default 50 */
  largeClusterThreshold?: number;
  /** --unhealthy-zone-threshold. @default 0.55 */
  unhealthyZoneThreshold?: number;
}

/** Watches node health and taints nodes that stopped working. */
export class NodeLifecycleController {
  readonly #opts: NodeLifecycleControllerOptions;
  readonly #log: Logger;
  readonly #nodes: SharedInformer<Node>;
  readonly #leases: SharedInformer<Lease>;
  readonly #pods: SharedInformer<Pod>;
  /** NoSchedule tainting per node, on node changes. */
  readonly #nodeQueue: WorkQueue;
  /** Pods newly placed on a node, checked against the node's health. */
  readonly #podQueue: WorkQueue;
  readonly #health = new Map<string, NodeHealth>();
  readonly #known = new Set<string>();
  readonly #zoneStates = new Map<string, ZoneState>();
  readonly #tainters = new Map<string, RateLimitedTimedQueue>();
  /** Nodes whose pods must still be marked not ready. */
  readonly #retry = new Set<string>();
  readonly #abort = new AbortController();

  constructor(opts: NodeLifecycleControllerOptions) {
    this.#opts = opts;
    this.#log = opts.log.with({ controller: "node-lifecycle" });
    this.#nodeQueue = new WorkQueue({ name: "node-lifecycle", clock: opts.clock, log: this.#log });
    this.#podQueue = new WorkQueue({
      name: "node-lifecycle-pods",
      clock: opts.clock,
      log: this.#log,
    });
    this.#nodes = opts.informers.for<Node>("nodes");
    this.#leases = opts.informers.for<Lease>("leases");
    this.#pods = withIndex(opts.informers.for<Pod>("pods"), BY_NODE);
    this.#nodes.addHandler((type, node) => {
      if (type !== "DELETED") this.#nodeQueue.add(node.metadata.name!);
    });
    this.#pods.addHandler((type, pod, old) => this.#onPod(type, pod, old));
    if (opts.signal.aborted) this.#abort.abort();
    else opts.signal.addEventListener("abort", () => this.#abort.abort(), { once: true });
  }

  /** Runs the monitor, the tainting pass and the workers until {@linkcode stop}. */
  async run(): Promise<void> {
    const { timing } = this.#opts;
    await Promise.all([
      this.#nodeQueue.run(NODE_WORKERS, (name) => this.#noScheduleTaintingPass(name)),
      this.#podQueue.run(4, (key) => this.#processPod(key)),
      this.#every(timing.nodeMonitorPeriodMs, () => this.monitorNodeHealth()),
      this.#every(TAINTING_PERIOD_MS, () => this.#noExecuteTaintingPass()),
    ]);
  }

  /** Stops the loops and the workers. */
  stop(): void {
    this.#abort.abort();
    this.#nodeQueue.shutDown();
    this.#podQueue.shutDown();
  }

  /** The health last observed of a node (for tests and logs). */
  health(name: string): NodeHealth | undefined {
    return this.#health.get(name);
  }

  /** wait.Until: runs `fn` now and then every `ms` until stopped; a failure is logged. */
  async #every(ms: number, fn: () => Promise<void>): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await fn();
      } catch (err) {
        this.#log.error("Pass failed", { error: err });
      }
      await this.#opts.clock.sleep(ms, signal).catch(() => {});
    }
  }

  #onPod(type: WatchEventType, pod: Pod, old: Pod | undefined): void {
    if (type === "DELETED" || !pod.spec.nodeName) return;
    if (!old || old.spec.nodeName !== pod.spec.nodeName) this.#podQueue.add(keyOf(pod));
  }

  // ---------------------------------------------------------------------------------------------
  // Health monitoring

  /** monitorNodeHealth: one pass over every node. */
  async monitorNodeHealth(): Promise<void> {
    const nodes = this.#nodes.list();
    const names = new Set(nodes.map((n) => n.metadata.name!));
    for (const node of nodes) {
      this.#tainter(zoneKey(node));
      const name = node.metadata.name!;
      if (this.#known.has(name)) continue;
      this.#log.info("Observed a new node", { node: name });
      await this.#nodeEvent(node, "RegisteredNode", `Registered Node ${name} in Controller`);
      this.#known.add(name);
      await this.#markNodeAsReachable(node);
    }
    for (const name of [...this.#known]) {
      if (names.has(name)) continue;
      this.#log.info("Observed a node deletion", { node: name });
      const gone = { apiVersion: "v1", kind: "Node", metadata: { name } };
      await this.#nodeEvent(gone, "RemovingNode", `Removing Node ${name} from Controller`);
      this.#known.delete(name);
      this.#health.delete(name);
      this.#retry.delete(name);
      // A deleted node waiting for its NoExecute taint would only hold up the next real failure.
      for (const tainter of this.#tainters.values()) tainter.remove(name);
    }
    const zones = new Map<string, (Condition | undefined)[]>();
    const queue = [...nodes];
    const worker = async () => {
      for (let node = queue.shift(); node; node = queue.shift()) {
        await this.#updateNode(node, zones);
      }
    };
    await Promise.all(Array.from({ length: NODE_WORKERS }, worker));
    await this.#handleDisruption(zones, nodes);
  }

  /** Brings one node's health up to date and acts on it. */
  async #updateNode(node: Node, zones: Map<string, (Condition | undefined)[]>): Promise<void> {
    const { client, clock, timing } = this.#opts;
    const name = node.metadata.name!;
    const lease = this.#leases.get(`${NODE_LEASE_NAMESPACE}/${name}`);
    const graces = {
      monitorGraceMs: timing.nodeMonitorGraceMs,
      startupGraceMs: timing.nodeStartupGraceMs,
    };
    let current = node;
    let update;
    for (let attempt = 1;; attempt++) {
      update = tryUpdateNodeHealth(this.#health.get(name), current, lease, clock.now(), graces);
      this.#health.set(name, update.health);
      if (!update.write) break;
      try {
        current = await client.updateStatus<Node>("nodes", {
          ...current,
          status: { ...current.status, conditions: update.write.conditions },
        });
        this.#health.set(name, update.write.health);
        this.#log.info("Node stopped posting status", { node: name });
        break;
      } catch (err) {
        if (attempt >= STATUS_UPDATE_ATTEMPTS || !(isConflict(err) || isNotFound(err))) {
          this.#log.error("Could not update node health, no pods will be evicted", {
            node: name,
            error: err,
          });
          return;
        }
        if (isNotFound(err)) return;
        current = await client.get<Node>("nodes", undefined, name);
      }
    }
    const { observedReady, currentReady } = update;
    if (await this.#deleteIfGone(current, update.health.probeTimestamp)) return;
    if (node.metadata.labels?.[EXCLUDE_DISRUPTION_LABEL] === undefined) {
      const zone = zoneKey(current);
      zones.set(zone, [...(zones.get(zone) ?? []), currentReady]);
    }
    if (!currentReady) return;
    await this.#processTaintBaseEviction(current, observedReady);
    const becameNotReady = currentReady.status !== "True" && observedReady.status === "True";
    if (becameNotReady) {
      await this.#nodeEvent(current, "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
    }
    if (becameNotReady || (this.#retry.has(name) && observedReady.status !== "True")) {
      if (!(await this.#markPodsNotReady(this.#pods.byIndex(BY_NODE, name), name))) {
        this.#retry.add(name);
        return;
      }
    }
    this.#retry.delete(name);
  }

  /**
   * Deletes an ephemeral node (and its Lease) silent for the ephemeral-node grace period, as the cloud
   * node lifecycle controller deletes a node whose instance no longer exists. True when it did.
   */
  async #deleteIfGone(node: Node, heardFrom: number): Promise<boolean> {
    const { client, clock, timing } = this.#opts;
    if (node.metadata.annotations?.[EPHEMERAL_NODE_ANNOTATION] !== "true") return false;
    // Every node silent says more about this controller's view than about the nodes: keep them.
    const states = [...this.#zoneStates.values()];
    if (states.length && states.every((st) => st === "FullDisruption")) return false;
    const silentMs = clock.now() - heardFrom;
    if (silentMs < timing.ephemeralNodeGraceMs) return false;
    const name = node.metadata.name!;
    this.#log.info("Deleting an ephemeral node that is gone", { node: name, silentMs });
    await this.#nodeEvent(
      node,
      "DeletingNode",
      `Deleting node ${name} because its container is gone (silent for ${
        Math.round(silentMs / 1000)
      } s)`,
    );
    try {
      await client.delete("nodes", { name, preconditions: { uid: node.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await client.delete("leases", { namespace: NODE_LEASE_NAMESPACE, name }).catch((err) => {
      if (!isNotFound(err)) this.#log.warn("Could not delete the node's Lease", { error: err });
    });
    return true;
  }

  /** processTaintBaseEviction: queue or swap the NoExecute taint, or remove it from a healthy node. */
  async #processTaintBaseEviction(node: Node, observedReady: Condition): Promise<void> {
    const taints = node.spec?.taints;
    switch (observedReady.status) {
      case "False":
        if (hasTaint(taints, TAINT_UNREACHABLE, "NoExecute")) {
          await this.#swapTaints(node.metadata.name!, [NOT_READY_NO_EXECUTE], [
            UNREACHABLE_NO_EXECUTE,
          ]);
        } else this.#markNodeForTainting(node, "False");
        return;
      case "Unknown":
        if (hasTaint(taints, TAINT_NOT_READY, "NoExecute")) {
          await this.#swapTaints(node.metadata.name!, [UNREACHABLE_NO_EXECUTE], [
            NOT_READY_NO_EXECUTE,
          ]);
        } else this.#markNodeForTainting(node, "Unknown");
        return;
      case "True":
        if (await this.#markNodeAsReachable(node)) {
          this.#log.info("Node is healthy again, removed its NoExecute taints", {
            node: node.metadata.name,
          });
        }
    }
  }

  #markNodeForTainting(node: Node, status: "False" | "Unknown"): void {
    const tainter = this.#tainter(zoneKey(node));
    const name = node.metadata.name!;
    const key = status === "False" ? TAINT_NOT_READY : TAINT_UNREACHABLE;
    if (!hasTaint(node.spec?.taints, key, "NoExecute")) tainter.remove(name);
    if (tainter.add(name, node.metadata.uid ?? "", this.#opts.clock.now())) {
      this.#log.info("Queued node for NoExecute tainting", { node: name, ready: status });
    }
  }

  /** Removes the NoExecute not-ready and unreachable taints; true when the node was queued or tainted. */
  async #markNodeAsReachable(node: Node): Promise<boolean> {
    const name = node.metadata.name!;
    const taints = node.spec?.taints;
    if (
      hasTaint(taints, TAINT_UNREACHABLE, "NoExecute") ||
      hasTaint(taints, TAINT_NOT_READY, "NoExecute")
    ) {
      await this.#swapTaints(name, [], [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE]);
    }
    return this.#tainter(zoneKey(node)).remove(name);
  }

  /** MarkPodsNotReady: Ready=False on each pod of the node; false if some write failed. */
  async #markPodsNotReady(pods: Pod[], nodeName: string): Promise<boolean> {
    const { client, clock, recorder } = this.#opts;
    let ok = true;
    for (const pod of pods) {
      if (pod.spec.nodeName !== nodeName) continue;
      const ready = getCondition(pod.status?.conditions, "Ready");
      if (!ready) continue;
      const conditions = withPodCondition(
        pod.status?.conditions,
        { ...ready, status: "False" },
        rfc3339(clock.now()),
      );
      if (!conditions) continue;
      try {
        await client.updateStatus<Pod>("pods", { ...pod, status: { ...pod.status, conditions } });
      } catch (err) {
        if (isNotFound(err)) continue;
        this.#log.warn("Could not mark pod not ready", { pod: keyOf(pod), error: err });
        ok = false;
        continue;
      }
      await recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready");
    }
    return ok;
  }

  /** processPod: a pod placed on an unhealthy node is marked not ready at once. */
  async #processPod(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    const nodeName = pod?.spec.nodeName;
    if (!pod || !nodeName) return;
    const ready = this.#health.get(nodeName)?.ready;
    if (!ready || !this.#nodes.get(nodeName)) return;
    if (ready.status !== "True" && !(await this.#markPodsNotReady([pod], nodeName))) {
      throw new Error(`Could not mark pod ${key} not ready`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Zones and disruption

  /** The tainting queue of `zone`, created at the normal rate on first sight. */
  #tainter(zone: string): RateLimitedTimedQueue {
    let q = this.#tainters.get(zone);
    if (!q) {
      q = new RateLimitedTimedQueue(this.#opts.timing.nodeEvictionRate, this.#opts.clock.now());
      this.#tainters.set(zone, q);
      this.#zoneStates.set(zone, "Initial");
      this.#log.info("Initializing eviction for zone", { zone: JSON.stringify(zone) });
    }
    return q;
  }

  /** handleDisruption: sets each zone's eviction rate from its state; all down stops evictions. */
  async #handleDisruption(
    zones: Map<string, (Condition | undefined)[]>,
    nodes: Node[],
  ): Promise<void> {
    const threshold = this.#opts.unhealthyZoneThreshold ?? 0.55;
    const newStates = new Map<string, ZoneState>();
    let allAreFully = true;
    for (const [zone, conditions] of zones) {
      const { state } = computeZoneState(conditions, threshold);
      if (state !== "FullDisruption") allAreFully = false;
      newStates.set(zone, state);
      if (!this.#zoneStates.has(zone)) this.#zoneStates.set(zone, "Initial");
    }
    for (const zone of [...this.#zoneStates.keys()]) {
      if (!zones.has(zone)) this.#zoneStates.delete(zone);
    }
    const allWasFully = [...this.#zoneStates.values()].every((s) => s === "FullDisruption");
    if (allAreFully && allWasFully) return;
    const now = this.#opts.clock.now();
    if (allAreFully) {
      this.#log.info("All nodes are not ready: entering full disruption mode, evictions stop");
      for (const node of nodes) await this.#markNodeAsReachable(node);
      for (const zone of this.#zoneStates.keys()) {
        this.#tainter(zone).swapLimiter(0, now);
        this.#zoneStates.set(zone, "FullDisruption");
      }
      return;
    }
    if (allWasFully) {
      this.#log.info("Some nodes are ready: leaving full disruption mode");
      for (const node of nodes) {
        const h = this.#health.get(node.metadata.name!);
        if (h) {
          this.#health.set(node.metadata.name!, {
            ...h,
            probeTimestamp: now,
            readyTransitionTimestamp: now,
          });
        }
      }
    }
    for (const [zone, state] of this.#zoneStates) {
      const next = newStates.get(zone)!;
      if (state === next && !allWasFully) continue;
      if (state !== next) {
        this.#log.info("Zone changed state", { zone: JSON.stringify(zone), state: next });
      }
      const rate = zoneEvictionRate(next, zones.get(zone)!.length, {
        normal: this.#opts.timing.nodeEvictionRate,
        secondary: this.#opts.timing.secondaryNodeEvictionRate,
        largeClusterThreshold: this.#opts.largeClusterThreshold ?? 50,
      });
      this.#tainter(zone).swapLimiter(rate, now);
      this.#zoneStates.set(zone, next);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Taints

  /** doNoExecuteTaintingPass: taints queued nodes NoExecute, as their zone's rate allows. */
  async #noExecuteTaintingPass(): Promise<void> {
    for (const tainter of this.#tainters.values()) {
      await tainter.try(this.#opts.clock.now(), async ({ value }): Promise<TryResult> => {
        const node = this.#nodes.get(value);
        if (!node) return { ok: true };
        const ready = getCondition(node.status?.conditions, "Ready");
        if (!ready) return { ok: false, waitMs: 50 };
        // unreachable and not-ready mirror Ready, so one replaces the other.
        if (ready.status === "False") {
          return {
            ok: await this.#swapTaints(value, [NOT_READY_NO_EXECUTE], [UNREACHABLE_NO_EXECUTE]),
          };
        }
        if (ready.status === "Unknown") {
          return {
            ok: await this.#swapTaints(value, [UNREACHABLE_NO_EXECUTE], [NOT_READY_NO_EXECUTE]),
          };
        }
        return { ok: true };
      }).catch((err) => this.#log.error("Tainting pass failed", { error: err }));
    }
  }

  /** doNoScheduleTaintingPass: the NoSchedule taints that mirror conditions and cordoning. */
  async #noScheduleTaintingPass(name: string): Promise<void> {
    const node = this.#nodes.get(name);
    if (!node) return;
    const { add, remove } = noScheduleTaintDiff(node);
    if (!add.length && !remove.length) return;
    if (!(await this.#swapTaints(name, add, remove))) {
      throw new Error(`Failed to swap NoSchedule taints of node ${name}`);
    }
  }

  /**
   * SwapNodeControllerTaint: reads the node fresh, adds and removes taints, writes compare-and-set,
   * retrying lost races. True on success (or nothing to do), false on failure.
   */
  async #swapTaints(name: string, add: Taint[], remove: Taint[]): Promise<boolean> {
    const { client, clock } = this.#opts;
    for (let attempt = 1; attempt <= TAINT_UPDATE_ATTEMPTS; attempt++) {
      try {
        // The cache first; after a lost race, a fresh read.
        const cached = attempt === 1 ? this.#nodes.get(name) : undefined;
        const node = cached ?? await client.get<Node>("nodes", undefined, name);
        const taints = swapTaints(node.spec?.taints, add, remove, clock.now());
        if (!taints) return true;
        await client.update<Node>("nodes", { ...node, spec: { ...node.spec, taints } });
        this.#log.info("Updated node taints", {
          node: name,
          added: add.map((t) => `${t.key}:${t.effect}`),
          removed: remove.map((t) => `${t.key}:${t.effect}`),
        });
        return true;
      } catch (err) {
        if (isNotFound(err)) return true;
        if (!isConflict(err) || attempt === TAINT_UPDATE_ATTEMPTS) {
          this.#log.warn("Could not update node taints", { node: name, error: err });
          return false;
        }
      }
    }
    return false;
  }

  async #nodeEvent(
    node: { apiVersion: string; kind: string; metadata: Node["metadata"] },
    reason: string,
    what: string,
  ): Promise<void> {
    const name = node.metadata.name;
    const message = reason === "NodeNotReady" ? what : `Node ${name} event: ${what}`;
    await this.#opts.recorder.event(node, "Normal", reason, message);
  }
}
