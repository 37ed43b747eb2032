import assert from "node:assert/strict";
import { jsonEqual } from "./json.ts";
import { applyManifest, LAST_APPLIED_ANNOTATION, withLastApplied } from "./merge.ts";

interface TestPod {
  [key: string]: unknown;
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec: {
    containers: { name: string; image: string; imagePullPolicy?: string }[];
    nodeName?: string | null;
    restartPolicy?: string;
  };
  status?: { phase: string };
}

const manifest: TestPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-1", namespace: "default", labels: { app: "web", tier: "fe" } },
  spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
};

/** The pod as the state service stores it after `apply` created it: defaults, binding and status added. */
function stored(desired = manifest): TestPod {
  const created = withLastApplied(desired);
  return {
    ...created,
    metadata: {
      ...created.metadata,
      uid: "u1",
      resourceVersion: "7",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      ...desired.spec,
      containers: desired.spec.containers.map((c) => ({ ...c, imagePullPolicy: "IfNotPresent" })),
      nodeName: "node-2",
      restartPolicy: "Always",
    },
    status: { phase: "Running" },
  };
}

Deno.test("applying the same manifest again changes nothing", () => {
  const live = stored();
  assert.equal(jsonEqual(applyManifest(live, manifest), live), true);
});

Deno.test("a changed image is merged into the live object, keeping what others set", () => {
  const live = stored();
  const changed = structuredClone(manifest);
  changed.spec.containers[0].image = "nginx:1.28";
  const next = applyManifest(live, changed);
  assert.equal(jsonEqual(next, live), false);
  assert.deepEqual(next.spec, {
    ...live.spec,
    containers: [{ name: "app", image: "nginx:1.28", imagePullPolicy: "IfNotPresent" }],
  });
  assert.deepEqual(next.status, live.status);
  assert.equal(next.metadata.resourceVersion, "7");
  assert.deepEqual(JSON.parse(next.metadata.annotations![LAST_APPLIED_ANNOTATION]), changed);
});

Deno.test("a field an earlier apply set and this manifest drops is removed; others' fields stay", () => {
  const live = stored();
  live.metadata.labels = { ...live.metadata.labels, "pod-template-hash": "abc" };
  const dropped = structuredClone(manifest);
  delete dropped.metadata.labels!.tier;
  const next = applyManifest(live, dropped);
  assert.deepEqual(next.metadata.labels, { app: "web", "pod-template-hash": "abc" });
});

Deno.test("without a record of the last apply nothing is removed", () => {
  const live = stored();
  delete live.metadata.annotations;
  const dropped = structuredClone(manifest);
  delete dropped.metadata.labels!.tier;
  assert.deepEqual(applyManifest(live, dropped).metadata.labels, { app: "web", tier: "fe" });
});

Deno.test("lists of named items merge by name; unnamed lists of another length are replaced", () => {
  const live = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web" },
    spec: { ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }], clusterIP: "10.96.0.7" },
  };
  const same = applyManifest(live, { ...live, spec: { ports: [{ port: 80 }] } });
  assert.deepEqual(same.spec, {
    ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
    clusterIP: "10.96.0.7",
  });
  const more = applyManifest(live, { ...live, spec: { ports: [{ port: 80 }, { port: 443 }] } });
  assert.deepEqual(more.spec.ports, [{ port: 80 }, { port: 443 }]);
});

Deno.test("an explicit null removes a field", () => {
  const live = stored();
  const next = applyManifest(live, { ...manifest, spec: { ...manifest.spec, nodeName: null } });
  assert.equal("nodeName" in next.spec, false);
});
