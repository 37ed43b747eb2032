/**
 * The shell around every agent's `main.ts`: read common configuration from the environment, connect the
 * bus, run the agent until SIGINT or SIGTERM, then stop it, drain NATS and exit 0.
 * @module
 */
import { parseCreds } from "./auth/jwt.ts";
import { Bus } from "./bus/bus.ts";
import { RealClock } from "./clock.ts";
import type { Clock } from "./clock.ts";
import { startHeartbeat } from "./health.ts";
import { type Logger, loggerFromEnv } from "./log.ts";
import { type TimingProfile, timingProfile } from "./timing.ts";

/** What every agent is handed. */
export interface AgentContext {
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** Aborted when the process is asked to stop. */
  signal: AbortSignal;
  timing: TimingProfile;
}

/** A started agent: `stop()` finishes its writes. */
export interface RunningAgent {
  stop(): Promise<void>;
  /** Whether it is ready to do its work (the heartbeat file stops while not). @default always */
  ready?(): boolean;
}

/** Reads an environment variable, or `fallback`. */
export function env(name: string, fallback: string): string;
export function env(name: string): string | undefined;
export function env(name: string, fallback?: string): string | undefined {
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? fallback : v;
}

/** A node whose agent a process runs. */
export interface HostedNode {
  name: string;
  /** Its address (InternalIP, where its NodePorts listen). */
  address: string;
  /** Its pod CIDR: `10.244.1.0/24`. */
  podCIDR: string;
}

/** What the environment says a node agent process hosts. */
export interface HostedNodes {
  /** The pool's name when the process hosts a pool of nodes (`KUBELAB_POOL`). */
  pool?: string;
  nodes: HostedNode[];
}

/**
 * The nodes a node agent hosts. A pool (`KUBELAB_POOL` names it) lists them in `KUBELAB_NODES_FILE`, a
 * JSON array of `{name, address, podCIDR}`; otherwise it is the one node of `KUBELAB_NODE_NAME` (default:
 * the host name), `KUBELAB_NODE_ADDRESS` (default 127.0.0.1) and `KUBELAB_POD_CIDR` (default
 * 10.244.0.0/24). Throws a RangeError naming the variable and the bad value.
 */
export async function hostedNodesFromEnv(): Promise<HostedNodes> {
  const pool = env("KUBELAB_POOL");
  const file = env("KUBELAB_NODES_FILE");
  if (!pool) {
    return {
      nodes: [{
        name: env("KUBELAB_NODE_NAME", Deno.hostname()),
        address: env("KUBELAB_NODE_ADDRESS", "127.0.0.1"),
        podCIDR: env("KUBELAB_POD_CIDR", "10.244.0.0/24"),
      }],
    };
  }
  if (!file) throw new RangeError(`KUBELAB_POOL "${pool}" needs KUBELAB_NODES_FILE`);
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (err) {
    throw new RangeError(`Cannot read KUBELAB_NODES_FILE "${file}": ${(err as Error).message}`);
  }
  const ok = Array.isArray(raw) && raw.length > 0 &&
    raw.every((n) =>
      n && typeof n.name === "string" && typeof n.address === "string" &&
      typeof n.podCIDR === "string"
    );
  if (!ok) {
    throw new RangeError(
      `Invalid KUBELAB_NODES_FILE "${file}": expected a JSON array of {name, address, podCIDR}`,
    );
  }
  return { pool, nodes: raw as HostedNode[] };
}

/**
 * Starts `count` things `concurrency` at a time (a pool's nodes: all at once would flood the bus).
 */
export async function startEach<T>(
  items: readonly T[],
  start: (item: T) => Promise<void>,
  concurrency = 16,
): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await start(item);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * The credentials named by `KUBELAB_NATS_CREDS` (a `.creds` file), or undefined when unset. Throws an
 * Error naming the variable and file when it cannot be read.
 */
export async function credsFromEnv(): Promise<string | undefined> {
  const path = env("KUBELAB_NATS_CREDS");
  if (!path) return undefined;
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`Cannot read KUBELAB_NATS_CREDS "${path}": ${(err as Error).message}`);
  }
}

/**
 * Runs an agent as a process: `KUBELAB_NATS_URL` (default nats://127.0.0.1:4222), `KUBELAB_NATS_CREDS`
 * (its credentials; their identity must be the agent's own: `state`, `kubelet@node-1`,
 * `kubelet-pool@pool-1` — `fields.node` or `fields.pool` say which),
 * `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`, `KUBELAB_HEALTH_FILE` (kept fresh while the agent runs,
 * reaches NATS and says it is ready: a container healthcheck reads it, shared/health.ts). Exits 0 after
 * a clean stop on SIGINT/SIGTERM, 1 when start-up fails.
 */
export async function runAgent(
  name: string,
  start: (ctx: AgentContext) => Promise<RunningAgent>,
  fields: Record<string, unknown> = {},
): Promise<never> {
  const log = loggerFromEnv({ agent: name, ...fields });
  const controller = new AbortController();
  const stopped = new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => resolve(sig));
    }
  });
  let bus: Bus | undefined;
  try {
    const timing = timingProfile(env("KUBELAB_PROFILE", "default"));
    const identity = fields.pool
      ? `${name}-pool@${fields.pool}`
      : fields.node
      ? `${name}@${fields.node}`
      : name;
    const creds = await credsFromEnv();
    if (creds && parseCreds(creds).identity !== identity) {
      throw new Error(
        `KUBELAB_NATS_CREDS holds the credentials of "${parseCreds(creds).identity}", ` +
          `but this agent is "${identity}"`,
      );
    }
    bus = await Bus.connect({
      servers: env("KUBELAB_NATS_URL", "nats://127.0.0.1:4222").split(","),
      name: [name, fields.pool ?? fields.node].filter(Boolean).join("/"),
      log,
      creds,
      identity,
    });
    const clock = new RealClock();
    const agent = await start({ bus, clock, log, signal: controller.signal, timing });
    log.info("Started", { profile: timing.name });
    const healthFile = env("KUBELAB_HEALTH_FILE");
    const connected = bus;
    const stopHeartbeat = healthFile
      ? startHeartbeat({
        file: healthFile,
        clock,
        healthy: () => connected.connected && (agent.ready?.() ?? true),
      })
      : undefined;
    const sig = await stopped;
    log.info("Stopping", { signal: sig });
    await stopHeartbeat?.();
    controller.abort();
    await agent.stop();
    await bus.drain();
    log.info("Stopped");
    Deno.exit(0);
  } catch (err) {
    log.error("Failed", { error: err instanceof Error ? err.stack ?? err.message : String(err) });
    controller.abort();
    await bus?.drain().catch(() => {});
    Deno.exit(1);
  }
}
