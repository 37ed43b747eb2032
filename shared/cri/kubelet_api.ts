/**
 * What a node's kubelet answers on `kl.node.<node>.kubelet.<verb>` (the kubelet's own API on port 10250
 * in Kubernetes): `logs` as `kubectl logs` asks for them, `exec` as `kubectl exec` runs a command, and
 * `stats` (the kubelet's Summary API, /stats/summary) as `kubectl top` reads usage.
 * @module
 */
import { z } from "zod";
import { PAGE_REPLY_FIELDS, PAGE_REQUEST_FIELDS } from "../bus/pager.ts";

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
  /**
   * Following (`kubectl logs -f`): the container instance a first reply named, so that the follower
   * stays with it when the container restarts.
   */
  containerId: z.string().optional(),
  /** Following: the `nextLine` of the previous reply; only later lines come back. */
  sinceLine: z.number().int().min(0).optional(),
});
export type KubeletLogsRequest = z.input<typeof KubeletLogsRequest>;

/** Reply to `logs`. */
export const KubeletLogsReply = z.object({
  lines: z.array(z.string()),
  /** The container instance read: pass it back with `sinceLine` to follow. */
  containerId: z.string().optional(),
  /** The `sinceLine` of the next poll. */
  nextLine: z.number().int().min(0).optional(),
  /** Whether the instance still runs: a follower stops once it does not and it has read all. */
  running: z.boolean().optional(),
});
export type KubeletLogsReply = z.infer<typeof KubeletLogsReply>;

/** `exec`: runs a command in a running container of a pod on the node (CRI ExecSync). */
export const KubeletExecRequest = z.object({
  namespace: z.string().default("default"),
  name: z.string().min(1),
  /** Required when the pod has more than one container. */
  container: z.string().optional(),
  command: z.array(z.string()).min(1),
  /** Seconds the command may run; 0 means no limit. @default 0 */
  timeoutSeconds: z.number().min(0).default(0),
});
export type KubeletExecRequest = z.input<typeof KubeletExecRequest>;

/** Reply to `exec`: the command's output and exit code. */
export const KubeletExecReply = z.object({
  stdout: z.string(),
  stderr: z.string(),
  exitCode: z.number().int(),
});
export type KubeletExecReply = z.infer<typeof KubeletExecReply>;

/**
 * `stats`: the node's usage now. The reply grows with the node's pods and containers, so it comes in
 * pages of `pods` (shared/bus/pager.ts): pass back `continue` for the next one.
 */
export const KubeletStatsRequest = z.object({ ...PAGE_REQUEST_FIELDS }).default({});
export type KubeletStatsRequest = z.input<typeof KubeletStatsRequest>;

/** CPU and memory at a point in time, as the Summary API's CPUStats and MemoryStats. */
export const ResourceUsage = z.object({
  /** Cores in use averaged over the runtime's last sample, in nanocores (1e9 = one core). */
  usageNanoCores: z.number().min(0),
  /** Cumulative CPU time in core-nanoseconds. */
  usageCoreNanoSeconds: z.number().min(0),
  workingSetBytes: z.number().min(0),
});
export type ResourceUsage = z.infer<typeof ResourceUsage>;

/** One container's usage. */
export const ContainerUsage = ResourceUsage.extend({ name: z.string() });
export type ContainerUsage = z.infer<typeof ContainerUsage>;

/** One pod's usage: the sum of its running containers'. */
export const PodUsage = ResourceUsage.extend({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  containers: z.array(ContainerUsage),
});
export type PodUsage = z.infer<typeof PodUsage>;

/** Reply to `stats`: the node and each pod with a running container. */
export const KubeletStatsReply = z.object({
  node: ResourceUsage.extend({ name: z.string() }),
  pods: z.array(PodUsage),
  /** When the usage was read (RFC 3339). */
  timestamp: z.string(),
  ...PAGE_REPLY_FIELDS,
});
export type KubeletStatsReply = z.infer<typeof KubeletStatsReply>;
