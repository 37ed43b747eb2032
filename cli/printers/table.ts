/**
 * `kubectl get`'s table: a header line and one row per object, with a leading NAMESPACE column for
 * `--all-namespaces` and `kind/name` names when several types are printed together.
 * @module
 */
import type { KubeObject } from "../../shared/api/meta.ts";
import type { ResourceInfo } from "../../shared/api/registry.ts";
import { objectRef } from "../resources.ts";
import { columnsFor } from "./columns.ts";
import { alignCells, TABLE_OPTIONS } from "./tabwriter.ts";

/** Options for {@linkcode tableRows}. */
export interface TableOptions {
  /** `-o wide`. */
  wide?: boolean;
  /** Lead with a NAMESPACE column (`-A`). */
  withNamespace?: boolean;
  /** Print names as `pod/web-1` (several types in one `get`). */
  withKind?: boolean;
  /** Leave the header line out (`--no-headers`, or rows printed by a watch). */
  noHeaders?: boolean;
  now: number;
}

/** The header and rows of a table, as cells. */
export function tableRows(
  info: ResourceInfo,
  objects: readonly KubeObject[],
  opts: TableOptions,
): string[][] {
  const columns = columnsFor(info.resource);
  const wide = opts.wide ?? false;
  const headers = wide ? [...columns.headers, ...columns.wideHeaders] : columns.headers;
  const nameAt = headers.indexOf("NAME");
  const rows = objects.map((obj) => {
    const cells = columns.row(obj, opts.now, wide);
    if (opts.withKind && nameAt >= 0) cells[nameAt] = objectRef(info, cells[nameAt]);
    return opts.withNamespace ? [obj.metadata.namespace ?? "", ...cells] : cells;
  });
  if (opts.noHeaders) return rows;
  return [opts.withNamespace ? ["NAMESPACE", ...headers] : headers, ...rows];
}

/**
 * Aligns table rows as kubectl's tab writer does. Pass the same `widths` array to later calls (a watch)
 * so their rows line up with the first table.
 */
export function renderTable(rows: readonly (readonly string[])[], widths?: number[]): string {
  if (!rows.length) return "";
  // Every cell is tab-terminated except the last, so the last column is left as it is.
  return alignCells(rows, { ...TABLE_OPTIONS, widths }).join("\n") + "\n";
}
