import assert from "node:assert/strict";
import { startStateEnv, TEST_HTTP_TOKEN } from "../agents/state/_testing.ts";

const POD = JSON.stringify({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "csrf" },
  spec: { containers: [{ name: "app", image: "nginx" }] },
});

const bearer = { authorization: `Bearer ${TEST_HTTP_TOKEN}` };

async function send(
  handler: (req: Request) => Promise<Response>,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await handler(new Request(url, init));
  const text = await res.text();
  return {
    status: res.status,
    body: text.startsWith("{") ? JSON.parse(text) : { text },
    headers: res.headers,
  };
}

Deno.test("a cross-site text/plain POST (the issue's attack) creates nothing", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  // What a page on another site makes the browser send: a "simple" request, no pre-flight, no token.
  const attack = await send(h, "http://127.0.0.1:8080/api/v1/namespaces/default/pods", {
    method: "POST",
    headers: { origin: "http://evil.example", "content-type": "text/plain;charset=UTF-8" },
    body: POD,
  });
  assert.equal(attack.status, 403);
  assert.equal(attack.body.reason, "Forbidden");
  const got = await send(h, "http://127.0.0.1:8080/api/v1/namespaces/default/pods/csrf", {
    headers: bearer,
  });
  assert.equal(got.status, 404, "no pod was created");
});

Deno.test("http answers 401 Unauthorized as kube-apiserver does, except on the open paths", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  for (const auth of [undefined, "Bearer wrong", `Basic ${btoa("admin:admin")}`, "Bearer"]) {
    const res = await send(h, "http://127.0.0.1:8080/api/v1/pods", {
      headers: auth ? { authorization: auth } : {},
    });
    assert.equal(res.status, 401, String(auth));
    assert.deepEqual(res.body, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
  }
  for (const path of ["/healthz", "/livez", "/readyz", "/version", "/healthz/"]) {
    assert.equal((await send(h, `http://127.0.0.1:8080${path}`)).status, 200, path);
  }
  const ok = await send(h, "http://127.0.0.1:8080/api/v1/pods", {
    headers: { authorization: `bearer ${TEST_HTTP_TOKEN}` },
  });
  assert.equal(ok.status, 200, "the scheme is case-insensitive");
});

Deno.test("http without a configured token serves only the open paths and says how to set one", async () => {
  await using env = await startStateEnv({ service: { http: { tokens: [] } } });
  const h = env.service.http;
  assert.equal((await send(h, "http://127.0.0.1:8080/readyz")).status, 200);
  const res = await send(h, "http://127.0.0.1:8080/api/v1/pods", { headers: bearer });
  assert.equal(res.status, 401);
  assert.equal(res.body.reason, "Unauthorized");
  assert.match(String(res.body.message), /KUBELAB_HTTP_TOKEN_FILE/);
});

Deno.test("http refuses hosts that are not IPs, localhost or allowed names (DNS rebinding)", async () => {
  await using env = await startStateEnv({
    service: { http: { tokens: [TEST_HTTP_TOKEN], allowedHosts: ["state"] } },
  });
  const h = env.service.http;
  for (
    const host of [
      "127.0.0.1:8080",
      "10.1.2.3",
      "[::1]:8080",
      "localhost:8080",
      "LOCALHOST",
      "state:8080",
    ]
  ) {
    assert.equal(
      (await send(h, `http://${host}/api/v1/pods`, { headers: bearer })).status,
      200,
      host,
    );
  }
  for (const host of ["evil.example:8080", "state.evil.example", "localhost.evil.example"]) {
    const res = await send(h, `http://${host}/api/v1/pods`, { headers: bearer });
    assert.equal(res.status, 403, host);
    assert.equal(res.body.reason, "Forbidden");
    assert.match(String(res.body.message), new RegExp(`host "${host.split(":")[0]}"`));
    const open = await send(h, `http://${host}/healthz`);
    assert.equal(open.status, 403, `${host} /healthz: the host check comes first`);
  }
});

Deno.test("http refuses cross-origin requests and CORS pre-flights, and never allows CORS", async () => {
  await using env = await startStateEnv();
  const h = env.service.http;
  const url = "http://127.0.0.1:8080/api/v1/pods";
  const same = await send(h, url, { headers: { ...bearer, origin: "http://127.0.0.1:8080" } });
  assert.equal(same.status, 200, "same host and port");
  for (const origin of ["http://127.0.0.1:9999", "http://localhost:8080", "null"]) {
    const res = await send(h, url, { headers: { ...bearer, origin } });
    assert.equal(res.status, 403, origin);
    assert.equal(res.body.reason, "Forbidden");
  }
  const preflight = await send(h, url, {
    method: "OPTIONS",
    headers: {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });
  assert.equal(preflight.status, 403);
  const responses = [same, preflight];
  for (const res of responses) {
    const cors = [...res.headers.keys()].filter((k) => k.startsWith("access-control-allow-"));
    assert.deepEqual(cors, []);
  }
});

Deno.test("http refuses request bodies that are not JSON (415), as kube-apiserver does", async () => {
  await using env = await startStateEnv();
  const res = await send(env.service.http, "http://127.0.0.1:8080/api/v1/namespaces/default/pods", {
    method: "POST",
    headers: { ...bearer, "content-type": "text/plain" },
    body: POD,
  });
  assert.equal(res.status, 415);
  assert.equal(res.body.reason, "UnsupportedMediaType");
});
