import assert from "node:assert/strict";
import type { Endpoints, Service } from "../../shared/api/core.ts";
import { describeService } from "./describe_service.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");

const SERVICE: Service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "echo", namespace: "default", labels: { app: "echo" } },
  spec: {
    type: "NodePort",
    selector: { app: "echo" },
    clusterIP: "10.96.12.34",
    clusterIPs: ["10.96.12.34"],
    ports: [
      { name: "http", port: 80, targetPort: "http", nodePort: 30080, protocol: "TCP" },
      { name: "metrics", port: 9100, targetPort: 9100, nodePort: 30091, protocol: "TCP" },
    ],
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    externalTrafficPolicy: "Cluster",
  },
};

const ENDPOINTS: Endpoints = {
  apiVersion: "v1",
  kind: "Endpoints",
  metadata: { name: "echo", namespace: "default" },
  subsets: [{
    addresses: [{ ip: "10.244.1.2" }, { ip: "10.244.2.2" }],
    notReadyAddresses: [{ ip: "10.244.3.2" }],
    ports: [{ name: "http", port: 8080 }, { name: "metrics", port: 9100 }],
  }],
};

Deno.test("describe service: ports with target and node ports, ready endpoints per port, affinity", () => {
  const text = describeService(SERVICE, { endpoints: ENDPOINTS, events: [] }, { now: NOW });
  assert.equal(
    text,
    [
      "Name:                     echo",
      "Namespace:                default",
      "Labels:                   app=echo",
      "Annotations:              <none>",
      "Selector:                 app=echo",
      "Type:                     NodePort",
      "IP:                       10.96.12.34",
      "IPs:                      10.96.12.34",
      "Port:                     http  80/TCP",
      "TargetPort:               http/TCP",
      "NodePort:                 http  30080/TCP",
      "Endpoints:                10.244.1.2:8080,10.244.2.2:8080",
      "Port:                     metrics  9100/TCP",
      "TargetPort:               9100/TCP",
      "NodePort:                 metrics  30091/TCP",
      "Endpoints:                10.244.1.2:9100,10.244.2.2:9100",
      "Session Affinity:         ClientIP",
      "External Traffic Policy:  Cluster",
      "Events:                   <none>",
      "",
    ].join("\n"),
  );
});

Deno.test("describe service: no selector and no Endpoints show <none>", () => {
  const svc: Service = {
    ...SERVICE,
    spec: { clusterIP: "10.96.0.5", ports: [{ port: 5432, protocol: "TCP", targetPort: 5432 }] },
  };
  const text = describeService(svc, { events: [] }, { now: NOW });
  assert.match(text, /^Selector: +<none>$/m);
  assert.match(text, /^Port: +<unset> {2}5432\/TCP$/m);
  assert.match(text, /^Endpoints: +<none>$/m);
  assert.match(text, /^Session Affinity: +None$/m);
});
