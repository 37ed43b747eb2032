/**
 * `deno task bench [name…]`: benchmarks that print figures. Each starts its own nats-server (temp store)
 * and the agents it needs in this process, measures, and cleans up. Figures go to stdout; nothing is
 * asserted. Names: `state` (API request throughput and latency), `watch` (write-to-watch-event latency),
 * `proxy` (requests through a kube-proxy NodePort against the same requests straight to the pod),
 * `cri` (ListContainers over NATS with 100, 1,000 and 5,000 containers, at two max_payload sizes),
 * `http-list` (time and memory of one unpaged list over HTTP, [http_list.ts](./http_list.ts)),
 * `cluster` (a whole lab of hosted nodes: `--nodes N --pods M [--bare B --rate R --pool-size P]`,
 * [cluster.ts](./cluster.ts); not in the default set).
 * @module
 */
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { watchStream } from "../shared/client/watch.ts";
import type { Endpoints, Pod, Service } from "../shared/api/core.ts";
import { RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { StateService } from "../agents/state/service.ts";
import { CriClient } from "../shared/cri/client.ts";
import { FakeRuntime } from "../agents/runtime/fake.ts";
import { RuntimeServer } from "../agents/runtime/server.ts";
import { containerConfig, podSandboxConfig } from "../agents/kubelet/runtime_manager.ts";
import { benchCluster } from "./cluster.ts";
import { benchHttpList } from "./http_list.ts";

interface Env extends AsyncDisposable {
  natsUrl: string;
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
    natsUrl: server.url,
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

/** What one measurement gave. */
interface Figures {
  opsPerSecond: number;
  p50: number;
  p99: number;
}

function report(name: string, count: number, ms: number, latencies: number[]): Figures {
  latencies.sort((a, b) => a - b);
  const figures = {
    opsPerSecond: count / (ms / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
  console.log(
    `${name.padEnd(34)} ${String(count).padStart(6)} ops  ${
      figures.opsPerSecond.toFixed(0).padStart(7)
    } ops/s   p50 ${figures.p50.toFixed(2)} ms   p99 ${figures.p99.toFixed(2)} ms`,
  );
  return figures;
}

/** Runs `count` operations with `concurrency` in flight, timing each. */
async function measure(
  name: string,
  count: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<Figures> {
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
  return report(name, count, performance.now() - start, latencies);
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

/** Where the benchmark's "pod" and "node" listen: loopback addresses of their own. */
const BENCH_POD = { ip: "127.1.250.2", port: 8080 };
const BENCH_NODE = "127.1.250.1";
const BENCH_NODE_PORT = 31999;

/** The echo server's program, from examples/echo/echo.yaml (its `deno eval` argument). */
async function echoProgram(): Promise<string> {
  const path = new URL("../examples/echo/echo.yaml", import.meta.url);
  const docs = (await Deno.readTextFile(path)).split(/^---$/m).map((d) => parseYaml(d));
  const deployment = docs.find((d) => d?.kind === "Deployment");
  return deployment.spec.template.spec.containers[0].args[0];
}

/** A child process, stopped with SIGTERM when disposed. */
function spawn(args: string[], env: Record<string, string>): AsyncDisposable {
  const proc = new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return {
    async [Symbol.asyncDispose]() {
      try {
        proc.kill("SIGTERM");
      } catch { /* gone */ }
      await proc.status;
    },
  };
}

/** Reads one HTTP/1.1 response (Content-Length framed) from `conn`; false at EOF. */
async function readResponse(conn: Deno.Conn, buf: Uint8Array): Promise<boolean> {
  let text = "";
  for (;;) {
    const head = text.indexOf("\r\n\r\n");
    if (head >= 0) {
      const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, head))?.[1] ?? 0);
      if (text.length >= head + 4 + length) return true;
    }
    const n = await conn.read(buf);
    if (n === null) return false;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

const REQUEST = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: bench\r\n\r\n");

/** One request on a connection of its own. */
async function requestOnce(hostname: string, port: number): Promise<void> {
  const conn = await Deno.connect({ hostname, port });
  try {
    await conn.write(REQUEST);
    if (!(await readResponse(conn, new Uint8Array(4096)))) throw new Error("No response");
  } finally {
    conn.close();
  }
}

/** Waits until `hostname:port` answers a request. */
async function waitForAnswer(hostname: string, port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await requestOnce(hostname, port);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function benchProxy(n: number) {
  await using env = await startEnv();
  console.log(
    `kube-proxy NodePort ${BENCH_NODE}:${BENCH_NODE_PORT} vs the pod ${BENCH_POD.ip}:${BENCH_POD.port}` +
      ` (${n} requests; echo server and kube-proxy as processes of their own)`,
  );
  await using _pod = spawn(["eval", await echoProgram()], {
    POD_IP: BENCH_POD.ip,
    HOSTNAME: "bench-echo",
  });
  await env.client.create<Service>("services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "bench", namespace: "default" },
    spec: { type: "NodePort", ports: [{ port: 80, nodePort: BENCH_NODE_PORT }] },
  });
  await env.client.create<Endpoints>("endpoints", {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "bench", namespace: "default" },
    subsets: [{ addresses: [{ ip: BENCH_POD.ip }], ports: [{ port: BENCH_POD.port }] }],
  });
  await using _proxy = spawn(
    ["run", "-A", new URL("../agents/kube-proxy/main.ts", import.meta.url).pathname],
    {
      KUBELAB_NATS_URL: env.natsUrl,
      KUBELAB_NODE_NAME: "bench-node",
      KUBELAB_NODE_ADDRESS: BENCH_NODE,
      KUBELAB_CLUSTER_IP_MODE: "node",
      KUBELAB_PROXY_HEALTHZ_ADDR: "off",
      KUBELAB_LOG_LEVEL: "error",
    },
  );
  await waitForAnswer(BENCH_POD.ip, BENCH_POD.port);
  await waitForAnswer(BENCH_NODE, BENCH_NODE_PORT);
  const compare = (direct: Figures, proxied: Figures) =>
    console.log(
      `${"".padEnd(34)} proxy adds p50 ${(proxied.p50 - direct.p50).toFixed(2)} ms, p99 ${
        (proxied.p99 - direct.p99).toFixed(2)
      } ms; ${(100 * proxied.opsPerSecond / direct.opsPerSecond).toFixed(0)}% of direct ops/s`,
    );
  for (const concurrency of [1, 32]) {
    const what = `new conn, ${concurrency} in flight`;
    const direct = await measure(
      `direct, ${what}`,
      n,
      concurrency,
      () => requestOnce(BENCH_POD.ip, BENCH_POD.port),
    );
    const proxied = await measure(
      `proxy,  ${what}`,
      n,
      concurrency,
      () => requestOnce(BENCH_NODE, BENCH_NODE_PORT),
    );
    compare(direct, proxied);
  }
  // One kept-alive connection: only the byte copying is added, not the accept and the dial.
  const keptAlive = async (label: string, hostname: string, port: number) => {
    const conn = await Deno.connect({ hostname, port });
    const buf = new Uint8Array(4096);
    try {
      return await measure(`${label} kept-alive, 1 in flight`, n, 1, async () => {
        await conn.write(REQUEST);
        if (!(await readResponse(conn, buf))) throw new Error("Connection closed");
      });
    } finally {
      conn.close();
    }
  };
  compare(
    await keptAlive("direct,", BENCH_POD.ip, BENCH_POD.port),
    await keptAlive("proxy, ", BENCH_NODE, BENCH_NODE_PORT),
  );
}

/**
 * A fake runtime holding `containers` running containers, in pods of 10, labelled and annotated as
 * the kubelet makes them (about 750 bytes each in a ListContainers reply).
 */
async function fakeRuntimeWith(containers: number, log: Logger): Promise<FakeRuntime> {
  const clock = new RealClock();
  const backend = new FakeRuntime({ clock, log, podCIDR: "10.244.0.0/16" });
  await backend.pullImage({ image: { image: "nginx:1.27" } });
  for (let p = 0; p * 10 < containers; p++) {
    const spec = Array.from(
      { length: Math.min(10, containers - p * 10) },
      (_, i) => ({ name: `app-${i}`, image: "nginx:1.27" }),
    );
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `bench-${p}`, namespace: "default", uid: crypto.randomUUID() },
      spec: { containers: spec },
    };
    const sandboxConfig = podSandboxConfig(pod, 0);
    const { podSandboxId } = await backend.runPodSandbox({ config: sandboxConfig });
    for (const c of spec) {
      const { containerId } = await backend.createContainer({
        podSandboxId,
        config: containerConfig(pod, c, 0),
        sandboxConfig,
      });
      await backend.startContainer({ containerId });
    }
  }
  return backend;
}

/**
 * Lists `lists` times a runtime of `containers` containers served on `server`, through CriClient as
 * the PLEG lists; prints the figures unless `quiet` (a warm-up).
 */
async function benchListContainers(
  serverUrl: string,
  containers: number,
  lists: number,
  quiet = false,
): Promise<void> {
  const log = new Logger({ level: "error" });
  const runtimeBus = await Bus.connect({ servers: serverUrl, name: "runtime", log });
  const bus = await Bus.connect({ servers: serverUrl, name: "bench", log });
  const backend = await fakeRuntimeWith(containers, log);
  const runtime = new RuntimeServer({
    bus: runtimeBus,
    nodeName: "bench",
    backend,
    clock: new RealClock(),
    log,
  });
  await runtime.start();
  const cri = new CriClient("bench", bus, { timeoutMs: 30_000 });
  try {
    // Pages and bytes of one list, as they travel.
    let pages = 0;
    let bytes = 0;
    for (let token: string | undefined, first = true; first || token; first = false) {
      const msg = await bus.nc.request(
        "kl.node.bench.cri.ListContainers",
        new TextEncoder().encode(JSON.stringify(token ? { continue: token } : {})),
        { timeout: 30_000 },
      );
      if (msg.headers?.get("Kl-Status")) throw new Error(new TextDecoder().decode(msg.data));
      pages++;
      bytes += msg.data.length;
      token = JSON.parse(new TextDecoder().decode(msg.data)).continue;
    }
    const list = async () => {
      const { containers: got } = await cri.listContainers();
      if (got.length !== containers) throw new Error(`Listed ${got.length} of ${containers}`);
    };
    if (quiet) {
      for (let i = 0; i < lists; i++) await list();
    } else {
      const kib = (bytes / 1024).toFixed(0);
      await measure(
        `${containers}: ${pages} page${pages > 1 ? "s" : ""}, ${kib} KiB`,
        lists,
        1,
        list,
      );
    }
  } catch (err) {
    console.log(`${`${containers} containers`.padEnd(34)} failed: ${(err as Error).message}`);
  } finally {
    await runtime.stop();
    await bus.drain();
    await runtimeBus.drain();
  }
}

/** ListContainers through CriClient at 100, 1,000 and 5,000 containers, max_payload 1 and 8 MiB. */
async function benchCri(_n: number) {
  for (const maxPayload of [1024 * 1024, 8 * 1024 * 1024]) {
    const dir = await Deno.makeTempDir({ prefix: "kubelab-bench-" });
    const server = await startNatsServer({ storeDir: dir, maxPayload });
    // The process's first lists run slower (compiling, heap growth): warm up once, unreported.
    if (maxPayload === 1024 * 1024) await benchListContainers(server.url, 1_000, 200, true);
    console.log(`ListContainers over NATS, max_payload ${maxPayload / 1024 / 1024} MiB`);
    for (const [containers, lists] of [[100, 200], [1_000, 100], [5_000, 30]]) {
      await benchListContainers(server.url, containers, lists);
    }
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

const BENCHES: Record<string, (n: number) => Promise<void>> = {
  state: benchState,
  watch: benchWatch,
  proxy: benchProxy,
  cri: benchCri,
  "http-list": benchHttpList,
};

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "1000" },
      nodes: { type: "string", default: "100" },
      pods: { type: "string", default: "1000" },
      bare: { type: "string", default: "500" },
      rate: { type: "string", default: "100" },
      "pool-size": { type: "string", default: "250" },
    },
    allowPositionals: true,
  });
  const names = positionals.length ? positionals : Object.keys(BENCHES);
  for (const name of names) {
    if (name === "cluster") {
      await benchCluster({
        nodes: Number(values.nodes),
        pods: Number(values.pods),
        bare: Number(values.bare),
        rate: Number(values.rate),
        poolSize: Number(values["pool-size"]),
      });
      continue;
    }
    const bench = BENCHES[name];
    if (!bench) {
      console.error(`Unknown benchmark "${name}"; choose from: ${Object.keys(BENCHES).join(", ")}`);
      Deno.exit(2);
    }
    await bench(Number(values.count));
    console.log();
  }
}
