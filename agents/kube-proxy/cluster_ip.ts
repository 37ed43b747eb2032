/**
 * How a Service's cluster IP becomes something a client can connect to (docs/services.md, "How the
 * cluster IP is realised"):
 *
 * - `alias`: the cluster IP is added to the loopback interface (`ip addr add 10.96.0.10/32 dev lo`)
 *   and a kube-proxy listens on `clusterIP:port`. Every node of a lab shares the host, so one
 *   kube-proxy of the lab serves a given cluster IP: the first to bind its lowest port, which then
 *   binds the others; the rest stand by and take over within a second when it goes. Needs root
 *   (CAP_NET_ADMIN) and `ip`.
 * - `node`: no address is added; each kube-proxy listens on the Service port at its own node address
 *   (`127.1.0.1:80`), as a stand-in for the cluster IP reached from that node.
 *
 * `auto` is `alias` when running as root and adding (then removing) an address on `lo` works.
 * @module
 */

/** A mode of cluster-IP realisation. */
export type ClusterIPMode = "alias" | "node";

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

/** Adds and removes /32 addresses on the loopback interface. */
export interface LoopbackAddresses {
  /** Adds `ip`; succeeds when it is there already. */
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
        throw new Error(`Cannot add cluster IP ${ip}: ip addr add ${ip}/32 dev lo: ${r.stderr}`);
      }
    },
    async remove(ip) {
      const r = await run("ip", ["addr", "del", `${ip}/32`, "dev", "lo"]);
      if (!r.success && !/not found|Cannot assign/i.test(r.stderr)) {
        throw new Error(`Cannot remove cluster IP ${ip}: ip addr del ${ip}/32 dev lo: ${r.stderr}`);
      }
    },
  };
}

/** Outside the service CIDR, so the probe never touches a real cluster IP. */
const PROBE_ADDRESS = "127.254.254.254";

/** Options for {@linkcode chooseClusterIPMode}. */
export interface ChooseClusterIPModeOptions {
  /** @default loopbackAddresses() */
  addresses?: LoopbackAddresses;
  /** Whether the process runs as root. @default Deno.uid() === 0 */
  root?: boolean;
}

/**
 * The mode for `requested`: `auto` tries an address on `lo` when running as root; an explicit `alias`
 * that cannot work fails here, at start.
 */
export async function chooseClusterIPMode(
  requested: ClusterIPMode | "auto",
  options: ChooseClusterIPModeOptions = {},
): Promise<ClusterIPMode> {
  if (requested === "node") return "node";
  const root = options.root ?? Deno.uid() === 0;
  const addresses = options.addresses ?? loopbackAddresses();
  const works = root && await addresses.add(PROBE_ADDRESS).then(
    () => addresses.remove(PROBE_ADDRESS).then(() => true, () => true),
    () => false,
  );
  if (works) return "alias";
  if (requested === "alias") {
    throw new Error(
      `Cannot add cluster IPs to the loopback interface: ${
        root ? `"ip addr add ${PROBE_ADDRESS}/32 dev lo" failed` : "not running as root"
      }; use KUBELAB_CLUSTER_IP_MODE=node`,
    );
  }
  return "node";
}
