/**
 * The controllers process: `deno run -A agents/controllers/main.ts`, kubelab's
 * kube-controller-manager. Connects to NATS (`KUBELAB_NATS_URL`), runs the Deployment, ReplicaSet,
 * node lifecycle, taint eviction, garbage collector and endpoints controllers until SIGINT or
 * SIGTERM, then finishes its writes and exits 0.
 * @module
 */
import { type AgentContext, runAgent } from "../../shared/agent.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { ControllerManager } from "./manager.ts";

/** Builds and starts every controller with the process defaults. */
export function startControllers(ctx: AgentContext): Promise<ControllerManager> {
  return ControllerManager.start({ ...ctx, client: new ApiClient(ctx.bus) });
}

if (import.meta.main) {
  await runAgent("controllers", startControllers);
}
