/**
 * Reading manifests for `apply -f`, `create -f` and `delete -f`: files, folders and stdin; multi-document
 * YAML and JSON; `kind: List` flattened into its items. Every document remembers where it came from, so
 * that a YAML error reads `web.yaml:12:3: <message>` and a field error can point at the line of the field.
 * @module
 */
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseAllDocuments,
} from "yaml";
import { isJsonObject as isObject } from "./json.ts";

/** An object read from a manifest, not yet validated. */
export interface ManifestDocument {
  /** The file as the user named it (`deploy/web.yaml`), or `STDIN`. */
  source: string;
  /** The line where the object starts (1-based). */
  line: number;
  object: Record<string, unknown>;
  /**
   * The line of a field given as Kubernetes prints field paths (`spec.containers[0].image`): the line of
   * its key, or of the closest enclosing field present when it is missing.
   */
  lineOf(field: string): number;
}

/** A manifest that could not be read or parsed. */
export interface ManifestError {
  source: string;
  /** Absent for errors about the path itself. */
  line?: number;
  column?: number;
  message: string;
}

/** What reading manifests gave: the objects, and every error met on the way. */
export interface ManifestResult {
  documents: ManifestDocument[];
  errors: ManifestError[];
}

/** `web.yaml:12:3: message`, `web.yaml:12: message`, or the bare message for path errors. */
export function formatManifestError(e: ManifestError): string {
  if (e.line === undefined) return e.message;
  return `${e.source}:${e.line}${e.column !== undefined ? `:${e.column}` : ""}: ${e.message}`;
}

/** The name shown for manifests read from standard input. */
export const STDIN_SOURCE = "STDIN";

/**
 * Splits a field path as Kubernetes prints it into keys and indices:
 * `spec.containers[0].name` → `["spec", "containers", 0, "name"]`,
 * `metadata.labels[app.kubernetes.io/name]` → `["metadata", "labels", "app.kubernetes.io/name"]`.
 */
export function splitFieldPath(field: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const m of field.matchAll(/\[([^\]]*)\]|([^.[\]]+)/g)) {
    if (m[1] !== undefined) parts.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
    else parts.push(m[2]);
  }
  return parts;
}

function lineOfOffset(lc: LineCounter, offset: number): number {
  return lc.linePos(offset).line;
}

/** Walks from `root` along `path`; returns the line of the deepest key or item found. */
function lineOfPath(
  root: YamlNode,
  path: (string | number)[],
  lc: LineCounter,
  start: number,
): number {
  let node: unknown = root;
  let line = start;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        isScalar(p.key) && String(p.key.value) === String(segment)
      );
      if (!pair) break;
      const at = (isScalar(pair.key) ? pair.key.range : undefined) ??
        (pair.value as YamlNode | null)?.range;
      if (at) line = lineOfOffset(lc, at[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as YamlNode | undefined;
      if (!item?.range) break;
      line = lineOfOffset(lc, item.range[0]);
      node = item;
    } else break;
  }
  return line;
}

function notAnObject(value: unknown): string {
  const got = Array.isArray(value) ? "a list" : value === null ? "null" : `a ${typeof value}`;
  return `expected an object with apiVersion and kind, got ${got}`;
}

/** Parses one manifest text: every document, `kind: List` items as documents of their own. */
export function parseManifest(text: string, source: string): ManifestResult {
  const lc = new LineCounter();
  const result: ManifestResult = { documents: [], errors: [] };
  const fail = (offset: number, message: string) => {
    const pos = lc.linePos(offset);
    result.errors.push({ source, line: pos.line, column: pos.col, message });
  };
  const add = (node: YamlNode, object: Record<string, unknown>) => {
    const line = lineOfOffset(lc, node.range![0]);
    const lineOf = (field: string) => lineOfPath(node, splitFieldPath(field), lc, line);
    result.documents.push({ source, line, object, lineOf });
  };

  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false }) as Document[] | [];
  for (const doc of docs) {
    if (doc.errors.length) {
      for (const err of doc.errors) fail(err.pos[0], err.message);
      continue;
    }
    const node = doc.contents as YamlNode | null;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined || !node?.range) continue; // an empty document
    if (!isObject(value)) {
      fail(node.range[0], notAnObject(value));
    } else if (typeof value.kind === "string" && value.kind.endsWith("List")) {
      // kubectl flattens `kind: List` (and `PodList`, …) into its items.
      const items = isMap(node) ? node.get("items", true) : undefined;
      if (!Array.isArray(value.items) || !isSeq(items)) {
        fail(node.range[0], `${value.kind} has no items list`);
        continue;
      }
      value.items.forEach((item: unknown, i: number) => {
        const itemNode = items.items[i] as YamlNode;
        if (isObject(item)) add(itemNode, item);
        else fail(itemNode.range![0], `items[${i}]: ${notAnObject(item)}`);
      });
    } else {
      add(node, value);
    }
  }
  return result;
}

/** Options for {@linkcode readManifests}. */
export interface ReadManifestsOptions {
  /** Resolves relative paths. @default Deno.cwd() */
  cwd?: string;
  /** Read for the path `-`. */
  stdin?: ReadableStream<Uint8Array>;
  /** Also read folders inside folders. @default false */
  recursive?: boolean;
}

const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"];

/**
 * Reads every path: a file, a folder (its `.yaml`, `.yml` and `.json` files in name order), or `-` for
 * standard input. Errors are collected, never thrown, so that good documents can still be applied.
 */
export async function readManifests(
  paths: readonly string[],
  options: ReadManifestsOptions = {},
): Promise<ManifestResult> {
  const cwd = options.cwd ?? Deno.cwd();
  const result: ManifestResult = { documents: [], errors: [] };
  const add = (r: ManifestResult) => {
    result.documents.push(...r.documents);
    result.errors.push(...r.errors);
  };
  const resolve = (p: string) => p.startsWith("/") ? p : `${cwd}/${p}`;

  const readPath = async (path: string, top: boolean): Promise<void> => {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(resolve(path));
    } catch (err) {
      const message = err instanceof Deno.errors.NotFound
        ? `the path "${path}" does not exist`
        : `cannot read "${path}": ${(err as Error).message}`;
      result.errors.push({ source: path, message });
      return;
    }
    if (info.isDirectory) {
      if (!top && !options.recursive) return;
      const entries: Deno.DirEntry[] = [];
      for await (const e of Deno.readDir(resolve(path))) entries.push(e);
      entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      for (const e of entries) {
        const child = `${path.replace(/\/+$/, "")}/${e.name}`;
        if (e.isDirectory) await readPath(child, false);
        else if (MANIFEST_EXTENSIONS.some((ext) => e.name.endsWith(ext))) {
          await readPath(child, false);
        }
      }
      return;
    }
    try {
      add(parseManifest(await Deno.readTextFile(resolve(path)), path));
    } catch (err) {
      result.errors.push({
        source: path,
        message: `cannot read "${path}": ${(err as Error).message}`,
      });
    }
  };

  let stdin: Promise<string> | undefined;
  for (const path of paths) {
    if (path === "-") {
      stdin ??= options.stdin ? new Response(options.stdin).text() : Promise.resolve("");
      add(parseManifest(await stdin, STDIN_SOURCE));
    } else {
      await readPath(path, true);
    }
  }
  return result;
}
