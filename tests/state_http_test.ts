import assert from "node:assert/strict";
import { startStateEnv, TEST_HTTP_TOKEN, waitUntil } from "../agents/state/_testing.ts";
import { parseResourcePath, selectEvent } from "../agents/state/http.ts";
import type { ApiError } from "../shared/api/errors.ts";
import type { KubeObject } from "../shared/api/meta.ts";
import type { ManualClock } from "../shared/clock.ts";

const BASE = "http://127.0.0.1:8080";
const AUTH = { authorization: `Bearer ${TEST_HTTP_TOKEN}` };

/** A request with the test token. */
function authed(url: string, init: RequestInit = {}): Request {
  return new Request(url, { ...init, headers: { ...AUTH, ...init.headers } });
}

/** Calls the handler without a port. */
async function call(
  handler: (req: Request) => Promise<Response>,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await handler(
    authed(BASE + path, {
      method,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      headers: body === undefined ? {} : { "content-type": contentType },
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : { text } };
}

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-1", labels: { app: "web" } },
  spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
};

Deno.test("http serves version, health and discovery", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  assert.equal((await call(h, "GET", "/version")).body.gitVersion, "v1.32.0-kubelab");
  assert.deepEqual(await call(h, "GET", "/healthz"), { status: 200, body: { text: "ok" } });
  assert.deepEqual(await call(h, "GET", "/readyz"), { status: 200, body: { text: "ok" } });
  const api = await call(h, "GET", "/api");
  assert.equal(api.body.kind, "APIVersions");
  assert.deepEqual(api.body.versions, ["v1"]);
  const core = await call(h, "GET", "/api/v1");
  assert.equal(core.body.kind, "APIResourceList");
  const resources = core.body.resources as {
    name: string;
    namespaced: boolean;
    shortNames?: string[];
  }[];
  const pods = resources.find((r) => r.name === "pods")!;
  assert.equal(pods.namespaced, true);
  assert.deepEqual(pods.shortNames, ["po"]);
  assert.ok(resources.some((r) => r.name === "pods/status"));
  assert.ok(resources.some((r) => r.name === "pods/binding"));
  const groups = await call(h, "GET", "/apis");
  const names = (groups.body.groups as { name: string }[]).map((g) => g.name).sort();
  assert.deepEqual(names, ["apps", "coordination.k8s.io"]);
  const apps = await call(h, "GET", "/apis/apps/v1");
  assert.deepEqual(
    (apps.body.resources as { name: string }[]).map((r) => r.name),
    ["deployments", "deployments/status", "replicasets", "replicasets/status"],
  );
  assert.equal((await call(h, "GET", "/apis/apps")).body.kind, "APIGroup");
  assert.equal((await call(h, "GET", "/apis/nope/v1")).status, 404);
});

Deno.test("http maps REST paths to resources", () => {
  assert.deepEqual(
    { ...parseResourcePath("/api/v1/namespaces/default/pods/web-1/status")!, info: undefined },
    { info: undefined, namespace: "default", name: "web-1", subresource: "status" },
  );
  assert.equal(parseResourcePath("/api/v1/namespaces/foo")!.info.resource, "namespaces");
  assert.equal(parseResourcePath("/api/v1/namespaces/foo")!.name, "foo");
  assert.equal(parseResourcePath("/api/v1/namespaces/foo/status")!.subresource, "status");
  assert.equal(
    parseResourcePath("/apis/apps/v1/namespaces/x/deployments")!.info.kind,
    "Deployment",
  );
  assert.equal(
    parseResourcePath("/apis/coordination.k8s.io/v1/namespaces/x/leases/n")!.info.kind,
    "Lease",
  );
  assert.equal(parseResourcePath("/api/v1/nodes/node-1")!.name, "node-1");
  assert.equal(parseResourcePath("/healthz"), undefined);
  assert.throws(
    () => parseResourcePath("/api/v1/widgets"),
    /could not find the requested resource/,
  );
  assert.throws(() => parseResourcePath("/apis/apps/v1/namespaces/x/pods"), /could not find/);
  assert.equal(parseResourcePath("/api/v1/namespaces/x/pods/web%2D1")!.name, "web-1", "decoded");
  const badRequest = (path: string, message: string) =>
    assert.throws(() => parseResourcePath(path), (err: ApiError) => {
      assert.deepEqual([err.code, err.message], [400, message], path);
      return true;
    });
  badRequest("/api/v1/namespaces/x/pods/%ZZ", 'invalid URL escape in path segment "%ZZ"');
  badRequest("/api/v1/nodes/a%2Fb", `Name parameter invalid: "a/b": may not contain '/'`);
  badRequest("/api/v1/nodes/100%25", `Name parameter invalid: "100%": may not contain '%'`);
  badRequest("/api/v1/nodes/%2E%2E%2F", `Name parameter invalid: "../": may not contain '/'`);
});

Deno.test("http creates, gets, lists, updates, patches and deletes with Kubernetes codes", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const created = await call(h, "POST", "/api/v1/namespaces/default/pods", POD);
  assert.equal(created.status, 201);
  const meta = created.body.metadata as KubeObject["metadata"];
  assert.equal(meta.namespace, "default");
  assert.ok(meta.uid);

  const dup = await call(h, "POST", "/api/v1/namespaces/default/pods", POD);
  assert.equal(dup.status, 409);
  assert.deepEqual(
    { kind: dup.body.kind, status: dup.body.status, reason: dup.body.reason, code: dup.body.code },
    { kind: "Status", status: "Failure", reason: "AlreadyExists", code: 409 },
  );
  assert.equal(dup.body.message, 'pods "web-1" already exists');

  const got = await call(h, "GET", "/api/v1/namespaces/default/pods/web-1");
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, created.body);
  const missing = await call(h, "GET", "/api/v1/namespaces/default/pods/nope");
  assert.equal(missing.status, 404);
  assert.equal(missing.body.message, 'pods "nope" not found');

  const list = await call(h, "GET", "/api/v1/pods?labelSelector=app%3Dweb");
  assert.equal(list.status, 200);
  assert.equal(list.body.kind, "PodList");
  assert.equal((list.body.items as unknown[]).length, 1);
  assert.ok((list.body.metadata as { resourceVersion: string }).resourceVersion);
  const none = await call(
    h,
    "GET",
    "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dnode-9",
  );
  assert.deepEqual(none.body.items, []);

  const stale = await call(h, "PUT", "/api/v1/namespaces/default/pods/web-1", {
    ...created.body,
    metadata: { ...meta, resourceVersion: "1", labels: { app: "x" } },
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, "Conflict");
  const put = await call(h, "PUT", "/api/v1/namespaces/default/pods/web-1", {
    ...created.body,
    metadata: { ...meta, labels: { app: "web", v: "2" } },
  });
  assert.equal(put.status, 200);

  const patched = await call(
    h,
    "PATCH",
    "/api/v1/namespaces/default/pods/web-1",
    { metadata: { labels: { v: "3" } } },
    "application/merge-patch+json",
  );
  assert.equal(patched.status, 200);
  assert.deepEqual((patched.body.metadata as KubeObject["metadata"]).labels, {
    app: "web",
    v: "3",
  });
  const strategic = await call(
    h,
    "PATCH",
    "/api/v1/namespaces/default/pods/web-1/status",
    { status: { phase: "Running" } },
    "application/strategic-merge-patch+json",
  );
  assert.equal((strategic.body.status as { phase: string }).phase, "Running");
  const jsonPatch = await call(
    h,
    "PATCH",
    "/api/v1/namespaces/default/pods/web-1",
    [],
    "application/json-patch+json",
  );
  assert.equal(jsonPatch.status, 415);

  const bad = await call(h, "POST", "/api/v1/namespaces/default/pods", "{oops");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.reason, "BadRequest");
  const invalid = await call(h, "POST", "/api/v1/namespaces/default/pods", {
    ...POD,
    metadata: { name: "Bad_Name" },
  });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.body.reason, "Invalid");
  assert.equal((await call(h, "POST", "/api/v1/namespaces/nope/pods", POD)).status, 404);
  assert.equal((await call(h, "DELETE", "/api/v1/namespaces/default/pods")).status, 405);

  const deleted = await call(h, "DELETE", "/api/v1/namespaces/default/pods/web-1");
  assert.equal(deleted.status, 200, "an unbound pod goes at once");
  assert.equal((await call(h, "GET", "/api/v1/namespaces/default/pods/web-1")).status, 404);
});

Deno.test("http binds a pod and deletes it gracefully (202), then with gracePeriodSeconds=0", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  await call(h, "POST", "/api/v1/namespaces/default/pods", POD);
  const bound = await call(h, "POST", "/api/v1/namespaces/default/pods/web-1/binding", {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name: "web-1" },
    target: { apiVersion: "v1", kind: "Node", name: "node-1" },
  });
  assert.equal(bound.status, 201);
  assert.equal(bound.body.status, "Success");
  const again = await call(h, "POST", "/api/v1/namespaces/default/pods/web-1/binding", {
    target: { name: "node-2" },
  });
  assert.equal(again.status, 409);

  const graceful = await call(h, "DELETE", "/api/v1/namespaces/default/pods/web-1", {
    kind: "DeleteOptions",
    apiVersion: "v1",
    gracePeriodSeconds: 5,
  });
  assert.equal(graceful.status, 202);
  assert.equal((graceful.body.metadata as KubeObject["metadata"]).deletionGracePeriodSeconds, 5);
  const now = await call(h, "DELETE", "/api/v1/namespaces/default/pods/web-1?gracePeriodSeconds=0");
  assert.equal(now.status, 200);
  assert.equal((await call(h, "GET", "/api/v1/namespaces/default/pods/web-1")).status, 404);
});

Deno.test("http serves cluster-scoped and grouped resources", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const node = await call(h, "POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-1" },
    status: { capacity: { cpu: "2", pods: "110" } },
  });
  assert.equal(node.status, 201);
  const status = await call(h, "PUT", "/api/v1/nodes/node-1/status", {
    ...node.body,
    status: { capacity: { cpu: "4", pods: "110" } },
  });
  assert.equal(status.status, 200);
  assert.deepEqual((status.body.status as { capacity: unknown }).capacity, {
    cpu: "4",
    pods: "110",
  });
  const lease = await call(
    h,
    "PUT",
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "node-1", namespace: "kube-node-lease" },
      spec: { holderIdentity: "node-1" },
    },
  );
  assert.equal(lease.status, 201, "create on update");
  const deploy = await call(h, "POST", "/apis/apps/v1/namespaces/default/deployments", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "a", image: "nginx" }] },
      },
    },
  });
  assert.equal(deploy.status, 201);
  assert.equal((deploy.body.spec as { replicas: number }).replicas, 1);
  const list = await call(h, "GET", "/apis/apps/v1/deployments");
  assert.equal(list.body.kind, "DeploymentList");
  const ns = await call(h, "GET", "/api/v1/namespaces/kube-system");
  assert.equal((ns.body.status as { phase: string }).phase, "Active");
});

/** Reads newline-delimited JSON events off a streaming response until `n` have arrived. */
async function readEvents(
  res: Response,
  n: number,
): Promise<{ type: string; object: KubeObject }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { type: string; object: KubeObject }[] = [];
  let buf = "";
  while (events.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  }
  await reader.cancel();
  return events;
}

Deno.test("http streams a watch: current objects as ADDED, then changes; resumes from a resourceVersion", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  await call(h, "POST", "/api/v1/namespaces/default/pods", POD);
  const ac = new AbortController();
  const res = await h(
    authed(`${BASE}/api/v1/namespaces/default/pods?watch=1`, { signal: ac.signal }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const reading = readEvents(res, 3);
  await call(h, "PATCH", "/api/v1/namespaces/default/pods/web-1", {
    metadata: { labels: { v: "2" } },
  }, "application/merge-patch+json");
  await call(h, "DELETE", "/api/v1/namespaces/default/pods/web-1");
  const events = await reading;
  ac.abort();
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
    "ADDED web-1",
    "MODIFIED web-1",
    "DELETED web-1",
  ]);

  // From a resourceVersion: only what came after it.
  const rv = events[1].object.metadata.resourceVersion;
  const resumed = await h(
    authed(`${BASE}/api/v1/pods?watch=true&resourceVersion=${rv}&timeoutSeconds=5`),
  );
  assert.deepEqual((await readEvents(resumed, 1)).map((e) => e.type), ["DELETED"]);
});

Deno.test("http watch with a selector reports objects entering and leaving it", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const res = await h(authed(`${BASE}/api/v1/pods?watch=1&labelSelector=app%3Dweb`));
  const reading = readEvents(res, 2);
  await call(h, "POST", "/api/v1/namespaces/default/pods", { ...POD, metadata: { name: "other" } });
  await call(h, "POST", "/api/v1/namespaces/default/pods", POD);
  await call(h, "PATCH", "/api/v1/namespaces/default/pods/web-1", {
    metadata: { labels: { app: "db" } },
  }, "application/merge-patch+json");
  assert.deepEqual((await reading).map((e) => `${e.type} ${e.object.metadata.name}`), [
    "ADDED web-1",
    "DELETED web-1",
  ]);
});

Deno.test("http watch ends when the client goes away", async () => {
  await using env = await startStateEnv();
  const ac = new AbortController();
  const res = await env.service.http(
    authed(`${BASE}/api/v1/pods?watch=1`, { signal: ac.signal }),
  );
  await waitUntil(() => env.service.httpStats.openWatches === 1, 2_000, "watch open");
  ac.abort();
  await waitUntil(() => env.service.httpStats.openWatches === 0, 2_000, "watch closed");
  await res.body?.cancel().catch(() => {});
});

Deno.test("http watch ends when the client goes away while current objects are still to be sent", async () => {
  await using env = await startStateEnv();
  for (const name of ["a", "b", "c"]) {
    await call(env.service.http, "POST", "/api/v1/namespaces/default/pods", {
      ...POD,
      metadata: { name },
    });
  }
  const ac = new AbortController();
  const res = await env.service.http(
    authed(`${BASE}/api/v1/pods?watch=1`, { signal: ac.signal }),
  );
  const reader = res.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /"ADDED"/);
  ac.abort();
  await waitUntil(() => env.service.httpStats.openWatches === 0, 2_000, "watch closed");
  await reader.cancel().catch(() => {});
});

Deno.test("http watch answers 410 for a compacted resourceVersion", async () => {
  await using env = await startStateEnv({ service: { watchMaxMsgs: 2 } });
  const h = env.service.http;
  for (const name of ["a", "b", "c", "d"]) {
    await call(h, "POST", "/api/v1/namespaces/default/pods", { ...POD, metadata: { name } });
  }
  const res = await call(h, "GET", "/api/v1/pods?watch=1&resourceVersion=2");
  assert.equal(res.status, 410);
  assert.equal(res.body.reason, "Expired");
});

Deno.test("http watch from a resourceVersion not reached yet answers 504 Too large resource version, as kube-apiserver", async () => {
  await using env = await startStateEnv();
  const clock = env.clock as ManualClock;
  let done = false;
  const answer = env.service.http(authed(`${BASE}/api/v1/pods?watch=1&resourceVersion=2147483648`))
    .finally(() => done = true);
  // The watch waits for the cache to reach the revision; let the clock run until it gives up.
  await waitUntil(async () => (await clock.advance(1_000), done), 5_000, "the answer");
  const res = await answer;
  assert.equal(res.status, 504);
  const body = await res.json();
  assert.equal(body.reason, "Timeout");
  assert.match(body.message, /^Timeout: Too large resource version: 2147483648, current: \d+$/);
  assert.deepEqual(body.details, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });
});

Deno.test("selectEvent turns selection changes into ADDED and DELETED", () => {
  const obj = (labels: Record<string, string>) =>
    ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "d", labels },
    }) as KubeObject;
  const web = (o: KubeObject) => o.metadata.labels?.app === "web";
  const type = (
    known: Set<string>,
    t: "ADDED" | "MODIFIED" | "DELETED",
    app: string,
    complete = true,
  ) => selectEvent({ type: t, object: obj({ app }) }, known, web, complete)?.type;

  const known = new Set<string>();
  assert.equal(type(known, "ADDED", "db"), undefined);
  assert.equal(type(known, "MODIFIED", "web"), "ADDED", "entering the selection");
  assert.equal(type(known, "MODIFIED", "web"), "MODIFIED");
  assert.equal(type(known, "MODIFIED", "db"), "DELETED", "leaving it");
  assert.equal(type(known, "DELETED", "db"), undefined);
  assert.equal(type(known, "ADDED", "web"), "ADDED");
  assert.equal(type(known, "DELETED", "web"), "DELETED");

  const fromRV = new Set<string>();
  assert.equal(type(fromRV, "MODIFIED", "web", false), "MODIFIED", "may have been known before");
  assert.equal(type(new Set(), "DELETED", "web", false), "DELETED");
});
