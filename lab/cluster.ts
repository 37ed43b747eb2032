/**
 * A whole lab on one machine, as separate processes under one {@linkcode Supervisor}: nats-server (from
 * PATH, JetStream on, its store in the lab directory), the state service, the scheduler, the controllers
 * and N worker nodes (runtime, kubelet and kube-proxy each). Every process that dies is restarted with a
 * backoff — nats-server included, on the same port and store — and the cluster answers the lab's fault
 * verbs (`kl.lab.kill-node`, `kl.lab.restore-node`). `deno task lab` (lab/main.ts), the end-to-end tests
 * and the benchmarks start it; dispose it to stop everything in order: nodes, then the scheduler and
 * controllers, then the state service, then NATS.
 *
 * The lab directory holds `lab.json` (how to reach the lab), `logs/<process>.log` (written as the
 * processes write), `run/<process>.pid` (for `kill $(cat …)`), `nats/` (the store), `auth/` (the
 * lab's keys, nats-server's configuration and every process's credentials, lab/auth.ts) and the HTTP
 * API's token and TLS certificates (`http-token`, `http-ca.crt`, lab/http_credentials.ts).
 * @module
 */
import { apiError } from "../shared/api/errors.ts";
import type { Node } from "../shared/api/core.ts";
import { Bus } from "../shared/bus/bus.ts";
import { subjects } from "../shared/bus/subjects.ts";
import { ApiClient } from "../shared/client/client.ts";
import { LabNodeReply, LabNodeRequest } from "../shared/client/lab.ts";
import { type Clock, RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { freePort, natsServerArgs, natsServerMissing, waitForPort } from "../shared/nats_server.ts";
import { timingProfile } from "../shared/timing.ts";
import { prepareAuth } from "./auth.ts";
import { ensureLabCredentials, stateEnv } from "./http_credentials.ts";
import { renderKubeconfig } from "./kubeconfig.ts";
import { NODE_AGENTS, type NodeAgent, type NodeHandle, type NodeSpec, startNode } from "./node.ts";
import { spawnAgent, spawnProcess } from "./processes.ts";
import { type ChildProcess, Supervisor } from "./supervisor.ts";

/** Options for {@linkcode startCluster}. */
export interface ClusterOptions {
  /** The lab directory; created if missing. */
  dir: string;
  /** Worker nodes, `node-1` … `node-N`. @default 3 */
  nodes?: number;
  /** Timing profile. @default "default" */
  profile?: string;
  /** Every node's runtime backend. @default "fake" */
  runtime?: string;
  /** NATS client port; 0 picks a free one. @default 4222 */
  port?: number;
  /** The state service's HTTP port; 0 picks a free one. @default 8080 */
  httpPort?: number;
  /** NATS monitoring port; 0 picks a free one. @default 8222 */
  monitorPort?: number;
  /** Delete the stored objects first. @default false */
  clean?: boolean;
  /** The agents' `KUBELAB_LOG_LEVEL`. @default "info" */
  logLevel?: string;
  /** The launcher's own log. @default a Logger to stderr */
  log?: Logger;
  /** @default RealClock */
  clock?: Clock;
}

/** What `lab.json` holds: how the CLI and tests reach the lab. */
export interface LabInfo {
  natsUrl: string;
  /** The lab owner's NATS credentials (`admin`). */
  credsFile: string;
  /** A kubeconfig for kubectl, as the lab's owner. */
  kubeconfig: string;
  httpUrl: string;
  monitorUrl: string;
  dir: string;
  profile: string;
  nodes: string[];
  /** The launcher's pid. */
  pid: number;
}

/** A running lab. */
export interface Cluster extends AsyncDisposable {
  readonly info: LabInfo;
  readonly supervisor: Supervisor;
  /** A node by name; throws a 404 ApiError naming the lab's nodes when there is none. */
  node(name: string): NodeHandle;
  /** Resolves once every node is Ready; rejects after `timeoutMs` or when `signal` aborts. */
  waitReady(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Stops everything in order; the store stays for the next start. */
  stop(): Promise<void>;
}

/** The address of node N: its own loopback address on Linux (127.1.0.N), else 127.0.0.1. */
export function nodeAddress(n: number): string {
  return Deno.build.os === "linux" ? `127.1.0.${n}` : "127.0.0.1";
}

/** Node N of the local lab. */
export function localNode(n: number): NodeSpec {
  return { name: `node-${n}`, address: nodeAddress(n), podCIDR: `10.244.${n}.0/24` };
}

/**
 * A port for `requested`: 0 picks a free one; any other must be free now.
 *
 * @throws {RangeError} for a port out of range or in use, saying what to do.
 */
export function pickPort(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new RangeError(`Invalid port "${requested}"`);
  }
  if (requested === 0) return freePort();
  try {
    Deno.listen({ hostname: "127.0.0.1", port: requested }).close();
  } catch {
    throw new RangeError(
      `Port ${requested} is already in use: stop what uses it, or pass 0 to pick a free port`,
    );
  }
  return requested;
}

/** Starts the lab and returns once every process is started (not yet Ready: see waitReady). */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const profile = options.profile ?? "default";
  timingProfile(profile); // throws for an unknown profile, before anything starts
  const clock = options.clock ?? new RealClock();
  const log = options.log ?? new Logger({ fields: { agent: "lab" } });
  await Deno.mkdir(options.dir, { recursive: true });
  const dir = await Deno.realPath(options.dir);
  if (options.clean) await Deno.remove(`${dir}/nats`, { recursive: true }).catch(() => {});
  for (const sub of ["logs", "run", "nats"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
  const port = pickPort(options.port ?? 4222);
  const httpPort = pickPort(options.httpPort ?? 8080);
  const monitorPort = pickPort(options.monitorPort ?? 8222);
  const natsUrl = `nats://127.0.0.1:${port}`;
  const httpAddr = `127.0.0.1:${httpPort}`;
  const specs = Array.from({ length: options.nodes ?? 3 }, (_, i) => localNode(i + 1));
  // Every process gets credentials of its own identity; nats-server trusts only the lab's keys.
  const auth = await prepareAuth(dir);
  // The HTTP API: a bearer token and TLS (kubectl sends a token only over TLS), kept across starts.
  const http = await ensureLabCredentials(dir);
  // kubectl --kubeconfig .kubelab/kubeconfig (or KUBECONFIG=…) reaches the lab as its owner.
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    kubeconfig,
    renderKubeconfig({
      server: `https://127.0.0.1:${httpPort}`,
      token: http.token,
      certificateAuthority: await Deno.readTextFile(http.caFile),
    }),
    { mode: 0o600 },
  );
  const info: LabInfo = {
    natsUrl,
    credsFile: await auth.creds("admin"),
    kubeconfig,
    httpUrl: `https://${httpAddr}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    dir,
    profile,
    nodes: specs.map((s) => s.name),
    pid: Deno.pid,
  };

  const supervisor = new Supervisor({ clock, log });
  // `kill $(cat .kubelab/run/state.pid)` is how a user crashes one process.
  const writePid = (name: string, proc: ChildProcess) =>
    Deno.writeTextFile(`${dir}/run/${name}.pid`, `${proc.pid}\n`);

  // NATS first, restarted on the same port and store when it dies: agents reconnect on their own.
  const natsArgs = natsServerArgs({
    configFile: auth.configFile,
    host: "127.0.0.1",
    port,
    httpPort: monitorPort,
    storeDir: `${dir}/nats`,
    logFile: `${dir}/logs/nats-server.log`,
  });
  let natsStarted!: () => void;
  let natsFailed!: (err: unknown) => void;
  const natsUp = new Promise<void>((resolve, reject) => {
    natsStarted = resolve;
    natsFailed = reject;
  });
  supervisor.start({
    name: "nats-server",
    spawn: async () => {
      let proc: ChildProcess;
      try {
        proc = spawnProcess("nats-server", natsArgs, { detached: true });
      } catch (err) {
        const error = natsServerMissing("nats-server", err);
        natsFailed(error);
        throw error;
      }
      const exited = proc.status.then((s) => {
        throw new Error(
          `nats-server exited with code ${s.code} as it started: see ${dir}/logs/nats-server.log`,
        );
      });
      exited.catch(() => {});
      try {
        await Promise.race([waitForPort("127.0.0.1", port), exited]);
      } catch (err) {
        try {
          proc.kill("SIGKILL");
        } catch { /* gone */ }
        natsFailed(err);
        throw err;
      }
      natsStarted();
      return proc;
    },
    onStart: (proc) => writePid("nats-server", proc),
  });
  try {
    await natsUp;
  } catch (err) {
    await supervisor.stop();
    throw err;
  }
  await Deno.writeTextFile(`${dir}/lab.json`, JSON.stringify(info, null, 2) + "\n");

  const env = {
    KUBELAB_NATS_URL: natsUrl,
    KUBELAB_PROFILE: profile,
    KUBELAB_LOG_LEVEL: options.logLevel ?? "info",
  };
  const agent = async (name: string, extra: Record<string, string> = {}) => {
    const creds = await auth.creds(name);
    supervisor.start({
      name,
      spawn: () =>
        spawnAgent(`agents/${name}/main.ts`, {
          env: { ...env, KUBELAB_NATS_CREDS: creds, ...extra },
          logFile: `${dir}/logs/${name}.log`,
          detached: true,
        }),
      onStart: (proc) => writePid(name, proc),
    });
  };
  await agent("state", { KUBELAB_HTTP_ADDR: httpAddr, ...stateEnv(http) });
  await agent("scheduler");
  await agent("controllers");
  const nodes = new Map<string, NodeHandle>();
  for (const spec of specs) {
    const creds: Partial<Record<NodeAgent, string>> = {};
    for (const a of NODE_AGENTS) creds[a] = await auth.creds(`${a}@${spec.name}`);
    nodes.set(
      spec.name,
      startNode(spec, {
        supervisor,
        env: { ...env, KUBELAB_RUNTIME: options.runtime ?? "fake" },
        creds,
        logDir: `${dir}/logs`,
        detached: true,
        onStart: writePid,
      }),
    );
  }

  const bus = await Bus.connect({
    servers: natsUrl,
    name: "lab",
    log,
    creds: await Deno.readTextFile(info.credsFile),
  });
  const node = (name: string): NodeHandle => {
    const handle = nodes.get(name);
    if (!handle) {
      throw apiError(
        "NotFound",
        `node "${name}" is not one of this lab's: ${[...nodes.keys()].join(", ")}`,
      );
    }
    return handle;
  };
  // Faults: a killed node is SIGKILLed, as a machine that loses power; restoring starts it afresh.
  bus.serve(subjects.lab("kill-node"), LabNodeRequest, async (req): Promise<LabNodeReply> => {
    const agents = await node(req.node).kill();
    log.info("Killed node", { node: req.node, agents: agents.join(",") });
    return { node: req.node, agents };
  });
  bus.serve(subjects.lab("restore-node"), LabNodeRequest, (req): LabNodeReply => {
    const agents = node(req.node).restore();
    if (agents.length) log.info("Restored node", { node: req.node, agents: agents.join(",") });
    return { node: req.node, agents };
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await bus.drain();
      // Nodes first, then the scheduler and controllers, then the state service, then NATS: writes
      // finish in order.
      await supervisor.stop([...nodes.values()].flatMap((n) => n.children));
      await supervisor.stop(["scheduler", "controllers"]);
      await supervisor.stop(["state"]);
      await supervisor.stop();
    })();

  return {
    info,
    supervisor,
    node,
    waitReady: (opts = {}) => waitForReadyNodes(new ApiClient(bus), info.nodes, opts),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Polls the node list until every one of `names` is Ready. */
async function waitForReadyNodes(
  client: ApiClient,
  names: string[],
  opts: { timeoutMs?: number; signal?: AbortSignal },
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let waiting = names;
  while (!opts.signal?.aborted) {
    try {
      const { items } = await client.list<Node>("nodes");
      const ready = new Set(
        items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ).map((n) => n.metadata.name),
      );
      waiting = names.filter((n) => !ready.has(n));
      if (!waiting.length) return;
    } catch {
      // the state service is still starting
    }
    if (Date.now() > deadline) {
      throw new Error(`Nodes not Ready after ${timeoutMs / 1000} s: ${waiting.join(", ")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("Stopped while waiting for the nodes to be Ready");
}
