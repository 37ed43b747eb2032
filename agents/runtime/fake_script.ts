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

/**
 * `"<container>=<probe>[@<from>[-<to>]][,…]"`: the container's `liveness`, `readiness` or `startup` probe
 * (`*`: all three) fails from `<from>` seconds after the container started (default 0) until `<to>`
 * (default: for good). `app=liveness@10` fails liveness 10 s after each start; `app=startup@0-30` is an
 * app that takes 30 s to start. A container may have several entries.
 */
export const FAKE_PROBE_FAIL = "kubelab.io/fake-probe-fail";

/**
 * `"<container>=<probe>@<up>/<down>[,…]"`: the probe passes for `<up>` seconds, then fails for `<down>`
 * seconds, and so on, counted from the container's start. `app=readiness@20/10` flaps readiness.
 */
export const FAKE_PROBE_FLAP = "kubelab.io/fake-probe-flap";

/**
 * The first word of the ExecSync command through which the kubelet asks the fake runtime for the outcome
 * of a probe or lifecycle hook (the fake runs no process and owns no network): `kubelab-handler <purpose>
 * <exec|httpGet|tcpSocket> <target…>`, where purpose is `liveness`, `readiness`, `startup`, `postStart` or
 * `preStop` and the target is the exec command, the URL or `host:port`. The kubelet's copy of this name is
 * in agents/kubelet/prober/handlers.ts.
 */
export const FAKE_HANDLER_COMMAND = "kubelab-handler";

/** The probe types a script names. */
const PROBE_TYPES = ["liveness", "readiness", "startup"] as const;

/** One scripted probe outcome: when, after its container started, the probe fails. */
export type ProbeScriptEntry =
  | { container: string; probe: string; kind: "fail"; fromMs: number; toMs?: number }
  | { container: string; probe: string; kind: "flap"; upMs: number; downMs: number };

/** The probe script of a pod: {@linkcode FAKE_PROBE_FAIL} and {@linkcode FAKE_PROBE_FLAP} entries. */
export interface ProbeScript {
  entries: ProbeScriptEntry[];
  errors: string[];
}

const SECONDS = String.raw`(\d+(?:\.\d+)?)s?`;
const FAIL_RE = new RegExp(`^([a-z*]+)(?:@${SECONDS}(?:-${SECONDS})?)?$`);
const FLAP_RE = new RegExp(`^([a-z*]+)@${SECONDS}/${SECONDS}$`);

function isProbeName(name: string): boolean {
  return name === "*" || (PROBE_TYPES as readonly string[]).includes(name);
}

/** Parses the probe annotations of a pod; bad entries are reported and skipped. */
export function parseProbeScript(annotations: Record<string, string> = {}): ProbeScript {
  const entries: ProbeScriptEntry[] = [];
  const errors: string[] = [];
  const items = (annotation: string) =>
    (annotations[annotation] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items(FAKE_PROBE_FAIL)) {
    const [container, value] = splitEntry(item);
    const m = value ? FAIL_RE.exec(value) : null;
    if (!container || !m || !isProbeName(m[1])) {
      errors.push(
        `Invalid ${FAKE_PROBE_FAIL} entry "${item}": expected <container>=<probe>[@<from>[-<to>]]`,
      );
      continue;
    }
    const fromMs = m[2] === undefined ? 0 : Math.round(Number(m[2]) * 1000);
    const toMs = m[3] === undefined ? undefined : Math.round(Number(m[3]) * 1000);
    entries.push({ container, probe: m[1], kind: "fail", fromMs, toMs });
  }
  for (const item of items(FAKE_PROBE_FLAP)) {
    const [container, value] = splitEntry(item);
    const m = value ? FLAP_RE.exec(value) : null;
    if (!container || !m || !isProbeName(m[1]) || Number(m[2]) + Number(m[3]) <= 0) {
      errors.push(
        `Invalid ${FAKE_PROBE_FLAP} entry "${item}": expected <container>=<probe>@<up>/<down>`,
      );
      continue;
    }
    const upMs = Math.round(Number(m[2]) * 1000);
    const downMs = Math.round(Number(m[3]) * 1000);
    entries.push({ container, probe: m[1], kind: "flap", upMs, downMs });
  }
  return { entries, errors };
}

function splitEntry(item: string): [string, string] {
  const eq = item.indexOf("=");
  return eq > 0 ? [item.slice(0, eq).trim(), item.slice(eq + 1).trim()] : ["", ""];
}

/**
 * Whether the script makes `probe` of `container` fail `sinceStartMs` after the container started. Pure:
 * the fake runtime passes the time.
 */
export function probeFails(
  script: ProbeScript,
  container: string,
  probe: string,
  sinceStartMs: number,
): boolean {
  return script.entries.some((e) => {
    if (e.container !== container && e.container !== "*") return false;
    if (e.probe !== probe && e.probe !== "*") return false;
    if (e.kind === "fail") {
      return sinceStartMs >= e.fromMs && (e.toMs === undefined || sinceStartMs < e.toMs);
    }
    return sinceStartMs % (e.upMs + e.downMs) >= e.upMs;
  });
}

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
