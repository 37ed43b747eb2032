/**
 * End-to-end test support: `deno task lab` run the way the README says, in a temporary directory with
 * free ports, torn down with `await using` (SIGTERM, as Ctrl-C).
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** A running `deno task lab`. */
export interface Lab extends AsyncDisposable {
  natsUrl: string;
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
  const { natsUrl } = JSON.parse(await Deno.readTextFile(`${dir}/lab.json`));
  return {
    natsUrl,
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

/** Runs `deno task kubelab ARGS…` against the lab, as a user would from the repository. */
export function kubelab(natsUrl: string, ...args: string[]) {
  return kubelabWith([], natsUrl, ...args);
}

/** {@linkcode kubelab} run under `prefix` (e.g. `ip netns exec ns`). */
export async function kubelabWith(prefix: string[], natsUrl: string, ...args: string[]) {
  const [program, ...rest] = [...prefix, Deno.execPath(), "task", "--quiet", "kubelab", ...args];
  const out = await new Deno.Command(program, {
    args: rest,
    cwd: ROOT,
    env: { KUBELAB_NATS_URL: natsUrl, NO_COLOR: "1" },
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
