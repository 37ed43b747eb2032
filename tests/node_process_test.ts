/**
 * A node with the process runtime, end to end through the CLI: a real nats-server, the state service,
 * the runtime agent's server with the process backend and a kubelet, all in this process, on the fast
 * timing profile. `kubelab logs`, `logs -f`, `logs --previous`, `exec` and `top` work on running pods
 * whose containers are real processes.
 */
import assert from "node:assert/strict";
import type { Pod } from "../shared/api/core.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { EventRecorder } from "../shared/client/recorder.ts";
import { RealClock } from "../shared/clock.ts";
import { CriClient } from "../shared/cri/client.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { FAST_PROFILE } from "../shared/timing.ts";
import { StateService } from "../agents/state/service.ts";
import { ProcessRuntime } from "../agents/runtime/process.ts";
import { RuntimeServer } from "../agents/runtime/server.ts";
import { Kubelet } from "../agents/kubelet/kubelet.ts";
import { runCli } from "../cli/main.ts";

const NODE = "node-1";
/** A pod CIDR of its own, so that no lab on this host has these IPs on `lo`. */
const POD_CIDR = "10.244.203.0/24";

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/** nats-server, state service, process runtime served on NATS, kubelet. */
async function startNode() {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-process-node-" });
  const server = await startNatsServer({ storeDir: `${dir}/nats` });
  const lines: string[] = [];
  const log = new Logger({ level: "info", sink: (l) => lines.push(l) });
  const clock = new RealClock();
  const connect = (name: string) => Bus.connect({ servers: server.url, name, log });
  const stateBus = await connect("state");
  const state = await StateService.start({ bus: stateBus, clock, log });
  const runtimeBus = await connect("runtime");
  const backend = new ProcessRuntime({ clock, log, podCIDR: POD_CIDR, dataDir: `${dir}/runtime` });
  const runtime = new RuntimeServer({ bus: runtimeBus, nodeName: NODE, backend, clock, log });
  await runtime.start();
  const kubeletBus = await connect("kubelet");
  const kclient = new ApiClient(kubeletBus, { timeoutMs: 5_000 });
  const kubelet = new Kubelet({
    client: kclient,
    cri: new CriClient(NODE, kubeletBus, { timeoutMs: 10_000 }),
    recorder: new EventRecorder({ client: kclient, component: "kubelet", host: NODE, clock, log }),
    clock,
    log,
    signal: new AbortController().signal,
    timing: FAST_PROFILE,
    nodeName: NODE,
    nodeAddress: "127.0.0.1",
    podCIDR: POD_CIDR,
  });
  await kubelet.start();
  const testBus = await connect("test");
  return {
    client: new ApiClient(testBus, { timeoutMs: 5_000 }),
    url: server.url,
    dir,
    async [Symbol.asyncDispose]() {
      if (Deno.env.get("KUBELAB_TEST_LOGS")) console.error(lines.join("\n"));
      await kubelet.stop();
      await runtime.stop();
      await state.stop();
      for (const b of [testBus, kubeletBus, runtimeBus, stateBus]) await b.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type Node = Awaited<ReturnType<typeof startNode>>;

/** Runs `kubelab ARGS` against the node's lab; `signal` ends a follow. */
async function kubelab(env: Node, args: string[], signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const [command, ...rest] = args;
  const code = await runCli([command, "--server", env.url, ...rest], {
    io: {
      stdout: { write: (t) => void out.push(t) },
      stderr: { write: (t) => void err.push(t) },
      stdin: ReadableStream.from([]),
    },
    cwd: env.dir,
    signal: signal ?? new AbortController().signal,
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

function pod(name: string, script: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: NODE,
      terminationGracePeriodSeconds: 2,
      containers: [{ name: "app", image: "busybox:1.36", command: ["sh", "-c", script] }],
    },
  };
}

const running = (env: Node, name: string) =>
  eventually(`${name} Running`, async () => {
    const p = await env.client.get<Pod>("pods", "default", name);
    return p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.state?.running
      ? p
      : undefined;
  });

Deno.test("kubelab logs, exec and top work on pods whose containers are real processes", async () => {
  await using env = await startNode();
  const ticker =
    "echo hello from $HOSTNAME; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done";
  await env.client.create("pods", pod("ticker", ticker));
  await env.client.create("pods", pod("busy", "while :; do :; done"));
  await env.client.create("pods", pod("crash", "echo run $$; sleep 0.2; exit 1"));
  const tickerPod = await running(env, "ticker");
  await running(env, "busy");

  // logs: the container's real stdout.
  const logs = await eventually("ticks in the log", async () => {
    const r = await kubelab(env, ["logs", "ticker"]);
    return r.code === 0 && r.stdout.includes("tick 2") ? r : undefined;
  });
  assert.match(logs.stdout, /^hello from ticker\ntick 1\n/);
  const tail = await kubelab(env, ["logs", "pod/ticker", "--tail", "1"]);
  assert.match(tail.stdout, /^tick \d+\n$/);

  // logs -f: keeps printing what the container writes until Ctrl-C.
  const follow = new AbortController();
  const followed = kubelab(env, ["logs", "-f", "ticker", "--tail", "1"], follow.signal);
  await new Promise((r) => setTimeout(r, 800));
  follow.abort();
  const f = await followed;
  assert.equal(f.code, 0);
  const ticks = f.stdout.trim().split("\n").map((l) => Number(l.replace("tick ", "")));
  assert.ok(ticks.length >= 4, `followed ${ticks.length} lines: ${f.stdout}`);
  assert.deepEqual(ticks, ticks.map((_, i) => ticks[0] + i), "no line lost or repeated");

  // exec: a real command in the container, its output, and its exit code as kubelab's.
  const exec = await kubelab(env, [
    "exec",
    "ticker",
    "--",
    "sh",
    "-c",
    "echo $POD_IP; echo oops >&2; exit 4",
  ]);
  assert.equal(exec.code, 4, exec.stderr);
  assert.equal(exec.stdout, `${tickerPod.status!.podIP}\n`);
  assert.equal(exec.stderr, "oops\ncommand terminated with exit code 4\n");
  assert.equal((await kubelab(env, ["exec", "ticker", "--", "true"])).code, 0);

  // top: the busy loop shows, in kubectl's columns.
  const top = await eventually("busy in top pods", async () => {
    const r = await kubelab(env, ["top", "pods"]);
    const m = /^busy\s+(\d+)m\s+\d+Mi$/m.exec(r.stdout);
    return m && Number(m[1]) >= 100 ? r : undefined;
  });
  assert.match(top.stdout, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\n/);
  assert.match(top.stdout, /^ticker\s+\d+m\s+\d+Mi$/m);
  const nodes = await kubelab(env, ["top", "nodes"]);
  assert.equal(nodes.code, 0);
  assert.match(nodes.stdout, /^NAME\s+CPU\(cores\)\s+CPU%\s+MEMORY\(bytes\)\s+MEMORY%\n/);
  assert.match(nodes.stdout, /^node-1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%$/m);

  // logs --previous: the instance before the last restart.
  await eventually("crash restarted", async () => {
    const p = await env.client.get<Pod>("pods", "default", "crash");
    return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
  });
  const previous = await kubelab(env, ["logs", "crash", "--previous"]);
  assert.equal(previous.code, 0);
  assert.match(previous.stdout, /^run \d+\n$/);

  const missing = await kubelab(env, ["logs", "nope"]);
  assert.deepEqual([missing.code, missing.stderr], [
    1,
    'Error from server (NotFound): pods "nope" not found\n',
  ]);
});
