/**
 * `deno task bench [name…]`: benchmarks that print figures. Each starts its own nats-server (temp store)
 * and the agents it needs in this process, measures, and cleans up. Figures go to stdout; nothing is
 * asserted. Names: `state` (API request throughput and latency), `watch` (write-to-watch-event latency).
 * @module
 */
import { parseArgs } from "node:util";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { watchStream } from "../shared/client/watch.ts";
import type { Pod } from "../shared/api/core.ts";
import { RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { StateService } from "../agents/state/service.ts";

interface Env extends AsyncDisposable {
  client: ApiClient;
  bus: Bus;
  log: Logger;
}

async function startEnv(): Promise<Env> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-bench-" });
  const server = await startNatsServer({ storeDir: dir });
  const log = new Logger({ level: "error" });
  const stateBus = await Bus.connect({ servers: server.url, name: "state", log });
  const state = await StateService.start({ bus: stateBus, clock: new RealClock(), log });
  const bus = await Bus.connect({ servers: server.url, name: "bench", log });
  return {
    client: new ApiClient(bus, { timeoutMs: 30_000 }),
    bus,
    log,
    async [Symbol.asyncDispose]() {
      await bus.drain();
      await state.stop();
      await stateBus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function pod(name: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "bench" } },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function report(name: string, count: number, ms: number, latencies: number[]) {
  latencies.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(34)} ${String(count).padStart(6)} ops  ${
      (count / (ms / 1000)).toFixed(0).padStart(7)
    } ops/s   p50 ${percentile(latencies, 0.5).toFixed(2)} ms   p99 ${
      percentile(latencies, 0.99).toFixed(2)
    } ms`,
  );
}

/** Runs `count` operations with `concurrency` in flight, timing each. */
async function measure(
  name: string,
  count: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
) {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      await op(i);
      latencies.push(performance.now() - t);
    }
  }));
  report(name, count, performance.now() - start, latencies);
}

async function benchState(n: number) {
  await using env = await startEnv();
  console.log(`state service over NATS (${n} pods)`);
  await measure("create pod (1 in flight)", n, 1, (i) => env.client.create("pods", pod(`s-${i}`)));
  await measure(
    "create pod (32 in flight)",
    n,
    32,
    (i) => env.client.create("pods", pod(`c-${i}`)),
  );
  await measure(
    "get pod (32 in flight)",
    n,
    32,
    (i) => env.client.get("pods", "default", `c-${i}`),
  );
  await measure(
    "updateStatus pod (32 in flight)",
    n,
    32,
    async (i) => {
      const p = await env.client.get<Pod>("pods", "default", `c-${i}`);
      await env.client.updateStatus("pods", { ...p, status: { ...p.status, phase: "Running" } });
    },
  );
  await measure(
    `list ${2 * n} pods`,
    20,
    1,
    () => env.client.list("pods", { namespace: "default" }),
  );
  await measure(
    "list by label (1 match of many)",
    20,
    1,
    () => env.client.list("pods", { labelSelector: "app=none" }),
  );
}

async function benchWatch(n: number) {
  await using env = await startEnv();
  console.log(`create → watch event on a node's subject (${n} pods)`);
  const list = await env.client.list("pods");
  const controller = new AbortController();
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => resolveAll = r);
  const watching = (async () => {
    for await (
      const ev of watchStream<Pod>(env.bus, "pods", {
        nodeName: "node-1",
        afterSeq: list.watchSeq,
        signal: controller.signal,
        log: env.log,
      })
    ) {
      const t = sent.get(ev.object.metadata.name!);
      if (t !== undefined) latencies.push(performance.now() - t);
      if (latencies.length === n) resolveAll();
    }
  })().catch(() => {});
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const p = pod(`w-${i}`);
    p.spec.nodeName = "node-1";
    sent.set(p.metadata.name!, performance.now());
    await env.client.create("pods", p);
  }
  await all;
  report("create → event (sequential)", n, performance.now() - start, latencies);
  controller.abort();
  await watching;
}

const BENCHES: Record<string, (n: number) => Promise<void>> = {
  state: benchState,
  watch: benchWatch,
};

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { count: { type: "string", default: "1000" } },
    allowPositionals: true,
  });
  const names = positionals.length ? positionals : Object.keys(BENCHES);
  for (const name of names) {
    const bench = BENCHES[name];
    if (!bench) {
      console.error(`Unknown benchmark "${name}"; choose from: ${Object.keys(BENCHES).join(", ")}`);
      Deno.exit(2);
    }
    await bench(Number(values.count));
    console.log();
  }
}
