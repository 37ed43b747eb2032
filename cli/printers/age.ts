/**
 * Ages and timestamps as kubectl prints them.
 * @module
 */

/**
 * A duration as apimachinery's `duration.HumanDuration` writes it: `45s`, `3m2s`, `15m`, `5h20m`, `2d3h`,
 * `90d`, `3y2d`. Up to two seconds in the future counts as now (clock skew); more is `<invalid>`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return join(minutes, "m", seconds % 60, "s");
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return join(hours, "h", minutes % 60, "m");
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return join(days, "d", hours % 24, "h");
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return join(years, "y", days % 365, "d");
  return `${years}y`;
}

function join(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit}${minor}${minorUnit}`;
}

/** kubectl's `translateTimestampSince`: the age of an RFC 3339 timestamp, or `<unknown>` without one. */
export function age(timestamp: string | undefined | null, now: number): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * Go's `time.RFC1123Z` layout, as `kubectl describe` prints times: `Mon, 02 Jan 2006 15:04:05 -0700`.
 * `offsetMinutes` is east of UTC; by default the local zone's offset at that instant.
 */
export function rfc1123z(timestamp: string, offsetMinutes?: number): string {
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return timestamp;
  const offset = offsetMinutes ?? -new Date(t).getTimezoneOffset();
  const d = new Date(t + offset * 60_000);
  const two = (n: number) => String(n).padStart(2, "0");
  const day = `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())}`;
  const date = `${day} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? "-" : "+"}${two(Math.trunc(abs / 60))}${two(abs % 60)}`;
  return `${date} ${time} ${zone}`;
}
