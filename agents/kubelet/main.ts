/**
 * The kubelet's composition root: a node's kubelet talking to the state service and to the node's
 * runtime over NATS — or, in a pool, the whole kubelet of each of many nodes on one connection, each
 * asking the API as its own node (`kubelet@<node>`) and calling its own node's runtime. It waits for the
 * runtime to answer Version before it registers the Node.
 *
 * Environment: the node(s) (shared/agent.ts hostedNodesFromEnv: `KUBELAB_NODE_NAME`,
 * `KUBELAB_NODE_ADDRESS`, `KUBELAB_POD_CIDR`, or `KUBELAB_POOL` and `KUBELAB_NODES_FILE`),
 * `KUBELAB_NODE_CPU` (default 4), `KUBELAB_NODE_MEMORY` (default 8Gi), `KUBELAB_NODE_MAX_PODS` (default
 * 110), `KUBELAB_LAB_NETWORKS` (networks the lab created, which probes may dial besides loopback and
 * this host's interfaces; see shared/net/lab_network.ts), `KUBELAB_NODE_EPHEMERAL` (`true`: the node is
 * deleted once its container is gone, compose), plus runAgent's `KUBELAB_NATS_URL`,
 * `KUBELAB_NATS_CREDS`, `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`.
 * @module
 */
import { env, hostedNodesFromEnv, runAgent, startEach } from "../../shared/agent.ts";
import { parseBytes, parseCpuMillis } from "../../shared/api/quantity.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/client/recorder.ts";
import { CriClient } from "../../shared/cri/client.ts";
import { parseCidr } from "../../shared/net/cidr.ts";
import { LabNetwork, parseLabNetworks } from "../../shared/net/lab_network.ts";
import { Kubelet } from "./kubelet.ts";

let hosted: Awaited<ReturnType<typeof hostedNodesFromEnv>>;
let labNetworks: string[] = [];
const capacity = {
  cpu: env("KUBELAB_NODE_CPU", "4"),
  memory: env("KUBELAB_NODE_MEMORY", "8Gi"),
  pods: env("KUBELAB_NODE_MAX_PODS", "110"),
};

try {
  hosted = await hostedNodesFromEnv();
  labNetworks = parseLabNetworks(env("KUBELAB_LAB_NETWORKS"));
  parseCpuMillis(capacity.cpu);
  parseBytes(capacity.memory);
  if (!/^\d+$/.test(capacity.pods)) {
    throw new RangeError(
      `Invalid KUBELAB_NODE_MAX_PODS "${capacity.pods}": expected a whole number`,
    );
  }
  for (const node of hosted.nodes) parseCidr(node.podCIDR, { what: "pod CIDR" });
} catch (err) {
  console.error(`kubelet: ${(err as Error).message}`);
  Deno.exit(2);
}

await runAgent("kubelet", async ({ bus, clock, log, signal, timing }) => {
  const network = new LabNetwork({ networks: labNetworks });
  const kubelets: Kubelet[] = [];
  await startEach(hosted.nodes, async (node) => {
    // Each hosted kubelet asks as its own node: NATS lets this process publish for each of them.
    const client = new ApiClient(bus, { caller: `kubelet@${node.name}` });
    const nlog = hosted.pool ? log.with({ node: node.name }) : log;
    const kubelet = new Kubelet({
      client,
      cri: new CriClient(node.name, bus),
      recorder: new EventRecorder({
        client,
        component: "kubelet",
        host: node.name,
        clock,
        log: nlog,
      }),
      clock,
      log: nlog,
      signal,
      timing,
      nodeName: node.name,
      nodeAddress: node.address,
      podCIDR: node.podCIDR,
      capacity,
      kernelVersion: Deno.osRelease(),
      network,
      ephemeral: env("KUBELAB_NODE_EPHEMERAL") === "true",
    });
    await kubelet.start();
    kubelets.push(kubelet);
  });
  return { stop: () => Promise.all(kubelets.map((k) => k.stop())).then(() => {}) };
}, hosted.pool ? { pool: hosted.pool } : { node: hosted.nodes[0].name });
