import assert from "node:assert/strict";
import { ApiError } from "../../shared/api/errors.ts";
import { ManualClock } from "../../shared/clock.ts";
import { fakeExecSync } from "./fake_exec.ts";
import { FAKE_PROBE_FAIL } from "./fake_script.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const target = {
  name: "app",
  startedAt: new Date(T0).toISOString(),
  annotations: { [FAKE_PROBE_FAIL]: "app=liveness@10" },
};

Deno.test("the fake shell runs true, false, exit and echo", async () => {
  const clock = new ManualClock(T0);
  const run = (cmd: string[]) => fakeExecSync(target, cmd, { clock });
  assert.equal((await run(["true"])).exitCode, 0);
  assert.equal((await run(["/bin/false"])).exitCode, 1);
  assert.equal((await run(["sh", "-c", "exit 3"])).exitCode, 3);
  assert.equal((await run(["echo", "hi"])).stdout, "hi\n");
});

Deno.test("sleep takes the clock's time and fails past the exec timeout", async () => {
  const clock = new ManualClock(T0);
  let done = false;
  const sleeping = fakeExecSync(target, ["sleep", "3"], { clock }).then(() => done = true);
  await clock.advance(2_999);
  assert.equal(done, false);
  await clock.advance(1);
  await sleeping;
  const late = fakeExecSync(target, ["sh", "-c", "sleep 10"], { clock, timeoutSeconds: 1 });
  await clock.advance(1_000);
  await assert.rejects(late, (err) => err instanceof ApiError && err.reason === "Timeout");
});

Deno.test("kubelab-handler answers probes from the script, in the kubelet's words", async () => {
  const clock = new ManualClock(T0);
  const ask = (...words: string[]) =>
    fakeExecSync(target, ["kubelab-handler", ...words], { clock });
  assert.equal((await ask("liveness", "httpGet", "http://10.244.1.5:80/")).exitCode, 0);
  await clock.advance(10_000);
  assert.deepEqual(await ask("liveness", "httpGet", "http://10.244.1.5:80/"), {
    stdout: "HTTP probe failed with statuscode: 500",
    stderr: "",
    exitCode: 1,
  });
  assert.deepEqual(
    (await ask("liveness", "tcpSocket", "10.244.1.5:80")).stdout,
    "dial tcp 10.244.1.5:80: connect: connection refused",
  );
  assert.equal((await ask("readiness", "exec", "cat", "/tmp/ready")).exitCode, 0);
  assert.equal((await ask("readiness", "exec", "false")).exitCode, 1, "an unscripted exec runs");
  assert.equal((await ask("postStart", "httpGet", "http://10.244.1.5:80/")).exitCode, 0);
});

Deno.test("a sleep ends with 137 when its container exits", async () => {
  const clock = new ManualClock(T0);
  const exited = new AbortController();
  const sleeping = fakeExecSync(target, ["sleep", "30"], { clock, signal: exited.signal });
  await clock.advance(1_000);
  exited.abort();
  assert.equal((await sleeping).exitCode, 137);
});
