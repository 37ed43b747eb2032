/**
 * `deno task chaos`: a rolling update under fire. Starts a lab (fast profile), runs a Deployment of N
 * replicas, changes its image, and while the rollout goes on SIGKILLs every kind of process in turn —
 * the state service, the scheduler, the controllers, nats-server, and a kubelet, a runtime and a
 * kube-proxy — waiting each time until the lab has it back. Then it waits for the rollout to finish
 * and counts what a user would call damage:
 *
 * - **lost pods**: replicas of the new template that are not Running and Ready;
 * - **orphan sandboxes**: sandboxes a runtime holds for no pod of the API bound to its node;
 * - **duplicate containers**: a pod with more than one running instance of a container.
 *
 * Prints each kill's recovery time and the three counts; exits 1 when a count is not 0. The end-to-end
 * test runs it small (tests/chaos_test.ts).
 * @module
 */
import { parseArgs } from "node:util";
import type { Deployment } from "../shared/api/apps.ts";
import type { Pod } from "../shared/api/core.ts";
import { identityToken } from "../shared/auth/identity.ts";
import { Bus } from "../shared/bus/bus.ts";
import { ApiClient } from "../shared/client/client.ts";
import { CriClient } from "../shared/cri/client.ts";
import { Logger } from "../shared/log.ts";
import { type Cluster, startCluster } from "./cluster.ts";

/** Options for {@linkcode runChaos}. */
export interface ChaosOptions {
  /** The Deployment's replicas. @default 100 */
  replicas?: number;
  /** Worker nodes. @default 3 */
  nodes?: number;
  /** How long the rollout may take after the last kill. @default 180_000 */
  settleTimeoutMs?: number;
  /** Progress lines. @default nothing */
  progress?: (line: string) => void;
}

/** One kill and how long the lab took to have the process back. */
export interface KillRecord {
  process: string;
  /** From the kill until a new process runs and the lab answers again. */
  recoveryMs: number;
}

/** What a chaos run found. */
export interface ChaosReport {
  replicas: number;
  nodes: number;
  kills: KillRecord[];
  /** From the image change until every replica of the new template is Running and Ready. */
  rolloutMs: number;
  lostPods: number;
  orphanSandboxes: number;
  duplicateContainers: number;
  /** What the counts are made of, for a failure message. */
  details: string[];
}

const quiet = new Logger({ level: "error", sink: () => {} });

/** Runs the chaos scenario in a lab of its own (a temporary directory, free ports). */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const replicas = options.replicas ?? 100;
  const nodes = options.nodes ?? 3;
  const say = options.progress ?? (() => {});
  const dir = await Deno.makeTempDir({ prefix: "kubelab-chaos-" });
  try {
    await using cluster = await startCluster({
      dir,
      nodes,
      profile: "fast",
      port: 0,
      httpPort: 0,
      monitorPort: 0,
      log: quiet,
    });
    await cluster.waitReady({ timeoutMs: 120_000 });
    say(`lab up: ${nodes} nodes Ready`);
    await using admin = await connect(cluster, "admin");
    const client = new ApiClient(admin, { timeoutMs: 10_000 });

    await client.create("deployments", deployment(replicas, "nginx:1.27"));
    await until("the first rollout", 180_000, async () => {
      return (await updatedReady(client, "nginx:1.27")) === replicas;
    });
    say(`${replicas} replicas Running and Ready`);

    const started = Date.now();
    await client.patch("deployments", {
      namespace: "default",
      name: "web",
      patch: {
        spec: { template: { spec: { containers: [{ name: "app", image: "nginx:1.28" }] } } },
      },
    });
    say("rolling update to nginx:1.28 started");

    const victims = [
      "state",
      "scheduler",
      "controllers",
      "nats-server",
      "node-1-kubelet",
      `node-${Math.min(2, nodes)}-runtime`,
      `node-${Math.min(3, nodes)}-kube-proxy`,
    ];
    const kills: KillRecord[] = [];
    for (const victim of victims) {
      const recoveryMs = await kill(cluster, client, victim);
      kills.push({ process: victim, recoveryMs });
      say(`killed ${victim}: back in ${recoveryMs} ms`);
    }

    await until("the rollout to finish", options.settleTimeoutMs ?? 180_000, async () => {
      const ready = await updatedReady(client, "nginx:1.28");
      const pods = await webPods(client);
      return ready === replicas && pods.every((p) => image(p) === "nginx:1.28") ? true : undefined;
    }).catch((err) => say(String(err)));
    const rolloutMs = Date.now() - started;
    say(`rollout done in ${rolloutMs} ms`);
    // Give kubelets a housekeeping pass to remove what belonged to deleted pods.
    await new Promise((r) => setTimeout(r, 3_000));
    const damage = await countDamage(cluster, client, replicas);
    return { replicas, nodes, kills, rolloutMs, ...damage };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function deployment(replicas: number, img: string): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "app", image: img }],
        },
      },
    },
  };
}

function image(pod: Pod): string | undefined {
  return pod.spec.containers[0]?.image;
}

async function webPods(client: ApiClient): Promise<Pod[]> {
  return (await client.list<Pod>("pods", { namespace: "default", labelSelector: "app=web" })).items;
}

function runningReady(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase === "Running" &&
    pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

/** Running and Ready pods of the template with `img`. */
async function updatedReady(client: ApiClient, img: string): Promise<number> {
  return (await webPods(client)).filter((p) => image(p) === img && runningReady(p)).length;
}

async function connect(cluster: Cluster, identity: string): Promise<Bus> {
  return await Bus.connect({
    servers: cluster.info.natsUrl,
    name: `chaos-${identity}`,
    log: quiet,
    creds: await Deno.readTextFile(
      `${cluster.info.dir}/auth/creds/${identityToken(identity)}.creds`,
    ),
  });
}

/** SIGKILLs `name`; resolves with the time until its new process runs and the lab answers. */
async function kill(cluster: Cluster, client: ApiClient, name: string): Promise<number> {
  const before = cluster.supervisor.status().find((s) => s.name === name)?.pid;
  const t0 = Date.now();
  cluster.supervisor.signal(name, "SIGKILL");
  await until(`${name} back`, 60_000, async () => {
    const pid = cluster.supervisor.status().find((s) => s.name === name)?.pid;
    if (pid === undefined || pid === before) return undefined;
    await client.list("nodes");
    return true;
  });
  return Date.now() - t0;
}

/** Counts lost pods, orphan sandboxes and duplicate containers. */
async function countDamage(
  cluster: Cluster,
  client: ApiClient,
  replicas: number,
): Promise<Pick<ChaosReport, "lostPods" | "orphanSandboxes" | "duplicateContainers" | "details">> {
  const details: string[] = [];
  const pods = await webPods(client);
  const ready = pods.filter((p) => image(p) === "nginx:1.28" && runningReady(p));
  const lostPods = Math.max(0, replicas - ready.length);
  if (lostPods) {
    details.push(
      `${ready.length} of ${replicas} new replicas Running and Ready; pods: ${
        pods.map((p) =>
          `${p.metadata.name} ${image(p)} ${p.status?.phase}${
            p.metadata.deletionTimestamp ? " terminating" : ""
          }`
        ).join(", ")
      }`,
    );
  }
  const allPods = (await client.list<Pod>("pods")).items;
  let orphanSandboxes = 0;
  let duplicateContainers = 0;
  for (const node of cluster.info.nodes) {
    // Only a node's kubelet may ask its runtime.
    await using bus = await connect(cluster, `kubelet@${node}`);
    const cri = new CriClient(node, bus, { timeoutMs: 10_000 });
    const wanted = new Set(
      allPods.filter((p) => p.spec.nodeName === node).map((p) => p.metadata.uid),
    );
    const sandboxes = (await cri.listPodSandbox({})).items;
    for (const s of sandboxes) {
      if (wanted.has(s.metadata.uid)) continue;
      orphanSandboxes++;
      details.push(
        `orphan sandbox on ${node}: ${s.metadata.namespace}/${s.metadata.name} ${s.state}`,
      );
    }
    const running = (await cri.listContainers({})).containers.filter((c) =>
      c.state === "CONTAINER_RUNNING"
    );
    const seen = new Map<string, number>();
    for (const c of running) {
      const key = `${c.podSandboxId}/${c.metadata.name}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    for (const [key, n] of seen) {
      if (n < 2) continue;
      duplicateContainers += n - 1;
      details.push(`${n} running instances of ${key} on ${node}`);
    }
  }
  return { lostPods, orphanSandboxes, duplicateContainers, details };
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `Timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last}` : ""}`,
  );
}

/** The report as a user reads it. */
export function formatReport(r: ChaosReport): string {
  const rows = r.kills.map((k) =>
    `  ${k.process.padEnd(22)} ${(k.recoveryMs / 1000).toFixed(1)} s`
  );
  return [
    `chaos: a ${r.replicas}-replica rolling update on ${r.nodes} nodes, every process killed once`,
    "",
    "  killed (SIGKILL)       back in",
    ...rows,
    "",
    `  rollout finished in    ${(r.rolloutMs / 1000).toFixed(1)} s`,
    `  lost pods              ${r.lostPods}`,
    `  orphan sandboxes       ${r.orphanSandboxes}`,
    `  duplicate containers   ${r.duplicateContainers}`,
    ...(r.details.length ? ["", ...r.details.map((d) => `  ${d}`)] : []),
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      replicas: { type: "string", default: "100" },
      nodes: { type: "string", default: "3" },
    },
  });
  const report = await runChaos({
    replicas: Number(values.replicas),
    nodes: Number(values.nodes),
    progress: (l) => console.error(l),
  });
  console.log(formatReport(report));
  Deno.exit(report.lostPods + report.orphanSandboxes + report.duplicateContainers === 0 ? 0 : 1);
}
