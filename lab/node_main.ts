/**
 * One worker node per container: `deno run -A lab/node_main.ts` starts the node's runtime, kubelet and
 * kube-proxy as three processes (`deno run -A --cached-only agents/<agent>/main.ts`) under the lab's
 * supervisor, restarts one that exits with a backoff, and on SIGTERM or SIGINT stops all three and
 * exits 0.
 *
 * The agents get this process's environment plus the node's identity (see `node_identity.ts`):
 * `KUBELAB_NODE_NAME` (default: the host name), `KUBELAB_NODE_ADDRESS` (default: the container's IPv4
 * address), `KUBELAB_POD_CIDR` (default: `10.244.<last octet of the address>.0/24`). Other variables
 * (`KUBELAB_NATS_URL`, `KUBELAB_PROFILE`, `KUBELAB_RUNTIME`, `KUBELAB_NODE_CPU`, …) pass through.
 *
 * While all three run, the supervisor rewrites `KUBELAB_NODE_HEALTH_FILE` (default
 * `/tmp/kubelab-node-health.json`) every 2 s; the container's healthcheck tests that it is fresh.
 * @module
 */
import { env } from "../shared/agent.ts";
import { RealClock } from "../shared/clock.ts";
import { loggerFromEnv } from "../shared/log.ts";
import { startNode } from "./node.ts";
import { nodeIdentity } from "./node_identity.ts";
import { Supervisor } from "./supervisor.ts";

const HEARTBEAT_MS = 2_000;

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
  const supervisor = new Supervisor({ clock: new RealClock(), log });
  log.info("Starting node agents", { address: identity.address, podCIDR: identity.podCIDR });
  // The image has every program cached: an agent never fetches anything at run time.
  const node = startNode(identity, { supervisor, env: {}, cachedOnly: true });
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

  const timer = setInterval(heartbeat, HEARTBEAT_MS);
  const signal = await new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => resolve(sig));
    }
  });
  clearInterval(timer);
  log.info("Stopping node agents", { signal });
  await Deno.remove(healthFile).catch(() => {});
  await node.stop();
  log.info("Node stopped");
  Deno.exit(0);
}
