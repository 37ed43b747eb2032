import assert from "node:assert/strict";
import { startStateEnv, TEST_HTTP_TOKEN } from "../agents/state/_testing.ts";
import type { KubeObject } from "../shared/api/meta.ts";

const BASE = "http://127.0.0.1:8080";
const AUTH = { authorization: `Bearer ${TEST_HTTP_TOKEN}` };
const MIB = 1024 * 1024;

async function send(
  handler: (req: Request) => Promise<Response>,
  method: string,
  path: string,
  body?: BodyInit,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await handler(
    new Request(BASE + path, {
      method,
      body,
      headers: { ...AUTH, "content-type": "application/json", ...headers },
    }),
  );
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : { text } };
}

/** A body of `total` bytes in 64 KiB chunks, counting what the handler pulled. */
function countedBody(total: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

Deno.test("http answers 413 to a body over 3 MiB without reading the rest of it", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
    const { stream, pulled } = countedBody(64 * MIB);
    const path = method === "POST"
      ? "/api/v1/namespaces/default/pods"
      : "/api/v1/namespaces/default/pods/web-1";
    const type = method === "PATCH" ? "application/merge-patch+json" : "application/json";
    const res = await send(h, method, path, stream, { "content-type": type });
    assert.equal(res.status, 413, method);
    assert.deepEqual(
      { reason: res.body.reason, message: res.body.message, code: res.body.code },
      {
        reason: "RequestEntityTooLarge",
        message: "Request entity too large: limit is 3145728",
        code: 413,
      },
      method,
    );
    assert.ok(pulled() <= 3 * MIB + 128 * 1024, `${method} read ${pulled()} bytes`);
  }
  const declared = await send(h, "POST", "/api/v1/namespaces/default/pods", "{}", {
    "content-length": String(3 * MIB + 1),
  });
  assert.equal(declared.status, 413, "a declared length over the limit is refused at once");
  const exactly = " ".repeat(3 * MIB - 2) + "{}";
  const atLimit = await send(h, "DELETE", "/api/v1/namespaces/default/pods/web-1", exactly);
  assert.equal(atLimit.status, 404, "3 MiB is still read: the pod is simply not there");
});

/** A pod whose first container carries an unknown field nested so that the whole object is `depth` deep. */
function deepPod(name: string, depth: number): KubeObject {
  // pod → spec → containers → [0] → x: the field starts at depth 5 with its own first level.
  let x: unknown = 1;
  for (let i = 0; i < depth - 4; i++) x = { a: x };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "app", image: "nginx", x }] },
  };
}

Deno.test("http and NATS refuse JSON nested deeper than 256 with 400, never a stack overflow", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const pods = "/api/v1/namespaces/default/pods";
  const deep = await send(h, "POST", pods, JSON.stringify(deepPod("deep", 5000)));
  assert.equal(deep.status, 400);
  assert.equal(deep.body.reason, "BadRequest");
  assert.match(String(deep.body.message), /nested deeper than 256 levels/);

  assert.equal((await send(h, "POST", pods, JSON.stringify(deepPod("at-limit", 256)))).status, 201);
  assert.equal((await send(h, "POST", pods, JSON.stringify(deepPod("over", 257)))).status, 400);
  const put = await send(h, "PUT", `${pods}/at-limit`, JSON.stringify(deepPod("at-limit", 3000)));
  assert.equal(put.status, 400, "update");
  const status = await send(
    h,
    "PUT",
    `${pods}/at-limit/status`,
    JSON.stringify(deepPod("at-limit", 3000)),
  );
  assert.equal(status.status, 400, "status");
  const patch = await send(
    h,
    "PATCH",
    `${pods}/at-limit`,
    JSON.stringify({ metadata: deepPod("p", 3000).spec }),
    { "content-type": "application/merge-patch+json" },
  );
  assert.equal(patch.status, 400, "patch");

  await assert.rejects(
    env.client.create("pods", deepPod("over-nats", 5000)),
    (err: { code?: number }) => err.code === 400,
  );
  assert.equal((await send(h, "GET", `${pods}/at-limit`)).status, 200, "the service still answers");
});

Deno.test("http answers 422 naming metadata.annotations when they pass 256 KiB, on create and patch", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const pods = "/api/v1/namespaces/default/pods";
  const pod = (annotations: Record<string, string>) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "big", annotations },
      spec: { containers: [{ name: "app", image: "nginx" }] },
    });
  const over = await send(h, "POST", pods, pod({ note: "x".repeat(262144 - 3) + "x" }));
  assert.equal(over.status, 422);
  assert.equal(
    over.body.message,
    'Pod "big" is invalid: metadata.annotations: Too long: must have at most 262144 bytes',
  );
  assert.deepEqual((over.body.details as { causes: unknown[] }).causes, [{
    reason: "FieldValueTooLong",
    message: "Too long: must have at most 262144 bytes",
    field: "metadata.annotations",
  }]);
  assert.equal((await send(h, "POST", pods, pod({ note: "x".repeat(262144 - 4) }))).status, 201);
  const patched = await send(
    h,
    "PATCH",
    `${pods}/big`,
    JSON.stringify({ metadata: { annotations: { more: "y" } } }),
    { "content-type": "application/merge-patch+json" },
  );
  assert.equal(patched.status, 422, "a patch may not push them over either");
});

Deno.test("http answers 422 naming the field for an integer its Go type cannot hold", async () => {
  await using env = await startStateEnv();
  const res = await send(
    env.service.http,
    "POST",
    "/apis/apps/v1/namespaces/default/deployments",
    JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2147483648,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "a", image: "nginx" }] },
        },
      },
    }),
  );
  assert.equal(res.status, 422);
  assert.equal(
    res.body.message,
    'Deployment "web" is invalid: spec.replicas: Invalid value: 2147483648: must be an int32: ' +
      "from -2147483648 to 2147483647",
  );
});

Deno.test("http answers 400 or 404 for names no object can have, as kube-apiserver does, never 500", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const long = "a".repeat(254);
  const cases: [string, string, number, string][] = [
    ["GET", "/api/v1/namespaces/default/pods/%ZZ", 400, "BadRequest"],
    ["GET", "/api/v1/namespaces/%ZZ/pods", 400, "BadRequest"],
    ["PUT", "/api/v1/namespaces/default/pods/a%2Fb", 400, "BadRequest"],
    ["DELETE", "/api/v1/namespaces/default/pods/50%25", 400, "BadRequest"],
    ["GET", "/api/v1/namespaces/default/pods/*", 404, "NotFound"],
    ["GET", "/api/v1/namespaces/default/pods/%3E", 404, "NotFound"],
    ["GET", "/api/v1/namespaces/default/pods/a%20b", 404, "NotFound"],
    ["GET", `/api/v1/namespaces/default/pods/${long}`, 404, "NotFound"],
    ["DELETE", "/api/v1/namespaces/default/services/web.v1", 404, "NotFound"],
    ["PATCH", "/api/v1/nodes/*", 404, "NotFound"],
    ["PUT", "/api/v1/namespaces/default/pods/*/status", 404, "NotFound"],
    ["POST", "/api/v1/namespaces/default/pods/%3E/binding", 404, "NotFound"],
    ["GET", "/api/v1/namespaces/*/pods/web-1", 404, "NotFound"],
    ["GET", "/api/v1/namespaces/Default", 404, "NotFound"],
    ["POST", "/api/v1/namespaces/*/pods", 404, "NotFound"],
  ];
  const pod = JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1" },
    spec: { containers: [{ name: "a", image: "nginx" }] },
  });
  for (const [method, path, code, reason] of cases) {
    const body = method === "GET" || method === "DELETE"
      ? undefined
      : method === "PATCH"
      ? "{}"
      : path.endsWith("/binding")
      ? JSON.stringify({ target: { name: "node-1" } })
      : path.endsWith("/status")
      ? JSON.stringify({ apiVersion: "v1", kind: "Pod", status: {} })
      : pod;
    const type = method === "PATCH" ? "application/merge-patch+json" : "application/json";
    const res = await send(h, method, path, body, { "content-type": type });
    assert.deepEqual([res.status, res.body.reason], [code, reason], `${method} ${path}`);
  }
  const star = await send(h, "GET", "/api/v1/namespaces/default/pods/*");
  assert.equal(star.body.message, 'pods "*" not found');
  const slash = await send(h, "PUT", "/api/v1/namespaces/default/pods/a%2Fb", pod);
  assert.equal(slash.body.message, `Name parameter invalid: "a/b": may not contain '/'`);
  const list = await send(h, "GET", "/api/v1/namespaces/*/pods");
  assert.deepEqual([list.status, list.body.items], [200, []], "a list in no namespace is empty");
  await assert.rejects(
    env.client.get("pods", "default", ">"),
    (err: { code?: number }) => err.code === 404,
    "the NATS door too",
  );
});

Deno.test("a watch in a namespace that cannot exist sees nothing (`*` never reaches NATS as a wildcard)", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const res = await h(
    new Request(`${BASE}/api/v1/namespaces/*/pods?watch=1&timeoutSeconds=1`, { headers: AUTH }),
  );
  assert.equal(res.status, 200);
  await env.client.create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "elsewhere", namespace: "default" },
    spec: { containers: [{ name: "a", image: "nginx" }] },
  });
  assert.equal(await res.text(), "", "no event from another namespace until the watch times out");
});

Deno.test("http refuses an object larger than one NATS message can carry with 413, on create and on status", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const pods = "/api/v1/namespaces/default/pods";
  const pod = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "a", image: "nginx" }], ...extra },
  });
  const big = await send(
    h,
    "POST",
    pods,
    JSON.stringify(pod("big", { note: "x".repeat(1_200_000) })),
  );
  assert.equal(big.status, 413);
  assert.equal(big.body.reason, "RequestEntityTooLarge");
  assert.match(String(big.body.message), /^Request entity too large: pods "big" is \d+ bytes, /);

  assert.equal((await send(h, "POST", pods, JSON.stringify(pod("small")))).status, 201);
  const status = await send(
    h,
    "PUT",
    `${pods}/small/status`,
    JSON.stringify({ status: { message: "y".repeat(1_200_000) } }),
  );
  assert.equal(status.status, 413, "a status update may not outgrow it either");
  await assert.rejects(
    env.client.create("pods", pod("big-nats", { note: "x".repeat(1_000_000) })),
    (err: { code?: number }) => err.code === 413,
  );
  assert.equal((await send(h, "GET", `${pods}/small`)).status, 200);
});

Deno.test("http refuses a pod of 2,500 containers (it broke a node) with 422 naming the limit", async () => {
  await using env = await startStateEnv();
  const containers = Array.from({ length: 2500 }, (_, i) => ({ name: `c${i}`, image: "busybox" }));
  const res = await send(
    env.service.http,
    "POST",
    "/api/v1/namespaces/default/pods",
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "wide" },
      spec: { containers },
    }),
  );
  assert.equal(res.status, 422);
  assert.equal(
    res.body.message,
    'Pod "wide" is invalid: spec.containers: Too many: 2500: must have at most 100 items',
  );
});

/** Creates `n` pods named p-000, p-001, … with `pad` bytes of annotation each. */
async function createPods(
  env: { client: { create(r: string, o: KubeObject): Promise<unknown> } },
  n: number,
  pad = 0,
) {
  for (let i = 0; i < n; i++) {
    await env.client.create("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `p-${String(i).padStart(3, "0")}`,
        namespace: "default",
        annotations: { pad: "x".repeat(pad) },
      },
      spec: { containers: [{ name: "a", image: "nginx" }] },
    });
  }
}

Deno.test("http honours limit and continue as kube-apiserver does, over the NATS door's pager", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  await createPods(env, 5);
  const names = (body: Record<string, unknown>) =>
    (body.items as KubeObject[]).map((o) => o.metadata.name);
  const first = await send(h, "GET", "/api/v1/namespaces/default/pods?limit=2");
  assert.equal(first.status, 200);
  const meta = first.body.metadata as Record<string, unknown>;
  assert.deepEqual(names(first.body), ["p-000", "p-001"]);
  assert.equal(meta.remainingItemCount, 3);
  assert.equal(typeof meta.continue, "string");
  assert.equal(first.body.watchSeq, undefined, "no lab-internal fields over HTTP");

  await env.client.create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p-later", namespace: "default" },
    spec: { containers: [{ name: "a", image: "nginx" }] },
  });
  const second = await send(
    h,
    "GET",
    `/api/v1/namespaces/default/pods?limit=2&continue=${encodeURIComponent(String(meta.continue))}`,
  );
  const meta2 = second.body.metadata as Record<string, unknown>;
  assert.deepEqual(names(second.body), ["p-002", "p-003"]);
  assert.equal(meta2.resourceVersion, meta.resourceVersion, "every page is the same list");
  const last = await send(
    h,
    "GET",
    `/api/v1/namespaces/default/pods?limit=2&continue=${
      encodeURIComponent(String(meta2.continue))
    }`,
  );
  assert.deepEqual(names(last.body), ["p-004"], "the list as it was: p-later came after");
  assert.equal((last.body.metadata as Record<string, unknown>).continue, undefined);

  assert.equal(names((await send(h, "GET", "/api/v1/pods?limit=0")).body).length, 6, "0: no limit");
  for (const bad of ["abc", "-1", "1.5"]) {
    const res = await send(h, "GET", `/api/v1/pods?limit=${bad}`);
    assert.deepEqual([res.status, res.body.reason], [400, "BadRequest"], bad);
  }
  const gone = await send(h, "GET", "/api/v1/pods?limit=1&continue=not-a-token");
  assert.deepEqual([gone.status, gone.body.reason], [410, "Expired"]);
});

Deno.test("http streams a list without a limit in pieces rather than building it whole", async () => {
  await using env = await startStateEnv();
  await createPods(env, 40, 20_000);
  const res = await env.service.http(
    new Request(`${BASE}/api/v1/namespaces/default/pods`, { headers: AUTH }),
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body!) chunks.push(chunk);
  const total = chunks.reduce((n, c) => n + c.length, 0);
  assert.ok(total > 800_000);
  assert.ok(Math.max(...chunks.map((c) => c.length)) < 128 * 1024, "no piece holds much of it");
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  const list = JSON.parse(text);
  const expected = await env.client.list("pods", { namespace: "default" });
  assert.deepEqual(
    { kind: list.kind, apiVersion: list.apiVersion, items: list.items },
    { kind: "PodList", apiVersion: "v1", items: expected.items },
  );
  assert.equal(list.metadata.resourceVersion, expected.resourceVersion);
});

Deno.test("grace periods longer than Go's time.Duration holds are refused, not a 500", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const pods = "/api/v1/namespaces/default/pods";
  const pod = (name: string, grace: number) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { containers: [{ name: "a", image: "nginx" }], terminationGracePeriodSeconds: grace },
    });
  const tooLong = await send(h, "POST", pods, pod("forever", 9223372037));
  assert.equal(tooLong.status, 422);
  assert.match(
    String(tooLong.body.message),
    /spec\.terminationGracePeriodSeconds: Invalid value: 9223372037/,
  );

  assert.equal((await send(h, "POST", pods, pod("longest", 9223372036))).status, 201);
  await env.client.bind("default", "longest", "node-1");
  const refused = await send(h, "DELETE", `${pods}/longest?gracePeriodSeconds=9007199254740991`);
  assert.deepEqual([refused.status, refused.body.reason], [400, "BadRequest"]);
  const graceful = await send(h, "DELETE", `${pods}/longest`);
  assert.equal(graceful.status, 202, "the pod's own grace period, at the limit, still works");
  assert.match(
    String((graceful.body.metadata as Record<string, unknown>).deletionTimestamp),
    /^2318-/,
  );
});
