/**
 * `kubelab top nodes` and `kubelab top pods`: CPU and memory in use, as `kubectl top` prints them. Where
 * kubectl reads metrics-server (which scrapes each kubelet's Summary API), kubelab asks each node's
 * kubelet directly (`kl.node.<node>.kubelet.stats`).
 * @module
 */
import type { Node, Pod } from "../../shared/api/core.ts";
import { parseBytes, parseCpuMillis } from "../../shared/api/quantity.ts";
import { readAllPages } from "../../shared/bus/pager.ts";
import { subjects } from "../../shared/bus/subjects.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import {
  KubeletStatsReply,
  type PodUsage,
  type ResourceUsage,
} from "../../shared/cri/kubelet_api.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { renderTable } from "../printers/table.ts";

/** How long `top` waits for each kubelet. */
export const STATS_TIMEOUT_MS = 3_000;

/** What kubectl prints where a node has no metrics. */
const UNKNOWN = "<unknown>";

const MI = 1024 * 1024;

/** kubectl's CPU column: millicores, rounded up as Quantity.MilliValue does (`250m`). */
export function formatCpu(nanoCores: number): string {
  return `${Math.ceil(nanoCores / 1e6)}m`;
}

/** kubectl's memory column: whole mebibytes, rounded down (`64Mi`). */
export function formatMemory(bytes: number): string {
  return `${Math.floor(bytes / MI)}Mi`;
}

/** kubectl's percentage of allocatable, rounded down (`12%`). */
export function formatPercent(used: number, allocatable: number): string {
  return allocatable > 0 ? `${Math.floor(used * 100 / allocatable)}%` : UNKNOWN;
}

/** How rows are ordered: `--sort-by cpu|memory` (largest first), else by name. */
export type SortBy = "cpu" | "memory" | undefined;

function sortUsage<T extends { key: string; usage?: ResourceUsage }>(rows: T[], by: SortBy): T[] {
  const value = (r: T) =>
    by === "cpu" ? r.usage?.usageNanoCores ?? -1 : r.usage?.workingSetBytes ?? -1;
  return rows.sort((a, b) => by ? value(b) - value(a) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The `top nodes` table: each node's usage against its allocatable, `<unknown>` when not known. */
export function nodeTable(
  nodes: readonly Node[],
  usage: ReadonlyMap<string, ResourceUsage>,
  opts: { sortBy?: SortBy; noHeaders?: boolean } = {},
): string[][] {
  const rows = sortUsage(
    nodes.map((n) => ({ key: n.metadata.name!, node: n, usage: usage.get(n.metadata.name!) })),
    opts.sortBy,
  ).map(({ key, node, usage: u }) => {
    if (!u) return [key, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN];
    const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
    const cpuMillis = Math.ceil(u.usageNanoCores / 1e6);
    const cpuAlloc = alloc.cpu === undefined ? 0 : parseCpuMillis(alloc.cpu);
    const memAlloc = alloc.memory === undefined ? 0 : parseBytes(alloc.memory);
    return [
      key,
      formatCpu(u.usageNanoCores),
      formatPercent(cpuMillis, cpuAlloc),
      formatMemory(u.workingSetBytes),
      formatPercent(u.workingSetBytes, memAlloc),
    ];
  });
  const header = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"];
  return opts.noHeaders ? rows : [header, ...rows];
}

/** The `top pods` table, with NAMESPACE first for `-A` and a row per container for `--containers`. */
export function podTable(
  pods: readonly PodUsage[],
  opts: { allNamespaces?: boolean; containers?: boolean; sortBy?: SortBy; noHeaders?: boolean } =
    {},
): string[][] {
  const ns = (p: PodUsage) => opts.allNamespaces ? [p.namespace] : [];
  const sorted = sortUsage(
    pods.map((p) => ({ key: `${p.namespace}/${p.name}`, pod: p, usage: p as ResourceUsage })),
    opts.sortBy,
  );
  const rows = opts.containers
    ? sorted.flatMap(({ pod }) =>
      pod.containers.map((c) => [
        ...ns(pod),
        pod.name,
        c.name,
        formatCpu(c.usageNanoCores),
        formatMemory(c.workingSetBytes),
      ])
    )
    : sorted.map(({ pod }) => [
      ...ns(pod),
      pod.name,
      formatCpu(pod.usageNanoCores),
      formatMemory(pod.workingSetBytes),
    ]);
  const header = [
    ...(opts.allNamespaces ? ["NAMESPACE"] : []),
    ...(opts.containers ? ["POD", "NAME"] : ["NAME"]),
    "CPU(cores)",
    "MEMORY(bytes)",
  ];
  return opts.noHeaders ? rows : [header, ...rows];
}

/**
 * Each node's Summary, asked of the nodes' kubelets at once and followed page by page; a node that does
 * not answer is absent.
 */
async function nodeStats(
  client: ApiClient,
  nodeNames: readonly string[],
): Promise<Map<string, KubeletStatsReply>> {
  const replies = await Promise.all(
    nodeNames.map((node) =>
      readAllPages("pods", (token) =>
        client.bus.request(
          subjects.kubelet(node, "stats"),
          token ? { continue: token } : {},
          KubeletStatsReply,
          { timeoutMs: STATS_TIMEOUT_MS },
        )).then((r) => [node, r] as const, () => undefined)
    ),
  );
  return new Map(replies.filter((r) => r !== undefined));
}

function parseSortBy(value: string | undefined): SortBy {
  if (value === undefined || value === "cpu" || value === "memory") return value;
  throw new UsageError(`--sort-by accepts only cpu or memory, not "${value}"`);
}

async function topNodes(ctx: CommandContext, args: Args, names: string[]): Promise<number> {
  const client = await ctx.client();
  const nodes = names.length
    ? await Promise.all(names.map((n) => client.get<Node>("nodes", undefined, n)))
    : (await client.list<Node>("nodes", { labelSelector: args.string("selector") })).items;
  if (!nodes.length) {
    ctx.io.stderr.write("No resources found\n");
    return 0;
  }
  const stats = await nodeStats(client, nodes.map((n) => n.metadata.name!));
  const usage = new Map([...stats].map(([node, s]) => [node, s.node]));
  const rows = nodeTable(nodes, usage, {
    sortBy: parseSortBy(args.string("sort-by")),
    noHeaders: args.bool("no-headers"),
  });
  ctx.io.stdout.write(renderTable(rows));
  return 0;
}

async function topPods(ctx: CommandContext, args: Args, names: string[]): Promise<number> {
  const client = await ctx.client();
  const allNamespaces = args.bool("all-namespaces");
  const namespace = allNamespaces ? undefined : namespaceOf(args.string("namespace"));
  const pods = names.length
    ? await Promise.all(names.map((n) => client.get<Pod>("pods", namespace, n)))
    : (await client.list<Pod>("pods", { namespace, labelSelector: args.string("selector") }))
      .items;
  const nodes = [...new Set(pods.flatMap((p) => p.spec.nodeName ? [p.spec.nodeName] : []))];
  const stats = await nodeStats(client, nodes);
  const wanted = new Set(pods.map((p) => p.metadata.uid));
  const usage = [...stats.values()].flatMap((s) => s.pods).filter((p) => wanted.has(p.uid));
  if (!usage.length) {
    // kubectl: pods that exist but have no metrics yet are an error; no pods at all is not.
    if (pods.length) throw new Error("metrics not available yet");
    ctx.io.stderr.write(
      allNamespaces ? "No resources found\n" : `No resources found in ${namespace} namespace.\n`,
    );
    return 0;
  }
  const rows = podTable(usage, {
    allNamespaces,
    containers: args.bool("containers"),
    sortBy: parseSortBy(args.string("sort-by")),
    noHeaders: args.bool("no-headers"),
  });
  ctx.io.stdout.write(renderTable(rows));
  return 0;
}

function run(ctx: CommandContext, args: Args): Promise<number> {
  const [type, ...names] = args.positionals;
  switch (type) {
    case "node":
    case "nodes":
    case "no":
      return topNodes(ctx, args, names);
    case "pod":
    case "pods":
    case "po":
      return topPods(ctx, args, names);
    default:
      throw new UsageError(
        type === undefined
          ? "you must specify nodes or pods: kubelab top nodes | kubelab top pods"
          : `kubelab top shows nodes or pods, not "${type}"`,
      );
  }
}

/** `kubelab top` */
export const topCommand: Command = {
  name: "top",
  summary: "Show the CPU and memory in use by nodes or pods",
  usage:
    "kubelab top nodes [NAME] [flags]\nkubelab top pods [NAME] [-n NS | -A] [--containers] [flags]",
  details:
    `Each node's kubelet sums what its container runtime reports for the running containers. With
the process runtime that is real usage read from /proc; with the fake runtime it is what the
kubelab.io/fake-usage annotation says (1m and 8Mi per container otherwise). A node's usage is the sum of
its pods', and CPU% and MEMORY% are of its allocatable. A node whose kubelet does not answer shows
<unknown>.

Examples:
  kubelab top nodes
  kubelab top pods -A --sort-by cpu
  kubelab top pods web-1 --containers`,
  flags: [
    NAMESPACE_FLAG,
    {
      name: "all-namespaces",
      short: "A",
      type: "boolean",
      description: "Pods of all namespaces (adds a NAMESPACE column).",
    },
    {
      name: "containers",
      type: "boolean",
      description: "A row per container of each pod.",
    },
    {
      name: "selector",
      short: "l",
      type: "string",
      valueName: "SELECTOR",
      description: "Label selector: app=web.",
    },
    {
      name: "sort-by",
      type: "string",
      valueName: "cpu|memory",
      description: "Order by CPU or memory, largest first (default: by name).",
    },
    { name: "no-headers", type: "boolean", description: "Leave out the header line." },
  ],
  run,
};
