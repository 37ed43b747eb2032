/**
 * The Node object the kubelet registers and the status it posts (pkg/kubelet/kubelet_node_status.go and
 * nodestatus/setters.go), pure: configuration, runtime health and the previous status in, Node out.
 * @module
 */
import { EPHEMERAL_NODE_ANNOTATION, type Node } from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
import { formatBytes, parseBytes } from "../../shared/api/quantity.ts";
import { MEMORY_AVAILABLE_THRESHOLD_BYTES, NO_PRESSURE, type NodePressure } from "./eviction.ts";
import { canonicalJson } from "./labels.ts";
import { rfc3339 } from "./format.ts";

/** The kubelet version kubelab reports. */
export const KUBELET_VERSION = "v1.32.0-kubelab";

/** The kubelet's port, reported in daemonEndpoints. */
export const KUBELET_PORT = 10250;

/** What describes a node. */
export interface NodeConfig {
  nodeName: string;
  nodeAddress: string;
  podCIDR: string;
  /** Resource capacity: cpu, memory, pods. */
  capacity: { cpu: string; memory: string; pods: string };
  osImage: string;
  kernelVersion: string;
  machineID: string;
  bootID: string;
  /** The node lives and dies with its container (compose): annotated so that it is removed when gone. */
  ephemeral?: boolean;
}

/** The runtime as the kubelet last saw it. */
export interface RuntimeHealth {
  /** `fake://0.1.0`, from the runtime's Version. */
  containerRuntimeVersion: string;
  /** Why the node is not ready; empty when it is. */
  problems: string[];
}

/** The labels a kubelet puts on its Node (kubernetes.io/hostname, os, arch and their beta twins). */
export function nodeLabels(nodeName: string): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": nodeName,
    "kubernetes.io/os": "linux",
  };
}

/** The Node the kubelet registers, without status. */
export function newNode(config: NodeConfig): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: config.nodeName,
      labels: nodeLabels(config.nodeName),
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        ...(config.ephemeral ? { [EPHEMERAL_NODE_ANNOTATION]: "true" } : {}),
      },
    },
    spec: { podCIDR: config.podCIDR, podCIDRs: [config.podCIDR] },
  };
}

/**
 * An existing Node brought in line with the kubelet's configuration (reconcile on re-registration):
 * its labels gain the kubelet's, its pod CIDR is the configured one; everything else stays.
 */
export function reconcileNode(existing: Node, config: NodeConfig): Node {
  return {
    ...existing,
    metadata: {
      ...existing.metadata,
      labels: { ...existing.metadata.labels, ...nodeLabels(config.nodeName) },
      ...(config.ephemeral
        ? {
          annotations: { ...existing.metadata.annotations, [EPHEMERAL_NODE_ANNOTATION]: "true" },
        }
        : {}),
    },
    spec: { ...existing.spec, podCIDR: config.podCIDR, podCIDRs: [config.podCIDR] },
  };
}

/**
 * Allocatable = capacity − kubeReserved − systemReserved − evictionHard: with no reservations, memory less
 * the `memory.available<100Mi` hard eviction threshold (`8Gi` → `8092Mi`); cpu and pods as they are.
 */
export function nodeAllocatable(capacity: NodeConfig["capacity"]): NodeConfig["capacity"] {
  const memory = Math.max(0, parseBytes(capacity.memory) - MEMORY_AVAILABLE_THRESHOLD_BYTES);
  return { ...capacity, memory: formatBytes(memory) };
}

/** A pressure condition, True or False, with the kubelet's reasons and messages. */
function pressureCondition(
  type: "MemoryPressure" | "DiskPressure" | "PIDPressure",
  pressure: boolean,
): Pick<Condition, "type" | "status" | "reason" | "message"> {
  const words = {
    MemoryPressure: [
      ["KubeletHasInsufficientMemory", "kubelet has insufficient memory available"],
      ["KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
    ],
    DiskPressure: [
      ["KubeletHasDiskPressure", "kubelet has disk pressure"],
      ["KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
    ],
    PIDPressure: [
      ["KubeletHasInsufficientPID", "kubelet has insufficient PID available"],
      ["KubeletHasSufficientPID", "kubelet has sufficient PID available"],
    ],
  }[type][pressure ? 0 : 1];
  return { type, status: pressure ? "True" : "False", reason: words[0], message: words[1] };
}

/**
 * The node status at `now`: capacity and allocatable, addresses, the four kubelet conditions (pressure as
 * the eviction manager last saw it; a condition that keeps its status keeps its lastTransitionTime),
 * nodeInfo.
 */
export function nodeStatus(
  config: NodeConfig,
  health: RuntimeHealth,
  previous: Node["status"] | undefined,
  now: number,
  pressure: NodePressure = NO_PRESSURE,
): NonNullable<Node["status"]> {
  const ready = health.problems.length === 0;
  const conditions = withHeartbeat(
    [
      pressureCondition("MemoryPressure", pressure.memory),
      pressureCondition("DiskPressure", pressure.disk),
      pressureCondition("PIDPressure", pressure.pid),
      ready
        ? {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
        }
        : {
          type: "Ready",
          status: "False",
          reason: "KubeletNotReady",
          message: health.problems.join(", "),
        },
    ],
    previous?.conditions ?? [],
    now,
  );
  const capacity = { ...config.capacity };
  return {
    ...previous,
    capacity,
    allocatable: nodeAllocatable(config.capacity),
    conditions,
    addresses: [
      { type: "InternalIP", address: config.nodeAddress },
      { type: "Hostname", address: config.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    nodeInfo: {
      machineID: config.machineID,
      systemUUID: config.machineID,
      bootID: config.bootID,
      kernelVersion: config.kernelVersion,
      osImage: config.osImage,
      containerRuntimeVersion: health.containerRuntimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/**
 * Whether the kubelet must PATCH its node status (tryUpdateNodeStatus): the status changed, ignoring the
 * conditions' lastHeartbeatTime, or `reportMs` (nodeStatusReportFrequency) passed since the last report.
 */
export function shouldReportNodeStatus(
  current: Node["status"] | undefined,
  next: Node["status"],
  lastReportAt: number | undefined,
  now: number,
  reportMs: number,
): boolean {
  if (lastReportAt === undefined || now - lastReportAt >= reportMs) return true;
  const withoutHeartbeat = (s: Node["status"] | undefined) => ({
    ...s,
    conditions: (s?.conditions ?? []).map(({ lastHeartbeatTime: _, ...c }) => c),
  });
  return canonicalJson(withoutHeartbeat(current)) !== canonicalJson(withoutHeartbeat(next));
}

function withHeartbeat(
  conditions: Pick<Condition, "type" | "status" | "reason" | "message">[],
  previous: Condition[],
  now: number,
): Condition[] {
  const time = rfc3339(now);
  return conditions.map((c) => {
    const prev = previous.find((p) => p.type === c.type);
    return {
      ...c,
      lastHeartbeatTime: time,
      lastTransitionTime: prev?.status === c.status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : time,
    };
  });
}
