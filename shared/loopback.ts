/**
 * /32 addresses on the loopback interface, with `ip addr add|del <ip>/32 dev lo`: how the process
 * runtime makes pod IPs real and how kube-proxy makes cluster IPs reachable on one host. Needs root
 * (CAP_NET_ADMIN) and iproute2's `ip`.
 * @module
 */

/** Runs a command; the seam through which tests replace `ip`. */
export type RunCommand = (
  command: string,
  args: string[],
) => Promise<{ success: boolean; stderr: string }>;

/** Runs a command with Deno.Command; a missing binary is a failure, not an exception. */
export const runCommand: RunCommand = async (command, args) => {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
    return { success: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
  } catch (err) {
    return { success: false, stderr: (err as Error).message };
  }
};

/** Adds and removes /32 addresses on `lo`. Both fail with `ip`'s own words, quoted in the Error. */
export interface LoopbackAddresses {
  /** Adds `ip`; succeeds when it is there already (left by a process that died). */
  add(ip: string): Promise<void>;
  /** Removes `ip`; succeeds when it is gone already. */
  remove(ip: string): Promise<void>;
}

/** {@linkcode LoopbackAddresses} with `ip addr add|del <ip>/32 dev lo`. */
export function loopbackAddresses(run: RunCommand = runCommand): LoopbackAddresses {
  return {
    async add(ip) {
      const r = await run("ip", ["addr", "add", `${ip}/32`, "dev", "lo"]);
      if (!r.success && !/already assigned|File exists/i.test(r.stderr)) {
        throw new Error(`ip addr add ${ip}/32 dev lo: ${r.stderr}`);
      }
    },
    async remove(ip) {
      const r = await run("ip", ["addr", "del", `${ip}/32`, "dev", "lo"]);
      if (!r.success && !/not found|Cannot assign/i.test(r.stderr)) {
        throw new Error(`ip addr del ${ip}/32 dev lo: ${r.stderr}`);
      }
    },
  };
}
