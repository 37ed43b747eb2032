/**
 * The annotation convention that scripts containers in the fake runtime (documented in README.md). Pod
 * annotations reach the runtime in the PodSandboxConfig, as they do in Kubernetes.
 * @module
 */
import { normalizeImage } from "./image.ts";

/** `"<container>=<seconds>[:<code>][,…]"`: the container exits on its own after N s with the code (default 0). */
export const FAKE_EXIT_AFTER = "kubelab.io/fake-exit-after";

/**
 * `"<container>=<seconds>[:<code>][,…]"`: on StopContainer the container takes N s to exit, with the code
 * (default 0); if the stop timeout is shorter it is killed at the timeout with 137. Without it a container
 * exits at once with 0 when stopped.
 */
export const FAKE_STOP_AFTER = "kubelab.io/fake-stop-after";

/** `"<image>[,<image>…]"` or `"*"`: pulling these images fails with "not found". */
export const FAKE_IMAGE_MISSING = "kubelab.io/fake-image-missing";

/** `"<container>=<cpu>[:<memory>][,…]"`: the usage ListContainerStats reports (`app=250m:64Mi`). */
export const FAKE_USAGE = "kubelab.io/fake-usage";

/** The tag that always fails to pull, with or without annotations: `nginx:missing`. */
export const MISSING_TAG = "missing";

/** What a container does after some time. */
export interface TimedExit {
  afterMs: number;
  exitCode: number;
}

/** A parsed per-container annotation: entries by container name (`*` = every container), and errors. */
export interface ParsedScript<T> {
  entries: Map<string, T>;
  errors: string[];
}

function parseEntries<T>(
  annotation: string,
  value: string | undefined,
  parseValue: (v: string) => T | undefined,
  expected: string,
): ParsedScript<T> {
  const entries = new Map<string, T>();
  const errors: string[] = [];
  for (const item of (value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    const name = eq > 0 ? item.slice(0, eq).trim() : "";
    const parsed = eq > 0 ? parseValue(item.slice(eq + 1).trim()) : undefined;
    if (!name || parsed === undefined) {
      errors.push(`Invalid ${annotation} entry "${item}": expected ${expected}`);
      continue;
    }
    entries.set(name, parsed);
  }
  return { entries, errors };
}

/** Parses a {@linkcode FAKE_EXIT_AFTER} or {@linkcode FAKE_STOP_AFTER} value: `app=5:1,worker=0.5`. */
export function parseTimedExits(
  annotation: string,
  value: string | undefined,
): ParsedScript<TimedExit> {
  return parseEntries(annotation, value, (v) => {
    const m = /^(\d+(?:\.\d+)?)(?::(-?\d+))?$/.exec(v);
    if (!m) return undefined;
    return {
      afterMs: Math.round(Number(m[1]) * 1000),
      exitCode: m[2] === undefined ? 0 : Number(m[2]),
    };
  }, "<container>=<seconds>[:<exit code>]");
}

/** Parses a {@linkcode FAKE_USAGE} value into raw quantity strings: `app=250m:64Mi`. */
export function parseUsage(
  value: string | undefined,
): ParsedScript<{ cpu: string; memory?: string }> {
  return parseEntries(FAKE_USAGE, value, (v) => {
    const [cpu, memory, extra] = v.split(":");
    if (!cpu || extra !== undefined) return undefined;
    return { cpu, memory: memory || undefined };
  }, "<container>=<cpu>[:<memory>]");
}

/** The entry for `container`, falling back to the `*` entry. */
export function forContainer<T>(script: ParsedScript<T>, container: string): T | undefined {
  return script.entries.get(container) ?? script.entries.get("*");
}

/**
 * Whether pulling `image` fails with "not found": its tag is `missing`, or the pod's
 * {@linkcode FAKE_IMAGE_MISSING} annotation lists it (compared normalized) or is `*`.
 */
export function imageMissing(image: string, annotations: Record<string, string> = {}): boolean {
  const ref = normalizeImage(image);
  if (ref.tag === MISSING_TAG) return true;
  const listed = (annotations[FAKE_IMAGE_MISSING] ?? "").split(",").map((s) => s.trim()).filter(
    Boolean,
  );
  return listed.some((l) => l === "*" || l === "true" || safeFull(l) === ref.full);
}

function safeFull(image: string): string | undefined {
  try {
    return normalizeImage(image).full;
  } catch {
    return undefined;
  }
}
