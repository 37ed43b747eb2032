/**
 * What every runtime backend keeps the same way: sandbox and container records and their CRI views,
 * filters, name reservation, ids, log line selection and the container event fan-out. The backends
 * differ only in what makes a container run.
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import { fitText, jsonBytes } from "../../shared/bus/payload.ts";
import {
  type Container,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerEventType,
  type ContainerFilter,
  type ContainerState,
  type ContainerStatsFilter,
  type ContainerStatus,
  MAX_LOG_REPLY_BYTES,
  type PodSandbox,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxState,
} from "../../shared/cri/api.ts";
import type { Logger } from "../../shared/log.ts";
import type { ContainerEventListener } from "./backend.ts";

/** A pod sandbox as a backend keeps it. */
export interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  state: PodSandboxState;
  createdAt: string;
  /** The pod IP; released (undefined) once the sandbox is stopped. */
  ip?: string;
}

/** A container as a backend keeps it; backends extend it with what runs it. */
export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  config: ContainerConfig;
  sandboxConfig: PodSandboxConfig;
  /** The repo digest of the image (`docker.io/library/nginx@sha256:…`). */
  imageRef: string;
  /** The normalized image reference. */
  image: string;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** containerd's reasons: `Completed`, `Error`, `OOMKilled`, `StartError`. */
  reason?: string;
  message?: string;
  logPath?: string;
}

/** A 64-hex-digit id, as containerd's. */
export function newId(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The first 13 characters of an id, as crictl prints them. */
export function shortId(id: string): string {
  return id.slice(0, 13);
}

/** containerd's sandbox name: `name_namespace_uid_attempt`. */
export function sandboxName(config: PodSandboxConfig): string {
  const md = config.metadata;
  return `${md.name}_${md.namespace}_${md.uid}_${md.attempt}`;
}

/** Whether every label of `selector` is in `labels`. */
export function labelsMatch(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> = {},
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** The sandboxes matching a ListPodSandbox filter (an id prefix matches, as in crictl). */
export function filterSandboxes<S extends SandboxRecord>(
  sandboxes: Iterable<S>,
  f: PodSandboxFilter = {},
): S[] {
  return [...sandboxes].filter((s) =>
    (!f.id || s.id.startsWith(f.id)) && (!f.state || s.state === f.state) &&
    labelsMatch(f.labelSelector, s.config.labels)
  );
}

/** The containers matching a ListContainers or ListContainerStats filter. */
export function filterContainers<C extends ContainerRecord>(
  containers: Iterable<C>,
  f: ContainerFilter | ContainerStatsFilter = {},
): C[] {
  const state = "state" in f ? f.state : undefined;
  return [...containers].filter((c) =>
    (!f.id || c.id.startsWith(f.id)) && (!state || c.state === state) &&
    (!f.podSandboxId || c.podSandboxId === f.podSandboxId) &&
    labelsMatch(f.labelSelector, c.config.labels)
  );
}

/** Refuses a second sandbox with the same name, namespace, uid and attempt, as containerd does. */
export function reserveSandboxName(
  sandboxes: Iterable<SandboxRecord>,
  config: PodSandboxConfig,
): void {
  const name = sandboxName(config);
  const taken = [...sandboxes].find((s) => sandboxName(s.config) === name);
  if (taken) {
    throw apiError(
      "AlreadyExists",
      `failed to reserve sandbox name "${name}": name is reserved for "${taken.id}"`,
    );
  }
}

/** Refuses a second container with the same name and attempt in a sandbox. */
export function reserveContainerName(
  siblings: readonly ContainerRecord[],
  config: ContainerConfig,
  sandboxConfig: PodSandboxConfig,
): void {
  const md = config.metadata;
  const pod = sandboxConfig.metadata;
  const taken = siblings.find((c) =>
    c.config.metadata.name === md.name && c.config.metadata.attempt === md.attempt
  );
  if (taken) {
    const name = `${md.name}_${pod.name}_${pod.namespace}_${pod.uid}_${md.attempt}`;
    throw apiError(
      "AlreadyExists",
      `failed to reserve container name "${name}": name is reserved for "${taken.id}"`,
    );
  }
}

/** The NotFound error for a sandbox id. */
export function sandboxNotFound(id: string): Error {
  return apiError("NotFound", `an error occurred when try to find sandbox "${id}": not found`);
}

/** The NotFound error for a container id. */
export function containerNotFound(id: string): Error {
  return apiError("NotFound", `an error occurred when try to find container "${id}": not found`);
}

/** A sandbox as ListPodSandbox shows it. */
export function sandboxView(s: SandboxRecord): PodSandbox {
  return {
    id: s.id,
    metadata: s.config.metadata,
    state: s.state,
    createdAt: s.createdAt,
    ...(s.config.labels ? { labels: s.config.labels } : {}),
    ...(s.config.annotations ? { annotations: s.config.annotations } : {}),
  };
}

/** A container as ListContainers shows it. */
export function containerView(c: ContainerRecord): Container {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    metadata: c.config.metadata,
    image: { image: c.image },
    imageRef: c.imageRef,
    state: c.state,
    createdAt: c.createdAt,
    ...(c.config.labels ? { labels: c.config.labels } : {}),
    ...(c.config.annotations ? { annotations: c.config.annotations } : {}),
  };
}

/** A container as ContainerStatus shows it: the view plus times, exit code and reason. */
export function containerStatusView(c: ContainerRecord): ContainerStatus {
  return {
    ...containerView(c),
    ...(c.startedAt ? { startedAt: c.startedAt } : {}),
    ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
    ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
    ...(c.logPath ? { logPath: c.logPath } : {}),
  };
}

/** containerd's exit reason: `Completed` for 0, else `Error`. */
export function exitReason(exitCode: number): "Completed" | "Error" {
  return exitCode === 0 ? "Completed" : "Error";
}

/** Which log lines a ContainerLogs request gets. */
export interface LogSelection {
  /** Skip the first N lines. */
  sinceLine?: number;
  /** Only the last N of the rest. */
  tailLines?: number;
  /** At most this many bytes of lines, as the reply's JSON array. @default MAX_LOG_REPLY_BYTES */
  limitBytes?: number;
}

/**
 * The lines of a ContainerLogs reply, each rendered by `render` (with its time, if asked), picked
 * from every line of the log: after `sinceLine`, the last `tailLines`, and no more than `limitBytes`
 * as JSON — the newest lines when reading a log whole, the oldest when following (the follower gets
 * the rest on its next poll). A line that alone is over the limit goes out cut, with a note of how
 * much was cut, so that a reply always fits and a follower never stalls. `nextLine` is the
 * `sinceLine` of the next poll.
 */
export function selectLogLines<T>(
  all: readonly T[],
  req: LogSelection,
  render: (line: T) => string,
): { lines: string[]; nextLine: number } {
  const since = Math.min(req.sinceLine ?? 0, all.length);
  let picked = all.slice(since);
  if (req.tailLines !== undefined) picked = req.tailLines === 0 ? [] : picked.slice(-req.tailLines);
  const following = req.sinceLine !== undefined;
  const budget = (req.limitBytes ?? MAX_LOG_REPLY_BYTES) - 2; // the array's brackets
  const lines: string[] = [];
  let bytes = 0;
  for (const line of following ? picked : [...picked].reverse()) {
    const text = render(line);
    const size = jsonBytes(text) + (lines.length ? 1 : 0);
    if (bytes + size > budget) {
      if (lines.length === 0) lines.push(fitText(text, budget));
      break;
    }
    lines.push(text);
    bytes += size;
  }
  if (!following) return { lines: lines.reverse(), nextLine: all.length };
  const skipped = all.length - since - picked.length;
  return { lines, nextLine: since + skipped + lines.length };
}

/** The CRI's GetContainerEvents: fans a container's lifecycle events out to the listeners. */
export class ContainerEvents {
  readonly #listeners = new Set<ContainerEventListener>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers a listener; returns the function that removes it. */
  watch(listener: ContainerEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener that `c` went through `type` at `time`. */
  emit(c: ContainerRecord, type: ContainerEventType, time: string): void {
    const ev: ContainerEvent = {
      containerId: c.id,
      podSandboxId: c.podSandboxId,
      type,
      createdAt: time,
      podSandboxMetadata: c.sandboxConfig.metadata,
      containerMetadata: c.config.metadata,
    };
    for (const l of this.#listeners) {
      try {
        l(ev);
      } catch (err) {
        this.#log.error("Container event listener failed", { error: err });
      }
    }
  }
}
