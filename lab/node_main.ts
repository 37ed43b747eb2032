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
 * With `KUBELAB_BOOTSTRAP_CREDS` (the shared bootstrap credentials, compose's), it first asks the state
 * service for its agents' own credentials (bootstrap.ts) and hands each agent its file.
 *
 * While all three run, it keeps `KUBELAB_HEALTH_FILE` (default `/tmp/kubelab-health`) fresh; the
 * container's healthcheck reads it (shared/health.ts).
 * @module
 */
import { env } from "../shared/agent.ts";
import { RealClock } from "../shared/clock.ts";
import { startHeartbeat } from "../shared/health.ts";
import { loggerFromEnv } from "../shared/log.ts";
import { bootstrapNode } from "./bootstrap.ts";
import { startNodes } from "./node.ts";
import { nodeIdentity } from "./node_identity.ts";
import { Supervisor } from "./supervisor.ts";

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
  const clock = new RealClock();
  const stopping = new AbortController();
  const stopRequested = new Promise<string>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => {
        stopping.abort();
        resolve(sig);
      });
    }
  });

  let creds;
  const bootstrapFile = env("KUBELAB_BOOTSTRAP_CREDS");
  if (bootstrapFile) {
    try {
      creds = await bootstrapNode({
        servers: env("KUBELAB_NATS_URL", "nats://127.0.0.1:4222").split(","),
        bootstrapCreds: await Deno.readTextFile(bootstrapFile),
        node: identity.name,
        dir: env("KUBELAB_CREDS_DIR", "/tmp/kubelab-creds"),
        clock,
        log,
        signal: stopping.signal,
      });
    } catch (err) {
      if (stopping.signal.aborted) Deno.exit(0);
      log.error("Cannot get the node's credentials", { error: err });
      Deno.exit(1);
    }
  }

  const supervisor = new Supervisor({ clock, log });
  log.info("Starting node agents", { address: identity.address, podCIDR: identity.podCIDR });
  // The image has every program cached: an agent never fetches anything at run time.
  const node = await startNodes(
    { name: identity.name, nodes: [identity], pooled: false },
    { supervisor, env: {}, creds, cachedOnly: true },
  );
  const stopHeartbeat = startHeartbeat({
    file: env("KUBELAB_HEALTH_FILE", "/tmp/kubelab-health"),
    clock,
    healthy: () => supervisor.allRunning,
    details: () => ({ node: identity.name, agents: supervisor.status() }),
  });
  const signal = await stopRequested;
  log.info("Stopping node agents", { signal });
  await stopHeartbeat();
  await node.stop();
  log.info("Node stopped");
  Deno.exit(0);
}
