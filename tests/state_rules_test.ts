import assert from "node:assert/strict";
import type { KubeObject } from "../shared/api/meta.ts";
import { mergePatch } from "../agents/state/merge_patch.ts";
import {
  generateName,
  jsonEqual,
  planDelete,
  rfc3339,
  shouldDeleteDuringUpdate,
  specChanged,
} from "../agents/state/objects.ts";
import {
  allocateClusterIP,
  allocateNodePort,
  assignServiceAddresses,
  clusterIPErrors,
  inServiceRange,
  nodePortErrors,
  type ServiceAddressing,
} from "../agents/state/allocator.ts";
import { httpAccessFromEnv, httpTlsFromEnv, parseListenAddr } from "../agents/state/main.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");

Deno.test("mergePatch follows RFC 7386", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    assert.deepEqual(mergePatch(target, patch), want, JSON.stringify({ target, patch }));
  }
  const target = { a: { b: 1 } };
  mergePatch(target, { a: { b: 2 } });
  assert.deepEqual(target, { a: { b: 1 } }, "the target is not changed");
});

function obj(
  meta: Partial<KubeObject["metadata"]>,
  spec: Record<string, unknown> = {},
  status?: unknown,
) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", generation: 1, ...meta },
    spec,
    status,
  };
}

Deno.test("planDelete decides like the API server's BeforeDelete", () => {
  const bound = { nodeName: "n1", terminationGracePeriodSeconds: 30 };
  const terminating = { deletionTimestamp: "2026-01-01T00:00:30Z", deletionGracePeriodSeconds: 30 };
  const cases: [string, string, KubeObject, number | undefined, unknown][] = [
    ["unbound pod goes at once", "pods", obj({}, {}), undefined, { action: "remove" }],
    ["terminal pod goes at once", "pods", obj({}, bound, { phase: "Failed" }), undefined, {
      action: "remove",
    }],
    ["grace 0 goes at once", "pods", obj({}, bound), 0, { action: "remove" }],
    ["a service goes at once", "services", obj({}), 30, { action: "remove" }],
    ["already terminating, same grace", "pods", obj(terminating, bound), undefined, {
      action: "keep",
    }],
    ["already terminating, longer grace", "pods", obj(terminating, bound), 60, { action: "keep" }],
    ["already terminating, grace 0", "pods", obj(terminating, bound), 0, { action: "remove" }],
    [
      "finalizers hold a service",
      "services",
      obj({ finalizers: ["x"] }),
      undefined,
      {
        action: "update",
        object: obj({
          finalizers: ["x"],
          deletionTimestamp: "2026-01-01T00:00:00Z",
          deletionGracePeriodSeconds: 0,
          generation: 2,
        }),
      },
    ],
    [
      "finalizers keep a held object",
      "services",
      obj({
        finalizers: ["x"],
        deletionTimestamp: "2026-01-01T00:00:00Z",
        deletionGracePeriodSeconds: 0,
      }),
      undefined,
      { action: "keep" },
    ],
  ];
  for (const [name, resource, o, grace, want] of cases) {
    assert.deepEqual(planDelete(resource, o, grace, NOW), want, name);
  }

  const graceful = planDelete("pods", obj({}, bound), undefined, NOW);
  assert.equal(graceful.action, "update");
  if (graceful.action === "update") {
    assert.equal(graceful.object.metadata.deletionTimestamp, "2026-01-01T00:00:30Z");
    assert.equal(graceful.object.metadata.deletionGracePeriodSeconds, 30);
    assert.equal(graceful.object.metadata.generation, 2);
  }
  const shortened = planDelete("pods", obj(terminating, bound), 10, NOW + 5_000);
  assert.equal(shortened.action, "update");
  if (shortened.action === "update") {
    assert.equal(shortened.object.metadata.deletionTimestamp, "2026-01-01T00:00:10Z");
    assert.equal(shortened.object.metadata.deletionGracePeriodSeconds, 10);
    assert.equal(shortened.object.metadata.generation, 1, "generation moves once");
  }
});

Deno.test("shouldDeleteDuringUpdate removes only when the last finalizer goes", () => {
  const deleting = { deletionTimestamp: "2026-01-01T00:00:00Z", deletionGracePeriodSeconds: 0 };
  const held = obj({ ...deleting, finalizers: ["x"] });
  const released = obj({ ...deleting, finalizers: [] });
  assert.equal(shouldDeleteDuringUpdate("services", held, released), true);
  assert.equal(shouldDeleteDuringUpdate("services", held, held), false);
  assert.equal(shouldDeleteDuringUpdate("services", obj({ finalizers: ["x"] }), obj({})), false);
  assert.equal(shouldDeleteDuringUpdate("namespaces", held, released), false);
  const graceful = { deletionTimestamp: "2026-01-01T00:00:30Z", deletionGracePeriodSeconds: 30 };
  assert.equal(
    shouldDeleteDuringUpdate("pods", obj({ ...graceful, finalizers: ["x"] }), obj(graceful)),
    false,
    "a pod also waits for its grace-0 delete",
  );
  assert.equal(shouldDeleteDuringUpdate("pods", held, released), true);
});

Deno.test("metadata helpers: rfc3339, generateName, specChanged, jsonEqual", () => {
  assert.equal(rfc3339(NOW + 1_999), "2026-01-01T00:00:01Z");
  let i = 0;
  assert.equal(generateName("web-", () => (i++ % 27) / 27), "web-bcdfg");
  assert.equal(specChanged(obj({}, { a: 1 }), obj({ labels: { x: "y" } }, { a: 1 })), false);
  assert.equal(specChanged(obj({}, { a: 1 }), obj({}, { a: 2 })), true);
  const noSpec = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "e" } };
  assert.equal(specChanged(noSpec, { ...noSpec, subsets: [] }), false);
  assert.equal(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }), true);
  assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), false);
});

Deno.test("allocator hands out free addresses and words refusals like the API server", () => {
  assert.equal(
    allocateClusterIP(new Set(), () => 0),
    "10.96.0.2",
    "10.96.0.1 is the kubernetes service's",
  );
  assert.equal(allocateClusterIP(new Set(["10.96.0.2"]), () => 0), "10.96.0.3");
  assert.equal(allocateNodePort(new Set([30000]), () => 0), 30001);
  assert.equal(allocateNodePort(new Set(), () => 0.9999999), 32767);
  assert.equal(inServiceRange("10.96.255.255"), false);
  assert.equal(inServiceRange("10.97.0.1"), false);
  assert.deepEqual(nodePortErrors(30080, new Set([30080]), "spec.ports[0].nodePort"), [{
    field: "spec.ports[0].nodePort",
    type: "FieldValueInvalid",
    detail: "Invalid value: 30080: provided port is already allocated",
  }]);
  assert.equal(
    nodePortErrors(29999, new Set(), "f")[0].detail,
    "Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767",
  );
  assert.match(clusterIPErrors("10.0.0.1", new Set())[0].detail, /not in the valid range/);
  assert.match(clusterIPErrors("nope", new Set())[0].detail, /must be a valid IP address/);

  const svc: ServiceAddressing = {
    spec: { type: "NodePort", ports: [{ port: 80 }, { port: 81, nodePort: 30001 }] },
  };
  const inUse = { clusterIPs: new Set(["10.96.0.2"]), nodePorts: new Set([30000]) };
  assert.deepEqual(assignServiceAddresses(svc, undefined, inUse, () => 0), []);
  assert.equal(svc.spec?.clusterIP, "10.96.0.3");
  assert.deepEqual(svc.spec?.ports?.map((p) => p.nodePort), [30002, 30001]);
  const dup = {
    spec: {
      type: "NodePort",
      ports: [{ port: 80, nodePort: 30005 }, { port: 81, nodePort: 30005 }],
    },
  };
  assert.equal(
    assignServiceAddresses(dup, undefined, inUse, () => 0).length,
    1,
    "one service, one port each",
  );
  const clusterIP = { spec: { ports: [{ port: 80, nodePort: 30010 }] } };
  assert.match(
    assignServiceAddresses(clusterIP, undefined, inUse)[0].detail,
    /may not be used when `type` is 'ClusterIP'/,
  );
  const toClusterIP: ServiceAddressing = { spec: { ports: [{ port: 80, nodePort: 30002 }] } };
  assert.deepEqual(
    assignServiceAddresses(toClusterIP, svc, inUse),
    [],
    "a type change releases node ports",
  );
  assert.equal(toClusterIP.spec?.ports?.[0].nodePort, undefined);
  const moved = { spec: { clusterIP: "10.96.9.9" } };
  assert.match(
    assignServiceAddresses(moved, { spec: { clusterIP: "10.96.0.3" } }, inUse)[0].detail,
    /may not change once set/,
  );
});

Deno.test("KUBELAB_HTTP_ADDR parses as host:port", () => {
  assert.deepEqual(parseListenAddr("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListenAddr(":0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(parseListenAddr("[::1]:80"), { hostname: "::1", port: 80 });
  assert.throws(() => parseListenAddr("localhost"), RangeError);
});

Deno.test("KUBELAB_HTTP_TOKEN_FILE and KUBELAB_HTTP_HOSTS say who may use the HTTP API", async () => {
  const files: Record<string, string> = { "/run/token": "  s3cret\n", "/run/empty": "\n" };
  const read = (path: string) => Promise.resolve(files[path]);
  const from = (vars: Record<string, string>) => httpAccessFromEnv((n) => vars[n], read);
  assert.deepEqual(await from({}), { tokens: [], allowedHosts: [] }, "no token: locked");
  assert.deepEqual(
    await from({ KUBELAB_HTTP_TOKEN_FILE: "/run/token", KUBELAB_HTTP_HOSTS: "state, kubelab ," }),
    { tokens: ["s3cret"], allowedHosts: ["state", "kubelab"] },
  );
  await assert.rejects(
    from({ KUBELAB_HTTP_TOKEN_FILE: "/run/empty" }),
    new RangeError('Invalid KUBELAB_HTTP_TOKEN_FILE "/run/empty": the file is empty'),
  );
});

Deno.test("KUBELAB_HTTP_TLS_CERT_FILE and KUBELAB_HTTP_TLS_KEY_FILE turn on HTTPS, both or neither", async () => {
  const read = (path: string) => Promise.resolve(`pem of ${path}`);
  const from = (vars: Record<string, string>) => httpTlsFromEnv((n) => vars[n], read);
  assert.equal(await from({}), undefined);
  assert.deepEqual(
    await from({ KUBELAB_HTTP_TLS_CERT_FILE: "/c", KUBELAB_HTTP_TLS_KEY_FILE: "/k" }),
    { cert: "pem of /c", key: "pem of /k" },
  );
  await assert.rejects(from({ KUBELAB_HTTP_TLS_CERT_FILE: "/c" }), RangeError);
});
