/**
 * The runtime agent's composition root: a CRI service on NATS for one node — or, in a pool, for each of
 * many nodes, each with its own backend and state on its own subjects (`kl.node.<node>.cri.*`).
 *
 * Environment: the node(s) (shared/agent.ts hostedNodesFromEnv: `KUBELAB_NODE_NAME`,
 * `KUBELAB_POD_CIDR`, or `KUBELAB_POOL` and `KUBELAB_NODES_FILE`), `KUBELAB_RUNTIME` (`fake`, the
 * default, or `process`), `KUBELAB_FAKE_PULL_MS` (default: the timing profile's fakePullMs for the
 * fake, 0 for the process runtime); for the process runtime `KUBELAB_RUNTIME_DIR` (default
 * `$TMPDIR/kubelab-runtime-<node>`; in a pool, a folder per node inside it) and
 * `KUBELAB_POD_NETWORK` (`auto`, the default, `loopback` or `port-block`); plus runAgent's
 * `KUBELAB_NATS_URL`, `KUBELAB_NATS_CREDS`, `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`.
 * @module
 */
import {
  type AgentContext,
  env,
  type HostedNode,
  hostedNodesFromEnv,
  runAgent,
  startEach,
} from "../../shared/agent.ts";
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
const BACKENDS: Record<
  string,
  (ctx: AgentContext, node: HostedNode, log: AgentContext["log"]) => RuntimeBackend
> = {
  fake: (ctx, node, log) =>
    new FakeRuntime({
      clock: ctx.clock,
      log,
      podCIDR: node.podCIDR,
      pullMs: pullMs ?? ctx.timing.fakePullMs,
      preloadedImages: [PAUSE_IMAGE],
    }),
  process: (ctx, node, log) =>
    new ProcessRuntime({
      clock: ctx.clock,
      log,
      podCIDR: node.podCIDR,
      dataDir: hosted.pool ? `${dataDir}/${node.name}` : dataDir,
      network: podNetwork as PodNetworkMode | "auto",
      pullMs: pullMs ?? 0,
      preloadedImages: [PAUSE_IMAGE],
    }),
};

let hosted: Awaited<ReturnType<typeof hostedNodesFromEnv>>;
const runtime = env("KUBELAB_RUNTIME", "fake");
const pullMsText = env("KUBELAB_FAKE_PULL_MS");
const pullMs = pullMsText === undefined ? undefined : Number(pullMsText);
const podNetwork = env("KUBELAB_POD_NETWORK", "auto");
let dataDir = "";

const makeBackend = BACKENDS[runtime];
try {
  hosted = await hostedNodesFromEnv();
  dataDir = env(
    "KUBELAB_RUNTIME_DIR",
    `${env("TMPDIR", "/tmp")}/kubelab-runtime-${hosted.pool ?? hosted.nodes[0].name}`,
  );
  if (!makeBackend) {
    throw new RangeError(
      `Unknown runtime "${runtime}" in KUBELAB_RUNTIME: use ${
        Object.keys(BACKENDS).map((b) => `"${b}"`).join(", ")
      }`,
    );
  }
  for (const node of hosted.nodes) parseCidr(node.podCIDR);
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
  const servers: RuntimeServer[] = [];
  await startEach(hosted.nodes, async (node) => {
    const log = hosted.pool ? ctx.log.with({ node: node.name }) : ctx.log;
    const backend = makeBackend(ctx, node, log);
    // Set the process runtime up (data directory, leftovers, pod network) before serving.
    await backend.status({});
    const server = new RuntimeServer({
      bus: ctx.bus,
      nodeName: node.name,
      backend,
      clock: ctx.clock,
      log,
    });
    await server.start();
    servers.push(server);
  });
  return { stop: () => Promise.all(servers.map((s) => s.stop())).then(() => {}) };
}, hosted.pool ? { pool: hosted.pool, runtime } : { node: hosted.nodes[0].name, runtime });
