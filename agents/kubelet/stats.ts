/**
 * The kubelet's `stats` endpoint (the Summary API, `GET /stats/summary` on port 10250, that
 * metrics-server reads for `kubectl top`) on `kl.node.<node>.kubelet.stats`: the runtime's
 * ListContainerStats summed per pod and for the node. The node's figure is the sum of its pods' (a lab
 * node is a share of one host, so the host's own usage would say nothing about it). The reply comes in
 * pages of pods that each fit in a NATS message, all from one reading.
 * @module
 */
import type { z } from "zod";
import type { Bus, VerbHandler } from "../../shared/bus/bus.ts";
import { ListPager } from "../../shared/bus/pager.ts";
import { maxMessageBytes } from "../../shared/bus/payload.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import type { Clock } from "../../shared/clock.ts";
import type { ContainerStats } from "../../shared/cri/api.ts";
import type { CriClient } from "../../shared/cri/client.ts";
import {
  type KubeletStatsReply,
  KubeletStatsRequest,
  type PodUsage,
  type ResourceUsage,
} from "../../shared/cri/kubelet_api.ts";
import {
  CONTAINER_NAME_LABEL,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
} from "./labels.ts";

/** Options for {@linkcode serveStats}. */
export interface ServeStatsOptions {
  bus: Bus;
  nodeName: string;
  cri: Pick<CriClient, "listContainerStats" | "listContainers">;
  clock: Clock;
}

function zero(): ResourceUsage {
  return { usageNanoCores: 0, usageCoreNanoSeconds: 0, workingSetBytes: 0 };
}

function add(sum: ResourceUsage, u: ResourceUsage): void {
  sum.usageNanoCores += u.usageNanoCores;
  sum.usageCoreNanoSeconds += u.usageCoreNanoSeconds;
  sum.workingSetBytes += u.workingSetBytes;
}

/**
 * The Summary of a node: the stats of its running containers (`running`, by id) grouped into pods by
 * the kubelet's labels, pods in namespace/name order, and the node as their sum.
 */
export function summarizeStats(
  nodeName: string,
  stats: readonly ContainerStats[],
  running: ReadonlySet<string>,
  now: number,
): KubeletStatsReply {
  const pods = new Map<string, PodUsage>();
  for (const s of stats) {
    const labels = s.attributes.labels ?? {};
    const uid = labels[POD_UID_LABEL];
    if (!uid || !running.has(s.attributes.id)) continue;
    let pod = pods.get(uid);
    if (!pod) {
      pod = {
        namespace: labels[POD_NAMESPACE_LABEL] ?? "default",
        name: labels[POD_NAME_LABEL] ?? uid,
        uid,
        ...zero(),
        containers: [],
      };
      pods.set(uid, pod);
    }
    const usage = {
      usageNanoCores: s.cpu.usageNanoCores,
      usageCoreNanoSeconds: s.cpu.usageCoreNanoSeconds,
      workingSetBytes: s.memory.workingSetBytes,
    };
    pod.containers.push({
      name: labels[CONTAINER_NAME_LABEL] ?? s.attributes.metadata.name,
      ...usage,
    });
    add(pod, usage);
  }
  const sorted = [...pods.values()].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)
  );
  for (const p of sorted) p.containers.sort((a, b) => a.name.localeCompare(b.name));
  const node = { name: nodeName, ...zero() };
  for (const p of sorted) add(node, p);
  return { node, pods: sorted, timestamp: new Date(now).toISOString() };
}

/** The `stats` verb of the kubelet's endpoint (served with the others, kubelet.ts). */
export function statsVerb(options: ServeStatsOptions): VerbHandler {
  const { bus, nodeName, cri, clock } = options;
  const subject = subjects.kubelet(nodeName, "stats");
  const pager = new ListPager<"pods", KubeletStatsReply>({
    key: "pods",
    subject,
    clock,
    maxBytes: () => maxMessageBytes(bus.nc),
  });
  const summary = async () => {
    const [{ stats }, { containers }] = await Promise.all([
      cri.listContainerStats({}),
      cri.listContainers({ filter: { state: "CONTAINER_RUNNING" } }),
    ]);
    return summarizeStats(nodeName, stats, new Set(containers.map((c) => c.id)), clock.now());
  };
  return {
    schema: KubeletStatsRequest,
    handler: async (req: z.output<typeof KubeletStatsRequest>): Promise<KubeletStatsReply> => {
      const page = req.continue
        ? pager.resume(req.continue, req.limit)
        : pager.start(await summary(), req.limit);
      return page.continue ? { ...page.list, continue: page.continue } : page.list;
    },
  };
}
