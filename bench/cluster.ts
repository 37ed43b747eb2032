/**
 * `deno task bench cluster --nodes N --pods M [--rate R] [--bare B] [--pool-size P]`: a whole lab
 * (lab/cluster.ts, hosted nodes in pools, Kubernetes' default timings) measured as a user of a big
 * cluster would:
 *
 * - the time until N nodes are Ready;
 * - the lab's CPU when idle (cores, over 20 s) and memory (RSS per node: the node agents' processes
 *   divided by N; the control plane apart);
 * - a Deployment of M replicas: the time until all M pods are Running, scheduling included, and pod
 *   startup latency p50/p99 (first seen in the watch → seen Running);
 * - B bare pods created at R per second: startup latency p50/p99 (Kubernetes' SLO: p99 ≤ 5 s);
 * - bus messages and KV writes per pod, CPU seconds per pod;
 * - the bus ceiling, measured in the same run: KV puts per second with 200 in flight — so each figure is
 *   also a ratio to what the bus can do on this machine.
 *
 * Figures go to stdout; nothing is asserted.
 * @module
 */
import { Kvm } from "@nats-io/kv";
import type { Deployment } from "../shared/api/apps.ts";
import type { Node, Pod } from "../shared/api/core.ts";
import { identityToken } from "../shared/auth/identity.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { Informer } from "../shared/client/watch.ts";
import { Logger } from "../shared/log.ts";
import { type Cluster, startCluster } from "../lab/cluster.ts";

/** Options for {@linkcode benchCluster}. */
export interface ClusterBenchOptions {
  nodes: number;
  /** The Deployment's replicas. */
  pods: number;
  /** Bare pods created at `rate` per second after the Deployment. */
  bare: number;
  rate: number;
  poolSize: number;
}

const quiet = new Logger({ level: "error", sink: () => {} });
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) and RSS (bytes) of a process, from /proc. */
async function usage(pid: number): Promise<{ cpuSeconds: number; rssBytes: number }> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssBytes: rssKb * 1024 };
  } catch {
    return { cpuSeconds: 0, rssBytes: 0 };
  }
}

/** Usage of the lab's processes, node agents and the rest apart, and CPU by kind of process. */
async function labUsage(cluster: Cluster) {
  let nodeRss = 0, otherRss = 0, cpu = 0;
  const byKind = new Map<string, number>();
  for (const child of cluster.supervisor.status()) {
    if (child.pid === undefined) continue;
    const u = await usage(child.pid);
    cpu += u.cpuSeconds;
    const kind = child.name.replace(/^(node|pool)-\d+-/, "");
    byKind.set(kind, (byKind.get(kind) ?? 0) + u.cpuSeconds);
    if (/-(runtime|kubelet|kube-proxy)$/.test(child.name)) nodeRss += u.rssBytes;
    else otherRss += u.rssBytes;
  }
  return { nodeRss, otherRss, cpu, byKind };
}

/** `state 0.21, nats-server 0.30, …`: cores used by each kind of process between two readings. */
function coresByKind(
  a: Awaited<ReturnType<typeof labUsage>>,
  b: Awaited<ReturnType<typeof labUsage>>,
  seconds: number,
): string {
  return [...b.byKind].map(([k, v]) => [k, (v - (a.byKind.get(k) ?? 0)) / seconds] as const)
    .sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
}

async function varz(cluster: Cluster): Promise<{ inMsgs: number; outMsgs: number }> {
  const res = await fetch(`${cluster.info.monitorUrl}/varz`);
  const v = await res.json() as { in_msgs: number; out_msgs: number };
  return { inMsgs: v.in_msgs, outMsgs: v.out_msgs };
}

async function connect(cluster: Cluster, identity: string): Promise<Bus> {
  return await Bus.connect({
    servers: cluster.info.natsUrl,
    name: `bench-${identity}`,
    log: quiet,
    creds: await Deno.readTextFile(
      `${cluster.info.dir}/auth/creds/${identityToken(identity)}.creds`,
    ),
  });
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

/** Follows pods: when each was first seen and when it was first seen Running. */
class PodTimes {
  readonly seen = new Map<string, number>();
  readonly scheduled = new Map<string, number>();
  readonly running = new Map<string, number>();
  onEvent(pod: Pod): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const now = performance.now();
    if (!this.seen.has(key)) this.seen.set(key, now);
    if (pod.spec?.nodeName && !this.scheduled.has(key)) this.scheduled.set(key, now);
    if (pod.status?.phase === "Running" && !this.running.has(key)) this.running.set(key, now);
  }
  /** When the last pod of `prefix` was first seen, and first seen scheduled. */
  lastOf(prefix: string): { created: number; scheduled: number } {
    let created = 0, scheduled = 0;
    for (const [key, t] of this.seen) if (key.startsWith(prefix)) created = Math.max(created, t);
    for (const [key, t] of this.scheduled) {
      if (key.startsWith(prefix)) scheduled = Math.max(scheduled, t);
    }
    return { created, scheduled };
  }
  latencies(prefix: string): number[] {
    const out: number[] = [];
    for (const [key, t] of this.running) {
      if (key.startsWith(prefix)) out.push(t - this.seen.get(key)!);
    }
    return out.sort((a, b) => a - b);
  }
  runningCount(prefix: string): number {
    let n = 0;
    for (const key of this.running.keys()) if (key.startsWith(prefix)) n++;
    return n;
  }
}

async function until(what: string, timeoutMs: number, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${s(timeoutMs)} waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** KV puts per second with 200 in flight, for `ms`: what the bus and JetStream can take. */
async function busCeiling(cluster: Cluster, ms = 3_000): Promise<number> {
  await using bus = await connect(cluster, "state");
  const kv = await new Kvm(bus.nc).create("bench-ceiling", { history: 1 });
  const value = new TextEncoder().encode(JSON.stringify({ spec: { x: "y".repeat(400) } }));
  let done = 0;
  const end = performance.now() + ms;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < end; i++) {
      await kv.put(`k.${w}.${i % 50}`, value);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 200 }, (_, w) => worker(w)));
  const rate = done / ((performance.now() - t0) / 1000);
  await kv.destroy();
  return rate;
}

/** Runs the benchmark and prints its figures. */
export async function benchCluster(opts: ClusterBenchOptions): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-bench-cluster-" });
  const out: [string, string][] = [];
  const row = (k: string, v: string) => {
    out.push([k, v]);
    console.log(`  ${k.padEnd(46)} ${v}`);
  };
  console.log(
    `cluster: ${opts.nodes} nodes (pools of ${opts.poolSize}), a ${opts.pods}-replica Deployment, ` +
      `${opts.bare} bare pods at ${opts.rate}/s; ${Deno.osRelease()}, ${navigator.hardwareConcurrency} cores, ` +
      `${new Date().toISOString().slice(0, 10)}`,
  );
  const t0 = performance.now();
  try {
    await using cluster = await startCluster({
      dir,
      nodes: opts.nodes,
      nodesPerPool: opts.poolSize,
      poolThreshold: 0,
      profile: "default",
      port: 0,
      httpPort: 0,
      monitorPort: 0,
      log: quiet,
    });
    await using admin = await connect(cluster, "admin");
    const client = new ApiClient(admin, { timeoutMs: 60_000 });
    const controller = new AbortController();
    const ready = new Set<string>();
    const nodes = new Informer<Node>({
      client,
      resource: "nodes",
      log: quiet,
      signal: controller.signal,
      onEvent: (_t, n) => {
        if (n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) {
          ready.add(n.metadata.name!);
        }
      },
    });
    await nodes.start();
    await until(`${opts.nodes} nodes Ready`, 600_000, () => ready.size >= opts.nodes);
    row("nodes Ready (from the start)", s(performance.now() - t0));

    // Idle: every lease renewed, every node status computed, nothing else to do.
    await new Promise((r) => setTimeout(r, 5_000));
    const idle0 = await labUsage(cluster);
    const v0 = await varz(cluster);
    const idleMs = 20_000;
    await new Promise((r) => setTimeout(r, idleMs));
    const idle1 = await labUsage(cluster);
    const v1 = await varz(cluster);
    row("idle CPU (lab processes, cores)", ((idle1.cpu - idle0.cpu) / (idleMs / 1000)).toFixed(2));
    row("  by process", coresByKind(idle0, idle1, idleMs / 1000));
    row(
      "idle bus messages/s (in / out of nats)",
      `${((v1.inMsgs - v0.inMsgs) / (idleMs / 1000)).toFixed(0)} / ${
        ((v1.outMsgs - v0.outMsgs) / (idleMs / 1000)).toFixed(0)
      }`,
    );
    row("RSS of node agents, per node", mb(idle1.nodeRss / opts.nodes));
    row("RSS of node agents, all", mb(idle1.nodeRss));
    row("RSS of nats, state, scheduler, controllers", mb(idle1.otherRss));

    const times = new PodTimes();
    const pods = new Informer<Pod>({
      client,
      resource: "pods",
      log: quiet,
      signal: controller.signal,
      onEvent: (_t, p) => times.onEvent(p),
    });
    await pods.start();

    if (opts.pods === 0) return;
    const m0 = await varz(cluster);
    const kv0 = await kvRevision(client);
    const u0 = await labUsage(cluster);
    const d0 = performance.now();
    await client.create<Deployment>("deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bench", namespace: "default" },
      spec: {
        replicas: opts.pods,
        selector: { matchLabels: { app: "bench" } },
        template: {
          metadata: { labels: { app: "bench" } },
          spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
        },
      },
    });
    await until(
      `${opts.pods} pods Running`,
      1_800_000,
      () => times.runningCount("default/bench-") >= opts.pods,
    );
    const deployMs = performance.now() - d0;
    const m1 = await varz(cluster);
    const kv1 = await kvRevision(client);
    const u1 = await labUsage(cluster);
    row(`${opts.pods} pods Running (Deployment, scheduling included)`, s(deployMs));
    const last = times.lastOf("default/bench-");
    row("  the last created / scheduled at", `${s(last.created - d0)} / ${s(last.scheduled - d0)}`);
    const dep = times.latencies("default/bench-");
    row("pod startup p50 / p99 (Deployment)", `${s(pct(dep, 0.5))} / ${s(pct(dep, 0.99))}`);
    row(
      "bus messages per pod (in / out of nats)",
      `${((m1.inMsgs - m0.inMsgs) / opts.pods).toFixed(0)} / ${
        ((m1.outMsgs - m0.outMsgs) / opts.pods).toFixed(0)
      }`,
    );
    row("KV writes per pod", ((kv1 - kv0) / opts.pods).toFixed(1));
    row("CPU seconds per pod (lab processes)", ((u1.cpu - u0.cpu) / opts.pods).toFixed(4));
    row("  cores by process while deploying", coresByKind(u0, u1, deployMs / 1000));

    if (opts.bare > 0) {
      const b0 = performance.now();
      const interval = 1000 / opts.rate;
      for (let i = 0; i < opts.bare; i++) {
        const due = b0 + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        client.create<Pod>("pods", {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `bare-${i}`, namespace: "default" },
          spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
        }).catch((err) => console.error(`create bare-${i}: ${err}`));
      }
      row(
        `bare pods created at`,
        `${(opts.bare / ((performance.now() - b0) / 1000)).toFixed(0)}/s`,
      );
      await until(
        `${opts.bare} bare pods Running`,
        600_000,
        () => times.runningCount("default/bare-") >= opts.bare,
      );
      const bare = times.latencies("default/bare-");
      row(
        `pod startup p50 / p99 (bare, ${opts.rate}/s)`,
        `${s(pct(bare, 0.5))} / ${s(pct(bare, 0.99))}`,
      );
    }

    const ceiling = await busCeiling(cluster);
    row("bus ceiling: KV puts/s, 200 in flight", ceiling.toFixed(0));
    row(
      "Deployment pods/s as a share of the ceiling",
      `${(opts.pods / (deployMs / 1000)).toFixed(0)}/s = ${
        (100 * (opts.pods / (deployMs / 1000)) * ((kv1 - kv0) / opts.pods) / ceiling).toFixed(0)
      }% of the KV ceiling`,
    );
    controller.abort();
    await Promise.allSettled([nodes.done, pods.done]);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The KV bucket's revision now: every write is one. */
async function kvRevision(client: ApiClient): Promise<number> {
  const list = await client.list("namespaces");
  return Number(list.resourceVersion);
}
