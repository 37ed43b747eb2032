/**
 * kube-proxy's composition root: a node's routing table from every Service and Endpoints, forwarded as
 * real TCP — or, in a pool, one per hosted node over one watch of Services and Endpoints shared by all.
 *
 * Environment:
 * - the node(s) (shared/agent.ts hostedNodesFromEnv: `KUBELAB_NODE_NAME`, `KUBELAB_NODE_ADDRESS`, or
 *   `KUBELAB_POOL` and `KUBELAB_NODES_FILE`);
 * - `KUBELAB_NODEPORT_ADDRESS` (default: the node's address): where NodePorts listen (`0.0.0.0` in
 *   compose, one node per container), as `--nodeport-addresses`;
 * - `KUBELAB_CLUSTER_IP_MODE` (default `auto`): `alias` (cluster IPs on `lo`, needs root), `node`
 *   (Service ports on the node's address) or `auto` (alias when it works);
 * - `KUBELAB_PROXY_HEALTHZ_ADDR` (default `<node address>:10256`; `off` for none; a pool serves none):
 *   `/healthz`;
 * - `KUBELAB_PROXY_DRAIN_SECONDS` (default 5): how long connections in flight may finish on SIGTERM;
 * - `KUBELAB_LAB_NETWORKS` (default none): networks the lab created whose every address may be dialled
 *   (`interfaces` in compose: the container's own networks); loopback and addresses on this host's
 *   interfaces always may, nothing else ever is (shared/net/lab_network.ts);
 * - runAgent's `KUBELAB_NATS_URL`, `KUBELAB_NATS_CREDS`, `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`.
 * @module
 */
import { env, hostedNodesFromEnv, runAgent, startEach } from "../../shared/agent.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { LabNetwork, parseLabNetworks } from "../../shared/net/lab_network.ts";
import { chooseClusterIPMode, type ClusterIPMode } from "./cluster_ip.ts";
import { KubeProxy } from "./kube_proxy.ts";
import { ServiceSource } from "./source.ts";

let hosted: Awaited<ReturnType<typeof hostedNodesFromEnv>>;
try {
  hosted = await hostedNodesFromEnv();
} catch (err) {
  console.error(`kube-proxy: ${(err as Error).message}`);
  Deno.exit(2);
}

await runAgent("kube-proxy", async ({ bus, clock, log, signal }) => {
  const requested = env("KUBELAB_CLUSTER_IP_MODE", "auto");
  if (!["auto", "alias", "node"].includes(requested)) {
    throw new RangeError(
      `Invalid KUBELAB_CLUSTER_IP_MODE "${requested}": use "auto", "alias" or "node"`,
    );
  }
  const drain = env("KUBELAB_PROXY_DRAIN_SECONDS", "5");
  const drainSeconds = Number(drain);
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0) {
    throw new RangeError(`Invalid KUBELAB_PROXY_DRAIN_SECONDS "${drain}": use a number of seconds`);
  }
  const network = new LabNetwork({ networks: parseLabNetworks(env("KUBELAB_LAB_NETWORKS")) });
  log.info("Dialling only the lab's addresses", {
    networks: ["loopback", "interfaces", ...network.networks].join(","),
  });
  const clusterIPMode = await chooseClusterIPMode(requested as ClusterIPMode | "auto");
  // Services and Endpoints are watched once for the whole process (as its first node's kube-proxy);
  // each proxy asks as its own node.
  const asNode = (node: string) => new ApiClient(bus, { caller: `kube-proxy@${node}` });
  const source = new ServiceSource({ client: asNode(hosted.nodes[0].name), log, signal });
  await source.start();
  const proxies: KubeProxy[] = [];
  await startEach(hosted.nodes, async (node) => {
    const healthz = hosted.pool
      ? "off"
      : env("KUBELAB_PROXY_HEALTHZ_ADDR", `${node.address}:10256`);
    const proxy = new KubeProxy({
      client: asNode(node.name),
      source,
      clock,
      log: hosted.pool ? log.with({ node: node.name }) : log,
      signal,
      nodeName: node.name,
      nodeAddress: node.address,
      nodePortAddress: env("KUBELAB_NODEPORT_ADDRESS", node.address),
      clusterIPMode,
      healthzAddress: healthz === "off" ? undefined : healthz,
      drainMs: drainSeconds * 1000,
      network,
    });
    await proxy.start();
    proxies.push(proxy);
  });
  return {
    async stop() {
      await Promise.all(proxies.map((p) => p.stop()));
      await source.done;
    },
  };
}, hosted.pool ? { pool: hosted.pool } : { node: hosted.nodes[0].name });
