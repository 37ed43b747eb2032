/**
 * Network namespaces for tests that must prove what leaves the lab: a `lab` namespace whose default route
 * leads, over a veth pair, into an `outside` namespace where a stranger can listen on any address. Both
 * are made by the test and removed with `await using`; nothing touches the host's own network. Needs root
 * and iproute2's `ip`.
 * @module
 */

/** A pair of namespaces joined by a veth, the lab's default route pointing outside. */
export interface NetnsPair extends AsyncDisposable {
  /** The lab's namespace: loopback, and a default route to `outside`. */
  lab: string;
  /** The outside world, as far as the lab can tell. */
  outside: string;
  /** Runs `cmd` inside namespace `ns`; rejects with its stderr when it fails. */
  exec(ns: string, cmd: string[], opts?: { env?: Record<string, string> }): Promise<string>;
  /** Spawns `cmd` inside `ns` with piped output. */
  spawn(
    ns: string,
    cmd: string[],
    opts?: { env?: Record<string, string>; cwd?: string },
  ): Deno.ChildProcess;
}

/** Whether this process can make network namespaces (root, with `ip`). */
export async function canMakeNetns(): Promise<boolean> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    return (await new Deno.Command("ip", {
      args: ["netns", "list"],
      stdout: "null",
      stderr: "null",
    })
      .output()).success;
  } catch {
    return false;
  }
}

async function ip(...args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`ip ${args.join(" ")}: ${dec.decode(out.stderr).trim()}`);
  return dec.decode(out.stdout);
}

/**
 * Makes the two namespaces. The lab side has 198.51.100.1/24 (TEST-NET-2, documentation only) and a
 * default route via the outside's 198.51.100.2.
 */
export async function makeNetnsPair(): Promise<NetnsPair> {
  const id = crypto.randomUUID().slice(0, 6);
  const lab = `kl-lab-${id}`;
  const outside = `kl-out-${id}`;
  const [a, b] = [`kla${id}`, `klb${id}`];
  await ip("netns", "add", lab);
  try {
    await ip("netns", "add", outside);
    await ip("link", "add", a, "type", "veth", "peer", "name", b);
    await ip("link", "set", a, "netns", lab);
    await ip("link", "set", b, "netns", outside);
    for (const [ns, dev, addr] of [[lab, a, "198.51.100.1/24"], [outside, b, "198.51.100.2/24"]]) {
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "addr", "add", addr, "dev", dev);
      await ip("-n", ns, "link", "set", dev, "up");
    }
    await ip("-n", lab, "route", "add", "default", "via", "198.51.100.2");
  } catch (err) {
    await ip("netns", "del", lab).catch(() => {});
    await ip("netns", "del", outside).catch(() => {});
    throw err;
  }
  const command = (ns: string, cmd: string[], env?: Record<string, string>, cwd?: string) =>
    new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...cmd],
      env: { NO_COLOR: "1", ...env },
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  return {
    lab,
    outside,
    async exec(ns, cmd, opts = {}) {
      const out = await command(ns, cmd, opts.env).output();
      const dec = new TextDecoder();
      if (!out.success) {
        throw new Error(`${cmd.join(" ")} in ${ns}: ${dec.decode(out.stderr).trim()}`);
      }
      return dec.decode(out.stdout);
    },
    spawn: (ns, cmd, opts = {}) => command(ns, cmd, opts.env, opts.cwd).spawn(),
    async [Symbol.asyncDispose]() {
      await ip("netns", "del", lab).catch(() => {});
      await ip("netns", "del", outside).catch(() => {});
    },
  };
}
