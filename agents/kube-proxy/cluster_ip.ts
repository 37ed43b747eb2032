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
import {
  type LoopbackAddresses,
  loopbackAddresses as sharedLoopback,
  type RunCommand,
  runCommand,
} from "../../shared/loopback.ts";

/** A mode of cluster-IP realisation. */
export type ClusterIPMode = "alias" | "node";

export type { LoopbackAddresses, RunCommand };
export { runCommand };

/** The loopback addresses of cluster IPs; errors name the cluster IP. */
export function loopbackAddresses(run?: RunCommand): LoopbackAddresses {
  const lo = sharedLoopback(run);
  return {
    add: (ip) =>
      lo.add(ip).catch((err) => {
        throw new Error(`Cannot add cluster IP ${ip}: ${err.message}`);
      }),
    remove: (ip) =>
      lo.remove(ip).catch((err) => {
        throw new Error(`Cannot remove cluster IP ${ip}: ${err.message}`);
      }),
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
