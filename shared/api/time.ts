/**
 * How Kubernetes writes times: metav1.Time (RFC 3339, seconds) and metav1.MicroTime (microseconds).
 * @module
 */

/** metav1.Time: RFC 3339 in seconds, `2026-01-01T00:00:00Z`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** metav1.MicroTime: RFC 3339 with six fractional digits, `2026-01-01T00:00:00.123000Z`. */
export function microTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
