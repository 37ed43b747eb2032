/**
 * The runtime agent's composition root: one CRI service on NATS for one node.
 *
 * Environment: `KUBELAB_NODE_NAME` (default: the host name), `KUBELAB_RUNTIME` (`fake`, the default, or
 * `process`), `KUBELAB_POD_CIDR` (default `10.244.0.0/24`), `KUBELAB_FAKE_PULL_MS` (default: the timing
 * profile's fakePullMs for the fake, 0 for the process runtime); for the process runtime
 * `KUBELAB_RUNTIME_DIR` (default `$TMPDIR/kubelab-runtime-<node>`) and `KUBELAB_POD_NETWORK` (`auto`,
 * the default, `loopback` or `port-block`); plus runAgent's `KUBELAB_NATS_URL`, `KUBELAB_PROFILE`,
 * `KUBELAB_LOG_LEVEL`.
 * @module
 */
import { env, runAgent } from "../../shared/agent.ts";
import type { AgentContext } from "../../shared/agent.ts";
import type { RuntimeBackend } from "./backend.ts";
import { FakeRuntime } from "./fake.ts";
import { parseCidr } from "./ipam.ts";
import type { PodNetworkMode } from "./pod_network.ts";
import { ProcessRuntime } from "./process.ts";
import { RuntimeServer } from "./server.ts";

/** The image every node has before any pull, as a real node has its sandbox image. */
const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";

/** The pod networks `KUBELAB_POD_NETWORK` may name. */
const POD_NETWORKS = ["auto", "loopback", "port-block"];

/** The backends `KUBELAB_RUNTIME` may name. */
const BACKENDS: Record<string, (ctx: AgentContext) => RuntimeBackend> = {
  fake: (ctx) =>
    new FakeRuntime({
      clock: ctx.clock,
      log: ctx.log,
      podCIDR,
      pullMs: pullMs ?? ctx.timing.fakePullMs,
      preloadedImages: [PAUSE_IMAGE],
    }),
  process: (ctx) =>
    new ProcessRuntime({
      clock: ctx.clock,
      log: ctx.log,
      podCIDR,
      dataDir,
      network: podNetwork as PodNetworkMode | "auto",
      pullMs: pullMs ?? 0,
      preloadedImages: [PAUSE_IMAGE],
    }),
};

const nodeName = env("KUBELAB_NODE_NAME", Deno.hostname());
const runtime = env("KUBELAB_RUNTIME", "fake");
const podCIDR = env("KUBELAB_POD_CIDR", "10.244.0.0/24");
const pullMsText = env("KUBELAB_FAKE_PULL_MS");
const pullMs = pullMsText === undefined ? undefined : Number(pullMsText);
const dataDir = env(
  "KUBELAB_RUNTIME_DIR",
  `${env("TMPDIR", "/tmp")}/kubelab-runtime-${nodeName}`,
);
const podNetwork = env("KUBELAB_POD_NETWORK", "auto");

const makeBackend = BACKENDS[runtime];
try {
  if (!makeBackend) {
    throw new RangeError(
      `Unknown runtime "${runtime}" in KUBELAB_RUNTIME: use ${
        Object.keys(BACKENDS).map((b) => `"${b}"`).join(", ")
      }`,
    );
  }
  parseCidr(podCIDR);
  if (pullMs !== undefined && !(pullMs >= 0)) {
    throw new RangeError(
      `Invalid KUBELAB_FAKE_PULL_MS "${pullMsText}": expected milliseconds >= 0`,
    );
  }
  if (!POD_NETWORKS.includes(podNetwork)) {
    throw new RangeError(
      `Invalid KUBELAB_POD_NETWORK "${podNetwork}": use ${
        POD_NETWORKS.map((n) => `"${n}"`).join(", ")
      }`,
    );
  }
} catch (err) {
  console.error(`runtime: ${(err as Error).message}`);
  Deno.exit(2);
}

await runAgent("runtime", async (ctx) => {
  const backend = makeBackend(ctx);
  // Set the process runtime up (data directory, leftovers, pod network) before serving.
  await backend.status({});
  const server = new RuntimeServer({
    bus: ctx.bus,
    nodeName,
    backend,
    clock: ctx.clock,
    log: ctx.log,
  });
  await server.start();
  return { stop: () => server.stop() };
}, { node: nodeName, runtime, podCIDR });
