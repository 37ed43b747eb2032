/**
 * kube-proxy's composition root: one node's routing table from every Service and Endpoints, forwarded
 * as real TCP.
 *
 * Environment:
 * - `KUBELAB_NODE_NAME` (default: the host name);
 * - `KUBELAB_NODE_ADDRESS` (default `127.0.0.1`): the node's address;
 * - `KUBELAB_NODEPORT_ADDRESS` (default: the node's address): where NodePorts listen (`0.0.0.0` in
 *   compose), as `--nodeport-addresses`;
 * - `KUBELAB_CLUSTER_IP_MODE` (default `auto`): `alias` (cluster IPs on `lo`, needs root), `node`
 *   (Service ports on the node's address) or `auto` (alias when it works);
 * - `KUBELAB_PROXY_HEALTHZ_ADDR` (default `<node address>:10256`; `off` for none): `/healthz`;
 * - `KUBELAB_PROXY_DRAIN_SECONDS` (default 5): how long connections in flight may finish on SIGTERM;
 * - `KUBELAB_LAB_NETWORKS` (default none): networks the lab created whose every address may be dialled
 *   (`interfaces` in compose: the container's own networks); loopback and addresses on this host's
 *   interfaces always may, nothing else ever is (shared/net/lab_network.ts);
 * - runAgent's `KUBELAB_NATS_URL`, `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`.
 * @module
 */
import { env, runAgent } from "../../shared/agent.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { LabNetwork, parseLabNetworks } from "../../shared/net/lab_network.ts";
import { chooseClusterIPMode, type ClusterIPMode } from "./cluster_ip.ts";
import { KubeProxy } from "./kube_proxy.ts";

const nodeName = env("KUBELAB_NODE_NAME", Deno.hostname());

await runAgent("kube-proxy", async ({ bus, clock, log, signal }) => {
  const nodeAddress = env("KUBELAB_NODE_ADDRESS", "127.0.0.1");
  const requested = env("KUBELAB_CLUSTER_IP_MODE", "auto");
  if (!["auto", "alias", "node"].includes(requested)) {
    throw new RangeError(
      `Invalid KUBELAB_CLUSTER_IP_MODE "${requested}": use "auto", "alias" or "node"`,
    );
  }
  const healthz = env("KUBELAB_PROXY_HEALTHZ_ADDR", `${nodeAddress}:10256`);
  const drain = env("KUBELAB_PROXY_DRAIN_SECONDS", "5");
  const drainSeconds = Number(drain);
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0) {
    throw new RangeError(`Invalid KUBELAB_PROXY_DRAIN_SECONDS "${drain}": use a number of seconds`);
  }
  const network = new LabNetwork({ networks: parseLabNetworks(env("KUBELAB_LAB_NETWORKS")) });
  log.info("Dialling only the lab's addresses", {
    networks: ["loopback", "interfaces", ...network.networks].join(","),
  });
  const proxy = new KubeProxy({
    client: new ApiClient(bus),
    clock,
    log,
    signal,
    nodeName,
    nodeAddress,
    nodePortAddress: env("KUBELAB_NODEPORT_ADDRESS", nodeAddress),
    clusterIPMode: await chooseClusterIPMode(requested as ClusterIPMode | "auto"),
    healthzAddress: healthz === "off" ? undefined : healthz,
    drainMs: drainSeconds * 1000,
    network,
  });
  await proxy.start();
  return { stop: () => proxy.stop() };
}, { node: nodeName });
