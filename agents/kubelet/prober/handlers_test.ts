import assert from "node:assert/strict";
import type { Container, Pod } from "../../../shared/api/core.ts";
import { apiError } from "../../../shared/api/errors.ts";
import { ManualClock } from "../../../shared/clock.ts";
import type { CriParsedRequest, CriReply } from "../../../shared/cri/api.ts";
import { HandlerRunner, resolvePort } from "./handlers.ts";

const container: Container = {
  name: "app",
  image: "nginx:1.27",
  ports: [{ name: "http", containerPort: 8080 }],
};
const pod: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "default", uid: "u1" },
  spec: { containers: [container] },
};
const target = { pod, container, containerId: "c1", podIP: "10.244.1.5" };

/** A runner over a stub ExecSync that answers with `reply` (or never, or by throwing). */
function runner(reply: (cmd: string[]) => Promise<CriReply<"ExecSync">>, viaRuntime = false) {
  const clock = new ManualClock();
  const calls: CriParsedRequest<"ExecSync">[] = [];
  const handlers = new HandlerRunner({
    cri: {
      execSync: (req) => {
        calls.push(req);
        return reply(req.cmd);
      },
    },
    clock,
    viaRuntime,
  });
  return { clock, calls, handlers };
}

const exit = (exitCode: number, stdout = "") => () =>
  Promise.resolve({ stdout, stderr: "", exitCode });

Deno.test("resolvePort: a number, a container port's name, or a number as a string", () => {
  assert.equal(resolvePort(80, container), 80);
  assert.equal(resolvePort("http", container), 8080);
  assert.equal(resolvePort("9090", container), 9090);
  assert.throws(() => resolvePort("metrics", container), /parsing "metrics": invalid syntax/);
  assert.throws(() => resolvePort(70000, container), /invalid port number: 70000/);
});

Deno.test("an exec probe succeeds on exit 0 and fails with the command's output otherwise", async () => {
  const ok = runner(exit(0));
  assert.deepEqual(
    await ok.handlers.probe("liveness", { exec: { command: ["true"] } }, target, 1),
    { result: "Success", output: "" },
  );
  assert.deepEqual(ok.calls[0], { containerId: "c1", cmd: ["true"], timeout: 1 });
  const bad = runner(exit(1, "not healthy\n"));
  assert.deepEqual(
    await bad.handlers.probe("liveness", { exec: { command: ["cat", "/tmp/healthy"] } }, target, 1),
    { result: "Failure", output: "not healthy\n" },
  );
});

Deno.test("an exec probe that outlives timeoutSeconds fails as timed out", async () => {
  const h = runner(() => new Promise(() => {}));
  const probing = h.handlers.probe("readiness", { exec: { command: ["sleep", "5"] } }, target, 2);
  await h.clock.advance(2_000);
  assert.deepEqual(await probing, { result: "Failure", output: 'command "sleep 5" timed out' });
});

Deno.test("a probe that cannot run at all is a prober error", async () => {
  const h = runner(() => Promise.reject(apiError("BadRequest", "container is not running")));
  assert.deepEqual(
    await h.handlers.probe("liveness", { exec: { command: ["true"] } }, target, 1),
    { result: "Error", error: "container is not running" },
  );
  assert.deepEqual(
    await h.handlers.probe("liveness", { httpGet: { port: "metrics" } }, target, 1),
    { result: "Error", error: 'strconv.Atoi: parsing "metrics": invalid syntax' },
  );
});

Deno.test("with the fake runtime every handler is asked of the runtime as kubelab-handler", async () => {
  const h = runner(exit(1, "HTTP probe failed with statuscode: 500"), true);
  const out = await h.handlers.probe(
    "liveness",
    { httpGet: { port: "http", path: "/healthz", scheme: "HTTP" } },
    target,
    1,
  );
  assert.deepEqual(out, { result: "Failure", output: "HTTP probe failed with statuscode: 500" });
  await h.handlers.probe("readiness", { tcpSocket: { port: 80 } }, target, 1);
  await h.handlers.probe("startup", { exec: { command: ["cat", "/ready"] } }, target, 1);
  assert.deepEqual(h.calls.map((c) => c.cmd), [
    ["kubelab-handler", "liveness", "httpGet", "http://10.244.1.5:8080/healthz"],
    ["kubelab-handler", "readiness", "tcpSocket", "10.244.1.5:80"],
    ["kubelab-handler", "startup", "exec", "cat", "/ready"],
  ]);
});

Deno.test("a failed exec hook is described as the kubelet's handler runner does", async () => {
  const h = runner(exit(1));
  const failure = await h.handlers.hook(
    "postStart",
    { exec: { command: ["sh", "-c", "exit 1"] } },
    target,
  );
  assert.equal(
    failure,
    'Exec lifecycle hook ([sh -c exit 1]) for Container "app" in Pod "web_default(u1)" failed - ' +
      "error: command 'sh -c exit 1' exited with 1: , message: \"\"",
  );
  assert.equal(h.calls[0].timeout, 0, "hooks have no timeout of their own");
  assert.equal(
    await runner(exit(0)).handlers.hook("preStop", { exec: { command: ["true"] } }, target),
    undefined,
  );
});

Deno.test("a sleep hook waits on the clock and can be cut short", async () => {
  const h = runner(exit(0));
  let done = false;
  const hook = h.handlers.hook("preStop", { sleep: { seconds: 5 } }, target).then(() =>
    done = true
  );
  await h.clock.advance(4_000);
  assert.equal(done, false);
  await h.clock.advance(1_000);
  await hook;
  const cut = new AbortController();
  const short = h.handlers.hook("preStop", { sleep: { seconds: 30 } }, target, cut.signal);
  cut.abort();
  assert.equal(await short, undefined);
});

Deno.test("probes and hooks never dial a host outside the lab: they fail with no route in the lab", async () => {
  // 127.0.0.9 stands in for an outside address: the test network refuses it, and a listener there
  // would see any connection the guard let through.
  const listener = Deno.listen({ hostname: "127.0.0.9", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  let accepted = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      accepted++;
      conn.close();
    }
  })();
  const handlers = new HandlerRunner({
    cri: { execSync: () => Promise.reject(new Error("no exec expected")) },
    clock: new ManualClock(),
    network: {
      refusal: (host) => host === "127.0.0.9" ? "is not on an interface of the lab" : undefined,
    },
  });
  const outside = { ...target, podIP: "127.0.0.9" };
  const why = `no route in the lab: 127.0.0.9 is not on an interface of the lab`;
  assert.deepEqual(
    await handlers.probe("readiness", { httpGet: { port, path: "/healthz" } }, outside, 1),
    {
      result: "Failure",
      output: `Get "http://127.0.0.9:${port}/healthz": dial tcp 127.0.0.9:${port}: ${why}`,
    },
  );
  assert.deepEqual(
    await handlers.probe("liveness", { tcpSocket: { port } }, outside, 1),
    { result: "Failure", output: `dial tcp 127.0.0.9:${port}: ${why}` },
  );
  const hook = await handlers.hook("postStart", { httpGet: { port, path: "/" } }, outside);
  assert.match(
    hook ?? "",
    /HTTP lifecycle hook \(\/\) .* failed - error: Get "http:\/\/127\.0\.0\.9:\d+\/": dial tcp .*no route in the lab/,
  );
  listener.close();
  await accepting.catch(() => {});
  assert.equal(accepted, 0, "nothing was dialled");
});
