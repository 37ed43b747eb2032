/**
 * ExecSync in the fake runtime: a pretend shell (`true`, `false`, `exit N`, `echo …`, `sleep N`) and the
 * `kubelab-handler` command through which the kubelet asks for the outcome of a probe or lifecycle hook,
 * answered from the pod's probe script (fake_script.ts). No process runs and nothing listens on a fake
 * pod's IP, so this is where exec, httpGet and tcpSocket probes of fake containers are decided.
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import type { Clock } from "../../shared/clock.ts";
import type { CriReply } from "../../shared/cri/api.ts";
import { FAKE_HANDLER_COMMAND, parseProbeScript, probeFails } from "./fake_script.ts";

/** What ExecSync answers. */
export type ExecResult = CriReply<"ExecSync">;

/** The container an exec runs in, as the fake knows it. */
export interface FakeExecTarget {
  /** The container's name in the pod spec. */
  name: string;
  /** When it started (RFC 3339). */
  startedAt?: string;
  /** The pod's annotations, where the probe script is. */
  annotations?: Record<string, string>;
}

/** Options for {@linkcode fakeExecSync}. */
export interface FakeExecOptions {
  clock: Clock;
  /** Seconds; a `sleep` longer than this fails with Timeout. 0: no timeout. @default 0 */
  timeoutSeconds?: number;
  /** Receives the errors of invalid script entries. */
  onScriptError?: (error: string) => void;
  /** The container exited: a running `sleep` ends with 137, as its process is killed with it. */
  signal?: AbortSignal;
}

/**
 * Runs `cmd` in a running fake container. `kubelab-handler <purpose> <kind> <target…>` fails as the pod's
 * probe script says for a probe purpose (`liveness`, `readiness`, `startup`), else runs the exec target or
 * succeeds for httpGet and tcpSocket; any other command runs in the pretend shell.
 */
export async function fakeExecSync(
  target: FakeExecTarget,
  cmd: string[],
  options: FakeExecOptions,
): Promise<ExecResult> {
  const { clock, timeoutSeconds = 0, signal } = options;
  if (cmd[0] !== FAKE_HANDLER_COMMAND) return await shell(cmd, clock, timeoutSeconds, signal);
  const [purpose = "", kind = "", ...rest] = cmd.slice(1);
  const script = parseProbeScript(target.annotations);
  for (const error of script.errors) options.onScriptError?.(error);
  const started = target.startedAt ? Date.parse(target.startedAt) : clock.now();
  if (probeFails(script, target.name, purpose, clock.now() - started)) {
    return scriptedProbeFailure(purpose, kind, rest.join(" "));
  }
  if (kind === "exec") return await shell(rest, clock, timeoutSeconds, signal);
  return { stdout: "", stderr: "", exitCode: 0 };
}

/**
 * What a scripted probe failure answers, worded as the kubelet's prober words a real failure, so that
 * the Unhealthy event reads the same: `HTTP probe failed with statuscode: 500`, `dial tcp …: connect:
 * connection refused`, or for exec a line that names the script.
 */
export function scriptedProbeFailure(purpose: string, kind: string, target: string): ExecResult {
  const stdout = kind === "httpGet"
    ? "HTTP probe failed with statuscode: 500"
    : kind === "tcpSocket"
    ? `dial tcp ${target}: connect: connection refused`
    : `${purpose} probe scripted to fail (kubelab.io/fake-probe-fail or fake-probe-flap)\n`;
  return { stdout, stderr: "", exitCode: 1 };
}

/** `sh -c "exit 1"` as the words of its script, `["exit", "1"]`; any other command as it is. */
function unwrapShell(cmd: string[]): string[] {
  const [bin = "", ...args] = cmd;
  const name = bin.split("/").pop();
  if ((name === "sh" || name === "bash") && args[0] === "-c" && args[1] !== undefined) {
    return unwrapShell(args[1].trim().split(/\s+/));
  }
  return cmd;
}

/**
 * {@linkcode fakeExec}, except that `sleep N` takes N seconds of the clock: at most the timeout (then it
 * fails with Timeout), and it is killed (137) when `signal` aborts.
 */
async function shell(
  cmd: string[],
  clock: Clock,
  timeoutSeconds: number,
  signal?: AbortSignal,
): Promise<ExecResult> {
  const [bin, arg] = unwrapShell(cmd);
  if (bin?.split("/").pop() !== "sleep") return fakeExec(cmd);
  const ms = Math.max(0, Number(arg ?? 0) * 1000) || 0;
  const timeoutMs = timeoutSeconds * 1000;
  const timedOut = timeoutMs > 0 && ms > timeoutMs;
  const slept = await clock.sleep(timedOut ? timeoutMs : ms, signal).then(() => true, () => false);
  if (!slept) return { stdout: "", stderr: "", exitCode: 137 };
  if (timedOut) throw apiError("Timeout", `command "${cmd.join(" ")}" timed out`);
  return { stdout: "", stderr: "", exitCode: 0 };
}

/** The fake shell: enough for exec probes and `kubectl exec` demos. */
export function fakeExec(cmd: string[]): ExecResult {
  const [bin = "", ...args] = unwrapShell(cmd);
  switch (bin.split("/").pop()) {
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
