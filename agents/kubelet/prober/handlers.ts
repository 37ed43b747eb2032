/**
 * Runs probe handlers and lifecycle hooks, as the kubelet's prober (pkg/kubelet/prober/prober.go) and
 * handler runner (pkg/kubelet/lifecycle/handlers.go) do: `exec` through the runtime's ExecSync,
 * `httpGet` and `tcpSocket` over the real network to the pod's IP (or `host`), `sleep` on the clock.
 * A `host` outside the lab's network (shared/net/lab_network.ts) is never dialled: the probe fails
 * with "no route in the lab", as a dial to an unreachable address fails.
 *
 * The fake runtime runs no process and nothing listens on its pods' IPs, so with it every handler goes
 * to the runtime instead, as ExecSync of `kubelab-handler <purpose> <kind> <target…>`; the fake answers
 * from the pod's probe script (agents/runtime/fake_script.ts, docs/kubelet.md).
 * @module
 */
import type { Container, LifecycleHandler, Pod, Probe } from "../../../shared/api/core.ts";
import { ApiError } from "../../../shared/api/errors.ts";
import type { Clock } from "../../../shared/clock.ts";
import type { CriService } from "../../../shared/cri/api.ts";
import { LabNetwork, NO_ROUTE_IN_LAB } from "../../../shared/net/lab_network.ts";
import { podDescription } from "../format.ts";
import { httpGet, httpGetProbe, LIFECYCLE_USER_AGENT, probeUrl, tcpProbe } from "./http.ts";
import type { ProbeOutcome, ProbeType } from "./worker.ts";

/**
 * The command the fake runtime answers probes and hooks through; the fake's copy of this name is
 * FAKE_HANDLER_COMMAND in agents/runtime/fake_script.ts.
 */
export const RUNTIME_HANDLER_COMMAND = "kubelab-handler";

/** A hook's HTTP call has no timeout of its own; this bounds it (the CRI's runtimeRequestTimeout). */
const HOOK_HTTP_TIMEOUT_MS = 2 * 60_000;

/** Where a handler runs: the pod, the container spec and instance, and the pod's IP. */
export interface HandlerTarget {
  pod: Pod;
  container: Container;
  /** The CRI container id. */
  containerId: string;
  /** The pod's IP, the default host of httpGet and tcpSocket. */
  podIP?: string;
}

/** What a handler is run for: a probe type, or a lifecycle hook. */
export type HandlerPurpose = ProbeType | "postStart" | "preStop";

/** Options for {@linkcode HandlerRunner}. */
export interface HandlerRunnerOptions {
  cri: Pick<CriService, "execSync">;
  clock: Clock;
  /**
   * Answer httpGet, tcpSocket and exec through the runtime's ExecSync (the fake runtime). Can be set
   * later with {@linkcode HandlerRunner.viaRuntime}, once the runtime's name is known. @default false
   */
  viaRuntime?: boolean;
  /** Which hosts httpGet and tcpSocket may dial. @default new LabNetwork() */
  network?: Pick<LabNetwork, "refusal">;
}

/**
 * The port a handler names (ResolveContainerPort): a number, or the name of one of the container's ports,
 * or a number written as a string.
 */
export function resolvePort(port: number | string, container: Container): number {
  let n = typeof port === "number" ? port : undefined;
  if (typeof port === "string") {
    n = container.ports?.find((p) => p.name === port)?.containerPort;
    if (n === undefined) {
      if (!/^[+-]?\d+$/.test(port)) {
        throw new RangeError(`strconv.Atoi: parsing "${port}": invalid syntax`);
      }
      n = Number(port);
    }
  }
  if (n === undefined || !(n > 0 && n < 65536)) {
    throw new RangeError(`invalid port number: ${n ?? port}`);
  }
  return n;
}

/** Go's `%v` of a []string: `[sh -c exit 1]`. */
function goSlice(words: string[]): string {
  return `[${words.join(" ")}]`;
}

/** Runs handlers for probes and hooks. */
export class HandlerRunner {
  readonly #opts: HandlerRunnerOptions;
  readonly #network: Pick<LabNetwork, "refusal">;
  #viaRuntime: boolean;

  constructor(options: HandlerRunnerOptions) {
    this.#opts = options;
    this.#network = options.network ?? new LabNetwork();
    this.#viaRuntime = options.viaRuntime ?? false;
  }

  /** Whether handlers go to the runtime (true for the fake runtime). */
  get viaRuntime(): boolean {
    return this.#viaRuntime;
  }
  set viaRuntime(on: boolean) {
    this.#viaRuntime = on;
  }

  /**
   * Runs a probe once (runProbe): exec exits 0, httpGet answers 200–399, tcpSocket connects, each
   * within timeoutSeconds. A handler that cannot be run at all (a bad port, a failed ExecSync) is an
   * `Error`, whose result the worker throws away.
   */
  async probe(
    type: ProbeType,
    probe: Probe,
    target: HandlerTarget,
    timeoutSeconds: number,
  ): Promise<ProbeOutcome> {
    const timeoutMs = timeoutSeconds * 1000;
    try {
      if (this.#viaRuntime) return await this.#viaRuntimeExec(type, probe, target, timeoutSeconds);
      if (probe.exec?.command) {
        const out = await this.#exec(target.containerId, probe.exec.command, timeoutSeconds);
        return out.result === "Error" ? out : { result: out.result, output: out.output };
      }
      if (probe.httpGet) {
        const h = probe.httpGet;
        const req = {
          scheme: h.scheme ?? "HTTP",
          host: h.host || target.podIP || "",
          port: resolvePort(h.port, target.container),
          path: h.path || "/",
          headers: h.httpHeaders,
          timeoutMs,
        } as const;
        const refused = this.#refusal(req.host, req.port);
        if (refused) return { result: "Failure", output: `Get "${probeUrl(req)}": ${refused}` };
        return await httpGetProbe(req, this.#opts.clock);
      }
      if (probe.tcpSocket) {
        const host = probe.tcpSocket.host || target.podIP || "";
        const port = resolvePort(probe.tcpSocket.port, target.container);
        const refused = this.#refusal(host, port);
        if (refused) return { result: "Failure", output: refused };
        return await tcpProbe(host, port, timeoutMs, this.#opts.clock);
      }
      if (probe.grpc) return { result: "Error", error: "grpc probes are not supported by kubelab" };
      return { result: "Error", error: "missing probe handler" };
    } catch (err) {
      return { result: "Error", error: (err as Error).message };
    }
  }

  /**
   * Runs a lifecycle hook to its end (HandlerRunner.Run); resolves with the failure message, or
   * undefined when it succeeded. `sleep` waits on the clock (cut short by `signal`).
   */
  async hook(
    purpose: "postStart" | "preStop",
    handler: LifecycleHandler,
    target: HandlerTarget,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const { container, pod } = target;
    const where = `for Container "${container.name}" in Pod "${podDescription(pod)}"`;
    if (handler.sleep) {
      await this.#opts.clock.sleep(handler.sleep.seconds * 1000, signal).catch(() => {});
      return undefined;
    }
    if (handler.exec?.command) {
      const cmd = handler.exec.command;
      const out = this.#viaRuntime
        ? await this.#runtimeCommand(purpose, "exec", cmd, target.containerId, 0)
        : await this.#exec(target.containerId, cmd, 0);
      if (out.result === "Success") return undefined;
      const error = out.result === "Error"
        ? out.error
        : `command '${cmd.join(" ")}' exited with ${out.exitCode}: ${out.stderr}`;
      const message = out.result === "Error" ? "" : out.output;
      return `Exec lifecycle hook (${goSlice(cmd)}) ${where} failed - error: ${error}, message: ${
        JSON.stringify(message)
      }`;
    }
    if (handler.httpGet) {
      const path = handler.httpGet.path || "/";
      const error = await this.#hookHttpGet(purpose, handler.httpGet, target).catch((err) =>
        (err as Error).message
      );
      return error === undefined
        ? undefined
        : `HTTP lifecycle hook (${path}) ${where} failed - error: ${error}`;
    }
    return `Cannot run handler: ${
      handler.tcpSocket ? "tcpSocket is not supported as a lifecycle handler" : "invalid handler"
    }`;
  }

  /** A hook's GET: any response will do (runHTTPHandler); the error when none came back. */
  async #hookHttpGet(
    purpose: "postStart" | "preStop",
    h: NonNullable<LifecycleHandler["httpGet"]>,
    target: HandlerTarget,
  ): Promise<string | undefined> {
    const request = {
      scheme: h.scheme ?? "HTTP",
      host: h.host || target.podIP || "",
      port: resolvePort(h.port, target.container),
      path: h.path || "/",
      headers: h.httpHeaders,
      userAgent: LIFECYCLE_USER_AGENT,
    } as const;
    if (this.#viaRuntime) {
      const out = await this.#runtimeCommand(
        purpose,
        "httpGet",
        [probeUrl(request)],
        target.containerId,
        0,
      );
      return out.result === "Error" ? out.error : undefined;
    }
    const refused = this.#refusal(request.host, request.port);
    if (refused) return `Get "${probeUrl(request)}": ${refused}`;
    const res = await httpGet({ ...request, timeoutMs: HOOK_HTTP_TIMEOUT_MS }, this.#opts.clock);
    return "error" in res ? res.error : undefined;
  }

  /** `dial tcp 8.8.8.8:80: no route in the lab: …` when `host` is not the lab's; else undefined. */
  #refusal(host: string, port: number): string | undefined {
    const why = this.#network.refusal(host);
    if (!why) return undefined;
    const addr = host.includes(":") ? `[${host}]` : host;
    return `dial tcp ${addr}:${port}: ${NO_ROUTE_IN_LAB}: ${host} ${why}`;
  }

  /** ExecSync bounded by the timeout on the clock (0: none); a timeout is a Failure. */
  async #exec(
    containerId: string,
    cmd: string[],
    timeoutSeconds: number,
  ): Promise<
    | { result: "Success" | "Failure"; output: string; exitCode: number; stderr: string }
    | { result: "Error"; error: string }
  > {
    const stop = new AbortController();
    const exec = this.#opts.cri.execSync({ containerId, cmd, timeout: timeoutSeconds });
    const timedOut = () => ({
      result: "Failure" as const,
      output: `command "${cmd.join(" ")}" timed out`,
      exitCode: -1,
      stderr: "",
    });
    try {
      const waits: Promise<Awaited<typeof exec> | "timeout">[] = [exec];
      if (timeoutSeconds > 0) {
        waits.push(
          this.#opts.clock.sleep(timeoutSeconds * 1000, stop.signal).then(
            () => "timeout" as const,
            () => new Promise<never>(() => {}),
          ),
        );
      }
      const res = await Promise.race(waits);
      if (res === "timeout") {
        exec.catch(() => {});
        return timedOut();
      }
      return {
        result: res.exitCode === 0 ? "Success" : "Failure",
        output: res.stdout + res.stderr,
        exitCode: res.exitCode,
        stderr: res.stderr,
      };
    } catch (err) {
      if (err instanceof ApiError && err.reason === "Timeout") return timedOut();
      return { result: "Error", error: (err as Error).message };
    } finally {
      stop.abort();
    }
  }

  /** Asks the runtime for a handler's outcome: ExecSync of `kubelab-handler <purpose> <kind> …`. */
  #runtimeCommand(
    purpose: HandlerPurpose,
    kind: string,
    words: string[],
    containerId: string,
    timeoutSeconds: number,
  ) {
    return this.#exec(
      containerId,
      [RUNTIME_HANDLER_COMMAND, purpose, kind, ...words],
      timeoutSeconds,
    );
  }

  async #viaRuntimeExec(
    type: ProbeType,
    probe: Probe,
    target: HandlerTarget,
    timeoutSeconds: number,
  ): Promise<ProbeOutcome> {
    let kind: string;
    let words: string[];
    if (probe.exec?.command) {
      [kind, words] = ["exec", probe.exec.command];
    } else if (probe.httpGet) {
      const h = probe.httpGet;
      const url = probeUrl({
        scheme: h.scheme ?? "HTTP",
        host: h.host || target.podIP || "",
        port: resolvePort(h.port, target.container),
        path: h.path || "/",
      });
      [kind, words] = ["httpGet", [url]];
    } else if (probe.tcpSocket) {
      const host = probe.tcpSocket.host || target.podIP || "";
      [kind, words] = ["tcpSocket", [
        `${host}:${resolvePort(probe.tcpSocket.port, target.container)}`,
      ]];
    } else if (probe.grpc) {
      [kind, words] = ["grpc", [`${target.podIP ?? ""}:${probe.grpc.port}`]];
    } else {
      return { result: "Error", error: "missing probe handler" };
    }
    const out = await this.#runtimeCommand(type, kind, words, target.containerId, timeoutSeconds);
    return out.result === "Error" ? out : { result: out.result, output: out.output };
  }
}
