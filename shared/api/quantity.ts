/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource.Quantity): `500m`, `0.5`,
 * `128Mi`, `1e3`, `2`. CPU is read in millicores and everything else (memory, ephemeral-storage,
 * pods) as a plain number. Arithmetic is exact (BigInt) and rounds up, away from zero, as
 * `Quantity.MilliValue()` and `Quantity.Value()` do: `100u` of CPU is 1m, `0.5` bytes is 1 byte.
 * Results past 2^53 lose precision like any JS number.
 * @module
 */

const QUANTITY_FORMAT = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";
const QUANTITY_PATTERN = new RegExp(QUANTITY_FORMAT);
const NUMERIC_PATTERN = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;
const EXPONENT_PATTERN = /^[eE]([+-]?[0-9]+)$/;

// apimachinery's error texts (resource.ErrFormatWrong, ErrNumeric, ErrSuffix).
const FORMAT_ERROR = `quantities must match the regular expression '${QUANTITY_FORMAT}'`;
const NUMERIC_ERROR = "unable to parse numeric part of quantity";
const SUFFIX_ERROR = "unable to parse quantity's suffix";

/** Powers of ten of the decimal SI suffixes. */
const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** Powers of two of the binary SI suffixes. */
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// Beyond these powers of ten a result is 0, ±1 (rounded up) or ±Infinity anyway; stop before BigInt
// gets huge.
const MAX_EXPONENT = 400;

const KI = 1024;
const MI = KI * 1024;
/** Units formatBytes writes when a value is an exact multiple of one, largest first. */
const EXACT_UNITS: readonly [string, number][] = [
  ["Ti", MI * MI],
  ["Gi", MI * KI],
  ["Mi", MI],
  ["Ki", KI],
];

/** A quantity as an exact number: (-1)^negative × digits × 10^exp10 × 2^exp2. */
interface Exact {
  negative: boolean;
  digits: bigint;
  exp10: number;
  exp2: number;
}

function parseExact(q: string | number): Exact | string {
  const text = typeof q === "number" ? String(q) : q.trim();
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) return FORMAT_ERROR;
  const numeric = NUMERIC_PATTERN.exec(match[1]);
  const [, sign = "", whole = "", fraction = ""] = numeric ?? [];
  if (!numeric || whole + fraction === "") return NUMERIC_ERROR;
  const suffix = match[2];
  let exp10 = 0;
  let exp2 = 0;
  if (Object.hasOwn(DECIMAL_SUFFIXES, suffix)) exp10 = DECIMAL_SUFFIXES[suffix];
  else if (Object.hasOwn(BINARY_SUFFIXES, suffix)) exp2 = BINARY_SUFFIXES[suffix];
  else {
    const exponent = EXPONENT_PATTERN.exec(suffix);
    if (!exponent) return SUFFIX_ERROR;
    exp10 = Number(exponent[1]);
  }
  return {
    negative: sign === "-",
    digits: BigInt(whole + fraction),
    exp10: exp10 - fraction.length,
    exp2,
  };
}

function parseOrThrow(q: string | number): Exact {
  const exact = parseExact(q);
  if (typeof exact === "string") {
    throw new RangeError(`Invalid quantity ${JSON.stringify(String(q))}: ${exact}`);
  }
  return exact;
}

/** `x × 10^scale`, rounded up away from zero as Quantity.ScaledValue does. */
function scaled(x: Exact, scale: number): number {
  if (x.digits === 0n) return 0;
  const exp10 = x.exp10 + scale;
  let magnitude: number;
  if (exp10 > MAX_EXPONENT) magnitude = Infinity;
  else if (exp10 < -MAX_EXPONENT) magnitude = 1;
  else {
    const numerator = x.digits * 2n ** BigInt(x.exp2) * 10n ** BigInt(Math.max(exp10, 0));
    const denominator = 10n ** BigInt(Math.max(-exp10, 0));
    const quotient = numerator / denominator;
    magnitude = Number(numerator % denominator === 0n ? quotient : quotient + 1n);
  }
  return x.negative ? -magnitude : magnitude;
}

/**
 * Why `q` is not a valid quantity, as the API server words it; empty when it is valid.
 *
 * @example
 * ```ts
 * quantityErrors("128Mi"); // []
 * quantityErrors("12x");
 * // ["quantities must match the regular expression '^([+-]?[0-9.]+)([eE…]*[-+]?[0-9]*)$'"]
 * ```
 */
export function quantityErrors(q: string | number): string[] {
  const exact = parseExact(q);
  return typeof exact === "string" ? [exact] : [];
}

/**
 * CPU in millicores: `"500m"` → 500, `"1"` → 1000, `"0.5"` → 500, `2` → 2000. Fractions of a
 * millicore round up (`"100u"` → 1).
 *
 * @throws {RangeError} `Invalid quantity "12x": quantities must match the regular expression '…'`
 */
export function parseCpuMillis(q: string | number): number {
  return scaled(parseOrThrow(q), 3);
}

/**
 * A quantity as a whole number, used for bytes: `"128Mi"` → 134217728, `"1G"` → 1e9, `"1e3"` →
 * 1000. Fractions round up (`"0.5"` → 1), as Quantity.Value() does.
 *
 * @throws {RangeError} `Invalid quantity "12x": quantities must match the regular expression '…'`
 */
export function parseBytes(q: string | number): number {
  return scaled(parseOrThrow(q), 0);
}

/**
 * Reads a resource list entry the way the scheduler and kubelet compare them: `cpu` in millicores,
 * every other resource (`memory`, `ephemeral-storage`, `pods`, extended resources) as a whole
 * number.
 *
 * @throws {RangeError} when `q` is not a quantity.
 */
export function parseQuantity(resourceName: string, q: string | number): number {
  return resourceName === "cpu" ? parseCpuMillis(q) : parseBytes(q);
}

/** Millicores in Kubernetes' canonical form: 250 → `"250m"`, 2000 → `"2"`, 1500 → `"1500m"`. */
export function formatCpuMillis(m: number): string {
  const millis = Math.ceil(m) || 0;
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/**
 * Bytes for people: an exact multiple of Ti, Gi, Mi or Ki is written in the largest such unit
 * (`"2Gi"`, `"128Mi"`); other values are rounded down to whole Mi (or Ki below 1Mi) as
 * `kubectl top` does; below 1Ki the plain number is written.
 */
export function formatBytes(b: number): string {
  const bytes = Math.ceil(b) || 0;
  const sign = bytes < 0 ? "-" : "";
  const size = Math.abs(bytes);
  const exact = EXACT_UNITS.find(([, unit]) => size >= unit && size % unit === 0);
  if (exact) return `${sign}${size / exact[1]}${exact[0]}`;
  if (size >= MI) return `${sign}${Math.floor(size / MI)}Mi`;
  if (size >= KI) return `${sign}${Math.floor(size / KI)}Ki`;
  return `${sign}${size}`;
}
