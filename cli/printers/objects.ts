/**
 * Whole objects as `-o yaml`, `-o json` and `-o name` print them.
 * @module
 */
import { stringify } from "yaml";
import type { KubeObject } from "../../shared/api/meta.ts";
import { UsageError } from "../args.ts";

/** The output formats of `get`: a table (the default), a wide table, or whole objects. */
export type OutputFormat = "table" | "wide" | "yaml" | "json" | "name";

const FORMATS: readonly OutputFormat[] = ["json", "name", "wide", "yaml"];

/** Reads `-o`; throws kubectl's error for a format it does not know. */
export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === "") return "table";
  if ((FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  const allowed = FORMATS.join(",");
  throw new UsageError(
    `unable to match a printer suitable for the output format "${value}", allowed formats are: ${allowed}`,
  );
}

/** A `kind: List` of objects, as `kubectl get -o yaml` prints several. */
export function asList(items: readonly KubeObject[]): Record<string, unknown> {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}

/** YAML as kubectl writes it: keys sorted, sequences not indented under their key, no line folding. */
export function toYaml(obj: unknown): string {
  return stringify(obj, { indentSeq: false, sortMapEntries: true, lineWidth: 0 });
}

/** JSON as kubectl writes it: four-space indentation. */
export function toJson(obj: unknown): string {
  return JSON.stringify(obj, null, 4) + "\n";
}
