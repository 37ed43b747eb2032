/**
 * kube-proxy's routing table, pure: for each Service port its ClusterIP:port and NodePort, each with the
 * endpoints (ip:port) it may use — the rules the iptables proxier would write. Which endpoints is
 * pkg/proxy/topology.go's rule: the ready ones; when there are none, those that are terminating but
 * still serving (read from kubelab's serving-terminating annotation, shared/api/endpoints.ts).
 * @module
 */
import type { Endpoints, Service } from "../../shared/api/core.ts";
import { servingTerminatingIPs } from "../../shared/api/endpoints.ts";

/** How a route is reached. */
export type RouteType = "ClusterIP" | "NodePort";

/** corev1.DefaultClientIPServiceAffinitySeconds: 3 hours. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

/** One frontend and where it forwards. */
export interface Route {
  /** `namespace/name` of the Service. */
  service: string;
  /** The Service port's name; "" when unnamed. */
  portName: string;
  protocol: "TCP" | "UDP" | "SCTP";
  type: RouteType;
  /** `10.96.0.10:80` for ClusterIP, `*:30080` for NodePort (every node address). */
  frontend: string;
  /** The Service port (`spec.ports[].port`). */
  port: number;
  /** The backends used, as `ip:port`, sorted: the ready ones, else the serving-terminating ones. */
  endpoints: string[];
  /** True when {@linkcode endpoints} are the serving-but-terminating fallback (no ready endpoint). */
  terminatingFallback: boolean;
  /** `spec.sessionAffinity`. */
  sessionAffinity: "None" | "ClientIP";
  /** `sessionAffinityConfig.clientIP.timeoutSeconds` (10800 by default); 0 without affinity. */
  affinityTimeoutSeconds: number;
}

/** The key of a Service port, shared by its ClusterIP and NodePort routes: `default/web:http/TCP`. */
export function servicePortKey(r: Pick<Route, "service" | "portName" | "protocol">): string {
  return `${r.service}:${r.portName}/${r.protocol}`;
}

/** A route in one line: `default/web:http ClusterIP 10.96.0.10:80/TCP -> 10.244.1.2:8080`. */
export function formatRoute(r: Route): string {
  const name = r.portName ? `${r.service}:${r.portName}` : r.service;
  const to = r.endpoints.length ? r.endpoints.join(",") : "(no endpoints)";
  const notes = [
    r.terminatingFallback ? "terminating fallback" : "",
    r.sessionAffinity === "ClientIP" ? `affinity ClientIP ${r.affinityTimeoutSeconds}s` : "",
  ].filter(Boolean);
  return `${name} ${r.type} ${r.frontend}/${r.protocol} -> ${to}` +
    (notes.length ? ` (${notes.join(", ")})` : "");
}

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? "default"}/${name ?? ""}`;
}

/** The backends of one Service port and whether they are the terminating fallback. */
export interface SelectedEndpoints {
  endpoints: string[];
  terminatingFallback: boolean;
}

/**
 * The endpoints kube-proxy uses for the Endpoints port named `portName` with `protocol`: the ready
 * addresses (`subsets[].addresses`); when there are none, the not-ready addresses that are terminating
 * but serving. Sorted `ip:port`.
 */
export function selectEndpoints(
  ep: Endpoints | undefined,
  portName: string,
  protocol: string,
): SelectedEndpoints {
  const ready = new Set<string>();
  const servingTerminating = new Set<string>();
  const fallbackIPs = servingTerminatingIPs(ep);
  for (const subset of ep?.subsets ?? []) {
    const target = subset.ports?.find((p) =>
      (p.name ?? "") === portName && (p.protocol ?? "TCP") === protocol
    );
    if (!target) continue;
    for (const a of subset.addresses ?? []) ready.add(`${a.ip}:${target.port}`);
    for (const a of subset.notReadyAddresses ?? []) {
      if (fallbackIPs.has(a.ip)) servingTerminating.add(`${a.ip}:${target.port}`);
    }
  }
  if (ready.size) return { endpoints: [...ready].sort(), terminatingFallback: false };
  return {
    endpoints: [...servingTerminating].sort(),
    terminatingFallback: servingTerminating.size > 0,
  };
}

/** The routing table for every Service and its Endpoints, sorted by service, port and type. */
export function computeRoutes(services: Service[], endpoints: Endpoints[]): Route[] {
  const endpointsByService = new Map(
    endpoints.map((e) => [key(e.metadata.namespace, e.metadata.name), e]),
  );
  const routes: Route[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    if (spec.type === "ExternalName") continue;
    const service = key(svc.metadata.namespace, svc.metadata.name);
    const ep = endpointsByService.get(service);
    const clusterIP = spec.clusterIP && spec.clusterIP !== "None" ? spec.clusterIP : undefined;
    if (!clusterIP) continue;
    const affinity = spec.sessionAffinity === "ClientIP" ? "ClientIP" : "None";
    const timeout = affinity === "ClientIP"
      ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS
      : 0;
    for (const port of spec.ports ?? []) {
      const protocol = port.protocol ?? "TCP";
      const portName = port.name ?? "";
      const base = {
        service,
        portName,
        protocol,
        port: port.port,
        ...selectEndpoints(ep, portName, protocol),
        sessionAffinity: affinity,
        affinityTimeoutSeconds: timeout,
      } as const;
      routes.push({ ...base, type: "ClusterIP", frontend: `${clusterIP}:${port.port}` });
      const nodePorts = spec.type === "NodePort" || spec.type === "LoadBalancer";
      if (nodePorts && port.nodePort) {
        routes.push({ ...base, type: "NodePort", frontend: `*:${port.nodePort}` });
      }
    }
  }
  return routes.sort((a, b) =>
    a.service.localeCompare(b.service) || a.portName.localeCompare(b.portName) ||
    a.type.localeCompare(b.type) || a.frontend.localeCompare(b.frontend)
  );
}
