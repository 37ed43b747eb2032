/**
 * The Node object the kubelet registers and the status it posts (pkg/kubelet/kubelet_node_status.go and
 * nodestatus/setters.go), pure: configuration, runtime health and the previous status in, Node out.
 * @module
 */
import type { Node } from "../../shared/api/core.ts";
import type { Condition } from "../../shared/api/meta.ts";
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
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
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
    },
    spec: { ...existing.spec, podCIDR: config.podCIDR, podCIDRs: [config.podCIDR] },
  };
}

/**
 * The node status at `now`: capacity and allocatable (no reservations), addresses, the four kubelet
 * conditions (a condition that keeps its status keeps its lastTransitionTime), nodeInfo.
 */
export function nodeStatus(
  config: NodeConfig,
  health: RuntimeHealth,
  previous: Node["status"] | undefined,
  now: number,
): NonNullable<Node["status"]> {
  const ready = health.problems.length === 0;
  const conditions = withHeartbeat(
    [
      {
        type: "MemoryPressure",
        status: "False",
        reason: "KubeletHasSufficientMemory",
        message: "kubelet has sufficient memory available",
      },
      {
        type: "DiskPressure",
        status: "False",
        reason: "KubeletHasNoDiskPressure",
        message: "kubelet has no disk pressure",
      },
      {
        type: "PIDPressure",
        status: "False",
        reason: "KubeletHasSufficientPID",
        message: "kubelet has sufficient PID available",
      },
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
    allocatable: { ...capacity },
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
