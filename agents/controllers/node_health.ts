/**
 * The node lifecycle controller's decisions, pure (pkg/controller/nodelifecycle): whether a node's
 * kubelet is still heard from (its Lease renewed or its Ready condition's heartbeat moved, as seen on
 * the controller's own clock), the Unknown conditions of a silent node, the taints that mirror node
 * conditions, and how disrupted a zone is.
 * @module
 */
import type { Lease } from "../../shared/api/coordination.ts";
import type { Node, Taint } from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import { rfc3339 } from "./controller_utils.ts";
import { getCondition } from "./pods.ts";
import { semanticEqual } from "./semantic.ts";

/** Ready=Unknown. */
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
/** Ready=False. */
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
/** spec.unschedulable (cordon). */
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";

/** nodeConditionToTaintKeyStatusMap: condition type → status → NoSchedule taint key. */
const CONDITION_TAINTS: Record<string, Partial<Record<Condition["status"], string>>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: "node.kubernetes.io/memory-pressure" },
  DiskPressure: { True: "node.kubernetes.io/disk-pressure" },
  NetworkUnavailable: { True: "node.kubernetes.io/network-unavailable" },
  PIDPressure: { True: "node.kubernetes.io/pid-pressure" },
};

/** Taint keys the controller owns as NoSchedule (taintKeyToNodeConditionMap + unschedulable). */
const CONTROLLER_NO_SCHEDULE_KEYS = new Set([
  ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)),
  TAINT_UNSCHEDULABLE,
]);

/** The conditions a silent node's are set to Unknown (NetworkUnavailable is left alone). */
const MONITORED_CONDITIONS = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/** Nodes with this label are left out of zone disruption counts. */
export const EXCLUDE_DISRUPTION_LABEL = "node.kubernetes.io/exclude-disruption";

/** What the controller last observed of a node, on its own clock. */
export interface NodeHealth {
  /** When the kubelet was last heard from (ms). */
  probeTimestamp: number;
  /** When the Ready condition was last seen to change (ms). */
  readyTransitionTimestamp: number;
  /** The Ready condition last observed (undefined: the node never posted one). */
  ready?: Condition;
  /** The Lease's renewTime last observed. */
  leaseRenewTime?: string;
}

/** Grace periods of {@linkcode tryUpdateNodeHealth}. */
export interface NodeGraces {
  /** node-monitor-grace-period. */
  monitorGraceMs: number;
  /** node-startup-grace-period, for nodes that never posted Ready. */
  startupGraceMs: number;
}

/** The outcome of {@linkcode tryUpdateNodeHealth}. */
export interface HealthUpdate {
  /** The health to remember (whether or not the status write below succeeds). */
  health: NodeHealth;
  /** The Ready condition as the node had it (observedReadyCondition). */
  observedReady: Condition;
  /** The Ready condition after this update, or undefined when the node never posted one. */
  currentReady?: Condition;
  /** The conditions to write when the node went silent; with the health to keep once written. */
  write?: { conditions: Condition[]; health: NodeHealth };
}

/**
 * tryUpdateNodeHealth: refreshes what is known of the node and decides whether it went silent —
 * neither its Lease renewed nor its Ready heartbeat moved for the grace period (the startup grace for
 * a node that never posted Ready). A silent node gets Ready and the pressure conditions Unknown:
 * NodeStatusUnknown "Kubelet stopped posting node status.", or NodeStatusNeverUpdated for one it never
 * posted.
 */
export function tryUpdateNodeHealth(
  prev: NodeHealth | undefined,
  node: Node,
  lease: Lease | undefined,
  now: number,
  graces: NodeGraces,
): HealthUpdate {
  const created = Date.parse(node.metadata.creationTimestamp ?? "") || now;
  const createdTime = node.metadata.creationTimestamp ?? rfc3339(now);
  const current = getCondition(node.status?.conditions, "Ready");
  let health: NodeHealth | undefined = prev;
  let observedReady: Condition;
  let grace: number;
  if (!current) {
    observedReady = {
      type: "Ready",
      status: "Unknown",
      lastHeartbeatTime: createdTime,
      lastTransitionTime: createdTime,
    };
    grace = graces.startupGraceMs;
    health = health
      ? { ...health, ready: undefined }
      : { probeTimestamp: created, readyTransitionTimestamp: created };
  } else {
    observedReady = current;
    grace = graces.monitorGraceMs;
  }
  const saved = health?.ready;
  if (!health || (!saved && current) || (saved && !current)) {
    health = { probeTimestamp: now, readyTransitionTimestamp: now, ready: current };
  } else if (saved && current && saved.lastHeartbeatTime !== current.lastHeartbeatTime) {
    health = {
      probeTimestamp: now,
      readyTransitionTimestamp: saved.lastTransitionTime !== current.lastTransitionTime
        ? now
        : health.readyTransitionTimestamp,
      ready: current,
      leaseRenewTime: health.leaseRenewTime,
    };
  }
  // Always update the probe time when the Lease was renewed.
  const renewed = lease?.spec?.renewTime;
  if (renewed && (!prev?.leaseRenewTime || Date.parse(prev.leaseRenewTime) < Date.parse(renewed))) {
    health = { ...health, leaseRenewTime: renewed, probeTimestamp: now };
  }
  if (now <= health.probeTimestamp + grace) {
    return { health, observedReady, currentReady: current };
  }
  const time = rfc3339(now);
  const conditions = [...(node.status?.conditions ?? [])];
  for (const type of MONITORED_CONDITIONS) {
    const i = conditions.findIndex((c) => c.type === type);
    if (i < 0) {
      conditions.push({
        type,
        status: "Unknown",
        reason: "NodeStatusNeverUpdated",
        message: "Kubelet never posted node status.",
        lastHeartbeatTime: createdTime,
        lastTransitionTime: time,
      });
    } else if (conditions[i].status !== "Unknown") {
      conditions[i] = {
        ...conditions[i],
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
        lastTransitionTime: time,
      };
    }
  }
  const currentReady = getCondition(conditions, "Ready")!;
  if (semanticEqual(currentReady, observedReady)) return { health, observedReady, currentReady };
  return {
    health,
    observedReady,
    currentReady,
    write: {
      conditions,
      health: {
        probeTimestamp: health.probeTimestamp,
        readyTransitionTimestamp: now,
        ready: currentReady,
        leaseRenewTime: renewed ?? health.leaseRenewTime,
      },
    },
  };
}

/** Whether `taints` holds one with `key` and `effect` (Taint.MatchTaint). */
export function hasTaint(taints: readonly Taint[] | undefined, key: string, effect: string) {
  return (taints ?? []).some((t) => t.key === key && t.effect === effect);
}

/**
 * doNoScheduleTaintingPass's diff: the NoSchedule taints the node's conditions and spec.unschedulable
 * call for, against the controller-owned NoSchedule taints it has.
 */
export function noScheduleTaintDiff(node: Node): { add: Taint[]; remove: Taint[] } {
  const wanted: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) wanted.push({ key, effect: "NoSchedule" });
  }
  if (node.spec?.unschedulable) wanted.push({ key: TAINT_UNSCHEDULABLE, effect: "NoSchedule" });
  const have = (node.spec?.taints ?? []).filter((t) =>
    t.effect === "NoSchedule" && CONTROLLER_NO_SCHEDULE_KEYS.has(t.key)
  );
  return {
    add: wanted.filter((w) => !hasTaint(have, w.key, w.effect)),
    remove: have.filter((h) => !hasTaint(wanted, h.key, h.effect)),
  };
}

/**
 * SwapNodeControllerTaint on a taint list: `add` set (timeAdded = now; an equal taint already there is
 * kept as it is), `remove` dropped (matched by key and effect). Undefined when nothing changes.
 */
export function swapTaints(
  taints: readonly Taint[] | undefined,
  add: readonly Taint[],
  remove: readonly Taint[],
  now: number,
): Taint[] | undefined {
  let list = [...(taints ?? [])];
  let changed = false;
  for (const t of add) {
    const next: Taint = { ...t, timeAdded: rfc3339(now) };
    const i = list.findIndex((x) => x.key === t.key && x.effect === t.effect);
    if (i < 0) {
      list.push(next);
      changed = true;
    } else if ((list[i].value ?? "") !== (t.value ?? "")) {
      list[i] = next;
      changed = true;
    }
  }
  const kept = list.filter((x) => !hasTaint(remove, x.key, x.effect));
  if (kept.length !== list.length) changed = true;
  list = kept;
  return changed ? list : undefined;
}

/** A zone's health as the controller sees it. */
export type ZoneState = "Initial" | "Normal" | "PartialDisruption" | "FullDisruption";

/**
 * ComputeZoneState: FullDisruption when no node of the zone is Ready, PartialDisruption when more than
 * two are not and they are at least `unhealthyThreshold` of it, else Normal.
 */
export function computeZoneState(
  readyConditions: readonly (Condition | undefined)[],
  unhealthyThreshold: number,
): { unhealthy: number; state: ZoneState } {
  const ready = readyConditions.filter((c) => c?.status === "True").length;
  const unhealthy = readyConditions.length - ready;
  if (ready === 0 && unhealthy > 0) return { unhealthy, state: "FullDisruption" };
  if (unhealthy > 2 && unhealthy / readyConditions.length >= unhealthyThreshold) {
    return { unhealthy, state: "PartialDisruption" };
  }
  return { unhealthy, state: "Normal" };
}

/** GetZoneKey: region and zone from the topology labels; "" when the node has neither. */
export function zoneKey(node: Node): string {
  const labels = node.metadata.labels ?? {};
  const region = labels["topology.kubernetes.io/region"] ??
    labels["failure-domain.beta.kubernetes.io/region"] ?? "";
  const zone = labels["topology.kubernetes.io/zone"] ??
    labels["failure-domain.beta.kubernetes.io/zone"] ?? "";
  return region === "" && zone === "" ? "" : `${region}:\x00:${zone}`;
}

/**
 * The eviction (NoExecute tainting) rate of a zone in `state`: the normal rate, or in a partial
 * disruption the secondary rate for large zones and none for small ones (ReducedQPSFunc).
 */
export function zoneEvictionRate(
  state: ZoneState,
  zoneSize: number,
  rates: { normal: number; secondary: number; largeClusterThreshold: number },
): number {
  if (state === "PartialDisruption") {
    return zoneSize > rates.largeClusterThreshold ? rates.secondary : 0;
  }
  return rates.normal;
}
