/**
 * `kubectl describe node`: conditions, addresses, capacity, system info, the pods on the node with their
 * share of its allocatable resources, and the totals.
 * @module
 */
import type { Container, Node, Pod, ResourceList } from "../../shared/api/core.ts";
import type { Lease } from "../../shared/api/coordination.ts";
import { formatBytes, formatCpuMillis, parseQuantity } from "../../shared/api/quantity.ts";
import { age } from "./age.ts";
import { isSidecar, nodeRoles } from "./columns.ts";
import {
  describeTime,
  DescribeWriter,
  writeAnnotations,
  writeEvents,
  writeLabels,
} from "./describe.ts";
import type { DescribeOptions, Related } from "./describe_pod.ts";

/** What `describe node` shows besides the node. */
export interface NodeRelated extends Related {
  /** Pods bound to the node (terminated ones are left out here). */
  pods: readonly Pod[];
  /** The node's heartbeat Lease in kube-node-lease, when there is one. */
  lease?: Lease;
}

function amount(list: ResourceList | undefined, name: string): number {
  const v = list?.[name];
  if (v === undefined) return 0;
  try {
    return parseQuantity(name, v);
  } catch {
    return 0;
  }
}

function sum(containers: readonly Container[], kind: "requests" | "limits", name: string): number {
  return containers.reduce((n, c) => n + amount(c.resources?.[kind], name), 0);
}

/**
 * A pod's requests and limits as the scheduler counts them (resourcehelper.PodRequestsAndLimits): the sum of
 * its containers and sidecars, or the largest regular init container when that is more.
 */
export function podResources(pod: Pod, kind: "requests" | "limits", name: string): number {
  const inits = pod.spec.initContainers ?? [];
  const running = sum([...pod.spec.containers, ...inits.filter(isSidecar)], kind, name);
  const regularInits = inits.filter((c) => !isSidecar(c)).map((c) => sum([c], kind, name));
  return Math.max(running, ...regularInits);
}

function formatAmount(name: string, n: number): string {
  return name === "cpu" ? formatCpuMillis(n) : formatBytes(n);
}

function share(name: string, n: number, allocatable: ResourceList): string {
  const total = amount(allocatable, name);
  const percent = total ? Math.trunc(n / total * 100) : 0;
  return `${formatAmount(name, n)} (${percent}%)`;
}

function writeResourceList(w: DescribeWriter, title: string, list: ResourceList | undefined) {
  const names = Object.keys(list ?? {}).sort();
  if (!names.length) return;
  w.line(0, `${title}:`);
  for (const n of names) w.line(1, `${n}:\t${list![n]}`);
}

function writePods(w: DescribeWriter, node: Node, pods: readonly Pod[], now: number) {
  const allocatable = Object.keys(node.status?.allocatable ?? {}).length
    ? node.status!.allocatable!
    : node.status?.capacity ?? {};
  w.line(0, `Non-terminated Pods:\t(${pods.length} in total)`);
  w.line(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge");
  w.line(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---");
  for (const pod of pods) {
    const cells = ["cpu", "memory"].flatMap((name) =>
      (["requests", "limits"] as const).map((kind) =>
        share(name, podResources(pod, kind, name), allocatable)
      )
    );
    const { namespace, name, creationTimestamp } = pod.metadata;
    w.line(1, `${namespace}\t${name}\t\t${cells.join("\t")}\t${age(creationTimestamp, now)}`);
  }
  const total = (kind: "requests" | "limits", name: string) =>
    share(name, pods.reduce((n, p) => n + podResources(p, kind, name), 0), allocatable);
  w.line(0, "Allocated resources:");
  w.line(0, "  (Total limits may be over 100 percent, i.e., overcommitted.)");
  w.line(1, "Resource\tRequests\tLimits");
  w.line(1, "--------\t--------\t------");
  for (const name of ["cpu", "memory", "ephemeral-storage"]) {
    w.line(1, `${name}\t${total("requests", name)}\t${total("limits", name)}`);
  }
}

/** `kubectl describe node`. */
export function describeNode(node: Node, extras: NodeRelated, o: DescribeOptions): string {
  const w = new DescribeWriter();
  const t = (s: string | undefined) => describeTime(s, o.utcOffsetMinutes);
  const status = node.status ?? {};
  w.line(0, `Name:\t${node.metadata.name}`);
  w.line(0, `Roles:\t${nodeRoles(node)}`);
  writeLabels(w, 0, "Labels", node.metadata.labels);
  writeAnnotations(w, 0, "Annotations", node.metadata.annotations);
  w.line(0, `CreationTimestamp:\t${t(node.metadata.creationTimestamp)}`);
  const taints = node.spec?.taints ?? [];
  if (!taints.length) w.line(0, "Taints:\t<none>");
  taints.forEach((taint, i) => {
    const value = taint.value ? `=${taint.value}` : "";
    w.line(0, i === 0 ? "Taints:" : "", `${taint.key}${value}:${taint.effect}`);
  });
  w.line(0, `Unschedulable:\t${node.spec?.unschedulable ?? false}`);
  if (extras.lease) {
    const spec = extras.lease.spec ?? {};
    w.line(0, "Lease:");
    w.line(1, `HolderIdentity:\t${spec.holderIdentity ?? "<unset>"}`);
    w.line(1, `AcquireTime:\t${t(spec.acquireTime)}`);
    w.line(1, `RenewTime:\t${t(spec.renewTime)}`);
  }
  if (status.conditions?.length) {
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage");
    w.line(1, "----\t------\t-----------------\t------------------\t------\t-------");
    for (const c of status.conditions) {
      const cells = [
        c.type,
        c.status,
        t(c.lastHeartbeatTime),
        t(c.lastTransitionTime),
        c.reason ?? "",
      ];
      // kubectl's format: "%v \t%v \t%s \t%s \t%v \t%v\n".
      w.line(1, ...cells.map((cell) => `${cell} `), c.message ?? "");
    }
  }
  w.line(0, "Addresses:");
  for (const a of status.addresses ?? []) w.line(1, `${a.type}:\t${a.address}`);
  writeResourceList(w, "Capacity", status.capacity);
  writeResourceList(w, "Allocatable", status.allocatable);
  const info = status.nodeInfo ?? {};
  w.line(0, "System Info:");
  for (
    const [title, value] of [
      ["Machine ID", info.machineID],
      ["System UUID", info.systemUUID],
      ["Boot ID", info.bootID],
      ["Kernel Version", info.kernelVersion],
      ["OS Image", info.osImage],
      ["Operating System", info.operatingSystem],
      ["Architecture", info.architecture],
      ["Container Runtime Version", info.containerRuntimeVersion],
      ["Kubelet Version", info.kubeletVersion],
      ["Kube-Proxy Version", info.kubeProxyVersion],
    ]
  ) w.line(1, `${title}:\t${value ?? ""}`);
  if (node.spec?.podCIDR) w.line(0, `PodCIDR:\t${node.spec.podCIDR}`);
  if (node.spec?.podCIDRs?.length) w.line(0, `PodCIDRs:\t${node.spec.podCIDRs.join(",")}`);
  if (node.spec?.providerID) w.line(0, `ProviderID:\t${node.spec.providerID}`);
  writePods(w, node, extras.pods, o.now);
  writeEvents(w, extras.events, o.now);
  return w.toString();
}
