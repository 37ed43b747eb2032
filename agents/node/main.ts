/**
 * One worker node per container: `deno run -A agents/node/main.ts` starts the node's runtime, kubelet and
 * kube-proxy as three processes (`deno run -A --cached-only agents/<agent>/main.ts`), restarts one that
 * exits with a backoff, and on SIGTERM or SIGINT stops all three and exits 0.
 *
 * The agents get this process's environment plus the node's identity (see `identity.ts`):
 * `KUBELAB_NODE_NAME` (default: the host name), `KUBELAB_NODE_ADDRESS` (default: the container's IPv4
 * address), `KUBELAB_POD_CIDR` (default: `10.244.<last octet of the address>.0/24`). Other variables
 * (`KUBELAB_NATS_URL`, `KUBELAB_PROFILE`, `KUBELAB_RUNTIME`, `KUBELAB_NODE_CPU`, …) pass through.
 *
 * While all three run, the supervisor rewrites `KUBELAB_NODE_HEALTH_FILE` (default
 * `/tmp/kubelab-node-health.json`) every 2 s; the container's healthcheck tests that it is fresh
 * (`docker/healthcheck.ts fresh`).
 * @module
 */
import { env } from "../../shared/agent.ts";
import { RealClock } from "../../shared/clock.ts";
import { loggerFromEnv } from "../../shared/log.ts";
import { nodeIdentity } from "./identity.ts";
import { type AgentProcess, Supervisor } from "./supervisor.ts";

/** Started first to last; the kubelet's CRI calls wait for the runtime anyway. */
const AGENTS = ["runtime", "kubelet", "kube-proxy"] as const;
const HEARTBEAT_MS = 2_000;
const ROOT = new URL("../../", import.meta.url);

if (import.meta.main) {
  let identity;
  try {
    identity = nodeIdentity({
      env: (name) => Deno.env.get(name),
      hostname: Deno.hostname(),
      interfaces: Deno.networkInterfaces(),
    });
  } catch (err) {
    console.error(`node: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const log = loggerFromEnv({ agent: "node", node: identity.name });
  const healthFile = env("KUBELAB_NODE_HEALTH_FILE", "/tmp/kubelab-node-health.json");
  const childEnv = {
    KUBELAB_NODE_NAME: identity.name,
    KUBELAB_NODE_ADDRESS: identity.address,
    KUBELAB_POD_CIDR: identity.podCIDR,
  };

  const spawn = (agent: string): AgentProcess =>
    new Deno.Command(Deno.execPath(), {
      // The image has every program cached: an agent never fetches anything at run time.
      args: ["run", "-A", "--cached-only", new URL(`agents/${agent}/main.ts`, ROOT).pathname],
      env: childEnv,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();

  const supervisor = new Supervisor({ agents: AGENTS, spawn, clock: new RealClock(), log });
  const heartbeat = async () => {
    try {
      if (supervisor.allRunning) {
        const body = {
          node: identity.name,
          time: new Date().toISOString(),
          agents: supervisor.status(),
        };
        await Deno.writeTextFile(healthFile, JSON.stringify(body) + "\n");
      } else {
        await Deno.remove(healthFile).catch(() => {});
      }
    } catch (err) {
      log.warn("Cannot write the health file", { file: healthFile, error: err });
    }
  };

  const stopRequested = new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => resolve(sig));
    }
  });
  log.info("Starting node agents", {
    address: identity.address,
    podCIDR: identity.podCIDR,
    agents: AGENTS.join(","),
  });
  supervisor.start();
  const timer = setInterval(heartbeat, HEARTBEAT_MS);
  const signal = await stopRequested;
  log.info("Stopping node agents", { signal });
  clearInterval(timer);
  await Deno.remove(healthFile).catch(() => {});
  await supervisor.stop();
  log.info("Node stopped");
  Deno.exit(0);
}
