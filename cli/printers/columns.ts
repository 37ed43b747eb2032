/**
 * The columns `kubectl get` prints for each kind (pkg/printers/internalversion/printers.go in Kubernetes
 * 1.32), as pure functions of the object and the time.
 * @module
 */
import type { Condition, KubeObject } from "../../shared/api/meta.ts";
import type {
  Container,
  ContainerStatus,
  Endpoints,
  Event,
  Namespace,
  Node,
  Pod,
  Service,
} from "../../shared/api/core.ts";
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import type { Lease } from "../../shared/api/coordination.ts";
import { age } from "./age.ts";

/** The columns of one kind: headers, and the cells of a row. */
export interface Columns<T extends KubeObject = KubeObject> {
  headers: string[];
  /** Headers added by `-o wide`, after the normal ones. */
  wideHeaders: string[];
  /** The cells of one row: `headers.length` of them, or `headers + wideHeaders` when `wide`. */
  row(obj: T, now: number, wide: boolean): string[];
}

const NONE = "<none>";

/** Pod READY, STATUS and RESTARTS as `kubectl get pods` computes them. */
export interface PodSummary {
  /** `1/2` */
  ready: string;
  /** `Running`, `ContainerCreating`, `CrashLoopBackOff`, `Init:0/1`, `Completed`, `Terminating`… */
  status: string;
  /** `0`, or `2 (5s ago)` */
  restarts: string;
}

/** Whether an init container is a sidecar (`restartPolicy: Always`): it keeps running beside the app. */
export function isSidecar(c: Container | undefined): boolean {
  return c?.restartPolicy === "Always";
}

function conditionTrue(conditions: Condition[] | undefined, type: string): boolean {
  return conditions?.some((c) => c.type === type && c.status === "True") ?? false;
}

/**
 * kubectl's printPod: the STATUS column shows the reason of the most telling container (a waiting or
 * terminated reason) over the phase, `Init:…` while init containers run, and `Terminating` once the pod
 * has a deletionTimestamp and is not yet terminal. RESTARTS adds when the last restart happened.
 */
export function podSummary(pod: Pod, now: number): PodSummary {
  const status = pod.status ?? {};
  const initSpecs = new Map((pod.spec.initContainers ?? []).map((c) => [c.name, c]));
  const total = pod.spec.containers.length + [...initSpecs.values()].filter(isSidecar).length;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;
  let reason: string = status.reason || status.phase || "";
  if (status.conditions?.some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) {
    reason = "SchedulingGated";
  }
  const finishedAt = (s: ContainerStatus) =>
    Date.parse(s.lastState?.terminated?.finishedAt ?? "") || 0;

  let initializing = false;
  const inits = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    restarts += c.restartCount;
    lastRestart = Math.max(lastRestart, finishedAt(c));
    const sidecar = isSidecar(initSpecs.get(c.name));
    if (sidecar) {
      sidecarRestarts += c.restartCount;
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(c));
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && terminated.exitCode === 0) continue;
    if (sidecar && c.started) {
      if (c.ready) ready++;
      continue;
    }
    if (terminated) {
      reason = terminated.reason
        ? `Init:${terminated.reason}`
        : terminated.signal
        ? `Init:Signal:${terminated.signal}`
        : `Init:ExitCode:${terminated.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.size}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount;
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const { waiting, terminated, running } = c.state ?? {};
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) {
        reason = terminated.signal
          ? `Signal:${terminated.signal}`
          : `ExitCode:${terminated.exitCode}`;
      } else if (c.ready && running) {
        hasRunning = true;
        ready++;
      }
    }
    // A pod whose last container completed but another still runs is Running (or NotReady), not Completed.
    if (reason === "Completed" && hasRunning) {
      reason = conditionTrue(status.conditions, "Ready") ? "Running" : "NotReady";
    }
  }

  const terminal = status.phase === "Succeeded" || status.phase === "Failed";
  if (pod.metadata.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata.deletionTimestamp && !terminal) reason = "Terminating";

  return {
    ready: `${ready}/${total}`,
    status: reason,
    restarts: restarts !== 0 && lastRestart > 0
      ? `${restarts} (${age(new Date(lastRestart).toISOString(), now)} ago)`
      : String(restarts),
  };
}

const podColumns: Columns<Pod> = {
  headers: ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
  wideHeaders: ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
  row(pod, now, wide) {
    const s = podSummary(pod, now);
    const cells = [
      pod.metadata.name!,
      s.ready,
      s.status,
      s.restarts,
      age(pod.metadata.creationTimestamp, now),
    ];
    if (!wide) return cells;
    const status = pod.status ?? {};
    const gates = pod.spec.readinessGates ?? [];
    const trueGates = gates.filter((g) => conditionTrue(status.conditions, g.conditionType)).length;
    return [
      ...cells,
      status.podIPs?.[0]?.ip || status.podIP || NONE,
      pod.spec.nodeName || NONE,
      (status.nominatedNodeName as string | undefined) || NONE,
      gates.length ? `${trueGates}/${gates.length}` : NONE,
    ];
  },
};

/** A node's STATUS: `Ready`, `NotReady` (also when Ready is Unknown), `Unknown` without a Ready condition,
 * then `,SchedulingDisabled` when cordoned — kubectl's printNode. */
export function nodeStatus(node: Node): string {
  const readyCondition = node.status?.conditions?.find((c) => c.type === "Ready");
  const status = [
    readyCondition ? (readyCondition.status === "True" ? "Ready" : "NotReady") : "Unknown",
  ];
  if (node.spec?.unschedulable) status.push("SchedulingDisabled");
  return status.join(",");
}

/** ROLES from `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label. */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith("node-role.kubernetes.io/")) {
      const role = key.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (key === "kubernetes.io/role" && value) roles.add(value);
  }
  return roles.size ? [...roles].sort().join(",") : NONE;
}

function nodeAddress(node: Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address || NONE;
}

const nodeColumns: Columns<Node> = {
  headers: ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
  wideHeaders: ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
  row(node, now, wide) {
    const info = node.status?.nodeInfo ?? {};
    const cells = [
      node.metadata.name!,
      nodeStatus(node),
      nodeRoles(node),
      age(node.metadata.creationTimestamp, now),
      info.kubeletVersion ?? "",
    ];
    if (!wide) return cells;
    return [
      ...cells,
      nodeAddress(node, "InternalIP"),
      nodeAddress(node, "ExternalIP"),
      info.osImage || "<unknown>",
      info.kernelVersion || "<unknown>",
      info.containerRuntimeVersion || "<unknown>",
    ];
  },
};

/** PORT(S): `80/TCP`, `80:30080/TCP`, comma-separated; `<none>` without ports. */
export function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  if (!ports.length) return NONE;
  return ports.map((p) => {
    const protocol = p.protocol ?? "TCP";
    return p.nodePort ? `${p.port}:${p.nodePort}/${protocol}` : `${p.port}/${protocol}`;
  }).join(",");
}

/** EXTERNAL-IP as kubectl's getServiceExternalIP decides it. */
function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const external = (spec.externalIPs as string[] | undefined) ?? [];
  switch (spec.type ?? "ClusterIP") {
    case "ExternalName":
      return spec.externalName ?? NONE;
    case "LoadBalancer": {
      const ingress =
        ((svc.status?.loadBalancer as { ingress?: { ip?: string; hostname?: string }[] })
          ?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter(Boolean);
      const all = [...ingress, ...external];
      return all.length ? all.join(",") : "<pending>";
    }
    default:
      return external.length ? external.join(",") : NONE;
  }
}

/** `a=1,b=2` with keys sorted, as labels.FormatLabels writes selectors and labels; `<none>` when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(",") : NONE;
}

const serviceColumns: Columns<Service> = {
  headers: ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
  wideHeaders: ["SELECTOR"],
  row(svc, now, wide) {
    const spec = svc.spec ?? {};
    const cells = [
      svc.metadata.name!,
      spec.type ?? "ClusterIP",
      spec.clusterIP || NONE,
      serviceExternalIP(svc),
      servicePorts(svc),
      age(svc.metadata.creationTimestamp, now),
    ];
    return wide ? [...cells, formatLabels(spec.selector)] : cells;
  },
};

/**
 * ENDPOINTS: up to three `ip:port`, then ` + N more...` (kubectl's formatEndpoints). With `portName`, only
 * that port's endpoints (`describe service` lists them per port).
 */
export function formatEndpoints(ep: Endpoints, portName?: string): string {
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const subset of ep.subsets ?? []) {
    const addresses = subset.addresses ?? [];
    const ports = subset.ports?.length
      ? subset.ports.filter((p) => portName === undefined || (p.name ?? "") === portName).map((p) =>
        p.port
      )
      : [undefined];
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) break;
        list.push(
          port === undefined ? a.ip : a.ip.includes(":") ? `[${a.ip}]:${port}` : `${a.ip}:${port}`,
        );
      }
    }
  }
  if (!list.length) return NONE;
  return count > max ? `${list.join(",")} + ${count - max} more...` : list.join(",");
}

const endpointsColumns: Columns<Endpoints> = {
  headers: ["NAME", "ENDPOINTS", "AGE"],
  wideHeaders: [],
  row(ep, now) {
    return [ep.metadata.name!, formatEndpoints(ep), age(ep.metadata.creationTimestamp, now)];
  },
};

function templateColumns(
  template: { spec: { containers: Container[] } } | undefined,
  selector: unknown,
) {
  const containers = template?.spec.containers ?? [];
  const sel = selector as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  return [
    containers.map((c) => c.name).join(",") || NONE,
    containers.map((c) => c.image ?? "").join(",") || NONE,
    formatLabels(sel?.matchLabels),
  ];
}

const deploymentColumns: Columns<Deployment> = {
  headers: ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
  wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
  row(d, now, wide) {
    const s = d.status ?? {};
    const cells = [
      d.metadata.name!,
      `${s.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`,
      String(s.updatedReplicas ?? 0),
      String(s.availableReplicas ?? 0),
      age(d.metadata.creationTimestamp, now),
    ];
    return wide ? [...cells, ...templateColumns(d.spec.template, d.spec.selector)] : cells;
  },
};

const replicaSetColumns: Columns<ReplicaSet> = {
  headers: ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
  wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
  row(rs, now, wide) {
    const s = rs.status ?? {};
    const cells = [
      rs.metadata.name!,
      String(rs.spec.replicas ?? 1),
      String(s.replicas ?? 0),
      String(s.readyReplicas ?? 0),
      age(rs.metadata.creationTimestamp, now),
    ];
    return wide ? [...cells, ...templateColumns(rs.spec.template, rs.spec.selector)] : cells;
  },
};

/** When an event last happened: lastTimestamp, else firstTimestamp, else eventTime. */
export function eventTime(ev: Event, which: "first" | "last" = "last"): string | undefined {
  const eventTimeField = ev.eventTime as string | undefined;
  return which === "last"
    ? ev.lastTimestamp || ev.firstTimestamp || eventTimeField
    : ev.firstTimestamp || eventTimeField;
}

/** Orders events by when they last happened, oldest first (kubectl's SortableEvents). */
export function byEventTime(a: Event, b: Event): number {
  return (Date.parse(eventTime(a) ?? "") || 0) - (Date.parse(eventTime(b) ?? "") || 0);
}

const eventColumns: Columns<Event> = {
  headers: ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
  wideHeaders: ["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"],
  row(ev, now, wide) {
    const obj = ev.involvedObject;
    const target = obj.name
      ? `${(obj.kind ?? "").toLowerCase()}/${obj.name}`
      : (obj.kind ?? "").toLowerCase();
    const cells = [
      age(eventTime(ev), now),
      ev.type ?? "",
      ev.reason ?? "",
      target,
      (ev.message ?? "").trim(),
    ];
    if (!wide) return cells;
    return [
      ...cells,
      obj.fieldPath ?? "",
      eventSource(ev),
      age(eventTime(ev, "first"), now),
      String(ev.count || 1),
      ev.metadata.name!,
    ];
  },
};

/** `kubelet, node-1`: the component that recorded an event and its host. */
export function eventSource(ev: Event): string {
  const component = ev.source?.component || ev.reportingComponent || "";
  const host = ev.source?.host || ev.reportingInstance || "";
  return [component, host].filter(Boolean).join(", ");
}

const namespaceColumns: Columns<Namespace> = {
  headers: ["NAME", "STATUS", "AGE"],
  wideHeaders: [],
  row(ns, now) {
    return [ns.metadata.name!, ns.status?.phase ?? "", age(ns.metadata.creationTimestamp, now)];
  },
};

const leaseColumns: Columns<Lease> = {
  headers: ["NAME", "HOLDER", "AGE"],
  wideHeaders: [],
  row(lease, now) {
    const holder = lease.spec?.holderIdentity ?? "";
    return [lease.metadata.name!, holder, age(lease.metadata.creationTimestamp, now)];
  },
};

const genericColumns: Columns = {
  headers: ["NAME", "AGE"],
  wideHeaders: [],
  row: (o, now) => [o.metadata.name!, age(o.metadata.creationTimestamp, now)],
};

const BY_RESOURCE: Record<string, Columns<never>> = {
  pods: podColumns,
  nodes: nodeColumns,
  services: serviceColumns,
  endpoints: endpointsColumns,
  deployments: deploymentColumns,
  replicasets: replicaSetColumns,
  events: eventColumns,
  namespaces: namespaceColumns,
  leases: leaseColumns,
};

/** The columns of a resource (plural name); NAME and AGE for kinds without their own. */
export function columnsFor(resource: string): Columns {
  return (BY_RESOURCE[resource] as Columns | undefined) ?? genericColumns;
}
