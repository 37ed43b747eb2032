import assert from "node:assert/strict";
import type { Endpoints, Service } from "../../shared/api/core.ts";
import { SERVING_TERMINATING_ANNOTATION } from "../../shared/api/endpoints.ts";
import { computeRoutes, formatRoute, selectEndpoints } from "./routes.ts";

function svc(name: string, spec: NonNullable<Service["spec"]>): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

function eps(name: string, subsets: NonNullable<Endpoints["subsets"]>): Endpoints {
  return { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace: "default" }, subsets };
}

Deno.test("a ClusterIP service routes its port to the ready endpoints only", () => {
  const routes = computeRoutes(
    [svc("web", { clusterIP: "10.96.0.10", ports: [{ port: 80, targetPort: 8080 }] })],
    [eps("web", [{
      addresses: [{ ip: "10.244.2.3" }, { ip: "10.244.1.2" }],
      notReadyAddresses: [{ ip: "10.244.1.9" }],
      ports: [{ port: 8080 }],
    }])],
  );
  assert.deepEqual(routes, [{
    service: "default/web",
    portName: "",
    protocol: "TCP",
    type: "ClusterIP",
    frontend: "10.96.0.10:80",
    port: 80,
    endpoints: ["10.244.1.2:8080", "10.244.2.3:8080"],
    terminatingFallback: false,
    sessionAffinity: "None",
    affinityTimeoutSeconds: 0,
  }]);
  assert.equal(
    formatRoute(routes[0]),
    "default/web ClusterIP 10.96.0.10:80/TCP -> 10.244.1.2:8080,10.244.2.3:8080",
  );
});

Deno.test("a NodePort service gets a ClusterIP and a NodePort route per port, matched by port name", () => {
  const routes = computeRoutes(
    [svc("web", {
      type: "NodePort",
      clusterIP: "10.96.0.11",
      ports: [
        { name: "http", port: 80, nodePort: 30080 },
        { name: "metrics", port: 9090, nodePort: 30090 },
      ],
    })],
    [eps("web", [{
      addresses: [{ ip: "10.244.1.2" }],
      ports: [{ name: "http", port: 8080 }, { name: "metrics", port: 9100 }],
    }])],
  );
  assert.deepEqual(routes.map(formatRoute), [
    "default/web:http ClusterIP 10.96.0.11:80/TCP -> 10.244.1.2:8080",
    "default/web:http NodePort *:30080/TCP -> 10.244.1.2:8080",
    "default/web:metrics ClusterIP 10.96.0.11:9090/TCP -> 10.244.1.2:9100",
    "default/web:metrics NodePort *:30090/TCP -> 10.244.1.2:9100",
  ]);
});

Deno.test("services without endpoints route nowhere; headless and ExternalName services get no route", () => {
  const routes = computeRoutes([
    svc("empty", { clusterIP: "10.96.0.12", ports: [{ port: 80 }] }),
    svc("headless", { clusterIP: "None", ports: [{ port: 80 }] }),
    svc("ext", { type: "ExternalName", externalName: "example.com" }),
  ], []);
  assert.deepEqual(routes.map(formatRoute), [
    "default/empty ClusterIP 10.96.0.12:80/TCP -> (no endpoints)",
  ]);
});

Deno.test("UDP and TCP ports of the same number stay apart", () => {
  const routes = computeRoutes(
    [svc("dns", {
      clusterIP: "10.96.0.10",
      ports: [{ name: "dns", port: 53, protocol: "UDP" }, {
        name: "dns-tcp",
        port: 53,
        protocol: "TCP",
      }],
    })],
    [eps("dns", [{
      addresses: [{ ip: "10.244.1.5" }],
      ports: [{ name: "dns", port: 53, protocol: "UDP" }, {
        name: "dns-tcp",
        port: 53,
        protocol: "TCP",
      }],
    }])],
  );
  assert.deepEqual(routes.map(formatRoute), [
    "default/dns:dns ClusterIP 10.96.0.10:53/UDP -> 10.244.1.5:53",
    "default/dns:dns-tcp ClusterIP 10.96.0.10:53/TCP -> 10.244.1.5:53",
  ]);
});

Deno.test("selectEndpoints: ready endpoints, else the serving-terminating ones, never other not-ready", () => {
  const ep = (
    addresses: string[],
    notReady: string[],
    servingTerminating?: string,
  ): Endpoints => ({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: "web",
      namespace: "default",
      ...(servingTerminating !== undefined
        ? { annotations: { [SERVING_TERMINATING_ANNOTATION]: servingTerminating } }
        : {}),
    },
    subsets: [{
      addresses: addresses.map((ip) => ({ ip })),
      notReadyAddresses: notReady.map((ip) => ({ ip })),
      ports: [{ name: "http", port: 8080 }],
    }],
  });
  const cases: [string, Endpoints | undefined, string[], boolean][] = [
    ["no Endpoints object", undefined, [], false],
    [
      "ready only",
      ep(["10.0.0.2", "10.0.0.1"], ["10.0.0.3"]),
      ["10.0.0.1:8080", "10.0.0.2:8080"],
      false,
    ],
    [
      "ready ones win over serving-terminating ones",
      ep(["10.0.0.1"], ["10.0.0.3"], "10.0.0.3"),
      ["10.0.0.1:8080"],
      false,
    ],
    [
      "no ready: the serving-terminating ones",
      ep([], ["10.0.0.3", "10.0.0.4"], "10.0.0.3"),
      ["10.0.0.3:8080"],
      true,
    ],
    ["no ready, none serving: nothing", ep([], ["10.0.0.3"], ""), [], false],
    [
      "hand-written Endpoints without the annotation: not-ready addresses are never used",
      ep([], ["10.0.0.3"]),
      [],
      false,
    ],
  ];
  for (const [name, endpoints, want, fallback] of cases) {
    assert.deepEqual(
      selectEndpoints(endpoints, "http", "TCP"),
      { endpoints: want, terminatingFallback: fallback },
      name,
    );
  }
});

Deno.test("routes carry the Service's session affinity with the default timeout of 10800 s", () => {
  const routes = computeRoutes([
    svc("sticky", { clusterIP: "10.96.0.20", sessionAffinity: "ClientIP", ports: [{ port: 80 }] }),
    svc("short", {
      clusterIP: "10.96.0.21",
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      ports: [{ port: 80 }],
    }),
  ], []);
  assert.deepEqual(routes.map((r) => [r.service, r.sessionAffinity, r.affinityTimeoutSeconds]), [
    ["default/short", "ClientIP", 60],
    ["default/sticky", "ClientIP", 10800],
  ]);
  assert.equal(
    formatRoute(routes[0]),
    "default/short ClusterIP 10.96.0.21:80/TCP -> (no endpoints) (affinity ClientIP 60s)",
  );
});
