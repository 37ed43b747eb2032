/**
 * The scheduler's pure core, after kube-scheduler's framework (pkg/scheduler/framework): per-node
 * accounting ({@linkcode NodeInfo}), the Filter plugins with kube-scheduler's own failure reasons, the
 * Score plugins with their default weights, and {@linkcode schedule}, which picks a node or explains in
 * Kubernetes' words why none fits. No I/O and no clock: the scheduler shell feeds it.
 * @module
 */
import type { Node, Pod, Taint } from "../../shared/api/core.ts";
import { toleratesAny, toleratesTaint } from "../../shared/api/taints.ts";
import {
  addResources as add,
  parseResources,
  podRequests,
  type Resources,
} from "../../shared/api/resources.ts";

export type { Resources };

/** The scheduler name a pod gets when it names none (API defaulting). */
export const DEFAULT_SCHEDULER_NAME = "default-scheduler";
/** The highest score a Score plugin gives a node (framework.MaxNodeScore). */
export const MAX_NODE_SCORE = 100;
/** Scoring counts a container that requests no cpu as requesting this much (schedutil). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Scoring counts a container that requests no memory as requesting this much: 200Mi (schedutil). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** NodeUnschedulable's reason. */
export const REASON_UNSCHEDULABLE = "node(s) were unschedulable";
/** NodeName's reason. */
export const REASON_NODE_NAME = "node(s) didn't match the requested node name";
/** NodeReady's reason (kubelab's own plugin, see {@linkcode nodeReady}). */
export const REASON_NOT_READY = "node(s) were not ready";
/** NodeAffinity's reason. */
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
/** NodeResourcesFit's reason when the node already runs `allocatable.pods` pods. */
export const REASON_TOO_MANY_PODS = "Too many pods";
/** The scheduling failure when the cluster has no nodes at all (ErrNoNodesAvailable). */
export const NO_NODES_AVAILABLE = "no nodes available to schedule pods";

/** The taint the node lifecycle controller puts on a node whose Ready condition is False. */
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
/** The taint the node lifecycle controller puts on a node whose Ready condition is Unknown. */
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
/** The taint that stands for `spec.unschedulable` (cordon). */
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";

/** TaintToleration's reason for the first untolerated NoSchedule or NoExecute taint. */
export function reasonUntoleratedTaint(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
}

/** NodeResourcesFit's reason for a resource the node has too little of left. */
export function reasonInsufficient(resource: string): string {
  return `Insufficient ${resource}`;
}

// ---------------------------------------------------------------------------------------------------
// Requests

/** A pod's requests as the filters and the scorers count them; computed once per pod. */
export interface PodResources {
  /** What NodeResourcesFit checks against what is left on a node. */
  requests: Resources;
  /** cpu millicores with unset requests counted as 100m: what LeastAllocated scores. */
  nonZeroCpu: number;
  /** memory bytes with unset requests counted as 200Mi: what LeastAllocated scores. */
  nonZeroMemory: number;
}

/** Computes {@linkcode PodResources} for `pod`. */
export function podResources(pod: Pod): PodResources {
  const nonZero = podRequests(pod, {
    nonMissingContainerRequests: { cpu: DEFAULT_MILLI_CPU_REQUEST, memory: DEFAULT_MEMORY_REQUEST },
  });
  return {
    requests: podRequests(pod),
    nonZeroCpu: nonZero.cpu ?? 0,
    nonZeroMemory: nonZero.memory ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------------
// NodeInfo

/**
 * A node and what the pods bound to it request, as kube-scheduler's NodeInfo. Pods are keyed
 * (`ns/name`) so that removing one takes back exactly what adding it counted.
 */
export class NodeInfo {
  #node: Node;
  #allocatable: Resources;
  readonly #pods = new Map<string, PodResources>();
  /** Σ requests of the pods on the node. */
  readonly requested: Resources = {};
  /** Σ non-zero cpu and memory of the pods on the node, for scoring. */
  readonly nonZeroRequested = { cpu: 0, memory: 0 };

  constructor(node: Node) {
    this.#node = node;
    this.#allocatable = parseResources(node.status?.allocatable);
  }

  /** The node. */
  get node(): Node {
    return this.#node;
  }

  /** The node's name. */
  get name(): string {
    return this.#node.metadata.name ?? "";
  }

  /** `status.allocatable`, parsed once per node version. */
  get allocatable(): Readonly<Resources> {
    return this.#allocatable;
  }

  /** How many pods the node holds. */
  get podCount(): number {
    return this.#pods.size;
  }

  /** Replaces the node object (a newer version of the same node). */
  setNode(node: Node): void {
    this.#node = node;
    this.#allocatable = parseResources(node.status?.allocatable);
  }

  /** Whether the pod `key` is counted here. */
  hasPod(key: string): boolean {
    return this.#pods.has(key);
  }

  /** The pods counted here. */
  pods(): IterableIterator<[string, PodResources]> {
    return this.#pods.entries();
  }

  /** Counts a pod on the node (replacing what was counted for `key` before). */
  addPod(key: string, res: PodResources): void {
    this.removePod(key);
    this.#pods.set(key, res);
    add(this.requested, res.requests);
    this.nonZeroRequested.cpu += res.nonZeroCpu;
    this.nonZeroRequested.memory += res.nonZeroMemory;
  }

  /** Takes a pod off the node; false when it was not counted here. */
  removePod(key: string): boolean {
    const res = this.#pods.get(key);
    if (!res) return false;
    this.#pods.delete(key);
    for (const [name, amount] of Object.entries(res.requests)) this.requested[name] -= amount;
    this.nonZeroRequested.cpu -= res.nonZeroCpu;
    this.nonZeroRequested.memory -= res.nonZeroMemory;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------
// Filters

/** The pod being scheduled, with what the plugins need computed once per scheduling cycle. */
export interface PodInfo {
  pod: Pod;
  resources: PodResources;
}

/** Builds the {@linkcode PodInfo} of `pod`. */
export function podInfo(pod: Pod): PodInfo {
  return { pod, resources: podResources(pod) };
}

/**
 * A Filter plugin: `undefined` when the node passes, else the reason (or, for NodeResourcesFit, every
 * reason) in kube-scheduler's words. Each reason counts once in the FailedScheduling message.
 */
export type Filter = (pod: PodInfo, node: NodeInfo) => string | string[] | undefined;

export { toleratesAny, toleratesTaint };

/** The status of a node's Ready condition; a node that reports none counts as Unknown. */
export function nodeReadyStatus(node: Node): "True" | "False" | "Unknown" {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
}

/**
 * NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that tolerate the
 * `node.kubernetes.io/unschedulable:NoSchedule` taint.
 */
export const nodeUnschedulable: Filter = (pod, info) => {
  if (!info.node.spec?.unschedulable) return undefined;
  const taint: Taint = { key: TAINT_UNSCHEDULABLE, effect: "NoSchedule" };
  return toleratesAny(pod.pod.spec.tolerations, taint) ? undefined : REASON_UNSCHEDULABLE;
};

/** NodeName: a pod that names a node fits only there. */
export const nodeName: Filter = (pod, info) => {
  const wanted = pod.pod.spec.nodeName;
  return !wanted || wanted === info.name ? undefined : REASON_NODE_NAME;
};

/**
 * NodeReady: a node whose Ready condition is not True is no candidate. kube-scheduler has no such
 * plugin: it relies on the node lifecycle controller tainting such nodes `node.kubernetes.io/not-ready`
 * (Ready=False) or `node.kubernetes.io/unreachable` (Ready=Unknown) with NoSchedule, which TaintToleration
 * then rejects. kubelab checks the condition itself so that a lab without that controller never binds to
 * a dead node, and words it "node(s) were not ready". As with the taint, a pod that tolerates it
 * (DaemonSet-style) still fits.
 */
export const nodeReady: Filter = (pod, info) => {
  const status = nodeReadyStatus(info.node);
  if (status === "True") return undefined;
  const key = status === "False" ? TAINT_NOT_READY : TAINT_UNREACHABLE;
  const taint: Taint = { key, effect: "NoSchedule" };
  return toleratesAny(pod.pod.spec.tolerations, taint) ? undefined : REASON_NOT_READY;
};

/**
 * TaintToleration: the node's first NoSchedule or NoExecute taint that no toleration tolerates rejects
 * the pod. PreferNoSchedule taints only lower the score ({@linkcode taintTolerationScore}).
 */
export const taintToleration: Filter = (pod, info) => {
  const taint = (info.node.spec?.taints ?? []).find((t) =>
    (t.effect === "NoSchedule" || t.effect === "NoExecute") &&
    !toleratesAny(pod.pod.spec.tolerations, t)
  );
  return taint ? reasonUntoleratedTaint(taint) : undefined;
};

/** NodeAffinity, for `spec.nodeSelector`: every entry must equal the node's label. */
export const nodeAffinity: Filter = (pod, info) => {
  const labels = info.node.metadata.labels ?? {};
  const selector = pod.pod.spec.nodeSelector ?? {};
  for (const [key, value] of Object.entries(selector)) {
    if (labels[key] !== value) return REASON_NODE_AFFINITY;
  }
  return undefined;
};

/** Order of NodeResourcesFit's reasons: pods first, then the well-known resources, then the rest. */
const FIT_ORDER = ["cpu", "memory", "ephemeral-storage"];

/**
 * NodeResourcesFit: one more pod must not exceed `allocatable.pods`, and every resource the pod requests
 * (a zero request is no request) must fit in `allocatable − Σ requests of the node's pods`. A node that
 * does not list a resource has none of it.
 */
export const nodeResourcesFit: Filter = (pod, info) => {
  const reasons: string[] = [];
  if (info.podCount + 1 > (info.allocatable.pods ?? 0)) reasons.push(REASON_TOO_MANY_PODS);
  const names = Object.keys(pod.resources.requests).sort((a, b) =>
    rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
  );
  for (const name of names) {
    const want = pod.resources.requests[name];
    if (want <= 0) continue;
    const free = (info.allocatable[name] ?? 0) - (info.requested[name] ?? 0);
    if (want > free) reasons.push(reasonInsufficient(name));
  }
  return reasons.length ? reasons : undefined;
};

function rank(resource: string): number {
  const i = FIT_ORDER.indexOf(resource);
  return i < 0 ? FIT_ORDER.length : i;
}

/** A named Filter plugin. */
export interface FilterPlugin {
  name: string;
  filter: Filter;
}

/**
 * The Filter plugins in kube-scheduler's default order (default_plugins.go), NodeReady placed where the
 * taint it stands for would be checked. A node is rejected by the first plugin that fails.
 */
export const FILTER_PLUGINS: readonly FilterPlugin[] = [
  { name: "NodeUnschedulable", filter: nodeUnschedulable },
  { name: "NodeName", filter: nodeName },
  { name: "NodeReady", filter: nodeReady },
  { name: "TaintToleration", filter: taintToleration },
  { name: "NodeAffinity", filter: nodeAffinity },
  { name: "NodeResourcesFit", filter: nodeResourcesFit },
];

/** Runs the filters over one node: the failing plugin's reasons, or an empty list when it fits. */
export function filterNode(pod: PodInfo, node: NodeInfo): string[] {
  for (const plugin of FILTER_PLUGINS) {
    const result = plugin.filter(pod, node);
    if (result !== undefined) return typeof result === "string" ? [result] : result;
  }
  return [];
}

// ---------------------------------------------------------------------------------------------------
// Scores

/** Score plugin weights (scheduler/apis/config/v1/default_plugins.go). */
export const SCORE_WEIGHTS = { NodeResourcesFit: 1, TaintToleration: 3 } as const;

/** Per resource: `(allocatable − requested) × 100 / allocatable`, 0 when over (least_allocated.go). */
export function leastRequestedScore(requested: number, allocatable: number): number {
  if (allocatable === 0 || requested > allocatable) return 0;
  return Math.trunc((allocatable - requested) * MAX_NODE_SCORE / allocatable);
}

/**
 * NodeResourcesFit's LeastAllocated score: cpu and memory, weight 1 each, over what the node's pods and
 * this pod request with unset requests counted as 100m / 200Mi. A resource the node has none of is left
 * out of the weighted mean; integer division throughout.
 */
export function leastAllocatedScore(pod: PodInfo, info: NodeInfo): number {
  const resources: [number, number][] = [
    [info.nonZeroRequested.cpu + pod.resources.nonZeroCpu, info.allocatable.cpu ?? 0],
    [info.nonZeroRequested.memory + pod.resources.nonZeroMemory, info.allocatable.memory ?? 0],
  ];
  let score = 0;
  let weights = 0;
  for (const [requested, allocatable] of resources) {
    if (allocatable === 0) continue;
    score += leastRequestedScore(requested, allocatable); // weight 1
    weights += 1;
  }
  return weights === 0 ? 0 : Math.trunc(score / weights);
}

/**
 * TaintToleration's raw score: how many PreferNoSchedule taints of the node the pod does not tolerate
 * (counting only tolerations with effect PreferNoSchedule or empty). {@linkcode normalizeScores} reverses
 * it so that fewer intolerable taints score higher.
 */
export function intolerablePreferNoScheduleTaints(pod: PodInfo, info: NodeInfo): number {
  const tolerations = (pod.pod.spec.tolerations ?? []).filter((t) =>
    !t.effect || t.effect === "PreferNoSchedule"
  );
  return (info.node.spec?.taints ?? []).filter((t) =>
    t.effect === "PreferNoSchedule" && !toleratesAny(tolerations, t)
  ).length;
}

/**
 * helper.DefaultNormalizeScore: scales scores to 0..100 by the highest; `reverse` turns them around
 * (100 − score). When every score is 0 they stay 0, or all become 100 when reversed.
 */
export function normalizeScores(scores: readonly number[], reverse: boolean): number[] {
  const max = scores.reduce((m, s) => Math.max(m, s), 0);
  if (max === 0) return scores.map(() => reverse ? MAX_NODE_SCORE : 0);
  return scores.map((s) => {
    const scaled = Math.trunc(MAX_NODE_SCORE * s / max);
    return reverse ? MAX_NODE_SCORE - scaled : scaled;
  });
}

/** Each feasible node's total score: Σ plugin score × weight, in the order given. */
export function scoreNodes(pod: PodInfo, nodes: readonly NodeInfo[]): number[] {
  const taints = normalizeScores(nodes.map((n) => intolerablePreferNoScheduleTaints(pod, n)), true);
  return nodes.map((n, i) =>
    leastAllocatedScore(pod, n) * SCORE_WEIGHTS.NodeResourcesFit +
    taints[i] * SCORE_WEIGHTS.TaintToleration
  );
}

// ---------------------------------------------------------------------------------------------------
// Schedule

/** Where a pod goes, or why it cannot go anywhere. */
export type ScheduleResult = { nodeName: string } | { unschedulable: string };

/** Options for {@linkcode schedule}. */
export interface ScheduleOptions {
  /**
   * Breaks ties between the best-scoring nodes as kube-scheduler's selectHost does (reservoir sampling);
   * returns a number in [0, 1). Without it the tie goes to the node whose name sorts first.
   */
  random?: () => number;
}

/**
 * Schedules `pod`: filters every node, scores the feasible ones and picks the best. When none fits, the
 * message is FitError's: `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's
 * node affinity/selector.` — each reason counted over the nodes, the "N reason" strings sorted as Go's
 * sort.Strings does (the preemption part left out). With no nodes at all it is ErrNoNodesAvailable's
 * "no nodes available to schedule pods".
 */
export function schedule(
  pod: Pod,
  nodes: Iterable<NodeInfo>,
  options: ScheduleOptions = {},
): ScheduleResult {
  const info = podInfo(pod);
  const feasible: NodeInfo[] = [];
  const reasons = new Map<string, number>();
  let all = 0;
  for (const node of nodes) {
    all++;
    const failed = filterNode(info, node);
    if (failed.length === 0) feasible.push(node);
    for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  if (all === 0) return { unschedulable: NO_NODES_AVAILABLE };
  if (feasible.length === 0) return { unschedulable: fitErrorMessage(all, reasons) };
  const scores = scoreNodes(info, feasible);
  return { nodeName: selectHost(feasible, scores, options.random) };
}

/** FitError's message for `all` nodes and the count of nodes that gave each reason. */
export function fitErrorMessage(all: number, reasons: ReadonlyMap<string, number>): string {
  const histogram = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort(byteOrder);
  return `0/${all} nodes are available: ${histogram.join(", ")}.`;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function selectHost(
  nodes: readonly NodeInfo[],
  scores: readonly number[],
  random: (() => number) | undefined,
): string {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    if (scores[i] > scores[best]) {
      best = i;
      ties = 1;
    } else if (scores[i] === scores[best]) {
      ties++;
      const replace = random ? Math.floor(random() * ties) === 0 : nodes[i].name < nodes[best].name;
      if (replace) best = i;
    }
  }
  return nodes[best].name;
}
