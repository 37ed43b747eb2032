/**
 * `deno task lab`: the embedded lab. Starts nats-server (from PATH), the state service, the scheduler,
 * the controllers and N worker nodes (runtime, kubelet and kube-proxy each) as separate Deno processes,
 * waits until the nodes are Ready, prints how to use the lab, and stops everything cleanly on Ctrl-C or
 * SIGTERM. While it runs it answers `kl.lab.kill-node` and `kl.lab.restore-node` (`kubelab lab …`):
 * a node's three processes are killed, or started again.
 * @module
 */
import { parseArgs } from "node:util";
import { Bus } from "../shared/bus/bus.ts";
import { apiError } from "../shared/api/errors.ts";
import { subjects } from "../shared/bus/subjects.ts";
import { ApiClient } from "../shared/client/client.ts";
import type { Node } from "../shared/api/core.ts";
import { Logger } from "../shared/log.ts";
import {
  freePort,
  hasNatsServer,
  type NatsServer,
  startNatsServer,
} from "../shared/nats_server.ts";
import { timingProfile } from "../shared/timing.ts";
import { type LabNodeReply, LabNodeRequest } from "./commands/lab.ts";

const USAGE = `Usage: deno task lab [options]

Starts a local kubelab: nats-server, the state service, the scheduler, the controllers and N
worker nodes (runtime, kubelet, kube-proxy per node), each a separate process.

Options:
  --nodes N         worker nodes (default 3)
  --dir DIR         lab directory: NATS store, logs, lab.json (default .kubelab)
  --profile NAME    timing profile: default (Kubernetes' timings) or fast (default: default)
  --runtime NAME    container runtime backend of every node: fake, or process for real
                    processes (as root: pod IPs on lo, so Services carry traffic) (default: fake)
  --port N          NATS client port; 0 picks a free one (default 4222)
  --http-port N     state service HTTP port; 0 picks a free one (default 8080)
  --monitor-port N  NATS monitoring port; 0 picks a free one (default 8222)
  --clean           delete the lab directory's stored state first
  -h, --help        this text
`;

const ROOT = new URL("../", import.meta.url);

interface Child {
  name: string;
  proc: Deno.ChildProcess;
  stopping: boolean;
  exited: boolean;
}

/** A node's agents: how to start them, and their processes. */
interface NodeAgents {
  env: Record<string, string>;
  children: Child[];
}

/** The agents of each node, in start order. */
const NODE_AGENTS = ["runtime", "kubelet", "kube-proxy"] as const;

/** Runs the lab; resolves with the process exit code. */
async function main(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      options: {
        nodes: { type: "string", default: "3" },
        dir: { type: "string", default: ".kubelab" },
        profile: { type: "string", default: "default" },
        runtime: { type: "string", default: "fake" },
        port: { type: "string", default: "4222" },
        "http-port": { type: "string", default: "8080" },
        "monitor-port": { type: "string", default: "8222" },
        clean: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`lab: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const nodes = Number(flags.nodes);
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > 250) {
    console.error(`lab: --nodes must be a whole number from 0 to 250, got "${flags.nodes}"`);
    return 2;
  }
  try {
    timingProfile(flags.profile);
  } catch (err) {
    console.error(`lab: ${(err as Error).message}`);
    return 2;
  }
  if (!(await hasNatsServer())) {
    console.error(
      "lab: nats-server is not on PATH. Install it first:\n" +
        "  Debian/Ubuntu:  sudo apt-get install -y nats-server\n" +
        "  macOS:          brew install nats-server\n" +
        "  other:          https://github.com/nats-io/nats-server/releases",
    );
    return 1;
  }

  const dir = await Deno.realPath(await ensureDir(flags.dir));
  if (flags.clean) await Deno.remove(`${dir}/nats`, { recursive: true }).catch(() => {});
  await ensureDir(`${dir}/logs`);
  await ensureDir(`${dir}/run`);
  let port: number, httpPort: number, monitorPort: number;
  try {
    port = pickPort(flags.port, 4222);
    httpPort = pickPort(flags["http-port"], 8080);
    monitorPort = pickPort(flags["monitor-port"], 8222);
  } catch (err) {
    console.error(`lab: ${(err as Error).message}`);
    return 2;
  }
  const log = new Logger({ fields: { agent: "lab" } });

  let nats: NatsServer;
  try {
    nats = await startNatsServer({
      storeDir: `${dir}/nats`,
      port,
      httpPort: monitorPort,
      logFile: `${dir}/logs/nats-server.log`,
    });
  } catch (err) {
    console.error(`lab: ${(err as Error).message}`);
    return 1;
  }
  const httpAddr = `127.0.0.1:${httpPort}`;
  const baseEnv = {
    KUBELAB_NATS_URL: nats.url,
    KUBELAB_PROFILE: flags.profile,
    KUBELAB_LOG_LEVEL: Deno.env.get("KUBELAB_LOG_LEVEL") ?? "info",
  };
  const spawn = async (name: string, main: string, env: Record<string, string>): Promise<Child> => {
    const logFile = await Deno.open(`${dir}/logs/${name}.log`, {
      create: true,
      append: true,
    });
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", new URL(main, ROOT).pathname],
      env: { ...baseEnv, ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both streams go to the agent's log file.
    const writer = logFile.writable.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await writer.write(chunk);
    };
    Promise.all([pump(proc.stdout), pump(proc.stderr)]).finally(() =>
      writer.close().catch(() => {})
    );
    const child: Child = { name, proc, stopping: false, exited: false };
    // `kill $(cat .kubelab/run/state.pid)` is how a user crashes one agent.
    await Deno.writeTextFile(`${dir}/run/${name}.pid`, `${proc.pid}\n`);
    proc.status.then((s) => {
      child.exited = true;
      if (!child.stopping) {
        log.error("Agent exited unexpectedly", {
          agent: name,
          code: s.code,
          log: `${dir}/logs/${name}.log`,
        });
      }
    });
    return child;
  };

  const nodeNames = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
  const labJson = {
    natsUrl: nats.url,
    httpUrl: `http://${httpAddr}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    dir,
    profile: flags.profile,
    nodes: nodeNames,
    pid: Deno.pid,
  };
  await Deno.writeTextFile(`${dir}/lab.json`, JSON.stringify(labJson, null, 2) + "\n");

  let stopRequested = false;
  const stop = new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => {
        stopRequested = true;
        resolve();
      });
    }
  });

  // The control plane is restarted when it dies, as kubelet restarts static control-plane pods: kill
  // the state service and it comes back with every object (they live in NATS).
  const controlPlane = new Map<string, Child>();
  const supervise = async (name: string, env: Record<string, string>, delayMs = 1000) => {
    const child = await spawn(name, `agents/${name}/main.ts`, env);
    controlPlane.set(name, child);
    const started = Date.now();
    child.proc.status.then(async () => {
      if (child.stopping || stopRequested) return;
      // Back off 1 s doubling to 30 s; reset after a minute of running.
      const delay = Date.now() - started > 60_000 ? 1000 : delayMs;
      log.info("Restarting agent", { agent: name, inMs: delay });
      await new Promise((r) => setTimeout(r, delay));
      if (!stopRequested) await supervise(name, env, Math.min(delay * 2, 30_000));
    });
  };
  await supervise("state", { KUBELAB_HTTP_ADDR: httpAddr });
  await supervise("scheduler", {});
  await supervise("controllers", {});
  const nodeAgents = new Map<string, NodeAgents>();
  const spawnAgent = (node: string, agent: string, env: Record<string, string>) =>
    spawn(`${node}-${agent}`, `agents/${agent}/main.ts`, env);
  for (const [i, node] of nodeNames.entries()) {
    const agents: NodeAgents = {
      env: {
        KUBELAB_NODE_NAME: node,
        KUBELAB_NODE_ADDRESS: nodeAddress(i + 1),
        KUBELAB_POD_CIDR: `10.244.${i + 1}.0/24`,
        KUBELAB_RUNTIME: flags.runtime,
      },
      children: [],
    };
    nodeAgents.set(node, agents);
    for (const agent of NODE_AGENTS) {
      agents.children.push(await spawnAgent(node, agent, agents.env));
    }
  }

  const bus = await Bus.connect({ servers: nats.url, name: "lab", log });
  const agentsOf = (node: string): NodeAgents => {
    const agents = nodeAgents.get(node);
    if (!agents) {
      throw apiError(
        "NotFound",
        `node "${node}" is not one of this lab's: ${nodeNames.join(", ")}`,
      );
    }
    return agents;
  };
  // Faults: a killed node is SIGKILLed, as a machine that loses power; restoring starts it afresh.
  bus.serve(subjects.lab("kill-node"), LabNodeRequest, async ({ node }): Promise<LabNodeReply> => {
    const live = agentsOf(node).children.filter((c) => !c.exited);
    await Promise.all(live.map((c) => terminate(c, "SIGKILL")));
    log.info("Killed node", { node, agents: live.map((c) => c.name) });
    return { node, agents: live.map((c) => c.name) };
  });
  bus.serve(
    subjects.lab("restore-node"),
    LabNodeRequest,
    async ({ node }): Promise<LabNodeReply> => {
      const agents = agentsOf(node);
      const started: string[] = [];
      for (const [i, agent] of NODE_AGENTS.entries()) {
        if (!agents.children[i].exited) continue;
        agents.children[i] = await spawnAgent(node, agent, agents.env);
        started.push(agents.children[i].name);
      }
      if (started.length) log.info("Restored node", { node, agents: started });
      return { node, agents: started };
    },
  );
  const ready = await Promise.race([
    waitForReadyNodes(new ApiClient(bus), nodeNames, () => stopRequested).then(() => true),
    stop.then(() => false),
  ]).catch((err) => {
    log.error("Lab did not come up", { error: err, logs: `${dir}/logs` });
    return false;
  });

  if (ready) {
    console.log(banner(labJson, httpAddr));
    await stop;
  }
  await bus.drain();
  console.log("\nStopping the lab…");
  // Nodes first, then the scheduler and controllers, then the state service, then NATS: writes
  // finish in order.
  const nodesGroup = [...nodeAgents.values()].flatMap((a) => a.children);
  const cp = (name: string) => controlPlane.get(name)!;
  for (const group of [nodesGroup, [cp("scheduler"), cp("controllers")], [cp("state")]]) {
    await Promise.all(group.map((c) => terminate(c)));
  }
  await nats.stop();
  console.log("Lab stopped.");
  return ready || stopRequested ? 0 : 1;
}

async function terminate(child: Child, signal: Deno.Signal = "SIGTERM"): Promise<void> {
  child.stopping = true;
  if (child.exited) return;
  try {
    child.proc.kill(signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.proc.kill("SIGKILL");
    } catch { /* gone */ }
  }, 10_000);
  await child.proc.status;
  clearTimeout(timer);
}

async function waitForReadyNodes(
  client: ApiClient,
  names: string[],
  cancelled: () => boolean,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!cancelled()) {
    try {
      const { items } = await client.list<Node>("nodes");
      const ready = new Set(
        items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ).map((n) => n.metadata.name),
      );
      if (names.every((n) => ready.has(n))) return;
    } catch {
      // the state service is still starting
    }
    if (Date.now() > deadline) {
      throw new Error(`Nodes not Ready after 120 s: ${names.join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function banner(
  lab: { natsUrl: string; dir: string; nodes: string[]; profile: string },
  http: string,
) {
  return `
kubelab is up: ${lab.nodes.length} node(s) Ready (${lab.nodes.join(", ")}), profile ${lab.profile}.

  NATS        ${lab.natsUrl}
  HTTP API    http://${http}   (Kubernetes REST paths, e.g. /api/v1/pods)
  lab dir     ${lab.dir}   (lab.json, logs/, nats/)

In another terminal, from this directory:
  deno task kubelab apply -f examples/pods.yaml
  deno task kubelab get pods -o wide
  deno task kubelab describe pod web-1
  deno task kubelab tap                      # every message on the bus
  deno task kubelab delete pod web-1
  deno task kubelab lab kill-node node-2     # then watch: kubelab get pods -o wide -w

Ctrl-C stops the lab; its state stays in ${lab.dir}/nats for the next start.
`;
}

/** Each node gets its own loopback address on Linux (127.1.0.N); elsewhere 127.0.0.1. */
function nodeAddress(n: number): string {
  return Deno.build.os === "linux" ? `127.1.0.${n}` : "127.0.0.1";
}

function pickPort(value: string, fallback: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`Invalid port "${value}"`);
  }
  if (n === 0) return freePort() || fallback;
  try {
    Deno.listen({ hostname: "127.0.0.1", port: n }).close();
  } catch {
    throw new RangeError(
      `Port ${n} is already in use: stop what uses it, or pass 0 to pick a free port`,
    );
  }
  return n;
}

async function ensureDir(path: string): Promise<string> {
  await Deno.mkdir(path, { recursive: true });
  return path;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
