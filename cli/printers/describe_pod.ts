/**
 * `kubectl describe pod`, and the container and pod template sections other describers share.
 * @module
 */
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Event,
  Pod,
  PodTemplateSpec,
  Probe,
} from "../../shared/api/core.ts";
import { age } from "./age.ts";
import {
  describeTime,
  DescribeWriter,
  writeAnnotations,
  writeEvents,
  writeLabels,
  writeTolerations,
} from "./describe.ts";

/** Options of the describers: the time now, and the zone times are shown in. */
export interface DescribeOptions {
  now: number;
  /** Minutes east of UTC for `Start Time:` and the like. @default the local zone */
  utcOffsetMinutes?: number;
}

/**
 * A probe as kubectl shows it: `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1
 * #failure=3`. Missing numbers show the API defaults.
 */
export function describeProbe(p: Probe): string {
  const attrs = [
    `delay=${p.initialDelaySeconds ?? 0}s`,
    `timeout=${p.timeoutSeconds ?? 1}s`,
    `period=${p.periodSeconds ?? 10}s`,
    `#success=${p.successThreshold ?? 1}`,
    `#failure=${p.failureThreshold ?? 3}`,
  ].join(" ");
  if (p.exec) return `exec [${(p.exec.command ?? []).join(" ")}] ${attrs}`;
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? "HTTP").toLowerCase();
    const host = p.httpGet.host ?? "";
    const hostPort = host.includes(":")
      ? `[${host}]:${p.httpGet.port}`
      : `${host}:${p.httpGet.port}`;
    return `http-get ${scheme}://${hostPort}${p.httpGet.path ?? ""} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ""}:${p.tcpSocket.port} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ""} ${attrs}`;
  return `unknown ${attrs}`;
}

function writeState(
  w: DescribeWriter,
  title: string,
  state: ContainerState | undefined,
  o: DescribeOptions,
) {
  const t = (s: string | undefined) => describeTime(s, o.utcOffsetMinutes);
  if (state?.running) {
    w.line(2, `${title}:\tRunning`);
    w.line(3, `Started:\t${t(state.running.startedAt)}`);
  } else if (state?.terminated) {
    const s = state.terminated;
    w.line(2, `${title}:\tTerminated`);
    if (s.reason) w.line(3, `Reason:\t${s.reason}`);
    if (s.message) w.line(3, `Message:\t${s.message}`);
    w.line(3, `Exit Code:\t${s.exitCode}`);
    if (s.signal) w.line(3, `Signal:\t${s.signal}`);
    w.line(3, `Started:\t${t(s.startedAt)}`);
    w.line(3, `Finished:\t${t(s.finishedAt)}`);
  } else {
    w.line(2, `${title}:\tWaiting`);
    if (state?.waiting?.reason) w.line(3, `Reason:\t${state.waiting.reason}`);
  }
}

function ports(c: Container, host: boolean): string {
  return (c.ports ?? []).map((p) =>
    `${host ? p.hostPort ?? 0 : p.containerPort}/${p.protocol ?? "TCP"}`
  )
    .join(", ");
}

function writeResources(w: DescribeWriter, c: Container) {
  for (
    const [title, list] of [["Limits", c.resources?.limits], [
      "Requests",
      c.resources?.requests,
    ]] as const
  ) {
    const names = Object.keys(list ?? {}).sort();
    if (!names.length) continue;
    w.line(2, `${title}:`);
    for (const n of names) w.line(3, `${n}:\t${list![n]}`);
  }
}

/** One `Containers:` or `Init Containers:` section. */
export interface ContainerSection {
  title: string;
  containers: readonly Container[];
  /** The containers' statuses; absent in a pod template. */
  statuses?: readonly ContainerStatus[];
  /** `"  "` inside a pod template. @default "" */
  indent?: string;
}

/** Writes a containers section as kubectl's describeContainers does. */
export function writeContainers(
  w: DescribeWriter,
  section: ContainerSection,
  o: DescribeOptions,
): void {
  const { title, containers, statuses, indent = "" } = section;
  w.line(0, `${indent}${title}:${containers.length ? "" : "\t<none>"}`);
  for (const c of containers) {
    const status = statuses?.find((s) => s.name === c.name);
    w.line(1, `${indent ? " " : ""}${c.name}:`);
    if (status) w.line(2, `Container ID:\t${status.containerID ?? ""}`);
    w.line(2, `Image:\t${c.image ?? ""}`);
    if (status) w.line(2, `Image ID:\t${status.imageID}`);
    const p = ports(c, false);
    w.line(2, p.includes(",") ? `Ports:\t${p}` : `Port:\t${p || "<none>"}`);
    const hp = ports(c, true);
    w.line(2, hp.includes(",") ? `Host Ports:\t${hp}` : `Host Port:\t${hp || "<none>"}`);
    for (const [name, list] of [["Command", c.command], ["Args", c.args]] as const) {
      if (!list?.length) continue;
      w.line(2, `${name}:`);
      for (const part of list) w.line(3, part);
    }
    if (status) {
      writeState(w, "State", status.state, o);
      if (status.lastState?.terminated) writeState(w, "Last State", status.lastState, o);
      w.line(2, `Ready:\t${status.ready ? "True" : "False"}`);
      w.line(2, `Restart Count:\t${status.restartCount}`);
    }
    writeResources(w, c);
    for (
      const [name, probe] of [["Liveness", c.livenessProbe], ["Readiness", c.readinessProbe], [
        "Startup",
        c.startupProbe,
      ]] as const
    ) {
      if (probe) w.line(2, `${name}:\t${describeProbe(probe)}`);
    }
    if (!c.env?.length) w.line(2, "Environment:\t<none>");
    else {
      w.line(2, "Environment:");
      for (const e of c.env) {
        w.line(3, `${e.name}:\t${e.value ?? (e.valueFrom ? "<set from a reference>" : "")}`);
      }
    }
  }
}

/** The `Pod Template:` section of Deployments and ReplicaSets. */
export function writePodTemplate(
  w: DescribeWriter,
  template: PodTemplateSpec | undefined,
  o: DescribeOptions,
) {
  w.line(0, "Pod Template:");
  if (!template) return w.line(1, "<unset>");
  writeLabels(w, 1, "Labels", template.metadata?.labels);
  if (Object.keys(template.metadata?.annotations ?? {}).length) {
    writeAnnotations(w, 1, "Annotations", template.metadata?.annotations);
  }
  if (template.spec.initContainers?.length) {
    writeContainers(w, {
      title: "Init Containers",
      containers: template.spec.initContainers,
      indent: "  ",
    }, o);
  }
  writeContainers(
    w,
    { title: "Containers", containers: template.spec.containers, indent: "  " },
    o,
  );
  writeLabels(w, 1, "Node-Selectors", template.spec.nodeSelector);
  writeTolerations(w, 1, "Tolerations", template.spec.tolerations);
}

/** The QoS class the kubelet would give: from status, else computed from requests and limits. */
export function qosClass(pod: Pod): string {
  if (pod.status?.qosClass) return pod.status.qosClass;
  const containers = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const all = containers.map((c) => c.resources ?? {});
  if (
    all.every((r) => !Object.keys(r.requests ?? {}).length && !Object.keys(r.limits ?? {}).length)
  ) {
    return "BestEffort";
  }
  const guaranteed = all.every((r) =>
    ["cpu", "memory"].every((n) => {
      const limit = r.limits?.[n];
      return limit !== undefined && String(r.requests?.[n] ?? limit) === String(limit);
    })
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** What every describer shows besides the object: the events about it. */
export interface Related {
  events: readonly Event[];
}

/** `kubectl describe pod`. */
export function describePod(pod: Pod, related: Related, o: DescribeOptions): string {
  const w = new DescribeWriter();
  const status = pod.status ?? {};
  const meta = pod.metadata;
  w.line(0, `Name:\t${meta.name}`);
  w.line(0, `Namespace:\t${meta.namespace}`);
  if (pod.spec.priority !== undefined) w.line(0, `Priority:\t${pod.spec.priority}`);
  w.line(0, `Service Account:\t${pod.spec.serviceAccountName ?? "default"}`);
  const node = pod.spec.nodeName
    ? `${pod.spec.nodeName}${status.hostIP ? `/${status.hostIP}` : ""}`
    : "<none>";
  w.line(0, `Node:\t${node}`);
  if (status.startTime) {
    w.line(0, `Start Time:\t${describeTime(status.startTime, o.utcOffsetMinutes)}`);
  }
  writeLabels(w, 0, "Labels", meta.labels);
  writeAnnotations(w, 0, "Annotations", meta.annotations);
  if (meta.deletionTimestamp) {
    // kubectl's own formula: the age of deletionTimestamp (which lies ahead while the grace period runs).
    w.line(0, `Status:\tTerminating (lasts ${age(meta.deletionTimestamp, o.now)})`);
    w.line(0, `Termination Grace Period:\t${meta.deletionGracePeriodSeconds ?? 30}s`);
  } else {
    w.line(0, `Status:\t${status.phase ?? "Pending"}`);
  }
  if (status.reason) w.line(0, `Reason:\t${status.reason}`);
  if (status.message) w.line(0, `Message:\t${status.message.trim()}`);
  w.line(0, `IP:\t${status.podIP ?? ""}`);
  const ips = status.podIPs?.length
    ? status.podIPs.map((p) => p.ip)
    : status.podIP
    ? [status.podIP]
    : [];
  if (!ips.length) w.line(0, "IPs:\t<none>");
  else {
    w.line(0, "IPs:");
    for (const ip of ips) w.line(1, `IP:\t${ip}`);
  }
  const controller = meta.ownerReferences?.find((r) => r.controller);
  if (controller) w.line(0, `Controlled By:\t${controller.kind}/${controller.name}`);
  if (pod.spec.initContainers?.length) {
    writeContainers(w, {
      title: "Init Containers",
      containers: pod.spec.initContainers,
      statuses: status.initContainerStatuses,
    }, o);
  }
  writeContainers(w, {
    title: "Containers",
    containers: pod.spec.containers,
    statuses: status.containerStatuses,
  }, o);
  if (pod.spec.readinessGates?.length) {
    w.line(0, "Readiness Gates:");
    w.line(1, "Type\tStatus");
    for (const g of pod.spec.readinessGates) {
      const c = status.conditions?.find((c) => c.type === g.conditionType);
      w.line(1, `${g.conditionType} \t${c?.status ?? "<none>"} `);
    }
  }
  if (status.conditions?.length) {
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus");
    for (const c of status.conditions) w.line(1, `${c.type} \t${c.status} `);
  }
  w.line(0, `QoS Class:\t${qosClass(pod)}`);
  writeLabels(w, 0, "Node-Selectors", pod.spec.nodeSelector);
  writeTolerations(w, 0, "Tolerations", pod.spec.tolerations);
  writeEvents(w, related.events, o.now);
  return w.toString();
}
