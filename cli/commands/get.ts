/**
 * `kubelab get`: tables as kubectl 1.32 prints them, whole objects with `-o yaml|json`, names with
 * `-o name`, and `-w` to keep printing a row per change until Ctrl-C.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import type { Event } from "../../shared/api/core.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "../../shared/api/selector.ts";
import type { ListRequest } from "../../shared/client/protocol.ts";
import { watchStream } from "../../shared/client/watch.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { NAMESPACE_FLAG, namespaceOf } from "../flags.ts";
import { byEventTime } from "../printers/columns.ts";
import {
  asList,
  type OutputFormat,
  parseOutputFormat,
  toJson,
  toYaml,
} from "../printers/objects.ts";
import { renderTable, tableRows } from "../printers/table.ts";
import { objectRef, readTarget, resolveTargets, type Target } from "../resources.ts";

/** How objects of one type are printed. */
interface PrintOptions {
  format: OutputFormat;
  /** `-A`: namespaced types get a NAMESPACE column. */
  allNamespaces: boolean;
  withKind: boolean;
  noHeaders: boolean;
  /** Column widths kept between a watch's prints. */
  widths?: number[];
}

function print(
  ctx: CommandContext,
  info: ResourceInfo,
  objects: readonly KubeObject[],
  opts: PrintOptions,
) {
  const out = ctx.io.stdout;
  switch (opts.format) {
    case "name":
      for (const o of objects) out.write(objectRef(info, o.metadata.name!) + "\n");
      return;
    case "json":
      for (const o of objects) out.write(toJson(o));
      return;
    case "yaml":
      for (const o of objects) out.write(`---\n${toYaml(o)}`);
      return;
    default: {
      const rows = tableRows(info, objects, {
        wide: opts.format === "wide",
        withNamespace: opts.allNamespaces && info.namespaced,
        withKind: opts.withKind,
        noHeaders: opts.noHeaders,
        now: ctx.clock.now(),
      });
      out.write(renderTable(rows, opts.widths));
    }
  }
}

/** Events in the order they last happened; everything else by namespace and name. */
function sortObjects(info: ResourceInfo, objects: KubeObject[]): KubeObject[] {
  if (info.resource === "events") return (objects as Event[]).sort(byEventTime);
  const key = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  return objects.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

function noResources(namespace: string | undefined, targets: Target[]): string {
  const namespaced = targets.some((t) => t.info.namespaced);
  return namespace && namespaced
    ? `No resources found in ${namespace} namespace.\n`
    : "No resources found\n";
}

/** Lists, prints, then prints each change the watch stream brings until the signal aborts. */
async function watch(
  ctx: CommandContext,
  target: Target,
  q: ListRequest,
  opts: PrintOptions,
): Promise<number> {
  const { info, names } = target;
  const client = await ctx.client();
  const namespace = info.namespaced ? q.namespace : undefined;
  const labels = q.labelSelector ? parseLabelSelector(q.labelSelector) : [];
  const fields = q.fieldSelector ? parseFieldSelector(q.fieldSelector) : [];
  const wanted = (o: KubeObject) =>
    (!names.length || names.includes(o.metadata.name!)) &&
    matchesLabels(labels, o.metadata.labels) &&
    matchesFields(fields, o);

  const listed = await client.list<KubeObject>(info.resource, { ...q, namespace });
  const initial = sortObjects(info, listed.items.filter(wanted));
  const widths: number[] = [];
  if (initial.length) print(ctx, info, initial, { ...opts, widths });
  else ctx.io.stderr.write(noResources(namespace, [target]));

  const stream = watchStream<KubeObject>(client.bus, info.resource, {
    namespace,
    afterSeq: listed.watchSeq,
    signal: ctx.signal,
    log: ctx.log,
  });
  for await (const ev of stream) {
    if (!wanted(ev.object)) continue;
    print(ctx, info, [ev.object], { ...opts, noHeaders: true, widths });
  }
  return 0;
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const targets = resolveTargets(args.positionals);
  const format = parseOutputFormat(args.string("output"));
  const allNamespaces = args.bool("all-namespaces");
  const q: ListRequest = {
    namespace: allNamespaces ? undefined : namespaceOf(args.string("namespace")),
    labelSelector: args.string("selector"),
    fieldSelector: args.string("field-selector"),
  };
  if (q.labelSelector && targets.some((t) => t.names.length)) {
    throw new UsageError("name cannot be provided when a selector is specified");
  }
  const opts: PrintOptions = {
    format,
    allNamespaces,
    withKind: targets.length > 1,
    noHeaders: args.bool("no-headers"),
  };
  if (args.bool("watch")) {
    // `get nodes,pods -w`: one watch per type, rows interleaved as changes come (kind/name rows).
    const codes = await Promise.all(targets.map((t) => watch(ctx, t, q, opts)));
    return Math.max(...codes);
  }

  let failed = 0;
  const found: { info: ResourceInfo; objects: KubeObject[] }[] = [];
  for (const target of targets) {
    const r = await readTarget(ctx, target, q);
    failed += r.missing;
    found.push({ info: target.info, objects: sortObjects(target.info, r.objects) });
  }
  const all = found.flatMap((f) => f.objects);
  const single = targets.length === 1 && targets[0].names.length === 1;

  if (format === "json" || format === "yaml") {
    if (single && !all.length) return 1;
    const body = single ? all[0] : asList(all);
    ctx.io.stdout.write(format === "json" ? toJson(body) : toYaml(body));
    return failed ? 1 : 0;
  }
  if (!all.length) {
    if (!failed) ctx.io.stderr.write(noResources(q.namespace, targets));
    return failed ? 1 : 0;
  }
  let first = true;
  for (const { info, objects } of found) {
    if (!objects.length) continue;
    if (!first && format !== "name") ctx.io.stdout.write("\n");
    first = false;
    print(ctx, info, objects, opts);
  }
  return failed ? 1 : 0;
}

/** `kubelab get` */
export const getCommand: Command = {
  name: "get",
  summary: "List objects as tables, or print them as YAML, JSON or names",
  usage: "kubelab get TYPE[,TYPE...] [NAME...] [flags]\nkubelab get TYPE/NAME... [flags]",
  details:
    `Types: pods (po), nodes (no), services (svc), endpoints (ep), events (ev), deployments (deploy),
replicasets (rs), namespaces (ns), leases — plural, singular or short name.

Examples:
  kubelab get pods
  kubelab get po,svc -A
  kubelab get pod web-1 -o yaml
  kubelab get pods -o wide -l app=web
  kubelab get pods --field-selector spec.nodeName=node-1
  kubelab get nodes -w`,
  flags: [
    NAMESPACE_FLAG,
    {
      name: "all-namespaces",
      short: "A",
      type: "boolean",
      description: "List across all namespaces (adds a NAMESPACE column).",
    },
    {
      name: "output",
      short: "o",
      type: "string",
      valueName: "FORMAT",
      description: "Output format: wide, yaml, json or name.",
    },
    {
      name: "selector",
      short: "l",
      type: "string",
      valueName: "SELECTOR",
      description: "Label selector: app=web, tier!=db, env in (a,b), !canary.",
    },
    {
      name: "field-selector",
      type: "string",
      valueName: "SELECTOR",
      description: "Field selector: spec.nodeName=node-1, status.phase!=Running.",
    },
    {
      name: "watch",
      short: "w",
      type: "boolean",
      description: "After listing, print a row per change until Ctrl-C.",
    },
    { name: "no-headers", type: "boolean", description: "Leave out the header line of tables." },
  ],
  run,
};
