/**
 * The kubelet's composition root: one node's kubelet talking to the state service and to the node's
 * runtime over NATS. It waits for the runtime to answer Version before it registers the Node.
 *
 * Environment: `KUBELAB_NODE_NAME` (default: the host name), `KUBELAB_NODE_ADDRESS` (default
 * 127.0.0.1), `KUBELAB_POD_CIDR` (default 10.244.0.0/24), `KUBELAB_NODE_CPU` (default 4),
 * `KUBELAB_NODE_MEMORY` (default 8Gi), `KUBELAB_NODE_MAX_PODS` (default 110), `KUBELAB_LAB_NETWORKS`
 * (networks the lab created, which probes may dial besides loopback and this host's interfaces; see
 * shared/net/lab_network.ts), `KUBELAB_NODE_EPHEMERAL` (`true`: the node is deleted once its container
 * is gone, compose), plus runAgent's
 * `KUBELAB_NATS_URL`, `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`.
 * @module
 */
import { env, runAgent } from "../../shared/agent.ts";
import { parseBytes, parseCpuMillis } from "../../shared/api/quantity.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/client/recorder.ts";
import { CriClient } from "../../shared/cri/client.ts";
import { LabNetwork, parseLabNetworks } from "../../shared/net/lab_network.ts";
import { Kubelet } from "./kubelet.ts";

const nodeName = env("KUBELAB_NODE_NAME", Deno.hostname());
const nodeAddress = env("KUBELAB_NODE_ADDRESS", "127.0.0.1");
const podCIDR = env("KUBELAB_POD_CIDR", "10.244.0.0/24");
let labNetworks: string[] = [];
const capacity = {
  cpu: env("KUBELAB_NODE_CPU", "4"),
  memory: env("KUBELAB_NODE_MEMORY", "8Gi"),
  pods: env("KUBELAB_NODE_MAX_PODS", "110"),
};

try {
  labNetworks = parseLabNetworks(env("KUBELAB_LAB_NETWORKS"));
  parseCpuMillis(capacity.cpu);
  parseBytes(capacity.memory);
  if (!/^\d+$/.test(capacity.pods)) {
    throw new RangeError(
      `Invalid KUBELAB_NODE_MAX_PODS "${capacity.pods}": expected a whole number`,
    );
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podCIDR)) {
    throw new RangeError(
      `Invalid KUBELAB_POD_CIDR "${podCIDR}": expected an IPv4 CIDR such as 10.244.1.0/24`,
    );
  }
} catch (err) {
  console.error(`kubelet: ${(err as Error).message}`);
  Deno.exit(2);
}

await runAgent("kubelet", async ({ bus, clock, log, signal, timing }) => {
  const client = new ApiClient(bus);
  const kubelet = new Kubelet({
    client,
    cri: new CriClient(nodeName, bus),
    recorder: new EventRecorder({ client, component: "kubelet", host: nodeName, clock, log }),
    clock,
    log,
    signal,
    timing,
    nodeName,
    nodeAddress,
    podCIDR,
    capacity,
    kernelVersion: Deno.osRelease(),
    network: new LabNetwork({ networks: labNetworks }),
    ephemeral: env("KUBELAB_NODE_EPHEMERAL") === "true",
  });
  await kubelet.start();
  return { stop: () => kubelet.stop() };
}, { node: nodeName });
