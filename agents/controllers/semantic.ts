/**
 * Comparing and hashing JSON values as apimachinery's semantic equality does: key order never matters,
 * and for {@linkcode semanticEqual} an absent field, `null`, an empty list and an empty map are the same
 * (Go's nil and empty slices and maps compare equal there).
 * @module
 */

/** Whether two JSON values are equal, key order ignored. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Whether two JSON values are equal once empty lists, empty maps and nulls are dropped. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(prune(a)) === canonicalJson(prune(b));
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
  }) ?? "undefined";
}

/** Drops nulls, empty arrays and empty objects, recursively. */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(prune);
    return items.length ? items : undefined;
  }
  if (value === null) return undefined;
  if (typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => [k, prune(v)] as const)
    .filter(([, v]) => v !== undefined);
  return entries.length ? Object.fromEntries(entries) : undefined;
}
