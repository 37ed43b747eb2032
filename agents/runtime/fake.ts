/**
 * The fake runtime backend: sandboxes, containers and images are records in memory, no process runs.
 * Sandboxes get IPs from the node's pod CIDR, pulls take a configurable time, and pod annotations script
 * what containers do (README.md, fake_script.ts). Every timer goes through the injected Clock.
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import { parseBytes, parseCpuMillis } from "../../shared/api/quantity.ts";
import type { Clock, Timer } from "../../shared/clock.ts";
import type { Logger } from "../../shared/log.ts";
import type {
  Container,
  ContainerConfig,
  ContainerEventType,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  CriParsedRequest as Req,
  CriReply as Reply,
  Image,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxState,
  PodSandboxStatus,
} from "../../shared/cri/api.ts";
import type { ContainerEventListener, RuntimeBackend } from "./backend.ts";
import {
  FAKE_EXIT_AFTER,
  FAKE_STOP_AFTER,
  FAKE_USAGE,
  forContainer,
  imageMissing,
  parseTimedExits,
  parseUsage,
  type TimedExit,
} from "./fake_script.ts";
import { fakeImageId, normalizeImage } from "./image.ts";
import { type Cidr, nextFreeIp, parseCidr } from "./ipam.ts";

/** The fake runtime's version. */
export const FAKE_RUNTIME_VERSION = "0.1.0";

/** Exit code of a container killed with SIGKILL. */
const SIGKILL_EXIT = 137;

/** Options for {@linkcode FakeRuntime}. */
export interface FakeRuntimeOptions {
  clock: Clock;
  log: Logger;
  /** The node's pod CIDR, `10.244.1.0/24`. */
  podCIDR: string;
  /** How long an image pull takes. @default 0 */
  pullMs?: number;
  /** Images present from the start (`registry.k8s.io/pause:3.10`). @default [] */
  preloadedImages?: string[];
}

interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  state: PodSandboxState;
  createdAt: string;
  ip?: string;
}

interface LogLine {
  time: string;
  line: string;
}

interface ContainerRecord {
  id: string;
  podSandboxId: string;
  config: ContainerConfig;
  sandboxConfig: PodSandboxConfig;
  imageRef: string;
  image: string;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  logs: LogLine[];
  exitTimer?: Timer;
  stopping?: Promise<void>;
}

/** A runtime backend with no processes, for labs and tests. */
export class FakeRuntime implements RuntimeBackend {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #cidr: Cidr;
  readonly #pullMs: number;
  readonly #preloaded: string[];
  readonly #sandboxes = new Map<string, SandboxRecord>();
  readonly #containers = new Map<string, ContainerRecord>();
  readonly #images = new Map<string, Image>();
  readonly #listeners = new Set<ContainerEventListener>();
  #lastIp?: string;
  #preloadDone?: Promise<void>;

  constructor(options: FakeRuntimeOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#cidr = parseCidr(options.podCIDR);
    this.#pullMs = options.pullMs ?? 0;
    this.#preloaded = options.preloadedImages ?? [];
  }

  /** Registers a listener of container events. */
  watchEvents(listener: ContainerEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Cancels every exit timer. */
  close(): Promise<void> {
    for (const c of this.#containers.values()) c.exitTimer?.cancel();
    return Promise.resolve();
  }

  // --- runtime -----------------------------------------------------------------------------------

  /** The runtime's name and version: `fake` `0.1.0`. */
  version(_req: Req<"Version">): Promise<Reply<"Version">> {
    return Promise.resolve({
      version: "0.1.0",
      runtimeName: "fake",
      runtimeVersion: FAKE_RUNTIME_VERSION,
      runtimeApiVersion: "v1",
    });
  }

  /** Always ready: there is nothing that could fail. */
  status(_req: Req<"Status">): Promise<Reply<"Status">> {
    return Promise.resolve({
      status: {
        conditions: [
          { type: "RuntimeReady", status: true },
          { type: "NetworkReady", status: true },
        ],
      },
    });
  }

  // --- sandboxes ---------------------------------------------------------------------------------

  /** Creates a READY sandbox with an IP from the pod CIDR. */
  runPodSandbox(req: Req<"RunPodSandbox">): Promise<Reply<"RunPodSandbox">> {
    return Promise.try(() => {
      const md = req.config.metadata;
      const name = sandboxName(req.config);
      const taken = [...this.#sandboxes.values()].find((s) => sandboxName(s.config) === name);
      if (taken) {
        throw apiError(
          "AlreadyExists",
          `failed to reserve sandbox name "${name}": name is reserved for "${taken.id}"`,
        );
      }
      const inUse = new Set([...this.#sandboxes.values()].flatMap((s) => s.ip ? [s.ip] : []));
      const ip = nextFreeIp(this.#cidr, inUse, this.#lastIp);
      if (!ip) {
        throw apiError(
          "InternalError",
          `failed to setup network for sandbox "${name}": no IP addresses available in the pod CIDR`,
        );
      }
      this.#lastIp = ip;
      const id = newId();
      this.#sandboxes.set(id, {
        id,
        config: req.config,
        state: "SANDBOX_READY",
        createdAt: this.#now(),
        ip,
      });
      this.#log.debug("Sandbox started", {
        sandbox: short(id),
        pod: `${md.namespace}/${md.name}`,
        ip,
      });
      return { podSandboxId: id };
    });
  }

  /** Kills the sandbox's containers and releases its IP; a missing sandbox is not an error. */
  stopPodSandbox(req: Req<"StopPodSandbox">): Promise<Reply<"StopPodSandbox">> {
    return Promise.try(() => {
      const sb = this.#sandboxes.get(req.podSandboxId);
      if (!sb) return {};
      for (const c of this.#containersOf(sb.id)) this.#kill(c);
      sb.state = "SANDBOX_NOTREADY";
      sb.ip = undefined;
      return {};
    });
  }

  /** Removes the sandbox and every container in it; a missing sandbox is not an error. */
  async removePodSandbox(req: Req<"RemovePodSandbox">): Promise<Reply<"RemovePodSandbox">> {
    const sb = this.#sandboxes.get(req.podSandboxId);
    if (!sb) return {};
    for (const c of this.#containersOf(sb.id)) await this.removeContainer({ containerId: c.id });
    this.#sandboxes.delete(sb.id);
    return {};
  }

  /** The sandbox's state and IP. */
  podSandboxStatus(req: Req<"PodSandboxStatus">): Promise<Reply<"PodSandboxStatus">> {
    return Promise.try(() => {
      const sb = this.#sandbox(req.podSandboxId);
      const status: PodSandboxStatus = {
        ...sandboxView(sb),
        ...(sb.ip ? { network: { ip: sb.ip } } : {}),
      };
      return { status };
    });
  }

  /** Sandboxes matching the filter (an id prefix matches, as in crictl). */
  listPodSandbox(req: Req<"ListPodSandbox">): Promise<Reply<"ListPodSandbox">> {
    return Promise.try(() => {
      const f = req.filter ?? {};
      const items = [...this.#sandboxes.values()]
        .filter((s) =>
          (!f.id || s.id.startsWith(f.id)) && (!f.state || s.state === f.state) &&
          labelsMatch(f.labelSelector, s.config.labels)
        )
        .map(sandboxView);
      return { items };
    });
  }

  // --- containers --------------------------------------------------------------------------------

  /** Creates a container (CREATED) in a READY sandbox from an image the runtime has. */
  createContainer(req: Req<"CreateContainer">): Promise<Reply<"CreateContainer">> {
    return Promise.try(() => {
      const sb = this.#sandbox(req.podSandboxId);
      if (sb.state !== "SANDBOX_READY") {
        throw apiError(
          "BadRequest",
          `sandbox "${sb.id}" is not ready: cannot create a container in it`,
        );
      }
      const ref = normalizeImage(req.config.image.image);
      const image = this.#images.get(ref.full);
      if (!image) {
        throw apiError(
          "NotFound",
          `failed to resolve image "${ref.full}": not found (pull it first)`,
        );
      }
      const md = req.config.metadata;
      const pod = req.sandboxConfig.metadata;
      const name = `${md.name}_${pod.name}_${pod.namespace}_${pod.uid}_${md.attempt}`;
      const taken = this.#containersOf(sb.id).find((c) =>
        c.config.metadata.name === md.name && c.config.metadata.attempt === md.attempt
      );
      if (taken) {
        throw apiError(
          "AlreadyExists",
          `failed to reserve container name "${name}": name is reserved for "${taken.id}"`,
        );
      }
      const c: ContainerRecord = {
        id: newId(),
        podSandboxId: sb.id,
        config: req.config,
        sandboxConfig: req.sandboxConfig,
        // containerd reports the repo digest of the image a container runs.
        imageRef: image.repoDigests[0] ?? image.id,
        image: ref.full,
        state: "CONTAINER_CREATED",
        createdAt: this.#now(),
        logs: [],
      };
      this.#containers.set(c.id, c);
      this.#emit(c, "CONTAINER_CREATED_EVENT");
      return { containerId: c.id };
    });
  }

  /** Starts a CREATED container; a `fake-exit-after` script arms its exit timer. */
  startContainer(req: Req<"StartContainer">): Promise<Reply<"StartContainer">> {
    return Promise.try(() => {
      const c = this.#container(req.containerId);
      if (c.state !== "CONTAINER_CREATED") {
        throw apiError(
          "BadRequest",
          `container "${c.id}" is in state ${c.state}, not CONTAINER_CREATED`,
        );
      }
      c.state = "CONTAINER_RUNNING";
      c.startedAt = this.#now();
      const cmd = [...c.config.command ?? [], ...c.config.args ?? []].join(" ");
      this.#logLine(
        c,
        `fake runtime: started ${c.config.metadata.name} from ${c.image}` +
          (cmd ? ` running "${cmd}"` : ""),
      );
      this.#emit(c, "CONTAINER_STARTED_EVENT");
      const exit = this.#script(c, FAKE_EXIT_AFTER);
      if (exit) {
        c.exitTimer = this.#clock.after(exit.afterMs, () => {
          this.#logLine(c, `fake runtime: exiting with code ${exit.exitCode} as scripted`);
          this.#exit(c, exit.exitCode);
        });
      }
      return {};
    });
  }

  /**
   * Stops a running container: it exits after its `fake-stop-after` time (at once by default), or is
   * killed with 137 when `timeout` runs out first. A missing or stopped container is not an error.
   */
  async stopContainer(req: Req<"StopContainer">): Promise<Reply<"StopContainer">> {
    const c = this.#containers.get(req.containerId);
    if (!c || c.state !== "CONTAINER_RUNNING") return {};
    c.stopping ??= (async () => {
      this.#logLine(c, "fake runtime: received SIGTERM");
      const script = this.#script(c, FAKE_STOP_AFTER) ?? { afterMs: 0, exitCode: 0 };
      const timeoutMs = req.timeout * 1000;
      const waitMs = Math.min(script.afterMs, timeoutMs);
      if (waitMs > 0) await this.#clock.sleep(waitMs);
      if (script.afterMs <= timeoutMs) this.#exit(c, script.exitCode);
      else this.#kill(c);
    })().finally(() => c.stopping = undefined);
    await c.stopping;
    return {};
  }

  /** Removes a container, killing it if it runs; a missing container is not an error. */
  removeContainer(req: Req<"RemoveContainer">): Promise<Reply<"RemoveContainer">> {
    return Promise.try(() => {
      const c = this.#containers.get(req.containerId);
      if (!c) return {};
      this.#kill(c);
      c.exitTimer?.cancel();
      this.#containers.delete(c.id);
      this.#emit(c, "CONTAINER_DELETED_EVENT");
      return {};
    });
  }

  /** Containers matching the filter (an id prefix matches, as in crictl). */
  listContainers(req: Req<"ListContainers">): Promise<Reply<"ListContainers">> {
    return Promise.try(() => {
      const f = req.filter ?? {};
      const containers = [...this.#containers.values()]
        .filter((c) =>
          (!f.id || c.id.startsWith(f.id)) && (!f.state || c.state === f.state) &&
          (!f.podSandboxId || c.podSandboxId === f.podSandboxId) &&
          labelsMatch(f.labelSelector, c.config.labels)
        )
        .map(containerView);
      return { containers };
    });
  }

  /** A container's state, exit code, reason and times. */
  containerStatus(req: Req<"ContainerStatus">): Promise<Reply<"ContainerStatus">> {
    return Promise.try(() => {
      const c = this.#container(req.containerId);
      const status: ContainerStatus = {
        ...containerView(c),
        ...(c.startedAt ? { startedAt: c.startedAt } : {}),
        ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
        ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
        ...(c.reason ? { reason: c.reason } : {}),
      };
      return { status };
    });
  }

  /**
   * Runs a pretend command in a running container: `true`, `false`, `exit N`, `sh -c "exit N"` and
   * `echo …` behave as in a shell; anything else succeeds with no output.
   */
  execSync(req: Req<"ExecSync">): Promise<Reply<"ExecSync">> {
    return Promise.try(() => {
      const c = this.#container(req.containerId);
      if (c.state !== "CONTAINER_RUNNING") {
        throw apiError("BadRequest", `container "${c.id}" is not running: cannot exec in it`);
      }
      return fakeExec(req.cmd);
    });
  }

  /** One container's usage. */
  containerStats(req: Req<"ContainerStats">): Promise<Reply<"ContainerStats">> {
    return Promise.try(() => {
      return { stats: this.#stats(this.#container(req.containerId)) };
    });
  }

  /** Usage of the containers matching the filter. */
  listContainerStats(req: Req<"ListContainerStats">): Promise<Reply<"ListContainerStats">> {
    return Promise.try(() => {
      const f = req.filter ?? {};
      const stats = [...this.#containers.values()]
        .filter((c) =>
          (!f.id || c.id.startsWith(f.id)) &&
          (!f.podSandboxId || c.podSandboxId === f.podSandboxId) &&
          labelsMatch(f.labelSelector, c.config.labels)
        )
        .map((c) => this.#stats(c));
      return { stats };
    });
  }

  /** The container's log lines. */
  containerLogs(req: Req<"ContainerLogs">): Promise<Reply<"ContainerLogs">> {
    return Promise.try(() => {
      const c = this.#container(req.containerId);
      const logs = req.tailLines === undefined
        ? c.logs
        : req.tailLines === 0
        ? []
        : c.logs.slice(-req.tailLines);
      const lines = logs.map((l) => req.timestamps ? `${l.time} ${l.line}` : l.line);
      return { lines };
    });
  }

  // --- images ------------------------------------------------------------------------------------

  /** "Pulls" an image after the configured pull time; a scripted missing image fails "not found". */
  async pullImage(req: Req<"PullImage">): Promise<Reply<"PullImage">> {
    const ref = parseImage(req.image.image);
    if (imageMissing(req.image.image, req.sandboxConfig?.annotations)) {
      if (this.#pullMs > 0) await this.#clock.sleep(this.#pullMs);
      throw apiError(
        "NotFound",
        `failed to pull and unpack image "${ref.full}": failed to resolve reference ` +
          `"${ref.full}": ${ref.full}: not found`,
      );
    }
    if (this.#pullMs > 0) await this.#clock.sleep(this.#pullMs);
    return { imageRef: (await this.#store(ref.full)).id };
  }

  /** The image, or no `image` when the runtime does not have it. */
  async imageStatus(req: Req<"ImageStatus">): Promise<Reply<"ImageStatus">> {
    await this.#preload();
    const image = this.#images.get(parseImage(req.image.image).full);
    return image ? { image } : {};
  }

  /** The images the runtime has. */
  async listImages(req: Req<"ListImages">): Promise<Reply<"ListImages">> {
    await this.#preload();
    const want = req.filter?.image ? parseImage(req.filter.image.image).full : undefined;
    return {
      images: [...this.#images.entries()].filter(([k]) => !want || k === want).map(([, i]) => i),
    };
  }

  /** Forgets an image; a missing image is not an error. */
  removeImage(req: Req<"RemoveImage">): Promise<Reply<"RemoveImage">> {
    return Promise.try(() => {
      this.#images.delete(parseImage(req.image.image).full);
      return {};
    });
  }

  // --- internals ---------------------------------------------------------------------------------

  #preload(): Promise<void> {
    this.#preloadDone ??= Promise.all(
      this.#preloaded.map((i) => this.#store(normalizeImage(i).full)),
    )
      .then(() => {});
    return this.#preloadDone;
  }

  async #store(full: string): Promise<Image> {
    const existing = this.#images.get(full);
    if (existing) return existing;
    const id = await fakeImageId(full);
    const repo = full.replace(/[:@][^:/@]*$/, "");
    const image: Image = { id, repoTags: [full], repoDigests: [`${repo}@${id}`], size: 0 };
    this.#images.set(full, image);
    return image;
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  #sandbox(id: string): SandboxRecord {
    const sb = this.#sandboxes.get(id);
    if (!sb) {
      throw apiError("NotFound", `an error occurred when try to find sandbox "${id}": not found`);
    }
    return sb;
  }

  #container(id: string): ContainerRecord {
    const c = this.#containers.get(id);
    if (!c) {
      throw apiError("NotFound", `an error occurred when try to find container "${id}": not found`);
    }
    return c;
  }

  #containersOf(sandboxId: string): ContainerRecord[] {
    return [...this.#containers.values()].filter((c) => c.podSandboxId === sandboxId);
  }

  #script(c: ContainerRecord, annotation: string): TimedExit | undefined {
    const script = parseTimedExits(annotation, c.sandboxConfig.annotations?.[annotation]);
    for (const error of script.errors) this.#log.warn("Ignored fake runtime annotation", { error });
    return forContainer(script, c.config.metadata.name);
  }

  /** The container exits with `code` (containerd's reasons: Completed for 0, else Error). */
  #exit(c: ContainerRecord, code: number): void {
    if (c.state !== "CONTAINER_RUNNING") return;
    c.exitTimer?.cancel();
    c.exitTimer = undefined;
    c.state = "CONTAINER_EXITED";
    c.finishedAt = this.#now();
    c.exitCode = code;
    c.reason = code === 0 ? "Completed" : "Error";
    this.#emit(c, "CONTAINER_STOPPED_EVENT");
  }

  #kill(c: ContainerRecord): void {
    if (c.state !== "CONTAINER_RUNNING") return;
    this.#logLine(c, "fake runtime: killed (SIGKILL)");
    this.#exit(c, SIGKILL_EXIT);
  }

  #logLine(c: ContainerRecord, line: string): void {
    c.logs.push({ time: this.#now(), line });
  }

  #stats(c: ContainerRecord): ContainerStats {
    const now = this.#clock.now();
    const script = parseUsage(c.sandboxConfig.annotations?.[FAKE_USAGE]);
    const usage = forContainer(script, c.config.metadata.name);
    const running = c.state === "CONTAINER_RUNNING";
    const millis = running ? safeQuantity(() => parseCpuMillis(usage?.cpu ?? "1m"), 1) : 0;
    const bytes = running ? safeQuantity(() => parseBytes(usage?.memory ?? "8Mi"), 8 << 20) : 0;
    const ranMs = c.startedAt
      ? (c.finishedAt ? Date.parse(c.finishedAt) : now) - Date.parse(c.startedAt)
      : 0;
    const timestamp = new Date(now).toISOString();
    return {
      attributes: {
        id: c.id,
        metadata: c.config.metadata,
        labels: c.config.labels,
        annotations: c.config.annotations,
      },
      cpu: {
        timestamp,
        usageNanoCores: millis * 1_000_000,
        usageCoreNanoSeconds: Math.max(0, ranMs) * millis * 1_000,
      },
      memory: { timestamp, workingSetBytes: bytes },
    };
  }

  #emit(c: ContainerRecord, type: ContainerEventType): void {
    const ev = {
      containerId: c.id,
      podSandboxId: c.podSandboxId,
      type,
      createdAt: this.#now(),
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

function parseImage(image: string) {
  try {
    return normalizeImage(image);
  } catch (err) {
    throw apiError("BadRequest", (err as Error).message);
  }
}

function safeQuantity(parse: () => number, fallback: number): number {
  try {
    return parse();
  } catch {
    return fallback;
  }
}

function sandboxName(config: PodSandboxConfig): string {
  const md = config.metadata;
  return `${md.name}_${md.namespace}_${md.uid}_${md.attempt}`;
}

function sandboxView(s: SandboxRecord): PodSandbox {
  return {
    id: s.id,
    metadata: s.config.metadata,
    state: s.state,
    createdAt: s.createdAt,
    ...(s.config.labels ? { labels: s.config.labels } : {}),
    ...(s.config.annotations ? { annotations: s.config.annotations } : {}),
  };
}

function containerView(c: ContainerRecord): Container {
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

function labelsMatch(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> = {},
) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** A 64-hex-digit id, as containerd's. */
function newId(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

function short(id: string): string {
  return id.slice(0, 13);
}

/** The fake shell: enough for exec probes and `kubectl exec` demos. */
export function fakeExec(cmd: string[]): { stdout: string; stderr: string; exitCode: number } {
  const [bin, ...args] = cmd;
  const name = bin.split("/").pop();
  if ((name === "sh" || name === "bash") && args[0] === "-c" && args[1] !== undefined) {
    return fakeExec(args[1].trim().split(/\s+/));
  }
  switch (name) {
    case "true":
      return { stdout: "", stderr: "", exitCode: 0 };
    case "false":
      return { stdout: "", stderr: "", exitCode: 1 };
    case "exit": {
      const code = Number(args[0] ?? 0);
      return { stdout: "", stderr: "", exitCode: Number.isInteger(code) ? code : 2 };
    }
    case "echo":
      return { stdout: args.join(" ") + "\n", stderr: "", exitCode: 0 };
    default:
      return { stdout: "", stderr: "", exitCode: 0 };
  }
}
