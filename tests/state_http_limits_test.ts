import assert from "node:assert/strict";
import { startStateEnv, TEST_HTTP_TOKEN } from "../agents/state/_testing.ts";

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
