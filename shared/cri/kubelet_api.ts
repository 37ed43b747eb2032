/**
 * What a node's kubelet answers on `kl.node.<node>.kubelet.<verb>` (the kubelet's own API on port 10250
 * in Kubernetes): for now `logs`, as `kubectl logs` asks for them.
 * @module
 */
import { z } from "zod";

/** `logs`: the log lines of one container of a pod on the node. */
export const KubeletLogsRequest = z.object({
  namespace: z.string().default("default"),
  name: z.string().min(1),
  /** Required when the pod has more than one container. */
  container: z.string().optional(),
  /** Only the last N lines. */
  tailLines: z.number().int().min(0).optional(),
  /** The previous instance of the container (`kubectl logs --previous`). */
  previous: z.boolean().optional(),
  /** Prefix each line with its RFC 3339 time. */
  timestamps: z.boolean().optional(),
});
export type KubeletLogsRequest = z.input<typeof KubeletLogsRequest>;

/** Reply to `logs`. */
export const KubeletLogsReply = z.object({ lines: z.array(z.string()) });
export type KubeletLogsReply = z.infer<typeof KubeletLogsReply>;
