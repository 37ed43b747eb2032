/**
 * The local lab's fault verbs on `kl.lab.<verb>` (served by `deno task lab`, asked by `kubelab lab`):
 * their requests and replies.
 * @module
 */
import { z } from "zod";

/** The lab verbs the launcher serves. */
export const LAB_VERBS = ["kill-node", "restore-node", "add-nodes", "remove-nodes"] as const;
export type LabVerb = typeof LAB_VERBS[number];

/** The request of `kl.lab.kill-node` and `kl.lab.restore-node`. */
export const LabNodeRequest = z.object({ node: z.string().min(1).max(253) });
export type LabNodeRequest = z.infer<typeof LabNodeRequest>;

/** Their reply: the agent processes killed or started (none when there was nothing to do). */
export const LabNodeReply = z.object({ node: z.string(), agents: z.array(z.string()) });
export type LabNodeReply = z.infer<typeof LabNodeReply>;

/** The request of `kl.lab.add-nodes` and `kl.lab.remove-nodes`. */
export const LabNodesRequest = z.object({ count: z.number().int().min(1).max(10_000) });
export type LabNodesRequest = z.infer<typeof LabNodesRequest>;

/** Their reply: the nodes added or removed. */
export const LabNodesReply = z.object({ nodes: z.array(z.string()) });
export type LabNodesReply = z.infer<typeof LabNodesReply>;
