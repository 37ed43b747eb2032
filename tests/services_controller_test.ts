/**
 * The endpoints controller against the real state service, the scheduler and two nodes with the fake
 * runtime (no root needed): Endpoints follow a Service's selector and its pods, a named targetPort
 * resolves per pod, Services without a selector keep hand-written Endpoints, and a deleted Service's
 * Endpoints go with it.
 */
import assert from "node:assert/strict";
import type { Deployment } from "../shared/api/apps.ts";
import type { Endpoints, Service } from "../shared/api/core.ts";
import { eventually, startControllerLab } from "../agents/controllers/_testing.ts";

function web(replicas: number): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{
            name: "app",
            image: "nginx:1.27",
            ports: [{ name: "http", containerPort: 8080 }],
          }],
        },
      },
    },
  };
}

function service(name: string, spec: NonNullable<Service["spec"]>): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default", labels: { tier: "front" } },
    spec,
  };
}

const readyIPs = (ep: Endpoints) =>
  (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();

Deno.test("the endpoints controller keeps a Service's Endpoints in step with its pods", async () => {
  await using lab = await startControllerLab({ nodes: 2 });
  await lab.client.create(
    "services",
    service("web", {
      selector: { app: "web" },
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    }),
  );
  await lab.client.create("deployments", web(2));
  const ep = await eventually(
    "Endpoints with two ready addresses",
    () => lab.client.get<Endpoints>("endpoints", "default", "web"),
    (e) => readyIPs(e).length === 2,
  );
  assert.deepEqual(ep.subsets?.[0].ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  assert.deepEqual(ep.metadata.labels, { tier: "front" });
  assert.deepEqual(
    new Set(ep.subsets?.[0].addresses?.map((a) => a.nodeName)),
    new Set(["node-1", "node-2"]),
  );
  assert.equal(ep.subsets?.[0].addresses?.[0].targetRef?.kind, "Pod");

  await lab.client.patch("deployments", {
    namespace: "default",
    name: "web",
    patch: { spec: { replicas: 3 } },
  });
  await eventually(
    "a third address once the new pod is ready",
    () => lab.client.get<Endpoints>("endpoints", "default", "web"),
    (e) => readyIPs(e).length === 3,
  );

  await lab.client.delete("services", { namespace: "default", name: "web" });
  await eventually(
    "the Endpoints deleted with the Service",
    () => lab.client.list<Endpoints>("endpoints", { namespace: "default" }).then((l) => l.items),
    (items) => !items.some((e) => e.metadata.name === "web"),
  );
});

Deno.test("a Service without a selector keeps its hand-written Endpoints", async () => {
  await using lab = await startControllerLab({ nodes: 1 });
  await lab.client.create("services", service("db", { ports: [{ port: 5432 }] }));
  const written = await lab.client.create<Endpoints>("endpoints", {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "db", namespace: "default" },
    subsets: [{ addresses: [{ ip: "192.0.2.10" }], ports: [{ port: 5432 }] }],
  });
  // Something for the controller to react to: a selector Service and its pods in the namespace.
  await lab.client.create(
    "services",
    service("web", {
      selector: { app: "web" },
      ports: [{ port: 80, targetPort: 8080 }],
    }),
  );
  await lab.client.create("deployments", web(1));
  await eventually(
    "the web Endpoints with a ready address",
    () => lab.client.get<Endpoints>("endpoints", "default", "web"),
    (e) => readyIPs(e).length === 1,
  );
  const db = await lab.client.get<Endpoints>("endpoints", "default", "db");
  assert.equal(db.metadata.resourceVersion, written.metadata.resourceVersion);
  assert.deepEqual(readyIPs(db), ["192.0.2.10"]);
});
