/**
 * kube-proxy's routing table, pure: for each Service port its ClusterIP:port and NodePort, each with the
 * ready endpoints (ip:port) from the Service's Endpoints — the rules the iptables proxier would write
 * (pkg/proxy: only ready endpoints; terminating fallback needs EndpointSlices and comes later).
 * @module
 */
import type { Endpoints, Service } from "../../shared/api/core.ts";

/** How a route is reached. */
export type RouteType = "ClusterIP" | "NodePort";

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
  /** Ready backends as `ip:port`, sorted. */
  endpoints: string[];
}

/** A route in one line: `default/web:http ClusterIP 10.96.0.10:80/TCP -> 10.244.1.2:8080`. */
export function formatRoute(r: Route): string {
  const name = r.portName ? `${r.service}:${r.portName}` : r.service;
  const to = r.endpoints.length ? r.endpoints.join(",") : "(no endpoints)";
  return `${name} ${r.type} ${r.frontend}/${r.protocol} -> ${to}`;
}

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? "default"}/${name ?? ""}`;
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
    for (const port of spec.ports ?? []) {
      const protocol = port.protocol ?? "TCP";
      const portName = port.name ?? "";
      const backends = new Set<string>();
      for (const subset of ep?.subsets ?? []) {
        const target = subset.ports?.find((p) =>
          (p.name ?? "") === portName && (p.protocol ?? "TCP") === protocol
        );
        if (!target) continue;
        for (const a of subset.addresses ?? []) backends.add(`${a.ip}:${target.port}`);
      }
      const endpointList = [...backends].sort();
      const base = { service, portName, protocol, endpoints: endpointList };
      if (clusterIP) {
        routes.push({ ...base, type: "ClusterIP", frontend: `${clusterIP}:${port.port}` });
      }
      const nodePorts = spec.type === "NodePort" || spec.type === "LoadBalancer";
      if (nodePorts && port.nodePort && clusterIP) {
        routes.push({ ...base, type: "NodePort", frontend: `*:${port.nodePort}` });
      }
    }
  }
  return routes.sort((a, b) =>
    a.service.localeCompare(b.service) || a.portName.localeCompare(b.portName) ||
    a.type.localeCompare(b.type) || a.frontend.localeCompare(b.frontend)
  );
}
