/**
 * kubectl's client-side apply, as a pure function: the manifest is merged into the live object with the
 * previously applied manifest (kept in the `kubectl.kubernetes.io/last-applied-configuration` annotation)
 * as the third party, so that fields the manifest sets win, fields an earlier apply set but this one drops
 * are removed, and fields others set (server defaults, `spec.nodeName`, `status`) are kept.
 * @module
 */
import { isJsonObject as isObj, type JsonObject as Obj } from "./json.ts";

/** The annotation holding the last applied manifest, as kubectl names it. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/** Lists of objects that all carry a `name` merge by name, as strategic merge patch does for containers. */
function byName(list: unknown[]): Map<string, Obj> | undefined {
  if (!list.every((x) => isObj(x) && typeof x.name === "string")) return undefined;
  return new Map((list as Obj[]).map((x) => [x.name as string, x]));
}

function mergeList(live: unknown[], desired: unknown[], last: unknown): unknown[] {
  const lastList = Array.isArray(last) ? last : [];
  const liveByName = byName(live);
  const desiredByName = byName(desired);
  if (liveByName && desiredByName) {
    const lastByName = byName(lastList);
    return desired.map((d) => {
      const name = (d as Obj).name as string;
      const match = liveByName.get(name);
      return match ? mergeValue(match, d, lastByName?.get(name)) : d;
    });
  }
  // Unnamed items merge by position while the length stays; a different length replaces the list.
  if (live.length === desired.length) {
    return desired.map((d, i) => mergeValue(live[i], d, lastList[i]));
  }
  return desired;
}

function mergeValue(live: unknown, desired: unknown, last: unknown): unknown {
  if (isObj(live) && isObj(desired)) {
    const out: Obj = { ...live };
    for (const [key, value] of Object.entries(desired)) {
      if (value === null) delete out[key]; // an explicit null removes the field
      else out[key] = mergeValue(live[key], value, isObj(last) ? last[key] : undefined);
    }
    if (isObj(last)) {
      for (const key of Object.keys(last)) if (!(key in desired)) delete out[key];
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(desired)) return mergeList(live, desired, last);
  return desired;
}

/** The manifest as it is recorded in the annotation: the manifest without the annotation itself. */
function appliedConfiguration(desired: Obj): string {
  const metadata = { ...(desired.metadata as Obj | undefined) };
  const annotations = { ...(metadata.annotations as Record<string, string> | undefined) };
  delete annotations[LAST_APPLIED_ANNOTATION];
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;
  return JSON.stringify({ ...desired, metadata });
}

/** The manifest with the last-applied annotation set, as `apply` creates objects. */
export function withLastApplied<T extends Obj>(desired: T): T {
  const metadata = (desired.metadata ?? {}) as Obj;
  return {
    ...desired,
    metadata: {
      ...metadata,
      annotations: {
        ...(metadata.annotations as Record<string, string> | undefined),
        [LAST_APPLIED_ANNOTATION]: appliedConfiguration(desired),
      },
    },
  };
}

/**
 * The object `apply` writes: `live` with the manifest merged in (three-way, against the last applied
 * manifest recorded on `live`), status and server-set metadata kept, and the annotation updated. When
 * the result equals `live`, the object is unchanged.
 */
export function applyManifest<T extends Obj>(live: T, desired: Obj): T {
  const liveMeta = (live.metadata ?? {}) as Obj;
  const recorded = (liveMeta.annotations as Record<string, string> | undefined)
    ?.[LAST_APPLIED_ANNOTATION];
  let last: unknown;
  try {
    last = recorded ? JSON.parse(recorded) : undefined;
  } catch {
    last = undefined; // a mangled annotation: merge as if nothing was applied before
  }
  // Status belongs to the controllers and the kubelet: apply neither sets nor removes it.
  const { status: _status, ...spec } = withLastApplied(desired);
  const { status: _lastStatus, ...lastSpec } = isObj(last) ? last : {};
  return mergeValue(live, spec, lastSpec) as T;
}
