/**
 * Column alignment as Go's `text/tabwriter` does it, which is where kubectl's tables and `describe` layout
 * come from: cells are separated by tabs, the last cell of a line is never aligned, and a column's width is
 * set by the run of consecutive lines that have a cell in it.
 * @module
 */

/** Options for {@linkcode alignCells}. */
export interface TabWriterOptions {
  /** Smallest width of a column, padding included. @default 0 */
  minWidth?: number;
  /** Spaces added to the widest cell of a column. @default 2 */
  padding?: number;
  /**
   * Column widths to keep using (Go's `RememberWidths`, which `kubectl get -w` relies on so that later rows
   * line up with the first table). Widened when a cell needs more room, and updated in place.
   */
  widths?: number[];
}

/** kubectl get's table writer: `tabwriter.NewWriter(out, 6, 4, 3, ' ', RememberWidths)`. */
export const TABLE_OPTIONS: TabWriterOptions = { minWidth: 6, padding: 3 };

/** kubectl describe's writer: `tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`. */
export const DESCRIBE_OPTIONS: TabWriterOptions = { minWidth: 0, padding: 2 };

function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Aligns lines given as cells; returns the lines, trailing spaces trimmed. */
export function alignCells(
  lines: readonly (readonly string[])[],
  options: TabWriterOptions = {},
): string[] {
  const minWidth = options.minWidth ?? 0;
  const padding = options.padding ?? 2;
  const remembered = options.widths;
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      let text = "";
      cells.forEach((cell, j) => {
        text += cell;
        if (j < widths.length && j < cells.length - 1) {
          text += " ".repeat(Math.max(widths[j] - textWidth(cell), padding));
        }
      });
      out.push(text.trimEnd());
    }
  };

  // Go's Writer.format: find each block of consecutive lines with a cell in `column`, size it, recurse.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i].length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = Math.max(minWidth, remembered?.[column] ?? 0);
      for (; i < line1 && column < lines[i].length - 1; i++) {
        width = Math.max(width, textWidth(lines[i][column]) + padding);
      }
      if (remembered) remembered[column] = width;
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}

/** Aligns tab-separated text, as a Go tabwriter flushing it would. */
export function alignText(text: string, options: TabWriterOptions = {}): string {
  const trailing = text.endsWith("\n");
  const lines = (trailing ? text.slice(0, -1) : text).split("\n");
  return alignCells(lines.map((l) => l.split("\t")), options).join("\n") + (trailing ? "\n" : "");
}
