/**
 * `kubelab apply -f` (create or update, kubectl's client-side apply) and the pipeline `create -f` shares:
 * read every manifest, validate every object before sending it, Namespaces first, then one result line
 * per object. A bad document is reported with its file and line and the others still go through.
 * @module
 */
import { ApiError, type FieldError, formatFieldError } from "../../shared/api/errors.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import { resourceForKind, type ResourceInfo } from "../../shared/api/registry.ts";
import { validateObject } from "../../shared/api/validation.ts";
import type { ApiClient } from "../../shared/client/client.ts";
import { type Args, UsageError } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";
import { isConnectionError } from "../errors.ts";
import { FILENAME_FLAG, NAMESPACE_FLAG, RECURSIVE_FLAG } from "../flags.ts";
import { formatManifestError, type ManifestDocument, readManifests } from "../manifest.ts";
import { jsonEqual } from "../json.ts";
import { applyManifest, withLastApplied } from "../merge.ts";
import { objectRef } from "../resources.ts";

/** What a manifest run does with each object. */
export type ManifestMode = "apply" | "create";

/** An object ready to send: validated, its namespace settled. */
interface Planned {
  doc: ManifestDocument;
  info: ResourceInfo;
  object: KubeObject;
}

function label(obj: Record<string, unknown>): { kind: string; name: string } {
  const meta = (obj.metadata ?? {}) as { name?: unknown; generateName?: unknown };
  return {
    kind: typeof obj.kind === "string" ? obj.kind : "Object",
    name: String(meta.name ?? meta.generateName ?? ""),
  };
}

/** `web.yaml:12: Pod "web-1" is invalid: spec.containers[0].name: Required value`, one per error. */
function invalidLines(doc: ManifestDocument, errors: readonly FieldError[]): string[] {
  const { kind, name } = label(doc.object);
  return errors.map((e) =>
    `${doc.source}:${doc.lineOf(e.field)}: ${kind} "${name}" is invalid: ${formatFieldError(e)}`
  );
}

/**
 * The namespace of a namespaced manifest object: its own, else `-n`, else `default`; or kubectl's error
 * line when the object names a namespace other than the one `-n` gives.
 */
export function namespaceFor(
  doc: ManifestDocument,
  flagNamespace: string | undefined,
): { namespace: string } | { error: string } {
  const ns = (doc.object.metadata as { namespace?: unknown } | undefined)?.namespace;
  const own = typeof ns === "string" && ns ? ns : undefined;
  if (own && flagNamespace && own !== flagNamespace) {
    const at = `${doc.source}:${doc.lineOf("metadata.namespace")}`;
    return {
      error:
        `${at}: the namespace from the provided object "${own}" does not match the namespace ` +
        `"${flagNamespace}". You must pass '--namespace=${own}' to perform this operation.`,
    };
  }
  return { namespace: own || flagNamespace || "default" };
}

/** The registered type of a manifest object, if its apiVersion and kind name one. */
export function documentResource(object: Record<string, unknown>): ResourceInfo | undefined {
  return typeof object.apiVersion === "string" && typeof object.kind === "string"
    ? resourceForKind(object.apiVersion, object.kind)
    : undefined;
}

/** Options for {@linkcode planDocument}. */
export interface PlanOptions {
  /** The `-n` flag. */
  namespace?: string;
  mode: ManifestMode;
}

/**
 * Settles the namespace and validates the object as the state service will. Returns the error lines when
 * it is not fit to send.
 */
export function planDocument(doc: ManifestDocument, options: PlanOptions): Planned | string[] {
  const object = structuredClone(doc.object) as KubeObject;
  const info = documentResource(object);
  if (info?.namespaced && typeof object.metadata === "object" && object.metadata !== null) {
    const ns = namespaceFor(doc, options.namespace);
    if ("error" in ns) return [ns.error];
    object.metadata.namespace = ns.namespace;
  }
  const { errors } = validateObject(object);
  if (errors.length || !info) return invalidLines(doc, errors);
  if (options.mode === "apply" && !object.metadata.name) {
    return [
      `${doc.source}:${doc.lineOf("metadata")}: cannot use generateName with apply: give a name`,
    ];
  }
  return { doc, info, object };
}

/** Creates, or updates with the three-way merge; retries once when someone else wrote in between. */
async function applyOne(client: ApiClient, p: Planned): Promise<{ name: string; result: string }> {
  const { info, object } = p;
  const name = object.metadata.name!;
  try {
    await client.create(info.resource, withLastApplied(object));
    return { name, result: "created" };
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
  }
  for (let attempt = 0;; attempt++) {
    const live = await client.get<KubeObject>(info.resource, object.metadata.namespace, name);
    const next = applyManifest(live, object);
    if (jsonEqual(next, live)) return { name, result: "unchanged" };
    try {
      // `next` carries live's resourceVersion: the update is compare-and-set.
      await client.update(info.resource, next);
      return { name, result: "configured" };
    } catch (err) {
      if (attempt > 0 || !(err instanceof ApiError && err.reason === "Conflict")) throw err;
    }
  }
}

function serverErrorLines(err: ApiError, p: Planned, mode: ManifestMode): string[] {
  const causes = err.status.details?.causes ?? [];
  if (err.reason === "Invalid" && causes.length) {
    return invalidLines(
      p.doc,
      causes.map((c) => ({ field: c.field ?? "", type: c.reason ?? "", detail: c.message ?? "" })),
    );
  }
  const verb = mode === "create" ? "creating" : "applying";
  const reason = err.reason || err.code;
  return [`Error from server (${reason}): error when ${verb} "${p.doc.source}": ${err.message}`];
}

/**
 * The shared body of `apply` and `create`: exit 1 when any document failed, after every other one was
 * sent. Losing the connection to the lab ends the run at once (the error is thrown).
 */
export async function runManifests(
  ctx: CommandContext,
  args: Args,
  mode: ManifestMode,
): Promise<number> {
  const files = args.strings("filename");
  if (!files.length) {
    throw new UsageError("must specify -f FILENAME (a file, a folder or - for stdin)");
  }
  if (args.positionals.length) {
    throw new UsageError(
      `unexpected arguments: ${args.positionals.join(" ")} (objects come from -f)`,
    );
  }
  const { io } = ctx;
  const read = await readManifests(files, {
    cwd: ctx.cwd,
    stdin: io.stdin,
    recursive: args.bool("recursive"),
  });
  let failed = read.errors.length;
  for (const e of read.errors) io.stderr.write(formatManifestError(e) + "\n");

  const planned: Planned[] = [];
  for (const doc of read.documents) {
    const p = planDocument(doc, { namespace: args.string("namespace"), mode });
    if (Array.isArray(p)) {
      failed++;
      for (const line of p) io.stderr.write(line + "\n");
    } else planned.push(p);
  }
  if (!planned.length) {
    if (!failed) io.stderr.write(`error: no objects passed to ${mode}\n`);
    return 1;
  }
  // Namespaces first, so that objects in a namespace created by the same run find it.
  planned.sort((a, b) => Number(b.info.kind === "Namespace") - Number(a.info.kind === "Namespace"));

  const client = await ctx.client();
  for (const p of planned) {
    try {
      const { name, result } = mode === "create"
        ? {
          name: (await client.create<KubeObject>(p.info.resource, p.object)).metadata.name!,
          result: "created",
        }
        : await applyOne(client, p);
      io.stdout.write(`${objectRef(p.info, name)} ${result}\n`);
    } catch (err) {
      if (isConnectionError(err) || !(err instanceof ApiError)) throw err;
      failed++;
      for (const line of serverErrorLines(err, p, mode)) io.stderr.write(line + "\n");
    }
  }
  return failed ? 1 : 0;
}

/** `kubelab apply` */
export const applyCommand: Command = {
  name: "apply",
  summary: "Create or update objects from manifests (kubectl's client-side apply)",
  usage: "kubelab apply -f PATH [-f PATH...] [flags]",
  details:
    `Creates each object, or when it exists merges the manifest into it: fields the manifest sets win,
fields an earlier apply set but this manifest leaves out are removed, fields set by others (defaults,
node binding, status) are kept. Prints "<kind>/<name> created|configured|unchanged" per object.
Namespaces go first. Every document is validated before anything is sent; bad documents are reported
as FILE:LINE: … and the others are still applied (exit code 1).

Examples:
  kubelab apply -f web.yaml
  kubelab apply -f manifests/ -f extra.yaml
  cat web.yaml | kubelab apply -f -`,
  flags: [FILENAME_FLAG, RECURSIVE_FLAG, NAMESPACE_FLAG],
  run: (ctx, args) => runManifests(ctx, args, "apply"),
};
