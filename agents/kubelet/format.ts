/**
 * How Kubernetes writes times and durations: metav1.Time (seconds), metav1.MicroTime (microseconds) and
 * Go's time.Duration.String (`105ms`, `1m20s`), which kubelet events and messages quote.
 * @module
 */

import { microTime, rfc3339 } from "../../shared/api/time.ts";

export { microTime, rfc3339 };

/** `web_default(uid)`, as the kubelet's format.Pod prints a pod. */
export function podDescription(
  pod: { metadata: { name?: string; namespace?: string; uid?: string } },
): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

/** A CRI time (RFC 3339 with milliseconds) as metav1.Time. */
export function criTimeToRfc3339(t: string | undefined): string | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : rfc3339(ms);
}

/**
 * Go's time.Duration.String for a whole number of milliseconds: `0s`, `105ms`, `1.5s`, `20s`,
 * `1m20s`, `5m0s`, `1h0m0s`.
 */
export function goDuration(ms: number): string {
  const total = Math.round(ms);
  if (total === 0) return "0s";
  const sign = total < 0 ? "-" : "";
  const abs = Math.abs(total);
  if (abs < 1000) return `${sign}${abs}ms`;
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const sMs = abs % 60_000;
  const s = (sMs / 1000).toFixed(3).replace(/\.?0+$/, "");
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

/** Go's `%s` of a []string: `[a b c]`, as Kubernetes condition messages print container lists. */
export function goList(items: string[]): string {
  return `[${items.join(" ")}]`;
}
