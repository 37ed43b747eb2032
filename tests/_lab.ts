/**
 * End-to-end test support: `deno task lab` run the way the README says, in a temporary directory with
 * free ports, torn down with `await using` (SIGTERM, as Ctrl-C).
 * @module
 */

import { identityToken } from "../shared/auth/identity.ts";
import { Bus } from "../shared/bus/bus.ts";
import { Logger } from "../shared/log.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A running `deno task lab`. */
export interface Lab extends AsyncDisposable {
  natsUrl: string;
  /** The lab owner's credentials file (`admin`). */
  credsFile: string;
  /** A bus connection to the lab as `identity` (its credentials are in the lab's auth/creds). */
  connect(identity?: string): Promise<Bus>;
  /** The lab directory (lab.json, logs/, run/, nats/). */
  dir: string;
  proc: Deno.ChildProcess;
  /** Everything the lab printed so far. */
  output(): string;
}

/** Options for {@linkcode startLab}. */
export interface StartLabOptions {
  /** Worker nodes. @default 3 */
  nodes?: number;
  /** A command that runs the lab, e.g. `["ip", "netns", "exec", "ns"]`. @default none */
  prefix?: string[];
  /** Its own session and process group, as a terminal would give it (for Ctrl-C). @default false */
  detached?: boolean;
}

/** Starts `deno task lab --nodes N --profile fast` and resolves once it says it is up. */
export async function startLab(options: StartLabOptions | number = {}): Promise<Lab> {
  const { nodes = 3, prefix = [], detached = false } = typeof options === "number"
    ? { nodes: options }
    : options;
  const dir = await Deno.makeTempDir({ prefix: "kubelab-e2e-" });
  const args = ["task", "lab", "--nodes", String(nodes), "--dir", dir, "--profile", "fast"];
  for (const port of ["--port", "--http-port", "--monitor-port"]) args.push(port, "0");
  const [program, ...rest] = [...prefix, Deno.execPath(), ...args];
  const proc = new Deno.Command(program, {
    args: rest,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    detached,
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const collect = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += decoder.decode(chunk);
  };
  const collecting = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
  const deadline = Date.now() + 90_000;
  while (!out.includes("kubelab is up")) {
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      await proc.status;
      throw new Error(`Lab did not come up in 90 s:\n${out}${await logTails(dir)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const { natsUrl, credsFile } = JSON.parse(await Deno.readTextFile(`${dir}/lab.json`));
  return {
    natsUrl,
    credsFile,
    async connect(identity = "admin") {
      return await Bus.connect({
        servers: natsUrl,
        name: `test-${identity}`,
        log: new Logger({ level: "error" }),
        creds: await Deno.readTextFile(`${dir}/auth/creds/${identityToken(identity)}.creds`),
      });
    },
    dir,
    proc,
    output: () => out,
    async [Symbol.asyncDispose]() {
      try {
        proc.kill("SIGTERM");
      } catch { /* already gone */ }
      await proc.status;
      await collecting;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The environment that points the CLI at `lab`: its NATS and the owner's credentials. */
export function labEnv(lab: Pick<Lab, "natsUrl" | "credsFile">): Record<string, string> {
  return { KUBELAB_NATS_URL: lab.natsUrl, KUBELAB_NATS_CREDS: lab.credsFile };
}

/** Runs `deno task kubelab ARGS…` against the lab, as a user would from the repository. */
export function kubelab(lab: Pick<Lab, "natsUrl" | "credsFile">, ...args: string[]) {
  return kubelabWith([], lab, ...args);
}

/** {@linkcode kubelab} run under `prefix` (e.g. `ip netns exec ns`). */
export async function kubelabWith(
  prefix: string[],
  lab: Pick<Lab, "natsUrl" | "credsFile">,
  ...args: string[]
) {
  const [program, ...rest] = [...prefix, Deno.execPath(), "task", "--quiet", "kubelab", ...args];
  const out = await new Deno.Command(program, {
    args: rest,
    cwd: ROOT,
    env: { ...labEnv(lab), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Stops the lab as Ctrl-C does and returns its exit code (0 for a clean stop) and output. */
export async function stopLab(lab: Lab): Promise<{ code: number; output: string }> {
  lab.proc.kill("SIGTERM");
  const { code } = await lab.proc.status;
  return { code, output: lab.output() };
}

/** The last lines of every agent log of a lab directory, for a failure message. */
async function logTails(dir: string, lines = 15): Promise<string> {
  let out = "";
  try {
    for await (const e of Deno.readDir(`${dir}/logs`)) {
      const text = await Deno.readTextFile(`${dir}/logs/${e.name}`);
      out += `\n--- ${e.name}\n${text.trimEnd().split("\n").slice(-lines).join("\n")}`;
    }
  } catch { /* no logs */ }
  return out;
}
