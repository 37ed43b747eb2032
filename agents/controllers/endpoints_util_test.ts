import assert from "node:assert/strict";
import type { Endpoints, Pod, Service } from "../../shared/api/core.ts";
import { SERVING_TERMINATING_ANNOTATION } from "../../shared/api/endpoints.ts";
import {
  computeEndpoints,
  desiredEndpoints,
  type EndpointSubset,
  findPort,
  repackSubsets,
} from "./endpoints_util.ts";

interface PodOptions {
  ip?: string;
  ready?: boolean;
  terminating?: boolean;
  phase?: string;
  ports?: { name?: string; containerPort: number; protocol?: "TCP" | "UDP" }[];
  node?: string;
}

function pod(name: string, o: PodOptions = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: { app: "web" },
      ...(o.terminating ? { deletionTimestamp: "2026-01-01T00:00:30Z" } : {}),
    },
    spec: {
      nodeName: o.node ?? "node-1",
      containers: [{ name: "app", ports: o.ports ?? [{ name: "http", containerPort: 8080 }] }],
    },
    status: {
      phase: o.phase ?? "Running",
      ...(o.ip !== "" ? { podIP: o.ip ?? `10.244.1.${name.replace(/\D/g, "")}` } : {}),
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  } as Pod;
}

function service(spec: NonNullable<Service["spec"]>, labels?: Record<string, string>): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default", ...(labels ? { labels } : {}) },
    spec: { selector: { app: "web" }, clusterIP: "10.96.0.10", ...spec },
  };
}

/** `ip:port` lists per subset, `!` marking a not-ready address, for compact expectations. */
function brief(subsets: EndpointSubset[]): string[] {
  return subsets.map((s) => {
    const addrs = [
      ...(s.addresses ?? []).map((a) => a.ip),
      ...(s.notReadyAddresses ?? []).map((a) => `!${a.ip}`),
    ];
    const ports = (s.ports ?? []).map((p) => `${p.name ?? ""}:${p.port}/${p.protocol}`);
    return `${addrs.join(",")} @ ${ports.join(",")}`;
  });
}

Deno.test("findPort resolves targetPort by number, or by container port name and protocol", () => {
  const p = pod("p1", {
    ports: [
      { name: "http", containerPort: 8080 },
      { name: "dns", containerPort: 53, protocol: "UDP" },
    ],
  });
  const cases: [NonNullable<Service["spec"]>["ports"], number | undefined][] = [
    [[{ port: 80, targetPort: 9000 }], 9000],
    [[{ port: 80 }], 80],
    [[{ port: 80, targetPort: "http" }], 8080],
    [[{ port: 80, targetPort: "http", protocol: "UDP" }], undefined],
    [[{ port: 53, targetPort: "dns", protocol: "UDP" }], 53],
    [[{ port: 80, targetPort: "metrics" }], undefined],
  ];
  for (const [ports, want] of cases) {
    assert.equal(findPort(p, ports![0]), want, JSON.stringify(ports));
  }
});

Deno.test("computeEndpoints puts ready pods in addresses and the rest with an IP in notReadyAddresses", () => {
  const cases: [string, Pod[], NonNullable<Service["spec"]>, string[], string[]][] = [
    [
      "ready and not ready",
      [pod("p2"), pod("p10"), pod("p3", { ready: false })],
      { ports: [{ name: "http", port: 80, targetPort: "http" }] },
      ["10.244.1.2,10.244.1.10,!10.244.1.3 @ http:8080/TCP"],
      [],
    ],
    [
      "pods without an IP and finished pods are left out",
      [pod("p2"), pod("p4", { ip: "" }), pod("p5", { phase: "Succeeded" })],
      { ports: [{ port: 80, targetPort: 8080 }] },
      ["10.244.1.2 @ :8080/TCP"],
      [],
    ],
    [
      "terminating pods are not ready; those still Ready are serving-terminating",
      [pod("p2"), pod("p3", { terminating: true }), pod("p4", { terminating: true, ready: false })],
      { ports: [{ port: 80, targetPort: 8080 }] },
      ["10.244.1.2,!10.244.1.3,!10.244.1.4 @ :8080/TCP"],
      ["10.244.1.3"],
    ],
    [
      "publishNotReadyAddresses makes every pod with an IP ready",
      [pod("p2", { ready: false }), pod("p3", { terminating: true })],
      { publishNotReadyAddresses: true, ports: [{ port: 80, targetPort: 8080 }] },
      ["10.244.1.2,10.244.1.3 @ :8080/TCP"],
      [],
    ],
    [
      "a pod without the named port is left out for that port: subsets by identical port sets",
      [
        pod("p2", {
          ports: [{ name: "http", containerPort: 8080 }, {
            name: "metrics",
            containerPort: 9100,
          }],
        }),
        pod("p3", { ports: [{ name: "http", containerPort: 8081 }] }),
        pod("p4", { ports: [{ name: "http", containerPort: 8080 }] }),
      ],
      {
        ports: [
          { name: "http", port: 80, targetPort: "http" },
          { name: "metrics", port: 9100, targetPort: "metrics" },
        ],
      },
      [
        "10.244.1.2,10.244.1.4 @ http:8080/TCP",
        "10.244.1.2 @ metrics:9100/TCP",
        "10.244.1.3 @ http:8081/TCP",
      ],
      [],
    ],
    [
      "addresses offering the same ports share one subset",
      [pod("p2"), pod("p3")],
      {
        ports: [{ name: "a", port: 80, targetPort: 8080 }, {
          name: "b",
          port: 81,
          targetPort: 8081,
        }],
      },
      ["10.244.1.2,10.244.1.3 @ a:8080/TCP,b:8081/TCP"],
      [],
    ],
    [
      "a headless service without ports lists addresses only",
      [pod("p2")],
      { clusterIP: "None" },
      ["10.244.1.2 @ "],
      [],
    ],
    ["a service with ports but no pods has no subsets", [], { ports: [{ port: 80 }] }, [], []],
  ];
  for (const [name, pods, spec, want, servingTerminating] of cases) {
    const got = computeEndpoints(service(spec), pods);
    assert.deepEqual(brief(got.subsets), want, name);
    assert.deepEqual(got.servingTerminating, servingTerminating, name);
  }
});

Deno.test("addresses carry the pod's node and a reference to it", () => {
  const { subsets } = computeEndpoints(service({ ports: [{ port: 80, targetPort: 8080 }] }), [
    pod("p2", { node: "node-2" }),
  ]);
  assert.deepEqual(subsets[0].addresses, [{
    ip: "10.244.1.2",
    nodeName: "node-2",
    targetRef: { kind: "Pod", namespace: "default", name: "p2", uid: "uid-p2" },
  }]);
});

Deno.test("repackSubsets: an address ready in one subset and not in another counts as ready", () => {
  const a = { ip: "10.244.1.2", targetRef: { uid: "u" } };
  const out = repackSubsets([
    { notReadyAddresses: [a], ports: [{ port: 80, protocol: "TCP" }] },
    { addresses: [a], ports: [{ port: 80, protocol: "TCP" }] },
  ]);
  assert.deepEqual(brief(out), ["10.244.1.2 @ :80/TCP"]);
});

Deno.test("desiredEndpoints takes the Service's labels and names serving-terminating addresses", () => {
  const svc = service({ ports: [{ port: 80, targetPort: 8080 }] }, { tier: "front" });
  const current: Endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: "web",
      namespace: "default",
      resourceVersion: "7",
      annotations: { [SERVING_TERMINATING_ANNOTATION]: "10.244.1.9", other: "kept" },
    },
  };
  const ep = desiredEndpoints(svc, [pod("p2"), pod("p3", { terminating: true })], current);
  assert.equal(ep.metadata.resourceVersion, "7");
  assert.deepEqual(ep.metadata.labels, { tier: "front" });
  assert.deepEqual(ep.metadata.annotations, {
    other: "kept",
    [SERVING_TERMINATING_ANNOTATION]: "10.244.1.3",
  });
  const settled = desiredEndpoints(svc, [pod("p2")], ep);
  assert.deepEqual(settled.metadata.annotations, { other: "kept" });
  const headless = desiredEndpoints(service({ clusterIP: "None" }), [], undefined);
  assert.deepEqual(headless.metadata.labels, { "service.kubernetes.io/headless": "" });
  assert.equal(headless.metadata.annotations, undefined);
});
