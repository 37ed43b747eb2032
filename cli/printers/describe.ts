/**
 * The pieces every `kubectl describe` text is made of (k8s.io/kubectl/pkg/describe): a writer that
 * indents and aligns like kubectl's PrefixWriter over a tabwriter, labels and annotations, tolerations,
 * the Events table, and the generic describer used for kinds without their own.
 * @module
 */
import type { Event, Toleration } from "../../shared/api/core.ts";
import type { KubeObject } from "../../shared/api/meta.ts";
import { LAST_APPLIED_ANNOTATION } from "../merge.ts";
import { age, rfc1123z } from "./age.ts";
import { byEventTime, eventTime } from "./columns.ts";
import { alignText, DESCRIBE_OPTIONS } from "./tabwriter.ts";

/** Collects describe lines; cells are separated by tabs and aligned when the text is taken. */
export class DescribeWriter {
  #text = "";

  /** Writes one line at `level` (two spaces per level), its cells separated by tabs. */
  line(level: number, ...cells: string[]): void {
    this.#text += "  ".repeat(level) + cells.join("\t") + "\n";
  }

  /** The aligned text. */
  toString(): string {
    return alignText(this.#text, DESCRIBE_OPTIONS);
  }
}

/** Times in describe texts: `Mon, 02 Jan 2006 15:04:05 -0700`, or `<unset>`. */
export function describeTime(t: string | undefined | null, offsetMinutes?: number): string {
  return t ? rfc1123z(t, offsetMinutes) : "<unset>";
}

/** `Labels:  a=1` then `        b=2`, one per line, sorted; `<none>` when empty. */
export function writeLabels(
  w: DescribeWriter,
  level: number,
  title: string,
  labels: Record<string, string> | undefined,
): void {
  const keys = Object.keys(labels ?? {}).sort();
  if (!keys.length) return w.line(level, `${title}:\t<none>`);
  keys.forEach((k, i) => w.line(level, `${i === 0 ? `${title}:` : ""}\t${k}=${labels![k]}`));
}

const MAX_ANNOTATION_LENGTH = 140;

function shorten(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) + "..." : s;
}

/** Annotations as kubectl prints them: `key: value`, long or multi-line values below their key. */
export function writeAnnotations(
  w: DescribeWriter,
  level: number,
  title: string,
  annotations: Record<string, string> | undefined,
): void {
  // kubectl leaves out the annotation apply keeps for itself.
  const keys = Object.keys(annotations ?? {}).filter((k) => k !== LAST_APPLIED_ANNOTATION).sort();
  if (!keys.length) return w.line(level, `${title}:\t<none>`);
  keys.forEach((key, i) => {
    const head = i === 0 ? `${title}:` : "";
    const value = annotations![key].replace(/\n$/, "");
    if (value.length + key.length + 2 > MAX_ANNOTATION_LENGTH || value.includes("\n")) {
      w.line(level, `${head}\t${key}:`);
      for (const s of value.split("\n")) {
        w.line(level, `\t  ${shorten(s, MAX_ANNOTATION_LENGTH - 2)}`);
      }
    } else w.line(level, `${head}\t${key}: ${value}`);
  });
}

/** `node.kubernetes.io/not-ready:NoExecute op=Exists for 300s`, one per line; `<none>` when empty. */
export function writeTolerations(
  w: DescribeWriter,
  level: number,
  title: string,
  tolerations: readonly Toleration[] | undefined,
): void {
  if (!tolerations?.length) return w.line(level, `${title}:\t<none>`);
  tolerations.forEach((t, i) => {
    let s = (t.key ?? "") + (t.value ? `=${t.value}` : "") + (t.effect ? `:${t.effect}` : "");
    if (t.operator === "Exists" && !t.value) s += t.key || t.effect ? " op=Exists" : "op=Exists";
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) {
      s += ` for ${t.tolerationSeconds}s`;
    }
    w.line(level, `${i === 0 ? `${title}:` : ""}\t${s}`);
  });
}

/** The events about `obj`: those whose involvedObject has its uid (or, without a uid, its kind and name). */
export function eventsFor(obj: KubeObject, events: readonly Event[]): Event[] {
  return events.filter((e) => {
    const io = e.involvedObject;
    if (io.uid && obj.metadata.uid) return io.uid === obj.metadata.uid;
    return io.kind === obj.kind && io.name === obj.metadata.name;
  });
}

/** kubectl's Events table: Type, Reason, Age (`10s (x3 over 2m)` for repeats), From, Message. */
export function writeEvents(w: DescribeWriter, events: readonly Event[], now: number): void {
  if (!events.length) return w.line(0, "Events:\t<none>");
  const sorted = [...events].sort(byEventTime);
  w.line(0, "Events:");
  w.line(1, "Type\tReason\tAge\tFrom\tMessage");
  w.line(1, "----\t------\t----\t----\t-------");
  for (const e of sorted) {
    const first = age(eventTime(e, "first"), now);
    const interval = (e.count ?? 1) > 1
      ? `${age(eventTime(e), now)} (x${e.count} over ${first})`
      : first;
    const from = e.source?.component || e.reportingComponent || "";
    w.line(
      1,
      `${e.type ?? ""}\t${e.reason ?? ""}\t${interval}\t${from}\t${(e.message ?? "").trim()}`,
    );
  }
}

const ACRONYMS = new Set(["API", "URL", "UID", "OSB", "GUID", "IP", "CIDR"]);

/** `apiVersion` → `API Version`, `holderIdentity` → `Holder Identity` (kubectl's smartLabelFor). */
export function smartLabel(field: string): string {
  if (/[^A-Za-z-]/.test(field)) return field;
  const parts = field.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|-/g) ?? [field];
  return parts.filter((p) => p !== "-").map((p) =>
    ACRONYMS.has(p.toUpperCase()) ? p.toUpperCase() : p[0].toUpperCase() + p.slice(1)
  ).join(" ");
}

const GENERIC_SKIP = new Set([
  ".metadata.name",
  ".metadata.namespace",
  ".metadata.labels",
  ".metadata.annotations",
  ".metadata.managedFields",
]);

function writeContent(
  w: DescribeWriter,
  level: number,
  content: Record<string, unknown>,
  prefix: string,
) {
  for (const field of Object.keys(content).sort()) {
    const path = `${prefix}.${field}`;
    if (GENERIC_SKIP.has(path)) continue;
    const value = content[field];
    if (Array.isArray(value)) {
      w.line(level, `${smartLabel(field)}:`);
      for (const child of value) {
        if (typeof child === "object" && child !== null) {
          writeContent(w, level + 1, child as Record<string, unknown>, path);
        } else w.line(level + 1, String(child));
      }
    } else if (typeof value === "object" && value !== null) {
      w.line(level, `${smartLabel(field)}:`);
      writeContent(w, level + 1, value as Record<string, unknown>, path);
    } else if (value !== undefined) {
      w.line(level, `${smartLabel(field)}:\t${value}`);
    }
  }
}

/** The name, namespace, labels and annotations lines every describer starts with. */
export function writeHeader(w: DescribeWriter, obj: KubeObject): void {
  w.line(0, `Name:\t${obj.metadata.name}`);
  if (obj.metadata.namespace !== undefined) w.line(0, `Namespace:\t${obj.metadata.namespace}`);
  writeLabels(w, 0, "Labels", obj.metadata.labels);
  writeAnnotations(w, 0, "Annotations", obj.metadata.annotations);
}

/** kubectl's generic describer: the header, then every field as `Smart Label: value`, then events. */
export function describeGeneric(
  obj: KubeObject,
  related: { events: readonly Event[] },
  o: { now: number },
): string {
  const w = new DescribeWriter();
  writeHeader(w, obj);
  writeContent(w, 0, obj as Record<string, unknown>, "");
  writeEvents(w, related.events, o.now);
  return w.toString();
}
