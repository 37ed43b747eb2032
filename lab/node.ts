/**
 * Worker nodes as the lab runs them: a node's runtime, kubelet and kube-proxy, each a separate Deno
 * process (`agents/<agent>/main.ts`) kept running by the lab's supervisor and told who they are through
 * the `KUBELAB_NODE_*` environment — or a pool: the same three processes, each hosting its agent for
 * every node of the pool (`KUBELAB_POOL`, `KUBELAB_NODES_FILE`), so that thousands of nodes cost a few
 * processes while each node keeps its own kubelet, runtime and proxy on its own subjects. The local lab
 * starts one per `--nodes` (pools past a few dozen nodes), a compose node container one for itself.
 * @module
 */
import type { ChildProcess, ChildSpec, Supervisor } from "./supervisor.ts";
import { spawnAgent } from "./processes.ts";

/** A node's agents, in start order: the kubelet's CRI calls wait for the runtime anyway. */
export const NODE_AGENTS = ["runtime", "kubelet", "kube-proxy"] as const;
export type NodeAgent = typeof NODE_AGENTS[number];

/** Who a node is. */
export interface NodeSpec {
  /** The Node's name: `node-1`. */
  name: string;
  /** Its address: `127.1.0.1`, or a container's IP. */
  address: string;
  /** Its pod CIDR: `10.244.1.0/24`. */
  podCIDR: string;
}

/**
 * The nodes one set of agent processes serves: one node (its own runtime, kubelet and kube-proxy
 * processes) or a pool (one runtime, one kubelet and one kube-proxy process hosting each of its nodes).
 */
export interface NodeGroup {
  /** The node's name, or the pool's (`pool-1`). */
  name: string;
  nodes: NodeSpec[];
  pooled: boolean;
}

/** Options for {@linkcode startNodes}. */
export interface StartNodesOptions {
  supervisor: Supervisor;
  /** Every agent's environment besides the nodes' (NATS URL, profile, runtime, …). */
  env: Record<string, string>;
  /** Each agent's NATS credentials file (`KUBELAB_NATS_CREDS`). @default none */
  creds?: Partial<Record<NodeAgent, string>>;
  /** A folder for `<group>-<agent>.log` (and a pool's nodes file); undefined: the agents inherit
   * this process's output. */
  logDir?: string;
  /** Where a pool's nodes file is written. @default logDir */
  runDir?: string;
  /** Called with each agent's new process (the local lab writes pid files). */
  onStart?: (child: string, proc: ChildProcess) => void | Promise<void>;
  /** Run only what the Deno cache holds (containers). @default false */
  cachedOnly?: boolean;
  /** Give the agents sessions of their own (the local lab, for Ctrl-C). @default false */
  detached?: boolean;
}

/** A started node or pool. */
export interface NodeHandle {
  readonly group: NodeGroup;
  /** Its supervised children: `node-1-runtime`, `pool-1-kubelet`, … */
  readonly children: string[];
  /** Kills its agents (SIGKILL, a machine losing power) and keeps them down; their names. */
  kill(): Promise<string[]>;
  /** Starts killed agents again; their names. */
  restore(): string[];
  /** Stops its agents with SIGTERM (the supervisor forgets them). */
  stop(): Promise<void>;
}

/** The environment a single node's agents get. */
export function nodeEnv(spec: NodeSpec): Record<string, string> {
  return {
    KUBELAB_NODE_NAME: spec.name,
    KUBELAB_NODE_ADDRESS: spec.address,
    KUBELAB_POD_CIDR: spec.podCIDR,
  };
}

/** Starts the three agents of a node, or of a pool, under `options.supervisor`. */
export async function startNodes(
  group: NodeGroup,
  options: StartNodesOptions,
): Promise<NodeHandle> {
  let groupEnv: Record<string, string>;
  if (group.pooled) {
    const file = `${options.runDir ?? options.logDir ?? Deno.cwd()}/${group.name}.nodes.json`;
    await Deno.writeTextFile(file, JSON.stringify(group.nodes) + "\n");
    // Cluster IPs on each hosted proxy's own node address: no standby proxies retrying binds.
    groupEnv = {
      KUBELAB_POOL: group.name,
      KUBELAB_NODES_FILE: file,
      KUBELAB_CLUSTER_IP_MODE: "node",
    };
  } else {
    groupEnv = nodeEnv(group.nodes[0]);
  }
  const env = { ...options.env, ...groupEnv };
  const children = NODE_AGENTS.map((agent) => {
    const name = `${group.name}-${agent}`;
    const creds = options.creds?.[agent];
    const child: ChildSpec = {
      name,
      spawn: () =>
        spawnAgent(`agents/${agent}/main.ts`, {
          env: creds ? { ...env, KUBELAB_NATS_CREDS: creds } : env,
          logFile: options.logDir ? `${options.logDir}/${name}.log` : undefined,
          cachedOnly: options.cachedOnly,
          detached: options.detached,
        }),
      onStart: (proc) => options.onStart?.(name, proc),
    };
    options.supervisor.start(child);
    return name;
  });
  return {
    group,
    children,
    kill: () => options.supervisor.hold(children, "SIGKILL"),
    restore: () => options.supervisor.release(children),
    stop: () => options.supervisor.stop(children),
  };
}
