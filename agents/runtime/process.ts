/**
 * The process runtime backend: containers are real processes on the host. Each container runs its
 * `command` and `args` (a few well-known images stand for a default command, process_images.ts) in
 * its own session, with the CRI's environment and working directory; its stdout and stderr go to a
 * CRI log file per container instance; its exit code and reason are real (Completed, Error, 137 after
 * SIGKILL, OOMKilled when its memory passes its limit, StartError when it cannot start). Each pod gets
 * an IP of its own (pod_network.ts); CPU and memory come from /proc (proc_stats.ts).
 *
 * Containers do not survive the runtime: `close()` kills them, and a runtime that died without closing
 * leaves a state file from which the next one, on the same data directory, kills what is left and
 * takes the pod IPs back (README.md).
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import type { Clock } from "../../shared/clock.ts";
import type {
  ContainerEventType,
  ContainerStats,
  CriParsedRequest as Req,
  CriReply as Reply,
  PodSandboxStatus,
} from "../../shared/cri/api.ts";
import type { Logger } from "../../shared/log.ts";
import type { ContainerEventListener, RuntimeBackend } from "./backend.ts";
import { ContainerLogWriter, parseCriLog } from "./cri_log.ts";
import { ImageStore } from "./image_store.ts";
import { type Cidr, nextFreeIp, parseCidr } from "./ipam.ts";
import {
  choosePodNetwork,
  loopbackNetwork,
  type PodNetwork,
  type PodNetworkMode,
  type RunCommand,
} from "./pod_network.ts";
import { type CpuSample, readProcStat, readSessionUsage, usageNanoCores } from "./proc_stats.ts";
import { containerArgv, imageDefaults, wellKnownImages } from "./process_images.ts";
import {
  ContainerEvents,
  containerNotFound,
  type ContainerRecord,
  containerStatusView,
  containerView,
  exitReason,
  filterContainers,
  filterSandboxes,
  newId,
  reserveContainerName,
  reserveSandboxName,
  sandboxNotFound,
  type SandboxRecord,
  sandboxView,
  selectLogLines,
  shortId,
} from "./records.ts";

/** The process runtime's version. */
export const PROCESS_RUNTIME_VERSION = "0.1.0";

/** Exit code and reason of a container that could not start, as containerd reports them. */
const START_ERROR_EXIT = 128;

/** Exit code of an exec whose command cannot be run, as runc reports it. */
const EXEC_NOT_FOUND_EXIT = 126;

/** The most output an ExecSync reply carries per stream. */
const MAX_EXEC_OUTPUT = 256 * 1024;

/** How long a dead container's log streams may stay open before they are cut. */
const LOG_DRAIN_MS = 1_000;

/** The interval over which usageNanoCores is averaged. */
const CPU_WINDOW_MS = 1_000;

/** Host variables a container inherits unless the pod sets them. */
const HOST_ENV = ["PATH", "HOME", "DENO_DIR"];

/** Options for {@linkcode ProcessRuntime}. */
export interface ProcessRuntimeOptions {
  clock: Clock;
  log: Logger;
  /** The node's pod CIDR, `10.244.1.0/24`. */
  podCIDR: string;
  /**
   * Where container logs (`pods/<ns>_<pod>_<uid>/<container>/<attempt>.log`), container working
   * directories (`containers/<id>/`) and the state file live. One runtime per directory.
   */
  dataDir: string;
  /** How pods get their IPs (pod_network.ts). @default "auto" */
  network?: PodNetworkMode | "auto";
  /** How long an image "pull" takes. @default 0 */
  pullMs?: number;
  /** Images present from the start. @default [] */
  preloadedImages?: string[];
  /** How often /proc is read for stats and memory limits. @default 250 */
  sampleMs?: number;
  /** Runs `ip` for the loopback network; tests replace it. */
  runCommand?: RunCommand;
  /** Whether the runtime runs as root (for the `auto` network). @default Deno.uid() === 0 */
  root?: boolean;
}

interface ProcSandbox extends SandboxRecord {
  /** The address the sandbox reports while it is ready. */
  podIP?: string;
  /** POD_IP, KUBELAB_POD_IP, PORT_OFFSET and HOSTNAME for its containers. */
  env: Record<string, string>;
}

interface Usage {
  cpu: CpuSample;
  /** Where the current usageNanoCores window started. */
  windowStart: CpuSample;
  nanoCores: number;
  rssBytes: number;
}

interface ProcContainer extends ContainerRecord {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** The container's own directory (its default working directory). */
  dir: string;
  logPath: string;
  stopSignal: Deno.Signal;
  memoryLimit?: number;
  /** The session leader while it runs. */
  pid?: number;
  /** Resolves once the exit has been recorded and announced. */
  exited?: Promise<void>;
  oomKilled?: boolean;
  stopping?: Promise<void>;
  usage?: Usage;
  /** Session leaders of running execs. */
  execs: Set<number>;
}

/** A process that the state file remembers, to kill it if the runtime dies. */
interface Tracked {
  pid: number;
  startTicks: number;
}

interface StateFile {
  processes: Tracked[];
  addresses: string[];
}

/** A runtime backend running containers as host processes. */
export class ProcessRuntime implements RuntimeBackend {
  readonly #opts: ProcessRuntimeOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #cidr: Cidr;
  readonly #images: ImageStore;
  readonly #events: ContainerEvents;
  readonly #sandboxes = new Map<string, ProcSandbox>();
  readonly #containers = new Map<string, ProcContainer>();
  readonly #tracked = new Map<number, Tracked>();
  readonly #closed = new AbortController();
  #network?: PodNetwork;
  #ready?: Promise<void>;
  #sampler?: Promise<void>;
  #persisting: Promise<void> = Promise.resolve();
  #lastIp?: string;

  constructor(options: ProcessRuntimeOptions) {
    this.#opts = options;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#cidr = parseCidr(options.podCIDR);
    this.#images = new ImageStore(options);
    this.#events = new ContainerEvents(options.log);
  }

  /** The pod network mode in use (known after the first call). */
  get networkMode(): PodNetworkMode | undefined {
    return this.#network?.mode;
  }

  /** Registers a listener of container events. */
  watchEvents(listener: ContainerEventListener): () => void {
    return this.#events.watch(listener);
  }

  /** Kills every container and exec, takes every pod IP back and stops reading /proc. */
  async close(): Promise<void> {
    this.#closed.abort();
    if (!this.#ready) return;
    await this.#ready.catch(() => {});
    await Promise.all([...this.#containers.values()].map((c) => this.#kill(c)));
    for (const sb of this.#sandboxes.values()) await this.#releaseNetwork(sb).catch(() => {});
    await this.#sampler;
    await this.#persist();
  }

  // --- runtime -----------------------------------------------------------------------------------

  /** The runtime's name and version: `process` `0.1.0`. */
  version(_req: Req<"Version">): Promise<Reply<"Version">> {
    return Promise.resolve({
      version: "0.1.0",
      runtimeName: "process",
      runtimeVersion: PROCESS_RUNTIME_VERSION,
      runtimeApiVersion: "v1",
    });
  }

  /** Ready once the data directory and the pod network are set up. */
  async status(_req: Req<"Status">): Promise<Reply<"Status">> {
    const failure = await this.#init().then(() => undefined, (err: Error) => err.message);
    return {
      status: {
        conditions: [
          failure
            ? { type: "RuntimeReady", status: false, reason: "InitFailed", message: failure }
            : { type: "RuntimeReady", status: true },
          failure
            ? { type: "NetworkReady", status: false, reason: "InitFailed", message: failure }
            : { type: "NetworkReady", status: true },
        ],
      },
    };
  }

  // --- sandboxes ---------------------------------------------------------------------------------

  /** Creates a READY sandbox and gives it its address (a pod IP on `lo`, or a port block). */
  async runPodSandbox(req: Req<"RunPodSandbox">): Promise<Reply<"RunPodSandbox">> {
    await this.#init();
    reserveSandboxName(this.#sandboxes.values(), req.config);
    const inUse = new Set([...this.#sandboxes.values()].flatMap((s) => s.ip ? [s.ip] : []));
    const ip = nextFreeIp(this.#cidr, inUse, this.#lastIp);
    const md = req.config.metadata;
    if (!ip) {
      throw apiError(
        "InternalError",
        `failed to setup network for sandbox "${md.name}": no IP addresses available in the pod CIDR`,
      );
    }
    this.#lastIp = ip;
    const id = newId();
    const sb: ProcSandbox = {
      id,
      config: req.config,
      state: "SANDBOX_READY",
      createdAt: this.#now(),
      ip,
      env: { HOSTNAME: req.config.hostname ?? md.name },
    };
    // Reserve the IP before the (slow) network call so that a concurrent sandbox gets another.
    this.#sandboxes.set(id, sb);
    try {
      const address = await this.#network!.attach(ip);
      sb.podIP = address.podIP;
      Object.assign(sb.env, address.env);
    } catch (err) {
      this.#sandboxes.delete(id);
      throw err;
    }
    await this.#persist();
    this.#log.debug("Sandbox started", {
      sandbox: shortId(id),
      pod: `${md.namespace}/${md.name}`,
      ip: sb.podIP,
    });
    return { podSandboxId: id };
  }

  /** Kills the sandbox's containers and takes its address back; a missing sandbox is not an error. */
  async stopPodSandbox(req: Req<"StopPodSandbox">): Promise<Reply<"StopPodSandbox">> {
    await this.#init();
    const sb = this.#sandboxes.get(req.podSandboxId);
    if (!sb) return {};
    await Promise.all(this.#containersOf(sb.id).map((c) => this.#kill(c)));
    sb.state = "SANDBOX_NOTREADY";
    await this.#releaseNetwork(sb);
    return {};
  }

  /** Removes the sandbox and its containers; a missing sandbox is not an error. */
  async removePodSandbox(req: Req<"RemovePodSandbox">): Promise<Reply<"RemovePodSandbox">> {
    await this.#init();
    const sb = this.#sandboxes.get(req.podSandboxId);
    if (!sb) return {};
    for (const c of this.#containersOf(sb.id)) await this.removeContainer({ containerId: c.id });
    await this.#releaseNetwork(sb);
    this.#sandboxes.delete(sb.id);
    const uid = sb.config.metadata.uid;
    if (![...this.#sandboxes.values()].some((s) => s.config.metadata.uid === uid)) {
      await removeAll(this.#podLogDir(sb.config.metadata));
    }
    return {};
  }

  /** The sandbox's state and, while it is ready, its address. */
  podSandboxStatus(req: Req<"PodSandboxStatus">): Promise<Reply<"PodSandboxStatus">> {
    return Promise.try(() => {
      const sb = this.#sandboxes.get(req.podSandboxId);
      if (!sb) throw sandboxNotFound(req.podSandboxId);
      const status: PodSandboxStatus = {
        ...sandboxView(sb),
        ...(sb.state === "SANDBOX_READY" && sb.podIP ? { network: { ip: sb.podIP } } : {}),
      };
      return { status };
    });
  }

  /** Sandboxes matching the filter. */
  listPodSandbox(req: Req<"ListPodSandbox">): Promise<Reply<"ListPodSandbox">> {
    return Promise.try(() => ({
      items: filterSandboxes(this.#sandboxes.values(), req.filter).map(sandboxView),
    }));
  }

  // --- containers --------------------------------------------------------------------------------

  /**
   * Creates a container (CREATED): decides its argv, environment and working directory and creates
   * its log file. A container with nothing to run (no `command`, an image that is not well known) is
   * refused, as containerd refuses "no command specified".
   */
  async createContainer(req: Req<"CreateContainer">): Promise<Reply<"CreateContainer">> {
    await this.#init();
    const sb = this.#sandboxes.get(req.podSandboxId);
    if (!sb) throw sandboxNotFound(req.podSandboxId);
    if (sb.state !== "SANDBOX_READY") {
      throw apiError(
        "BadRequest",
        `sandbox "${sb.id}" is not ready: cannot create a container in it`,
      );
    }
    const { ref, image } = this.#images.resolve(req.config.image.image);
    reserveContainerName(this.#containersOf(sb.id), req.config, req.sandboxConfig);
    const known = wellKnownImages();
    const defaults = imageDefaults(ref, known);
    const argv = containerArgv(req.config, defaults);
    const md = req.config.metadata;
    if (!argv.length) {
      throw apiError(
        "InternalError",
        `failed to create containerd container: failed to generate spec: no command specified: ` +
          `the process runtime has no images, so container "${md.name}" (image "${ref.full}") needs ` +
          `a command (images with a default command: ${
            Object.keys(known).map((r) => r.split("/").pop()).join(", ")
          })`,
      );
    }
    const id = newId();
    const dir = `${this.#opts.dataDir}/containers/${id}`;
    const logPath = `${this.#podLogDir(req.sandboxConfig.metadata)}/${md.name}/${md.attempt}.log`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.mkdir(logPath.slice(0, logPath.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(logPath, "");
    const c: ProcContainer = {
      id,
      podSandboxId: sb.id,
      config: req.config,
      sandboxConfig: req.sandboxConfig,
      imageRef: image.repoDigests[0] ?? image.id,
      image: ref.full,
      state: "CONTAINER_CREATED",
      createdAt: this.#now(),
      logPath,
      argv,
      env: {
        ...hostEnv(),
        ...sb.env,
        ...Object.fromEntries((req.config.envs ?? []).map((e) => [e.key, e.value])),
      },
      cwd: req.config.workingDir || dir,
      dir,
      stopSignal: defaults.stopSignal ?? "SIGTERM",
      memoryLimit: req.config.linux?.resources?.memoryLimitInBytes || undefined,
      execs: new Set(),
    };
    this.#containers.set(id, c);
    this.#emit(c, "CONTAINER_CREATED_EVENT");
    return { containerId: id };
  }

  /**
   * Starts a CREATED container as a new session. When it cannot start (a missing executable or working
   * directory) it is EXITED with 128 and reason StartError, and the call fails with runc's words.
   */
  async startContainer(req: Req<"StartContainer">): Promise<Reply<"StartContainer">> {
    await this.#init();
    const c = this.#container(req.containerId);
    if (c.state !== "CONTAINER_CREATED") {
      throw apiError(
        "BadRequest",
        `container "${c.id}" is in state ${c.state}, not CONTAINER_CREATED`,
      );
    }
    let child: Deno.ChildProcess;
    try {
      await checkDirectory(c.cwd);
      child = spawnIn(c, c.argv);
    } catch (err) {
      const message = startErrorMessage(c, err as Error);
      c.state = "CONTAINER_EXITED";
      c.finishedAt = this.#now();
      c.exitCode = START_ERROR_EXIT;
      c.reason = "StartError";
      c.message = message;
      this.#emit(c, "CONTAINER_STOPPED_EVENT");
      throw apiError("InternalError", message);
    }
    const writer = await ContainerLogWriter.open(c.logPath, this.#clock);
    writer.pump(child.stdout, "stdout");
    writer.pump(child.stderr, "stderr");
    c.pid = child.pid;
    c.state = "CONTAINER_RUNNING";
    c.startedAt = this.#now();
    c.exited = this.#awaitExit(c, child, writer);
    this.#emit(c, "CONTAINER_STARTED_EVENT");
    this.#sampler ??= this.#sampleLoop();
    await this.#track(child.pid);
    return {};
  }

  /**
   * Stops a running container: its stop signal (SIGTERM, or the image's) to its first process, then
   * SIGKILL to all of its processes when `timeout` seconds pass (at once for 0). A missing or
   * stopped container is not an error.
   */
  async stopContainer(req: Req<"StopContainer">): Promise<Reply<"StopContainer">> {
    await this.#init();
    const c = this.#containers.get(req.containerId);
    if (!c || c.state !== "CONTAINER_RUNNING") return {};
    c.stopping ??= (async () => {
      if (req.timeout > 0) {
        signal(c.pid!, c.stopSignal);
        const gaveUp = new AbortController();
        await Promise.race([
          c.exited,
          this.#clock.sleep(req.timeout * 1000, gaveUp.signal).catch(() => {}),
        ]);
        gaveUp.abort();
      }
      await this.#kill(c);
    })().finally(() => c.stopping = undefined);
    await c.stopping;
    return {};
  }

  /** Removes a container (killing it if it runs) with its log and directory; idempotent. */
  async removeContainer(req: Req<"RemoveContainer">): Promise<Reply<"RemoveContainer">> {
    await this.#init();
    const c = this.#containers.get(req.containerId);
    if (!c) return {};
    await this.#kill(c);
    if (!this.#containers.delete(c.id)) return {};
    await removeAll(c.logPath);
    await removeAll(c.dir);
    this.#emit(c, "CONTAINER_DELETED_EVENT");
    return {};
  }

  /** Containers matching the filter. */
  listContainers(req: Req<"ListContainers">): Promise<Reply<"ListContainers">> {
    return Promise.try(() => ({
      containers: filterContainers(this.#containers.values(), req.filter).map(containerView),
    }));
  }

  /** A container's state, exit code, reason, times and log path. */
  containerStatus(req: Req<"ContainerStatus">): Promise<Reply<"ContainerStatus">> {
    return Promise.try(() => ({ status: containerStatusView(this.#container(req.containerId)) }));
  }

  /**
   * Runs a command in a running container — with its environment and working directory, in a session
   * of its own that is killed with the container — and returns its output and exit code. A command
   * that cannot be run exits 126 with runc's message; one that outlives `timeout` seconds is killed and
   * the call fails with Timeout.
   */
  async execSync(req: Req<"ExecSync">): Promise<Reply<"ExecSync">> {
    await this.#init();
    const c = this.#container(req.containerId);
    if (c.state !== "CONTAINER_RUNNING") {
      throw apiError("BadRequest", `container "${c.id}" is not running: cannot exec in it`);
    }
    let child: Deno.ChildProcess;
    try {
      child = spawnIn(c, req.cmd);
    } catch {
      return {
        stdout: "",
        stderr: `OCI runtime exec failed: exec failed: unable to start container process: exec: ` +
          `"${req.cmd[0]}": executable file not found in $PATH: unknown\n`,
        exitCode: EXEC_NOT_FOUND_EXIT,
      };
    }
    const pid = child.pid;
    c.execs.add(pid);
    const tracked = this.#track(pid);
    const output = Promise.all([readCapped(child.stdout), readCapped(child.stderr)]);
    const status = child.status.then((s) => {
      // As when a container's first process ends: what the exec left behind goes with it.
      killSession(pid);
      return s;
    });
    const timedOut = new AbortController();
    const timeout = req.timeout > 0
      ? this.#clock.sleep(req.timeout * 1000, timedOut.signal).then(() => true, () => false)
      : new Promise<boolean>(() => {});
    try {
      const first = await Promise.race([status.then(() => false), timeout]);
      if (first) {
        killSession(pid);
        await Promise.all([status, output]);
        throw apiError(
          "Timeout",
          `failed to exec in container: timeout ${req.timeout}s exceeded: context deadline exceeded`,
        );
      }
      const [stdout, stderr] = await output;
      return { stdout, stderr, exitCode: (await status).code };
    } finally {
      timedOut.abort();
      c.execs.delete(pid);
      await tracked;
      await this.#untrack(pid);
    }
  }

  /** One container's CPU and memory. */
  async containerStats(req: Req<"ContainerStats">): Promise<Reply<"ContainerStats">> {
    const c = this.#container(req.containerId);
    if (c.state === "CONTAINER_RUNNING" && !c.usage) await this.#sample();
    return { stats: this.#stats(c) };
  }

  /** CPU and memory of the containers matching the filter. */
  async listContainerStats(req: Req<"ListContainerStats">): Promise<Reply<"ListContainerStats">> {
    const containers = filterContainers(this.#containers.values(), req.filter);
    if (containers.some((c) => c.state === "CONTAINER_RUNNING" && !c.usage)) await this.#sample();
    return { stats: containers.map((c) => this.#stats(c)) };
  }

  /** The container's log lines, from its CRI log file. */
  async containerLogs(req: Req<"ContainerLogs">): Promise<Reply<"ContainerLogs">> {
    const c = this.#container(req.containerId);
    const content = await Deno.readTextFile(c.logPath).catch(() => "");
    return selectLogLines(
      parseCriLog(content),
      req,
      (l) => req.timestamps ? `${l.time} ${l.text}` : l.text,
    );
  }

  // --- images ------------------------------------------------------------------------------------

  /** "Pulls" any image (it is only a name); a missing one (`*:missing`, annotation) fails. */
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

  /** Once: the data directory, the leftovers of a runtime that died, the pod network. */
  #init(): Promise<void> {
    this.#ready ??= (async () => {
      const { dataDir } = this.#opts;
      await Deno.mkdir(dataDir, { recursive: true });
      await this.#cleanUpLeftovers();
      this.#network = await choosePodNetwork(this.#opts.network ?? "auto", {
        cidr: this.#cidr,
        run: this.#opts.runCommand,
        root: this.#opts.root,
      });
      this.#log.info("Process runtime ready", { dataDir, network: this.#network.mode });
    })();
    return this.#ready;
  }

  /**
   * Kills the processes and removes the addresses a previous runtime on this data directory left
   * behind (it died without closing), and its logs: those containers are gone.
   */
  async #cleanUpLeftovers(): Promise<void> {
    const { dataDir } = this.#opts;
    let state: StateFile;
    try {
      state = JSON.parse(await Deno.readTextFile(this.#statePath()));
    } catch {
      return;
    }
    let killed = 0;
    for (const p of state.processes ?? []) {
      const stat = await readProcStat(p.pid);
      if (stat && stat.session === p.pid && stat.startTicks === p.startTicks) {
        killSession(p.pid);
        killed++;
      }
    }
    const loopback = loopbackNetwork(this.#opts.runCommand);
    for (const ip of state.addresses ?? []) await loopback.detach(ip).catch(() => {});
    await removeAll(`${dataDir}/pods`);
    await removeAll(`${dataDir}/containers`);
    await Deno.remove(this.#statePath()).catch(() => {});
    if (killed || state.addresses?.length) {
      this.#log.warn("Cleaned up after a runtime that did not stop cleanly", {
        killed,
        addresses: state.addresses?.length ?? 0,
      });
    }
  }

  /** Waits for the container's first process to end, then ends the rest and records the exit. */
  async #awaitExit(
    c: ProcContainer,
    child: Deno.ChildProcess,
    writer: ContainerLogWriter,
  ): Promise<void> {
    const status = await child.status;
    // The container ends with its first process, as a PID namespace does.
    killSession(child.pid);
    for (const pid of c.execs) killSession(pid);
    await writer.close(LOG_DRAIN_MS);
    c.state = "CONTAINER_EXITED";
    c.finishedAt = this.#now();
    c.exitCode = status.code;
    c.reason = c.oomKilled ? "OOMKilled" : exitReason(status.code);
    c.pid = undefined;
    c.usage = undefined;
    await this.#untrack(child.pid);
    this.#emit(c, "CONTAINER_STOPPED_EVENT");
  }

  /** SIGKILLs every process of a running container and waits until its exit is recorded. */
  async #kill(c: ProcContainer): Promise<void> {
    if (c.state !== "CONTAINER_RUNNING") return;
    killSession(c.pid!);
    await c.exited;
  }

  /** Reads /proc every sampleMs while the runtime is open. */
  async #sampleLoop(): Promise<void> {
    const signal = this.#closed.signal;
    while (!signal.aborted) {
      await this.#clock.sleep(this.#opts.sampleMs ?? 250, signal).catch(() => {});
      if (signal.aborted) break;
      try {
        await this.#sample();
      } catch (err) {
        this.#log.warn("Reading container usage failed", { error: err });
      }
    }
  }

  /**
   * Reads the CPU and memory of every running container (its session and its execs'), and kills a
   * container whose memory is over its limit: OOMKilled, as the kernel's cgroup OOM killer would.
   */
  async #sample(): Promise<void> {
    const running = [...this.#containers.values()].filter((c) =>
      c.state === "CONTAINER_RUNNING" && c.pid
    );
    const sessions = new Set(running.flatMap((c) => [c.pid!, ...c.execs]));
    const usage = await readSessionUsage(sessions);
    const atMs = this.#clock.now();
    for (const c of running) {
      if (c.state !== "CONTAINER_RUNNING") continue;
      const parts = [c.pid!, ...c.execs].flatMap((s) => usage.get(s) ?? []);
      const coreNs = parts.reduce((n, u) => n + u.cpuCoreNanoSeconds, 0);
      const rssBytes = parts.reduce((n, u) => n + u.rssBytes, 0);
      // Cumulative: a process reaped outside the session takes its time along; never go back.
      const cpu = { coreNanoSeconds: Math.max(coreNs, c.usage?.cpu.coreNanoSeconds ?? 0), atMs };
      const started = { coreNanoSeconds: 0, atMs: Date.parse(c.startedAt!) };
      let windowStart = c.usage?.windowStart ?? started;
      let nanoCores = c.usage?.nanoCores ?? usageNanoCores(started, cpu);
      if (atMs - windowStart.atMs >= CPU_WINDOW_MS) {
        nanoCores = usageNanoCores(windowStart, cpu);
        windowStart = cpu;
      }
      c.usage = { cpu, windowStart, nanoCores, rssBytes };
      if (c.memoryLimit && rssBytes > c.memoryLimit && !c.oomKilled) {
        c.oomKilled = true;
        this.#log.info("Container exceeded its memory limit, killing it", {
          container: shortId(c.id),
          name: c.config.metadata.name,
          rssBytes,
          limitBytes: c.memoryLimit,
        });
        killSession(c.pid!);
      }
    }
  }

  #stats(c: ProcContainer): ContainerStats {
    const timestamp = this.#now();
    const u = c.state === "CONTAINER_RUNNING" ? c.usage : undefined;
    return {
      attributes: {
        id: c.id,
        metadata: c.config.metadata,
        labels: c.config.labels,
        annotations: c.config.annotations,
      },
      cpu: {
        timestamp,
        usageNanoCores: u?.nanoCores ?? 0,
        usageCoreNanoSeconds: u?.cpu.coreNanoSeconds ?? 0,
      },
      memory: { timestamp, workingSetBytes: u?.rssBytes ?? 0 },
    };
  }

  async #releaseNetwork(sb: ProcSandbox): Promise<void> {
    if (!sb.ip) return;
    await this.#network?.detach(sb.ip);
    sb.ip = undefined;
    sb.podIP = undefined;
    await this.#persist();
  }

  /** Remembers a session leader in the state file, with its start time against pid reuse. */
  async #track(pid: number): Promise<void> {
    const entry = { pid, startTicks: -1 };
    this.#tracked.set(pid, entry);
    entry.startTicks = (await readProcStat(pid))?.startTicks ?? -1;
    if (this.#tracked.get(pid) === entry) await this.#persist();
  }

  async #untrack(pid: number): Promise<void> {
    this.#tracked.delete(pid);
    await this.#persist();
  }

  /** Writes what a successor must clean up if this runtime dies: processes and pod IPs. */
  #persist(): Promise<void> {
    const state: StateFile = {
      processes: [...this.#tracked.values()],
      addresses: this.#network?.mode === "loopback"
        ? [...this.#sandboxes.values()].flatMap((s) => s.ip ? [s.ip] : [])
        : [],
    };
    const path = this.#statePath();
    this.#persisting = this.#persisting.then(async () => {
      await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(state));
      await Deno.rename(`${path}.tmp`, path);
    }).catch((err) => this.#log.warn("Writing the runtime state file failed", { error: err }));
    return this.#persisting;
  }

  #statePath(): string {
    return `${this.#opts.dataDir}/state.json`;
  }

  #podLogDir(md: { namespace: string; name: string; uid: string }): string {
    return `${this.#opts.dataDir}/pods/${md.namespace}_${md.name}_${md.uid}`;
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  #container(id: string): ProcContainer {
    const c = this.#containers.get(id);
    if (!c) throw containerNotFound(id);
    return c;
  }

  #containersOf(sandboxId: string): ProcContainer[] {
    return [...this.#containers.values()].filter((c) => c.podSandboxId === sandboxId);
  }

  #emit(c: ProcContainer, type: ContainerEventType): void {
    this.#events.emit(c, type, this.#now());
  }
}

/** The host variables containers inherit (PATH to find commands, HOME and DENO_DIR for `deno`). */
function hostEnv(): Record<string, string> {
  return Object.fromEntries(HOST_ENV.flatMap((k) => {
    const v = Deno.env.get(k);
    return v === undefined ? [] : [[k, v]];
  }));
}

/** Sends `sig` to one process; a process that is gone already is not an error. */
function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* gone */ }
}

/** SIGKILLs every process of the session led by `pid` (its process group). */
function killSession(pid: number): void {
  signal(-pid, "SIGKILL");
}

/** Throws NotFound when `dir` is not a directory. */
async function checkDirectory(dir: string): Promise<void> {
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info?.isDirectory) throw new Deno.errors.NotFound(`No such cwd '${dir}'`);
}

/** runc's words for a container that cannot start. */
function startErrorMessage(c: ProcContainer, err: Error): string {
  const prefix =
    "failed to create containerd task: failed to create shim task: OCI runtime create " +
    "failed: runc create failed: unable to start container process:";
  if (/cwd/.test(err.message)) {
    return `${prefix} error during container init: chdir to cwd ("${c.cwd}") set in config.json ` +
      `failed: no such file or directory: unknown`;
  }
  if (err instanceof Deno.errors.NotFound) {
    return `${prefix} exec: "${c.argv[0]}": executable file not found in $PATH: unknown`;
  }
  return `${prefix} exec: "${c.argv[0]}": ${err.message}: unknown`;
}

/** Reads a stream to its end as text, keeping at most MAX_EXEC_OUTPUT bytes. */
async function readCapped(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size >= MAX_EXEC_OUTPUT) continue;
    chunks.push(chunk.subarray(0, MAX_EXEC_OUTPUT - size));
    size += chunks.at(-1)!.length;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}

/** Removes a file or directory tree; one that is gone already is not an error. */
async function removeAll(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/**
 * Starts `argv` as the container sees commands: its environment only, its working directory, output
 * piped, in a session of its own (so the command's processes are killed together).
 */
function spawnIn(
  c: { env: Record<string, string>; cwd: string },
  argv: string[],
): Deno.ChildProcess {
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: c.env,
    clearEnv: true,
    cwd: c.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
}
