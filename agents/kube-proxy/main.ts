/**
 * kube-proxy's composition root: one node's routing table from every Service and Endpoints.
 *
 * Environment: `KUBELAB_NODE_NAME` (default: the host name), plus runAgent's `KUBELAB_NATS_URL`,
 * `KUBELAB_PROFILE`, `KUBELAB_LOG_LEVEL`.
 * @module
 */
import { env, runAgent } from "../../shared/agent.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { KubeProxy } from "./kube_proxy.ts";

const nodeName = env("KUBELAB_NODE_NAME", Deno.hostname());

await runAgent("kube-proxy", async ({ bus, clock, log, signal }) => {
  const proxy = new KubeProxy({ client: new ApiClient(bus), clock, log, signal, nodeName });
  await proxy.start();
  return { stop: () => proxy.stop() };
}, { node: nodeName });
