import assert from "node:assert/strict";
import { ApiError } from "../shared/api/errors.ts";
import type { KubeObject } from "../shared/api/meta.ts";
import type { Namespace, Pod, Service } from "../shared/api/core.ts";
import { decode, encode } from "../shared/bus/bus.ts";
import { STATUS_HEADER, subjects } from "../shared/bus/subjects.ts";
import { startStateEnv, waitUntil } from "../agents/state/_testing.ts";

function pod(
  name: string,
  extra: Partial<Pod["metadata"]> = {},
  spec: Partial<Pod["spec"]> = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...extra },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }], ...spec },
  };
}

function namespace(name: string): Namespace {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
}

/** Asserts that `fn` fails with an ApiError of `code` (and `reason`, and a message matching `message`). */
async function rejectsWith(
  fn: () => Promise<unknown>,
  code: number,
  reason: string,
  message?: string | RegExp,
): Promise<ApiError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.reason, reason);
  if (typeof message === "string") assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  return caught;
}

Deno.test("state creates the system namespaces at start", async () => {
  await using env = await startStateEnv();
  const names = (await env.client.list("namespaces")).items.map((n) => n.metadata.name);
  assert.deepEqual(names, ["default", "kube-node-lease", "kube-public", "kube-system"]);
  const ns = await env.client.get<Namespace>("namespaces", undefined, "default");
  assert.equal(ns.status?.phase, "Active");
});

Deno.test("state creates a pod with uid, creationTimestamp, generation and Pending status", async () => {
  await using env = await startStateEnv();
  const created = await env.client.create(
    "pods",
    { ...pod("web-1"), status: { phase: "Running", podIP: "10.0.0.9" } },
  );
  assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(created.metadata.creationTimestamp, "2026-01-01T00:00:00Z");
  assert.equal(created.metadata.generation, 1);
  assert.ok(Number(created.metadata.resourceVersion) > 0);
  assert.deepEqual(created.status, { phase: "Pending", qosClass: "BestEffort" });
  assert.equal(created.spec.restartPolicy, "Always", "defaulted");
  const got = await env.client.get<Pod>("pods", "default", "web-1");
  assert.deepEqual(got, created);
});

Deno.test("state computes the QoS class of a new pod", async () => {
  await using env = await startStateEnv();
  const resources = { limits: { cpu: "500m", memory: "128Mi" } };
  const created = await env.client.create(
    "pods",
    pod("g", {}, { containers: [{ name: "app", image: "nginx", resources }] }),
  );
  assert.equal(created.status?.qosClass, "Guaranteed");
});

Deno.test("state generates a name from generateName", async () => {
  await using env = await startStateEnv();
  const created = await env.client.create(
    "pods",
    pod("", { name: undefined, generateName: "web-" }),
  );
  assert.match(created.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(
    (await env.client.get("pods", "default", created.metadata.name!)).metadata.uid,
    created.metadata.uid,
  );
});

Deno.test("state lists with namespace, label and field selectors, sorted by namespace and name", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("namespaces", namespace("team-a"));
  await c.create("pods", pod("b", { labels: { app: "web", tier: "fe" } }));
  await c.create("pods", pod("a", { labels: { app: "web" } }, { nodeName: "node-1" }));
  await c.create("pods", pod("c", { namespace: "team-a", labels: { app: "db" } }));
  const names = (items: KubeObject[]) =>
    items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);

  assert.deepEqual(names((await c.list("pods")).items), ["default/a", "default/b", "team-a/c"]);
  assert.deepEqual(names((await c.list("pods", { namespace: "team-a" })).items), ["team-a/c"]);
  assert.deepEqual(names((await c.list("pods", { labelSelector: "app=web" })).items), [
    "default/a",
    "default/b",
  ]);
  assert.deepEqual(names((await c.list("pods", { labelSelector: "app in (db),!tier" })).items), [
    "team-a/c",
  ]);
  assert.deepEqual(names((await c.list("pods", { fieldSelector: "spec.nodeName=" })).items), [
    "default/b",
    "team-a/c",
  ]);
  assert.deepEqual(names((await c.list("pods", { fieldSelector: "spec.nodeName=node-1" })).items), [
    "default/a",
  ]);
  assert.deepEqual(
    names(
      (await c.list("pods", { fieldSelector: "metadata.name=b,metadata.namespace=default" })).items,
    ),
    ["default/b"],
  );
  assert.deepEqual(
    names((await c.list("pods", { fieldSelector: "status.phase=Pending" })).items).length,
    3,
  );
  assert.deepEqual((await c.list("pods", { fieldSelector: "status.phase!=Pending" })).items, []);
  await rejectsWith(() => c.list("pods", { labelSelector: "app in (x" }), 400, "BadRequest");

  const list = await c.list("pods");
  assert.ok(
    Number(list.resourceVersion) >=
      Math.max(...list.items.map((p) => Number(p.metadata.resourceVersion))),
  );
  assert.ok(list.watchSeq > 0);
});

Deno.test("state answers 404 NotFound and 409 AlreadyExists with the API server's messages", async () => {
  await using env = await startStateEnv();
  await rejectsWith(
    () => env.client.get("pods", "default", "web-1"),
    404,
    "NotFound",
    'pods "web-1" not found',
  );
  await env.client.create("pods", pod("web-1"));
  await rejectsWith(
    () => env.client.create("pods", pod("web-1")),
    409,
    "AlreadyExists",
    'pods "web-1" already exists',
  );
});

Deno.test("state recreates an object after it was deleted", async () => {
  await using env = await startStateEnv();
  const first = await env.client.create("pods", pod("web-1"));
  await env.client.delete("pods", { namespace: "default", name: "web-1" });
  await rejectsWith(() => env.client.get("pods", "default", "web-1"), 404, "NotFound");
  const second = await env.client.create("pods", pod("web-1"));
  assert.notEqual(second.metadata.uid, first.metadata.uid);
});

Deno.test("state refuses to create in a namespace that does not exist", async () => {
  await using env = await startStateEnv();
  await rejectsWith(
    () => env.client.create("pods", pod("web-1", { namespace: "foo" })),
    404,
    "NotFound",
    'namespaces "foo" not found',
  );
});

Deno.test("state answers 422 Invalid listing every field error of a pod", async () => {
  await using env = await startStateEnv();
  const bad = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "Web_1" },
    spec: { containers: [{ name: "", image: "nginx" }], restartPolicy: "Sometimes" },
  };
  const err = await rejectsWith(
    () => env.client.create("pods", bad as unknown as Pod),
    422,
    "Invalid",
  );
  assert.match(err.message, /^Pod "Web_1" is invalid: \[/);
  const fields = err.status.details?.causes?.map((c) => c.field) ?? [];
  assert.ok(fields.includes("metadata.name"), fields.join());
  assert.ok(fields.includes("spec.containers[0].name"), fields.join());
  assert.ok(fields.includes("spec.restartPolicy"), fields.join());
});

Deno.test("state refuses an object of another kind with 400", async () => {
  await using env = await startStateEnv();
  const err = await rejectsWith(
    () => env.client.create("pods", namespace("x") as unknown as Pod),
    400,
    "BadRequest",
  );
  assert.match(err.message, /must be of type Pod/);
});

Deno.test("state does not store a dry-run create", async () => {
  await using env = await startStateEnv();
  const shown = await env.client.create("pods", pod("web-1"), { dryRun: true });
  assert.equal(shown.metadata.name, "web-1");
  assert.equal(shown.metadata.resourceVersion, undefined);
  await rejectsWith(() => env.client.get("pods", "default", "web-1"), 404, "NotFound");
});

Deno.test("state answers garbage on kl.api.pods.create with 400 and keeps serving", async () => {
  await using env = await startStateEnv();
  const reply = await env.bus.nc.request(
    subjects.api("pods", "create", "admin"),
    new TextEncoder().encode("{not json"),
  );
  assert.equal(reply.headers?.get(STATUS_HEADER), "400");
  assert.equal((decode(reply.data) as { reason: string }).reason, "BadRequest");
  const invalidShape = await env.bus.nc.request(
    subjects.api("pods", "get", "admin"),
    encode({ name: 7 }),
  );
  assert.equal(invalidShape.headers?.get(STATUS_HEADER), "400");
  const created = await env.client.create("pods", pod("web-1"));
  assert.equal(created.metadata.name, "web-1");
});

Deno.test("state update with a stale resourceVersion is a 409 Conflict; without one the last write wins", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const v1 = await c.create("pods", pod("web-1"));
  const v2 = await c.update("pods", { ...v1, metadata: { ...v1.metadata, labels: { a: "1" } } });
  assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
  await rejectsWith(
    () => c.update("pods", { ...v1, metadata: { ...v1.metadata, labels: { a: "2" } } }),
    409,
    "Conflict",
    'Operation cannot be fulfilled on pods "web-1": the object has been modified; please apply your ' +
      "changes to the latest version and try again",
  );
  const { resourceVersion: _rv, ...meta } = v1.metadata;
  const v3 = await c.update("pods", { ...v1, metadata: { ...meta, labels: { a: "3" } } });
  assert.deepEqual(v3.metadata.labels, { a: "3" });
  assert.equal(v3.metadata.uid, v1.metadata.uid);
});

Deno.test("state update keeps system metadata and bumps generation only on spec changes", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const v1 = await c.create("pods", pod("web-1"));
  const v2 = await c.update("pods", {
    ...v1,
    metadata: {
      ...v1.metadata,
      labels: { x: "y" },
      uid: "forged",
      creationTimestamp: "1999-01-01T00:00:00Z",
    },
  });
  assert.equal(v2.metadata.uid, v1.metadata.uid);
  assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
  assert.equal(v2.metadata.generation, 1, "labels are not spec");
  const v3 = await c.update("pods", {
    ...v2,
    spec: { ...v2.spec, containers: [{ ...v2.spec.containers[0], image: "nginx:1.28" }] },
  });
  assert.equal(v3.metadata.generation, 2);
  const same = await c.update("pods", v3);
  assert.equal(
    same.metadata.resourceVersion,
    v3.metadata.resourceVersion,
    "a no-op update writes nothing",
  );
});

Deno.test("state refuses pod spec changes with the API server's message", async () => {
  await using env = await startStateEnv();
  const v1 = await env.client.create("pods", pod("web-1"));
  const err = await rejectsWith(
    () => env.client.update("pods", { ...v1, spec: { ...v1.spec, nodeName: "node-1" } }),
    422,
    "Invalid",
  );
  assert.match(err.message, /spec: Forbidden: pod updates may not change fields other than/);
});

Deno.test("state keeps status on update and spec on updateStatus (the status subresource)", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const v1 = await c.create("pods", pod("web-1"));
  const v2 = await c.update("pods", {
    ...v1,
    metadata: { ...v1.metadata, labels: { a: "b" } },
    status: { phase: "Running" },
  });
  assert.equal(v2.status?.phase, "Pending", "update ignores status");
  assert.deepEqual(v2.metadata.labels, { a: "b" });
  const v3 = await c.updateStatus("pods", {
    ...v2,
    metadata: { ...v2.metadata, labels: { a: "changed" } },
    spec: { ...v2.spec, activeDeadlineSeconds: 5 },
    status: { ...v2.status, phase: "Running", podIP: "10.244.1.5" },
  });
  assert.equal(v3.status?.phase, "Running");
  assert.equal(v3.status?.podIP, "10.244.1.5");
  assert.equal(v3.spec.activeDeadlineSeconds, undefined, "updateStatus ignores spec");
  assert.deepEqual(v3.metadata.labels, { a: "b" }, "updateStatus ignores metadata");
  assert.equal(v3.metadata.generation, 1);
  await rejectsWith(() => c.updateStatus("pods", v2), 409, "Conflict");
});

Deno.test("state applies JSON merge patches to objects and to their status", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("pods", pod("web-1", { labels: { a: "1", b: "2" } }));
  const p1 = await c.patch<Pod>("pods", {
    namespace: "default",
    name: "web-1",
    patch: { metadata: { labels: { a: null, c: "3" } }, status: { phase: "Failed" } },
  });
  assert.deepEqual(p1.metadata.labels, { b: "2", c: "3" });
  assert.equal(p1.status?.phase, "Pending", "a patch of the object does not touch status");
  const p2 = await c.patch<Pod>("pods", {
    namespace: "default",
    name: "web-1",
    subresource: "status",
    patch: { status: { phase: "Running", hostIP: "127.1.0.1" } },
  });
  assert.equal(p2.status?.phase, "Running");
  assert.equal(p2.status?.qosClass, "BestEffort", "merged, not replaced");
  const p3 = await c.patch<Pod>("pods", {
    namespace: "default",
    name: "web-1",
    subresource: "status",
    patch: { podIP: "10.244.0.7" },
  });
  assert.equal(p3.status?.podIP, "10.244.0.7", "a patch of the status itself works too");
  await rejectsWith(
    () =>
      c.patch("pods", { namespace: "default", name: "web-1", patch: { spec: { containers: [] } } }),
    422,
    "Invalid",
  );
  await rejectsWith(
    () => c.patch("pods", { namespace: "default", name: "nope", patch: {} }),
    404,
    "NotFound",
  );
  await rejectsWith(
    () =>
      c.patch("pods", {
        namespace: "default",
        name: "web-1",
        patch: { metadata: { resourceVersion: "1", labels: { d: "4" } } },
      }),
    409,
    "Conflict",
  );
});

Deno.test("state binds a pod once: nodeName and PodScheduled=True, then 409", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const created = await c.create("pods", pod("web-1"));
  await rejectsWith(() => c.bind("default", "web-1", "node-1", "other-uid"), 409, "Conflict");
  const bound = await c.bind<Pod>("default", "web-1", "node-1", created.metadata.uid);
  assert.equal(bound.spec.nodeName, "node-1");
  assert.deepEqual(bound.status?.conditions, [
    {
      type: "PodScheduled",
      status: "True",
      lastProbeTime: null,
      lastTransitionTime: "2026-01-01T00:00:00Z",
    },
  ]);
  await rejectsWith(
    () => c.bind("default", "web-1", "node-2"),
    409,
    "Conflict",
    /pod web-1 is already assigned to node "node-1"/,
  );
  await rejectsWith(() => c.bind("default", "nope", "node-1"), 404, "NotFound");
});

Deno.test("state deletes a pod on a node gracefully and removes it on the grace-0 delete", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("pods", pod("web-1", {}, { terminationGracePeriodSeconds: 30 }));
  await c.bind("default", "web-1", "node-1");
  const terminating = await c.delete<Pod>("pods", { namespace: "default", name: "web-1" });
  assert.equal(terminating.metadata.deletionTimestamp, "2026-01-01T00:00:30Z");
  assert.equal(terminating.metadata.deletionGracePeriodSeconds, 30);
  assert.equal(terminating.metadata.generation, 2);
  assert.equal(
    (await c.get("pods", "default", "web-1")).metadata.deletionTimestamp,
    "2026-01-01T00:00:30Z",
  );

  const longer = await c.delete("pods", {
    namespace: "default",
    name: "web-1",
    gracePeriodSeconds: 60,
  });
  assert.equal(longer.metadata.deletionGracePeriodSeconds, 30, "a later delete may only shorten");
  const shorter = await c.delete("pods", {
    namespace: "default",
    name: "web-1",
    gracePeriodSeconds: 10,
  });
  assert.equal(shorter.metadata.deletionGracePeriodSeconds, 10);
  assert.equal(shorter.metadata.deletionTimestamp, "2026-01-01T00:00:10Z");

  const last = await c.delete("pods", {
    namespace: "default",
    name: "web-1",
    gracePeriodSeconds: 0,
  });
  assert.equal(last.metadata.name, "web-1");
  await rejectsWith(() => c.get("pods", "default", "web-1"), 404, "NotFound");
});

Deno.test("state deletes an unbound pod and a terminal pod at once", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("pods", pod("unbound"));
  const gone = await c.delete("pods", { namespace: "default", name: "unbound" });
  assert.equal(gone.metadata.deletionTimestamp, undefined);
  await rejectsWith(() => c.get("pods", "default", "unbound"), 404, "NotFound");

  await c.create("pods", pod("done"));
  await c.bind("default", "done", "node-1");
  await c.patch("pods", {
    namespace: "default",
    name: "done",
    subresource: "status",
    patch: { status: { phase: "Succeeded" } },
  });
  await c.delete("pods", { namespace: "default", name: "done" });
  await rejectsWith(() => c.get("pods", "default", "done"), 404, "NotFound");
});

Deno.test("state checks delete preconditions", async () => {
  await using env = await startStateEnv();
  const created = await env.client.create("pods", pod("web-1"));
  await rejectsWith(
    () =>
      env.client.delete("pods", {
        namespace: "default",
        name: "web-1",
        preconditions: { uid: "x" },
      }),
    409,
    "Conflict",
    /Precondition failed: UID in precondition: x/,
  );
  await rejectsWith(
    () =>
      env.client.delete("pods", {
        namespace: "default",
        name: "web-1",
        preconditions: { resourceVersion: "1" },
      }),
    409,
    "Conflict",
  );
  await env.client.delete("pods", {
    namespace: "default",
    name: "web-1",
    preconditions: { uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion },
  });
  await rejectsWith(
    () => env.client.delete("pods", { namespace: "default", name: "web-1" }),
    404,
    "NotFound",
  );
});

Deno.test("state keeps an object with finalizers until an update empties them", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "svc", namespace: "default", finalizers: ["example.com/hold"] },
    spec: { ports: [{ port: 80 }] },
  } as Service);
  const held = await c.delete<Service>("services", { namespace: "default", name: "svc" });
  assert.equal(held.metadata.deletionTimestamp, "2026-01-01T00:00:00Z");
  assert.ok(await c.get("services", "default", "svc"));
  await c.patch("services", {
    namespace: "default",
    name: "svc",
    patch: { metadata: { finalizers: null } },
  });
  await rejectsWith(() => c.get("services", "default", "svc"), 404, "NotFound");
});

Deno.test("state allocates ClusterIPs and NodePorts and refuses a taken or out-of-range port", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const svc = (name: string, spec: Service["spec"]): Service => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec,
  });
  const a = await c.create<Service>(
    "services",
    svc("a", { selector: { app: "a" }, ports: [{ port: 80 }] }),
  );
  assert.match(a.spec!.clusterIP!, /^10\.96\.\d+\.\d+$/);
  assert.notEqual(a.spec!.clusterIP, "10.96.0.1");
  assert.deepEqual(a.spec!.clusterIPs, [a.spec!.clusterIP]);
  assert.equal(a.spec!.ports![0].nodePort, undefined);

  const b = await c.create<Service>(
    "services",
    svc("b", {
      type: "NodePort",
      ports: [{ name: "http", port: 80 }, { name: "alt", port: 81, nodePort: 30080 }],
    }),
  );
  const auto = b.spec!.ports![0].nodePort!;
  assert.ok(auto >= 30000 && auto <= 32767);
  assert.equal(b.spec!.ports![1].nodePort, 30080);
  assert.notEqual(b.spec!.clusterIP, a.spec!.clusterIP);

  const taken = await rejectsWith(
    () =>
      c.create("services", svc("c", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] })),
    422,
    "Invalid",
  );
  assert.match(
    taken.message,
    /spec\.ports\[0\]\.nodePort: Invalid value: 30080: provided port is already allocated/,
  );
  const range = await rejectsWith(
    () => c.create("services", svc("d", { type: "NodePort", ports: [{ port: 80, nodePort: 80 }] })),
    422,
    "Invalid",
  );
  assert.match(
    range.message,
    /spec\.ports\[0\]\.nodePort: Invalid value: 80: provided port is not in the valid range\. The range of valid ports is 30000-32767/,
  );
  const ipTaken = await rejectsWith(
    () => c.create("services", svc("e", { clusterIP: a.spec!.clusterIP, ports: [{ port: 80 }] })),
    422,
    "Invalid",
  );
  assert.match(ipTaken.message, /provided IP is already allocated/);
  const headless = await c.create<Service>(
    "services",
    svc("h", { clusterIP: "None", ports: [{ port: 80 }] }),
  );
  assert.equal(headless.spec!.clusterIP, "None");

  // An update that leaves the addresses out keeps them; once deleted they are free again.
  const { clusterIP: _ip, clusterIPs: _ips, ...rest } = b.spec!;
  const updated = await c.update<Service>("services", {
    ...b,
    spec: { ...rest, ports: [{ name: "http", port: 80 }, { name: "alt", port: 81 }] },
  });
  assert.equal(updated.spec!.clusterIP, b.spec!.clusterIP);
  assert.deepEqual(updated.spec!.ports!.map((p) => p.nodePort), [auto, 30080]);
  await c.delete("services", { namespace: "default", name: "b" });
  const reused = await c.create<Service>(
    "services",
    svc("c", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }),
  );
  assert.equal(reused.spec!.ports![0].nodePort, 30080);
});

Deno.test("state deletes a namespace with everything in it", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("namespaces", namespace("team-a"));
  await c.create("pods", pod("loose", { namespace: "team-a" }));
  await c.create(
    "pods",
    pod("bound", { namespace: "team-a" }, { terminationGracePeriodSeconds: 30 }),
  );
  await c.bind("team-a", "bound", "node-1");
  await c.create("pods", pod("elsewhere"));

  const terminating = await c.delete<Namespace>("namespaces", { name: "team-a" });
  assert.equal(terminating.status?.phase, "Terminating");
  await rejectsWith(
    () => c.create("pods", pod("late", { namespace: "team-a" })),
    403,
    "Forbidden",
    /unable to create new content in namespace team-a because it is being terminated/,
  );
  await waitUntil(
    async () => (await c.list("pods", { namespace: "team-a" })).items.length === 1,
    5_000,
    "loose pod gone",
  );
  const bound = await c.get("pods", "team-a", "bound");
  assert.ok(bound.metadata.deletionTimestamp, "the bound pod terminates gracefully");
  assert.ok(await c.get("namespaces", undefined, "team-a"), "the namespace waits for it");

  await c.delete("pods", { namespace: "team-a", name: "bound", gracePeriodSeconds: 0 });
  await waitUntil(
    () =>
      c.get("namespaces", undefined, "team-a").then(
        () => false,
        (e) => e instanceof ApiError && e.code === 404,
      ),
    5_000,
    "namespace gone",
  );
  assert.ok(await c.get("pods", "default", "elsewhere"));
  await rejectsWith(() => c.delete("namespaces", { name: "default" }), 403, "Forbidden");
});

Deno.test("state lets updates create the kinds that allow it (leases) and not others", async () => {
  await using env = await startStateEnv();
  const lease = await env.client.update<KubeObject>("leases", {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "node-1", namespace: "kube-node-lease" },
    spec: { holderIdentity: "node-1", leaseDurationSeconds: 40 },
  });
  assert.equal(lease.metadata.generation, 1);
  assert.ok(lease.metadata.uid);
  await rejectsWith(() => env.client.update("pods", pod("nope")), 404, "NotFound");
});

Deno.test("state answers watchpos for a list's resourceVersion and for older ones", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const before = await c.list("pods");
  await c.create("pods", pod("a"));
  await c.create("pods", pod("b"));
  const after = await c.list("pods");
  assert.equal(await c.watchPos("pods", after.resourceVersion), after.watchSeq);
  assert.equal(await c.watchPos("pods", before.resourceVersion), before.watchSeq);
  assert.equal(await c.watchPos("pods", "1"), 1);
  await rejectsWith(() => c.watchPos("pods", "abc"), 400, "BadRequest");
});

Deno.test("a list larger than one NATS message arrives whole, in pages, at one resourceVersion", async () => {
  await using env = await startStateEnv();
  // 40 pods of ~40 KB each: about 1.6 MB, over nats-server's 1 MB max_payload.
  const pad = "x".repeat(40_000);
  for (let i = 0; i < 40; i++) {
    await env.client.create(
      "pods",
      pod(`big-${String(i).padStart(2, "0")}`, { annotations: { pad } }),
    );
  }
  const list = await env.client.list<Pod>("pods", { namespace: "default" });
  assert.equal(list.items.length, 40);
  assert.deepEqual(
    list.items.map((p) => p.metadata.name),
    Array.from({ length: 40 }, (_, i) => `big-${String(i).padStart(2, "0")}`),
  );
});

Deno.test("new pods tolerate not-ready and unreachable for the configured seconds", async () => {
  await using env = await startStateEnv({ service: { defaultTolerationSeconds: 30 } });
  const created = await env.client.create("pods", pod("tolerant"));
  assert.deepEqual(created.spec.tolerations, [
    {
      key: "node.kubernetes.io/not-ready",
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 30,
    },
    {
      key: "node.kubernetes.io/unreachable",
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 30,
    },
  ]);
  // A pod that says how long it tolerates them keeps its own figure.
  const own = await env.client.create(
    "pods",
    pod("own", {}, {
      tolerations: [{
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 2,
      }],
    }),
  );
  assert.deepEqual(own.spec.tolerations?.map((t) => [t.key, t.tolerationSeconds]), [
    ["node.kubernetes.io/unreachable", 2],
    ["node.kubernetes.io/not-ready", 30],
  ]);
});
