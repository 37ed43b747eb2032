/**
 * The scheduler process: `deno run -A agents/scheduler/main.ts`. Connects to NATS
 * (`KUBELAB_NATS_URL`), schedules until SIGINT or SIGTERM, then finishes its in-flight binds and exits 0.
 * @module
 */
import { type AgentContext, runAgent } from "../../shared/agent.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { EventRecorder } from "../../shared/client/recorder.ts";
import { Scheduler } from "./scheduler.ts";
import { DEFAULT_SCHEDULER_NAME } from "./framework.ts";

/**
 * Builds and starts the scheduler with the process defaults: Events as `default-scheduler`, ties between
 * equally good nodes broken at random as kube-scheduler does.
 */
export async function startScheduler(ctx: AgentContext): Promise<Scheduler> {
  const client = new ApiClient(ctx.bus);
  const recorder = new EventRecorder({
    client,
    component: DEFAULT_SCHEDULER_NAME,
    clock: ctx.clock,
    log: ctx.log,
  });
  const scheduler = new Scheduler({ ...ctx, client, recorder, random: Math.random });
  await scheduler.start();
  return scheduler;
}

if (import.meta.main) {
  await runAgent("scheduler", startScheduler);
}
