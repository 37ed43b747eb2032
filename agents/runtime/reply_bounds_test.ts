import assert from "node:assert/strict";
import { jsonBytes } from "../../shared/bus/payload.ts";
import { boundReply, boundRequest } from "./reply_bounds.ts";

Deno.test("ContainerLogs asks the backend for no more lines than one message carries", () => {
  const table: [number | undefined, number][] = [
    [undefined, 1000],
    [500, 500],
    [5000, 1000],
  ];
  for (const [asked, sent] of table) {
    const req = { containerId: "c1", ...(asked ? { limitBytes: asked } : {}) };
    assert.equal(boundRequest("ContainerLogs", req, 1000).limitBytes, sent, String(asked));
  }
  const other = { containerId: "c1", timeout: 0 };
  assert.equal(boundRequest("StopContainer", other, 1000), other);
});

Deno.test("ExecSync output too large for a message is cut to fit, with a note; the rest is kept", () => {
  const small = { stdout: "hi\n", stderr: "", exitCode: 0 };
  assert.deepEqual(boundReply("ExecSync", small, 1000), small);
  const table: [string, string, string][] = [
    ["binary stdout", "\u0000".repeat(100_000), ""],
    ["both streams", "o".repeat(100_000), "e".repeat(100_000)],
    ["multi-byte stderr", "", "€".repeat(100_000)],
  ];
  for (const [name, stdout, stderr] of table) {
    const reply = boundReply("ExecSync", { stdout, stderr, exitCode: 3 }, 10_000);
    assert.ok(jsonBytes(reply) <= 10_000, `${name}: ${jsonBytes(reply)} bytes`);
    assert.equal(reply.exitCode, 3);
    for (const [got, was] of [[reply.stdout, stdout], [reply.stderr, stderr]]) {
      if (jsonBytes(was) <= 4968) assert.equal(got, was, name);
      else assert.match(got, /\[… [\d,]+ bytes cut to fit a message\]$/, name);
    }
  }
});
