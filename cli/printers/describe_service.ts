/**
 * `kubectl describe service` and `kubectl describe deployment`.
 * @module
 */
import type { Endpoints, Service } from "../../shared/api/core.ts";
import type { Deployment, ReplicaSet } from "../../shared/api/apps.ts";
import { formatLabelSelector, selectorFromLabelSelector } from "../../shared/api/selector.ts";
import { formatEndpoints, formatLabels } from "./columns.ts";
import {
  describeTime,
  DescribeWriter,
  writeAnnotations,
  writeEvents,
  writeHeader,
  writeLabels,
} from "./describe.ts";
import { type DescribeOptions, type Related, writePodTemplate } from "./describe_pod.ts";

/** `kubectl describe service`: type, IPs, each port with its target, node port and endpoints. */
export function describeService(
  svc: Service,
  related: Related & { endpoints?: Endpoints },
  o: DescribeOptions,
): string {
  const { endpoints, events } = related;
  const w = new DescribeWriter();
  const spec = svc.spec ?? {};
  writeHeader(w, svc);
  w.line(0, `Selector:\t${formatLabels(spec.selector)}`);
  w.line(0, `Type:\t${spec.type ?? "ClusterIP"}`);
  w.line(0, `IP:\t${spec.clusterIP ?? ""}`);
  if (spec.clusterIPs?.length) w.line(0, `IPs:\t${spec.clusterIPs.join(",")}`);
  if (spec.externalName) w.line(0, `External Name:\t${spec.externalName}`);
  for (const p of spec.ports ?? []) {
    const name = p.name || "<unset>";
    const protocol = p.protocol ?? "TCP";
    w.line(0, `Port:\t${name}\t${p.port}/${protocol}`);
    w.line(0, `TargetPort:\t${p.targetPort ?? p.port}/${protocol}`);
    if (p.nodePort) w.line(0, `NodePort:\t${name}\t${p.nodePort}/${protocol}`);
    w.line(0, `Endpoints:\t${endpoints ? formatEndpoints(endpoints, p.name ?? "") : "<none>"}`);
  }
  w.line(0, `Session Affinity:\t${spec.sessionAffinity ?? "None"}`);
  if (spec.externalTrafficPolicy) {
    w.line(0, `External Traffic Policy:\t${spec.externalTrafficPolicy}`);
  }
  if (spec.internalTrafficPolicy) {
    w.line(0, `Internal Traffic Policy:\t${spec.internalTrafficPolicy}`);
  }
  writeEvents(w, events, o.now);
  return w.toString();
}

function replicaSetList(sets: readonly ReplicaSet[]): string {
  if (!sets.length) return "<none>";
  return sets.map((rs) =>
    `${rs.metadata.name} (${rs.status?.replicas ?? 0}/${rs.spec.replicas ?? 0} replicas created)`
  )
    .join(", ");
}

function revision(rs: ReplicaSet): number {
  return Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
}

/**
 * `kubectl describe deployment`. `replicaSets` are those the deployment owns; the newest revision is the
 * new one, the others with replicas are the old ones.
 */
export function describeDeployment(
  d: Deployment,
  related: Related & { replicaSets: readonly ReplicaSet[] },
  o: DescribeOptions,
): string {
  const { replicaSets, events } = related;
  const w = new DescribeWriter();
  const s = d.status ?? {};
  const strategy = d.spec.strategy ?? {};
  w.line(0, `Name:\t${d.metadata.name}`);
  w.line(0, `Namespace:\t${d.metadata.namespace}`);
  w.line(0, "CreationTimestamp:", describeTime(d.metadata.creationTimestamp, o.utcOffsetMinutes));
  writeLabels(w, 0, "Labels", d.metadata.labels);
  writeAnnotations(w, 0, "Annotations", d.metadata.annotations);
  w.line(0, `Selector:\t${formatLabelSelector(selectorFromLabelSelector(d.spec.selector))}`);
  const replicas = [
    `${d.spec.replicas ?? 1} desired`,
    `${s.updatedReplicas ?? 0} updated`,
    `${s.replicas ?? 0} total`,
    `${s.availableReplicas ?? 0} available`,
    `${s.unavailableReplicas ?? 0} unavailable`,
  ];
  w.line(0, "Replicas:", replicas.join(" | "));
  w.line(0, `StrategyType:\t${strategy.type ?? "RollingUpdate"}`);
  w.line(0, `MinReadySeconds:\t${d.spec.minReadySeconds ?? 0}`);
  if ((strategy.type ?? "RollingUpdate") === "RollingUpdate") {
    const ru = strategy.rollingUpdate ?? {};
    const [unavailable, surge] = [ru.maxUnavailable ?? "25%", ru.maxSurge ?? "25%"];
    w.line(0, "RollingUpdateStrategy:", `${unavailable} max unavailable, ${surge} max surge`);
  }
  writePodTemplate(w, d.spec.template, o);
  if (s.conditions?.length) {
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus\tReason");
    w.line(1, "----\t------\t------");
    for (const c of s.conditions) w.line(1, `${c.type} \t${c.status}\t${c.reason ?? ""}`);
  }
  const sorted = [...replicaSets].sort((a, b) => revision(b) - revision(a));
  const [newest, ...older] = sorted;
  w.line(
    0,
    `OldReplicaSets:\t${replicaSetList(older.filter((rs) => (rs.spec.replicas ?? 0) > 0))}`,
  );
  w.line(0, `NewReplicaSet:\t${replicaSetList(newest ? [newest] : [])}`);
  writeEvents(w, events, o.now);
  return w.toString();
}
