/**
 * The local lab's fault verbs on `kl.lab.<verb>` (served by `deno task lab`, asked by `kubelab lab`):
 * their requests and replies.
 * @module
 */
import { z } from "zod";

/** The lab verbs the launcher serves. */
export const LAB_VERBS = ["kill-node", "restore-node"] as const;
export type LabVerb = typeof LAB_VERBS[number];

/** The request of `kl.lab.kill-node` and `kl.lab.restore-node`. */
export const LabNodeRequest = z.object({ node: z.string().min(1).max(253) });
export type LabNodeRequest = z.infer<typeof LabNodeRequest>;

/** Their reply: the agent processes killed or started (none when there was nothing to do). */
export const LabNodeReply = z.object({ node: z.string(), agents: z.array(z.string()) });
export type LabNodeReply = z.infer<typeof LabNodeReply>;
