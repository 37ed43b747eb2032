/**
 * A seeded fuzz of the HTTP door: random methods, paths, queries, headers and bodies against the
 * in-process handler, over a few real objects so that requests reach deep into the API. No answer may
 * be a 5xx, and the service must still answer afterwards. A failure names the seed and the case, so it
 * can be replayed (`FUZZ_SEED=… deno test -A tests/state_http_fuzz_test.ts`). A resourceVersion the
 * cache has not reached is left out: kube-apiserver itself waits and then answers it with 504 "Too large
 * resource version" (state_http_test.ts has that case).
 */
import assert from "node:assert/strict";
import { startStateEnv, TEST_HTTP_TOKEN } from "../agents/state/_testing.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261204);
const CASES = 400;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Random, p: number) => r() < p;

const NAMES = [
  "web-1",
  "node-1",
  "web",
  "default",
  "kube-system",
  "kube-node-lease",
  "nope",
  "a.b",
  "UPPER",
  "*",
  ">",
  "%2A",
  "%3E",
  "%ZZ",
  "%",
  "%2F",
  "a%2Fb",
  "%25",
  "%00",
  "..",
  ".",
  "%2E%2E",
  "-x",
  "x-",
  "a".repeat(300),
  "%E2%82",
  "%F0%9F%92%A9",
  "é",
  "a b",
  "a%20b",
  "",
  "0",
  "_",
];
const RESOURCES = [
  "pods",
  "nodes",
  "services",
  "namespaces",
  "endpoints",
  "events",
  "leases",
  "deployments",
  "replicasets",
  "widgets",
  "",
];
const SUBRESOURCES = ["status", "binding", "finalize", "log", "", "x"];
const NUMBERS = [
  "0",
  "1",
  "-1",
  "5",
  "1.5",
  "abc",
  "",
  "2147483648",
  "9007199254740991",
  "9007199254740993",
  "1e400",
  "NaN",
  "99999999999999999999",
  "0x10",
  " 3",
];
/** resourceVersions at or below the cache's, or not numbers at all (see the module doc). */
const REVISIONS = ["0", "1", "2", "-1", "1.5", "abc", "", "1e400", "9007199254740993", " 3"];

function randomPath(r: Random): string {
  const ns = pick(r, NAMES);
  const name = pick(r, NAMES);
  const res = pick(r, RESOURCES);
  const sub = pick(r, SUBRESOURCES);
  const group = pick(r, [
    "/api/v1",
    "/apis/apps/v1",
    "/apis/coordination.k8s.io/v1",
    "/apis/x/y",
    "/api",
  ]);
  switch (Math.floor(r() * 6)) {
    case 0:
      return `${group}/namespaces/${ns}/${res}`;
    case 1:
      return `${group}/namespaces/${ns}/${res}/${name}${sub ? `/${sub}` : ""}`;
    case 2:
      return `${group}/${res}/${name}${sub ? `/${sub}` : ""}`;
    case 3:
      return `${group}/${res}`;
    case 4:
      return pick(r, [
        "/",
        "/healthz",
        "/livez",
        "/version",
        "/api",
        "/apis",
        "/apis/apps",
        "//",
        "/api/v1/",
      ]);
    default:
      return "/" +
        Array.from({ length: 1 + Math.floor(r() * 7) }, () => pick(r, [...NAMES, ...RESOURCES]))
          .join("/");
  }
}

function randomQuery(r: Random): string {
  const params: string[] = [];
  const add = (k: string, v: string) => params.push(`${k}=${encodeURIComponent(v)}`);
  if (chance(r, 0.25)) add("watch", pick(r, ["1", "true", "0", "yes"]));
  if (chance(r, 0.2)) {
    add("labelSelector", pick(r, ["app=web", "app in (a,b", "!x", "a!=", "x,,y", "a=b=c"]));
  }
  if (chance(r, 0.2)) {
    add("fieldSelector", pick(r, ["spec.nodeName=node-1", "metadata.name==", "x", "a=b,"]));
  }
  if (chance(r, 0.2)) add("limit", pick(r, NUMBERS));
  if (chance(r, 0.1)) add("continue", pick(r, ["", "x", "00000000-0000-0000-0000-000000000000"]));
  if (chance(r, 0.2)) add("resourceVersion", pick(r, REVISIONS));
  if (chance(r, 0.2)) add("gracePeriodSeconds", pick(r, NUMBERS));
  if (chance(r, 0.1)) {
    add("propagationPolicy", pick(r, ["Orphan", "Foreground", "Background", "x"]));
  }
  if (chance(r, 0.1)) add("timeoutSeconds", pick(r, NUMBERS));
  if (chance(r, 0.1)) add("dryRun", pick(r, ["All", "x"]));
  return params.length ? `?${params.join("&")}` : "";
}

/** A JSON value of random shape: scalars, deep nests, huge numbers, objects shaped like ours. */
function randomValue(r: Random, depth = 0): unknown {
  switch (Math.floor(r() * (depth > 3 ? 4 : 9))) {
    case 0:
      return pick(r, [null, true, false, "", "x", "é", "\u0000"]);
    case 1:
      return pick(r, [0, -1, 1.5, 2147483648, -2147483649, 9007199254740993, 1e308, -0]);
    case 2:
      return pick(r, ["web-1", "node-1", "*", ">", "a".repeat(70)]);
    case 3: {
      let v: unknown = 1;
      for (let i = 0, n = pick(r, [10, 255, 300, 5000]); i < n; i++) v = [v];
      return v;
    }
    case 4:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const keys = [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "status",
        "name",
        "namespace",
        "labels",
        "annotations",
        "containers",
        "image",
        "replicas",
        "ports",
        "port",
        "nodeName",
        "target",
        "gracePeriodSeconds",
        "preconditions",
        "resourceVersion",
        "uid",
        "finalizers",
        "selector",
        "template",
        "conditions",
        "phase",
        "__proto__",
        "constructor",
      ];
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 5); i > 0; i--) out[pick(r, keys)] = randomValue(r, depth + 1);
      return out;
    }
  }
}

/** An object that is nearly valid, with one part broken, so requests get past the first checks. */
function nearlyValid(r: Random): unknown {
  const pod: Record<string, unknown> = {
    apiVersion: pick(r, ["v1", "apps/v1", "x"]),
    kind: pick(r, ["Pod", "Node", "Service", "Deployment", "Binding", "Pod"]),
    metadata: { name: pick(r, NAMES), namespace: chance(r, 0.3) ? pick(r, NAMES) : undefined },
    spec: {
      containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 80 }] }],
      nodeName: chance(r, 0.1) ? "node-1" : undefined,
    },
    target: { name: "node-1" },
  };
  const path = pick(r, [
    "metadata",
    "spec",
    "status",
    "kind",
    "metadata.labels",
    "spec.containers",
  ]);
  const [a, b] = path.split(".");
  if (b) (pod[a] as Record<string, unknown>)[b] = randomValue(r);
  else pod[a] = randomValue(r);
  return pod;
}

function randomBody(r: Random): BodyInit | undefined {
  switch (Math.floor(r() * 7)) {
    case 0:
      return undefined;
    case 1:
      return pick(r, ["", "{", "[]", "null", "{}", "\u0000", '{"a":', "1e999", '"x"']);
    case 2:
      return JSON.stringify(randomValue(r));
    default:
      return JSON.stringify(nearlyValid(r));
  }
}

function randomHeaders(r: Random): Record<string, string> {
  const h: Record<string, string> = {};
  if (!chance(r, 0.1)) {
    h.authorization = chance(r, 0.9)
      ? `Bearer ${TEST_HTTP_TOKEN}`
      : pick(r, ["Bearer", "Bearer x", "Basic x", "", "bearer  " + TEST_HTTP_TOKEN]);
  }
  if (!chance(r, 0.2)) {
    h["content-type"] = pick(r, [
      "application/json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/json-patch+json",
      "text/plain",
      "application/json; charset=utf-8",
      "",
    ]);
  }
  if (chance(r, 0.05)) h.origin = pick(r, ["http://127.0.0.1:8080", "http://evil.example", "null"]);
  if (chance(r, 0.05)) h["access-control-request-method"] = "PUT";
  return h;
}

Deno.test(`http answers no random request with a 5xx, and keeps answering (seed ${SEED})`, async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const c = env.client;
  await c.create("nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } });
  await c.create("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default", labels: { app: "web" } },
    spec: { containers: [{ name: "app", image: "nginx" }] },
  });
  await c.bind("default", "web-1", "node-1");
  await c.create("services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
  });
  await c.create("deployments", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "nginx" }] },
      },
    },
  });

  const r = prng(SEED);
  const seen = new Map<number, number>();
  for (let i = 0; i < CASES; i++) {
    const method = pick(r, [
      "GET",
      "GET",
      "POST",
      "PUT",
      "PATCH",
      "DELETE",
      "OPTIONS",
      "HEAD",
      "FOO",
    ]);
    const host = chance(r, 0.95)
      ? "127.0.0.1:8080"
      : pick(r, ["evil.example", "localhost", "[::1]"]);
    const url = `http://${host}${randomPath(r)}${randomQuery(r)}`;
    const headers = randomHeaders(r);
    const body = method === "GET" || method === "HEAD" ? undefined : randomBody(r);
    const what = `seed ${SEED} case ${i}: ${method} ${url} ${JSON.stringify(headers)} ` +
      `${String(body ?? "").slice(0, 300)}`;
    const res = await h(new Request(url, { method, headers, body }));
    seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    const text = res.headers.get("cache-control") === "no-cache"
      ? (await res.body?.cancel(), "(a watch)")
      : await res.text();
    assert.ok(res.status < 500, `${what}\n→ ${res.status} ${text.slice(0, 500)}`);
  }
  // The fuzz reached past the front checks: not everything was refused.
  assert.ok((seen.get(200) ?? 0) + (seen.get(201) ?? 0) > 20, JSON.stringify([...seen]));

  const auth = { authorization: `Bearer ${TEST_HTTP_TOKEN}` };
  assert.equal((await h(new Request("http://127.0.0.1:8080/readyz"))).status, 200);
  const list = await h(new Request("http://127.0.0.1:8080/api/v1/pods", { headers: auth }));
  assert.equal(list.status, 200);
  await list.body?.cancel();
  assert.ok((await c.list("namespaces")).items.length >= 3, "the NATS door too");
});
