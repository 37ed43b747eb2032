/**
 * Test scaffolding for Services (private to tests): a real nats-server with a temporary store, the
 * state service, the scheduler, every controller, and N nodes — each a process runtime with pod IPs on
 * `lo`, a kubelet and a kube-proxy with cluster IPs on `lo` — all in-process on the fast timing
 * profile and the wall clock. Needs root; torn down with `await using`, which stops every agent
 * (removing pod IPs and cluster IPs) and the store.
 * @module
 */
import type { Endpoints, Pod } from "../../shared/api/core.ts";
import { Bus } from "../../shared/bus/bus.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/client/recorder.ts";
import { RealClock } from "../../shared/clock.ts";
import { CriClient } from "../../shared/cri/client.ts";
import { Logger } from "../../shared/log.ts";
import { startNatsServer } from "../../shared/nats_server.ts";
import { FAST_PROFILE } from "../../shared/timing.ts";
import { StateService } from "../state/service.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { ControllerManager } from "../controllers/manager.ts";
import { eventually } from "../controllers/_testing.ts";
import { ProcessRuntime } from "../runtime/process.ts";
import { RuntimeServer } from "../runtime/server.ts";
import { Kubelet } from "../kubelet/kubelet.ts";
import { runCli } from "../../cli/main.ts";
import { KubeProxy } from "./kube_proxy.ts";

/** Whether the Services tests can run: pod IPs and cluster IPs go on `lo`, which needs root. */
export const CAN_RUN = Deno.build.os === "linux" && Deno.uid() === 0;

/** Says once, on stderr, why the Services tests are skipped. */
export function explainSkip(file: string): void {
  if (!CAN_RUN) {
    console.error(
      `${file}: skipped — needs root on Linux (pod IPs and cluster IPs are added to lo)`,
    );
  }
}

/** One in-process node. */
export interface ServicesNode {
  name: string;
  /** Its address: NodePorts listen here. */
  address: string;
  podCIDR: string;
  proxy: KubeProxy;
}

/** Options for {@linkcode startServicesLab}. */
export interface ServicesLabOptions {
  /** @default 3 */
  nodes?: number;
  /** Third octet block of node addresses and pod CIDRs, apart from any lab on this host. @default 210 */
  base?: number;
}

/** Everything a Services test needs. */
export interface ServicesLab extends AsyncDisposable {
  natsUrl: string;
  client: ApiClient;
  /** A bus of the test's own, for subscribing to what kube-proxies publish. */
  bus: Bus;
  nodes: ServicesNode[];
  /** What every agent logged (printed on teardown when KUBELAB_TEST_LOGS is set). */
  lines: string[];
  /** Runs `kubelab ARGS` against the lab. */
  kubelab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts a lab; dispose it to stop everything. */
export async function startServicesLab(opts: ServicesLabOptions = {}): Promise<ServicesLab> {
  const base = opts.base ?? 210;
  const dir = await Deno.makeTempDir({ prefix: "kubelab-services-" });
  const server = await startNatsServer({ storeDir: `${dir}/nats` });
  const lines: string[] = [];
  const log = new Logger({
    level: Deno.env.get("KUBELAB_TEST_LOGS") === "debug" ? "debug" : "info",
    sink: (l) => lines.push(l),
  });
  const clock = new RealClock();
  const controller = new AbortController();
  const signal = controller.signal;
  const buses: Bus[] = [];
  const connect = async (name: string) => {
    const bus = await Bus.connect({ servers: server.url, name, log });
    buses.push(bus);
    return bus;
  };
  /** Teardown in order: kube-proxies, kubelets, runtimes, then the control plane. */
  const stops: Record<
    "proxies" | "kubelets" | "runtimes" | "controlPlane",
    (() => Promise<void>)[]
  > = { proxies: [], kubelets: [], runtimes: [], controlPlane: [] };
  const state = await StateService.start({ bus: await connect("state"), clock, log });
  stops.controlPlane.unshift(() => state.stop());
  const manager = await ControllerManager.start({
    client: new ApiClient(await connect("controllers")),
    clock,
    log: log.with({ agent: "controllers" }),
    signal,
    timing: FAST_PROFILE,
  });
  stops.controlPlane.unshift(() => manager.stop());
  const sclient = new ApiClient(await connect("scheduler"));
  const scheduler = new Scheduler({
    client: sclient,
    recorder: new EventRecorder({ client: sclient, component: "default-scheduler", clock, log }),
    clock,
    log: log.with({ agent: "scheduler" }),
    signal,
    timing: FAST_PROFILE,
  });
  await scheduler.start();
  stops.controlPlane.unshift(() => scheduler.stop());

  const nodes: ServicesNode[] = [];
  for (let i = 1; i <= (opts.nodes ?? 3); i++) {
    const name = `node-${i}`;
    const address = `127.1.${base}.${i}`;
    const podCIDR = `10.244.${base + i}.0/24`;
    const nlog = log.with({ node: name });
    const bus = await connect(name);
    const backend = new ProcessRuntime({
      clock,
      log: nlog.with({ agent: "runtime" }),
      podCIDR,
      dataDir: `${dir}/${name}`,
      network: "loopback",
    });
    const runtime = new RuntimeServer({ bus, nodeName: name, backend, clock, log: nlog });
    await runtime.start();
    const kclient = new ApiClient(bus, { timeoutMs: 5_000 });
    const kubelet = new Kubelet({
      client: kclient,
      cri: new CriClient(name, bus, { timeoutMs: 10_000 }),
      recorder: new EventRecorder({
        client: kclient,
        component: "kubelet",
        host: name,
        clock,
        log,
      }),
      clock,
      log: nlog.with({ agent: "kubelet" }),
      signal: new AbortController().signal,
      timing: FAST_PROFILE,
      nodeName: name,
      nodeAddress: address,
      podCIDR,
    });
    await kubelet.start();
    const proxy = new KubeProxy({
      client: kclient,
      clock,
      log: nlog.with({ agent: "kube-proxy" }),
      signal,
      nodeName: name,
      nodeAddress: address,
      clusterIPMode: "alias",
      healthzAddress: `${address}:10256`,
      drainMs: 2_000,
    });
    await proxy.start();
    stops.runtimes.push(() => runtime.stop());
    stops.kubelets.push(() => kubelet.stop());
    stops.proxies.push(() => proxy.stop());
    nodes.push({ name, address, podCIDR, proxy });
  }
  const testBus = await connect("test");
  const client = new ApiClient(testBus, { timeoutMs: 5_000 });

  return {
    natsUrl: server.url,
    client,
    bus: testBus,
    nodes,
    lines,
    async kubelab(...args) {
      const out: string[] = [];
      const err: string[] = [];
      const [command, ...rest] = args;
      const code = await runCli([command, "--server", server.url, ...rest], {
        io: {
          stdout: { write: (t) => void out.push(t) },
          stderr: { write: (t) => void err.push(t) },
          stdin: ReadableStream.from([]),
        },
        cwd: Deno.cwd(),
        signal: new AbortController().signal,
      });
      return { code, stdout: out.join(""), stderr: err.join("") };
    },
    async [Symbol.asyncDispose]() {
      if (Deno.env.get("KUBELAB_TEST_LOGS")) console.error(lines.join("\n"));
      controller.abort();
      for (const stop of Object.values(stops).flat()) await stop();
      for (const bus of buses) await bus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** examples/echo/echo.yaml: three echo replicas and the NodePort Service `echo` (30080). */
export const ECHO_MANIFEST = new URL("../../examples/echo/echo.yaml", import.meta.url).pathname;

/** Whether the pod's Ready condition is True. */
export function isReady(pod: Pod): boolean {
  return !!pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}

/** Applies the echo example and waits until its three pods are ready and in its Endpoints. */
export async function applyEcho(lab: ServicesLab): Promise<Pod[]> {
  const applied = await lab.kubelab("apply", "-f", ECHO_MANIFEST);
  if (applied.code !== 0) throw new Error(`kubelab apply failed: ${applied.stderr}`);
  const pods = await eventually(
    "three ready echo pods",
    () => lab.client.list<Pod>("pods", { labelSelector: "app=echo" }).then((l) => l.items),
    (items) => items.length === 3 && items.every(isReady),
    30_000,
  );
  await eventually(
    "the echo Endpoints with three ready addresses",
    () => lab.client.get<Endpoints>("endpoints", "default", "echo"),
    (ep) => ep.subsets?.[0]?.addresses?.length === 3,
  );
  return pods;
}

/**
 * One HTTP/1.1 request over a connection of its own (`Connection: close`), to `host:port`; resolves
 * with the body, trimmed. Rejects when the connection closes without an answer.
 */
export async function httpGet(address: string, path = "/"): Promise<string> {
  const i = address.lastIndexOf(":");
  const conn = await Deno.connect({
    hostname: address.slice(0, i),
    port: Number(address.slice(i + 1)),
  });
  try {
    await conn.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: echo\r\nConnection: close\r\n\r\n`),
    );
    const text = await new Response(conn.readable).text();
    const body = text.split("\r\n\r\n").slice(1).join("\r\n\r\n").trim();
    if (!text.startsWith("HTTP/1.1 200")) {
      throw new Error(`No answer from ${address}${path}: ${JSON.stringify(text.slice(0, 80))}`);
    }
    return body;
  } finally {
    try {
      conn.close();
    } catch { /* closed by reading to the end */ }
  }
}

/** Collects what `subject` carries, parsed, until disposed. */
export function collect<T>(bus: Bus, subject: string): { messages: T[] } & Disposable {
  const messages: T[] = [];
  const sub = bus.nc.subscribe(subject, {
    callback: (_err, msg) => void messages.push(msg.json<T>()),
  });
  return { messages, [Symbol.dispose]: () => sub.unsubscribe() };
}

export { eventually };
