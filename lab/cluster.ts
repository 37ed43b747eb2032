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
import {
  LabNodeReply,
  LabNodeRequest,
  LabNodesReply,
  LabNodesRequest,
} from "../shared/client/lab.ts";
import { ipToNumber, numberToIp } from "../shared/net/cidr.ts";
import { type Clock, RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { freePort, natsServerArgs, natsServerMissing, waitForPort } from "../shared/nats_server.ts";
import { timingProfile } from "../shared/timing.ts";
import { prepareAuth } from "./auth.ts";
import { ensureLabCredentials, stateEnv } from "./http_credentials.ts";
import { renderKubeconfig } from "./kubeconfig.ts";
import {
  NODE_AGENTS,
  type NodeAgent,
  type NodeGroup,
  type NodeHandle,
  type NodeSpec,
  startNodes,
} from "./node.ts";
import { spawnAgent, spawnProcess } from "./processes.ts";
import { type ChildProcess, Supervisor } from "./supervisor.ts";

/** Options for {@linkcode startCluster}. */
export interface ClusterOptions {
  /** The lab directory; created if missing. */
  dir: string;
  /** Worker nodes, `node-1` … `node-N`. @default 3 */
  nodes?: number;
  /**
   * Up to this many nodes, each node gets processes of its own (the architecture stays visible); past
   * it, nodes are hosted in pools of `nodesPerPool`. @default 20
   */
  poolThreshold?: number;
  /** Nodes per pool. @default 250 */
  nodesPerPool?: number;
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
  /**
   * A node's processes (or a pool's, by the pool's name); throws a 404 ApiError naming the lab's nodes
   * when there is none, or a 409 for a node hosted in a pool (its pool is the unit).
   */
  node(name: string): NodeHandle;
  /** Adds `count` nodes (their own processes, or new pools in a pooled lab); their names. */
  addNodes(count: number): Promise<string[]>;
  /**
   * Removes the last `count` nodes: stops their processes and deletes them from the API (their pods
   * go as Kubernetes does for a deleted node). Pools go whole; their names.
   */
  removeNodes(count: number): Promise<string[]>;
  /** Resolves once every node is Ready; rejects after `timeoutMs` or when `signal` aborts. */
  waitReady(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Stops everything in order; the store stays for the next start. */
  stop(): Promise<void>;
}

/**
 * The address of node N: its own loopback address on Linux (127.1.0.N, counting on past 255: node 256
 * is 127.1.1.0), else 127.0.0.1.
 */
export function nodeAddress(n: number): string {
  return Deno.build.os === "linux" ? numberToIp(ipToNumber("127.1.0.0") + n) : "127.0.0.1";
}

/**
 * The pod CIDR of node N: 10.244.N.0/24 up to node 254, as kubeadm's 10.244.0.0/16 gives; a bigger lab
 * takes /24s from 10.128.0.0/9 (10.<128 + N/256>.<N % 256>.0/24), clear of the services' 10.96.0.0/16.
 */
export function nodePodCIDR(n: number): string {
  if (n <= 254) return `10.244.${n}.0/24`;
  return `${numberToIp(ipToNumber("10.128.0.0") + n * 256)}/24`;
}

/** Node N of the local lab. */
export function localNode(n: number): NodeSpec {
  return { name: `node-${n}`, address: nodeAddress(n), podCIDR: nodePodCIDR(n) };
}

/**
 * How nodes `from`…`from + count - 1` are run: each its own processes while the lab stays small, else
 * in pools of `perPool` named `pool-<k>` from `firstPool`.
 */
export function groupNodes(
  from: number,
  count: number,
  pooled: boolean,
  perPool: number,
  firstPool: number,
): NodeGroup[] {
  const specs = Array.from({ length: count }, (_, i) => localNode(from + i));
  if (!pooled) return specs.map((spec) => ({ name: spec.name, nodes: [spec], pooled: false }));
  const groups: NodeGroup[] = [];
  for (let i = 0; i < specs.length; i += perPool) {
    groups.push({
      name: `pool-${firstPool + groups.length}`,
      nodes: specs.slice(i, i + perPool),
      pooled: true,
    });
  }
  return groups;
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
  const nodeCount = options.nodes ?? 3;
  const perPool = options.nodesPerPool ?? 250;
  const pooled = nodeCount > (options.poolThreshold ?? 20);
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
    nodes: [],
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
  const bus = await Bus.connect({
    servers: natsUrl,
    name: "lab",
    log,
    creds: await Deno.readTextFile(info.credsFile),
  });
  const client = new ApiClient(bus);

  // Nodes, in groups: a node with processes of its own, or a pool hosting many.
  const groups = new Map<string, NodeHandle>();
  let nextNode = 1;
  let nextPool = 1;
  const startGroup = async (group: NodeGroup) => {
    const creds: Partial<Record<NodeAgent, string>> = {};
    for (const a of NODE_AGENTS) {
      creds[a] = group.pooled
        ? await auth.creds(`${a}-pool@${group.name}`, group.nodes.map((n) => n.name))
        : await auth.creds(`${a}@${group.name}`);
    }
    groups.set(
      group.name,
      await startNodes(group, {
        supervisor,
        env: { ...env, KUBELAB_RUNTIME: options.runtime ?? "fake" },
        creds,
        logDir: `${dir}/logs`,
        runDir: `${dir}/run`,
        detached: true,
        onStart: writePid,
      }),
    );
  };
  const nodeNames = () => [...groups.values()].flatMap((g) => g.group.nodes.map((n) => n.name));
  const saveInfo = () => {
    info.nodes = nodeNames();
    return Deno.writeTextFile(`${dir}/lab.json`, JSON.stringify(info, null, 2) + "\n");
  };
  const addNodes = async (count: number): Promise<string[]> => {
    const pool = pooled || nodeNames().length + count > (options.poolThreshold ?? 20);
    const added = groupNodes(nextNode, count, pool, perPool, nextPool);
    nextNode += count;
    if (pool) nextPool += added.length;
    for (const group of added) await startGroup(group);
    await saveInfo();
    return added.flatMap((g) => g.nodes.map((n) => n.name));
  };
  await addNodes(nodeCount);

  const node = (name: string): NodeHandle => {
    const handle = groups.get(name);
    if (handle) return handle;
    const pool = [...groups.values()].find((g) => g.group.nodes.some((n) => n.name === name));
    if (pool) {
      throw apiError(
        "Conflict",
        `node "${name}" is hosted in pool "${pool.group.name}" with ${
          pool.group.nodes.length - 1
        } other nodes: kill or restore "${pool.group.name}", which fails them all`,
      );
    }
    const names = nodeNames();
    throw apiError(
      "NotFound",
      `node "${name}" is not one of this lab's: ${names.slice(0, 10).join(", ")}${
        names.length > 10 ? `, … (${names.length})` : ""
      }`,
    );
  };
  const removeNodes = async (count: number): Promise<string[]> => {
    const last = [...groups.values()].reverse();
    const gone: NodeHandle[] = [];
    let left = count;
    for (const g of last) {
      if (left <= 0) break;
      if (g.group.nodes.length > left) {
        throw apiError(
          "BadRequest",
          `the last ${
            g.group.pooled ? "pool" : "node"
          } "${g.group.name}" has ${g.group.nodes.length} ` +
            `nodes: remove-nodes removes whole pools (ask for ${
              count - left + g.group.nodes.length
            })`,
        );
      }
      gone.push(g);
      left -= g.group.nodes.length;
    }
    const names: string[] = [];
    for (const g of gone) {
      await g.stop();
      groups.delete(g.group.name);
      for (const n of g.group.nodes) {
        names.push(n.name);
        // Deleted from the API as a machine taken out of a cluster: the pod GC deletes its pods.
        await client.delete("nodes", { name: n.name }).catch(() => {});
        await client.delete("leases", { namespace: "kube-node-lease", name: n.name }).catch(
          () => {},
        );
      }
    }
    await saveInfo();
    return names;
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
  bus.serve(subjects.lab("add-nodes"), LabNodesRequest, async (req): Promise<LabNodesReply> => {
    const nodes = await addNodes(req.count);
    log.info("Added nodes", { count: nodes.length });
    return { nodes };
  });
  bus.serve(subjects.lab("remove-nodes"), LabNodesRequest, async (req): Promise<LabNodesReply> => {
    const nodes = await removeNodes(req.count);
    log.info("Removed nodes", { count: nodes.length });
    return { nodes };
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await bus.drain();
      // Nodes first, then the scheduler and controllers, then the state service, then NATS: writes
      // finish in order.
      await supervisor.stop([...groups.values()].flatMap((n) => n.children));
      await supervisor.stop(["scheduler", "controllers"]);
      await supervisor.stop(["state"]);
      await supervisor.stop();
    })();

  return {
    info,
    supervisor,
    node,
    addNodes,
    removeNodes,
    waitReady: (opts = {}) => waitForReadyNodes(client, info.nodes, opts),
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
