/**
 * A worker node as the lab runs it: its runtime, kubelet and kube-proxy, each a separate Deno process
 * (`agents/<agent>/main.ts`) kept running by the lab's {@linkcode Supervisor}, told who they are through
 * the `KUBELAB_NODE_*` environment. The local lab starts one per `--nodes`, a compose node container
 * starts one for itself.
 * @module
 */
import { type ChildProcess, type ChildSpec, Supervisor } from "./supervisor.ts";
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

/** Options for {@linkcode startNode}. */
export interface StartNodeOptions {
  supervisor: Supervisor;
  /** Every agent's environment besides the node's identity (NATS URL, profile, runtime, …). */
  env: Record<string, string>;
  /** Each agent's NATS credentials file (`KUBELAB_NATS_CREDS`). @default none */
  creds?: Partial<Record<NodeAgent, string>>;
  /** A folder for `<node>-<agent>.log`; undefined: the agents inherit this process's output. */
  logDir?: string;
  /** Called with each agent's new process (the local lab writes pid files). */
  onStart?: (child: string, proc: ChildProcess) => void | Promise<void>;
  /** Run only what the Deno cache holds (containers). @default false */
  cachedOnly?: boolean;
  /** Give the agents sessions of their own (the local lab, for Ctrl-C). @default false */
  detached?: boolean;
}

/** A started node. */
export interface NodeHandle {
  readonly spec: NodeSpec;
  /** Its supervised children: `node-1-runtime`, `node-1-kubelet`, `node-1-kube-proxy`. */
  readonly children: string[];
  /** Kills its agents (SIGKILL, a machine losing power) and keeps them down; their names. */
  kill(): Promise<string[]>;
  /** Starts killed agents again; their names. */
  restore(): string[];
  /** Stops its agents with SIGTERM (the supervisor forgets them). */
  stop(): Promise<void>;
}

/** The environment a node's agents get. */
export function nodeEnv(spec: NodeSpec): Record<string, string> {
  return {
    KUBELAB_NODE_NAME: spec.name,
    KUBELAB_NODE_ADDRESS: spec.address,
    KUBELAB_POD_CIDR: spec.podCIDR,
  };
}

/** Starts a node's three agents under `options.supervisor`. */
export function startNode(spec: NodeSpec, options: StartNodeOptions): NodeHandle {
  const env = { ...options.env, ...nodeEnv(spec) };
  const children = NODE_AGENTS.map((agent) => {
    const name = `${spec.name}-${agent}`;
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
    spec,
    children,
    kill: () => options.supervisor.hold(children, "SIGKILL"),
    restore: () => options.supervisor.release(children),
    stop: () => options.supervisor.stop(children),
  };
}
