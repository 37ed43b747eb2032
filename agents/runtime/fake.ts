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
  ContainerEventType,
  ContainerStats,
  CriParsedRequest as Req,
  CriReply as Reply,
  PodSandboxStatus,
} from "../../shared/cri/api.ts";
import type { ContainerEventListener, RuntimeBackend } from "./backend.ts";
import {
  FAKE_EXIT_AFTER,
  FAKE_STOP_AFTER,
  FAKE_USAGE,
  forContainer,
  parseTimedExits,
  parseUsage,
  type TimedExit,
} from "./fake_script.ts";
import { fakeExecSync } from "./fake_exec.ts";
import { ImageStore } from "./image_store.ts";
import { type Cidr, nextFreeIp, parseCidr } from "./ipam.ts";
import {
  ContainerEvents,
  containerNotFound,
  type ContainerRecord as BaseContainerRecord,
  containerStatusView,
  containerView,
  exitReason,
  filterContainers,
  filterSandboxes,
  newId,
  reserveContainerName,
  reserveSandboxName,
  sandboxName,
  sandboxNotFound,
  type SandboxRecord,
  sandboxView,
  selectLogLines,
  shortId,
} from "./records.ts";

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

interface LogLine {
  time: string;
  line: string;
}

interface ContainerRecord extends BaseContainerRecord {
  logs: LogLine[];
  exitTimer?: Timer;
  stopping?: Promise<void>;
  /** Aborted when the container exits: its execs end with it. */
  execs?: AbortController;
}

/** A runtime backend with no processes, for labs and tests. */
export class FakeRuntime implements RuntimeBackend {
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #cidr: Cidr;
  readonly #images: ImageStore;
  readonly #events: ContainerEvents;
  readonly #sandboxes = new Map<string, SandboxRecord>();
  readonly #containers = new Map<string, ContainerRecord>();
  #lastIp?: string;

  constructor(options: FakeRuntimeOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#cidr = parseCidr(options.podCIDR);
    this.#images = new ImageStore(options);
    this.#events = new ContainerEvents(options.log);
  }

  /** Registers a listener of container events. */
  watchEvents(listener: ContainerEventListener): () => void {
    return this.#events.watch(listener);
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
      reserveSandboxName(this.#sandboxes.values(), req.config);
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
        sandbox: shortId(id),
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
      return { items: filterSandboxes(this.#sandboxes.values(), req.filter).map(sandboxView) };
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
      const { ref, image } = this.#images.resolve(req.config.image.image);
      reserveContainerName(this.#containersOf(sb.id), req.config, req.sandboxConfig);
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
      const containers = filterContainers(this.#containers.values(), req.filter).map(containerView);
      return { containers };
    });
  }

  /** A container's state, exit code, reason and times. */
  containerStatus(req: Req<"ContainerStatus">): Promise<Reply<"ContainerStatus">> {
    return Promise.try(() => {
      return { status: containerStatusView(this.#container(req.containerId)) };
    });
  }

  /**
   * Runs a pretend command in a running container (fake_exec.ts): `true`, `false`, `exit N`,
   * `sh -c "exit N"`, `echo …` and `sleep N` behave as in a shell, anything else succeeds with no
   * output; `kubelab-handler …` answers the kubelet's probes and hooks from the pod's probe script.
   */
  async execSync(req: Req<"ExecSync">): Promise<Reply<"ExecSync">> {
    const c = this.#container(req.containerId);
    if (c.state !== "CONTAINER_RUNNING") {
      throw apiError("BadRequest", `container "${c.id}" is not running: cannot exec in it`);
    }
    return await fakeExecSync(
      {
        name: c.config.metadata.name,
        startedAt: c.startedAt,
        annotations: c.sandboxConfig.annotations,
      },
      req.cmd,
      {
        clock: this.#clock,
        timeoutSeconds: req.timeout,
        signal: (c.execs ??= new AbortController()).signal,
        onScriptError: (error) => this.#log.warn("Ignored fake runtime annotation", { error }),
      },
    );
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
      const stats = filterContainers(this.#containers.values(), req.filter).map((c) =>
        this.#stats(c)
      );
      return { stats };
    });
  }

  /** The container's log lines. */
  containerLogs(req: Req<"ContainerLogs">): Promise<Reply<"ContainerLogs">> {
    return Promise.try(() => {
      const c = this.#container(req.containerId);
      return selectLogLines(c.logs, req, (l) => req.timestamps ? `${l.time} ${l.line}` : l.line);
    });
  }

  // --- images ------------------------------------------------------------------------------------

  /** "Pulls" an image after the configured pull time; a scripted missing image fails "not found". */
  pullImage(req: Req<"PullImage">): Promise<Reply<"PullImage">> {
    return this.#images.pullImage(req);
  }

  /** The image, or no `image` when the runtime does not have it. */
  imageStatus(req: Req<"ImageStatus">): Promise<Reply<"ImageStatus">> {
    return this.#images.imageStatus(req);
  }

  /** The images the runtime has. */
  listImages(req: Req<"ListImages">): Promise<Reply<"ListImages">> {
    return this.#images.listImages(req);
  }

  /** Forgets an image; a missing image is not an error. */
  removeImage(req: Req<"RemoveImage">): Promise<Reply<"RemoveImage">> {
    return this.#images.removeImage(req);
  }

  // --- internals ---------------------------------------------------------------------------------

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  #sandbox(id: string): SandboxRecord {
    const sb = this.#sandboxes.get(id);
    if (!sb) throw sandboxNotFound(id);
    return sb;
  }

  #container(id: string): ContainerRecord {
    const c = this.#containers.get(id);
    if (!c) throw containerNotFound(id);
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
    c.execs?.abort();
    c.state = "CONTAINER_EXITED";
    c.finishedAt = this.#now();
    c.exitCode = code;
    c.reason = exitReason(code);
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
    this.#events.emit(c, type, this.#now());
  }
}

function safeQuantity(parse: () => number, fallback: number): number {
  try {
    return parse();
  } catch {
    return fallback;
  }
}
