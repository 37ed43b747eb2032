/**
 * How Kubernetes writes times and durations: metav1.Time (seconds), metav1.MicroTime (microseconds) and
 * Go's time.Duration.String (`105ms`, `1m20s`), which kubelet events and messages quote.
 * @module
 */

/** `web_default(uid)`, as the kubelet's format.Pod prints a pod. */
export function podDescription(
  pod: { metadata: { name?: string; namespace?: string; uid?: string } },
): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

/** metav1.Time: RFC 3339 in seconds, `2026-01-01T00:00:00Z`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** metav1.MicroTime: RFC 3339 with six fractional digits, `2026-01-01T00:00:00.123000Z`. */
export function microTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
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
