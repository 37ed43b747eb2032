/**
 * How the process runtime makes pod IPs real, in one of two modes (README.md, "Pod networking"):
 *
 * - `loopback`: the pod's IP from the node's pod CIDR is added to the loopback interface
 *   (`ip addr add 10.244.1.7/32 dev lo`), so a server bound to `$POD_IP` is reachable at the pod IP
 *   from the whole host, and two pods can use the same port. Needs root (CAP_NET_ADMIN) and `ip`.
 * - `port-block`: every pod is 127.0.0.1 and gets its own block of ports, `PORT_OFFSET`
 *   (10000 + 100 × the pod's number in the CIDR); a server listens on its port + `$PORT_OFFSET`.
 *
 * `auto` picks `loopback` when it works and `port-block` otherwise.
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import { loopbackAddresses, type RunCommand, runCommand } from "../../shared/loopback.ts";
import { type Cidr, ipToNumber, numberToIp } from "../../shared/net/cidr.ts";

/** A mode of {@linkcode PodNetwork}. */
export type PodNetworkMode = "loopback" | "port-block";

/** The address every pod reports in `port-block` mode. */
export const PORT_BLOCK_POD_IP = "127.0.0.1";

export { type RunCommand, runCommand };

/** What a sandbox gets from the network. */
export interface PodAddress {
  /** The IP the sandbox reports (PodSandboxStatus.network.ip, the pod's status.podIP). */
  podIP: string;
  /** Variables every container of the pod gets: POD_IP, KUBELAB_POD_IP, PORT_OFFSET. */
  env: Record<string, string>;
}

/** Gives sandboxes their addresses. */
export interface PodNetwork {
  readonly mode: PodNetworkMode;
  /** Makes `ip` (allocated from the pod CIDR) the sandbox's address. */
  attach(ip: string): Promise<PodAddress>;
  /** Takes the address back; succeeds when it is already gone. */
  detach(ip: string): Promise<void>;
}

/** The port block of a pod in `port-block` mode: 10000 + 100 × its number in the CIDR. */
export function portOffset(ip: string, cidr: Cidr): number {
  return 10_000 + 100 * (ipToNumber(ip) - cidr.network);
}

function podEnv(podIP: string, offset: number): Record<string, string> {
  return { POD_IP: podIP, KUBELAB_POD_IP: podIP, PORT_OFFSET: String(offset) };
}

/** `loopback` mode: pod IPs as /32 addresses on `lo`. */
export function loopbackNetwork(run: RunCommand = runCommand): PodNetwork {
  const lo = loopbackAddresses(run);
  return {
    mode: "loopback",
    async attach(ip) {
      // An address already there was left by a runtime that died; it is this pod's now.
      await lo.add(ip).catch((err) => {
        throw apiError("InternalError", `failed to setup network for sandbox: ${err.message}`);
      });
      return { podIP: ip, env: podEnv(ip, 0) };
    },
    async detach(ip) {
      await lo.remove(ip).catch((err) => {
        throw apiError("InternalError", `failed to tear down network of sandbox: ${err.message}`);
      });
    },
  };
}

/** `port-block` mode: every pod is 127.0.0.1 with its own PORT_OFFSET. */
export function portBlockNetwork(cidr: Cidr): PodNetwork {
  return {
    mode: "port-block",
    attach: (ip) =>
      Promise.resolve({
        podIP: PORT_BLOCK_POD_IP,
        env: podEnv(PORT_BLOCK_POD_IP, portOffset(ip, cidr)),
      }),
    detach: () => Promise.resolve(),
  };
}

/** Options for {@linkcode choosePodNetwork}. */
export interface ChoosePodNetworkOptions {
  cidr: Cidr;
  /** @default runCommand */
  run?: RunCommand;
  /** Whether the process runs as root. @default Deno.uid() === 0 */
  root?: boolean;
}

/**
 * The network for `mode`. `auto` is `loopback` when running as root and adding (then removing) the
 * CIDR's gateway address on `lo` works, else `port-block`; an explicit `loopback` that cannot work
 * fails here, at start, rather than at the first pod.
 */
export async function choosePodNetwork(
  mode: PodNetworkMode | "auto",
  options: ChoosePodNetworkOptions,
): Promise<PodNetwork> {
  const { cidr, run = runCommand } = options;
  if (mode === "port-block") return portBlockNetwork(cidr);
  const root = options.root ?? Deno.uid() === 0;
  const loopback = loopbackNetwork(run);
  // The CIDR's first host address is the bridge gateway, never a pod's.
  const probeIp = numberToIp(cidr.network + 1);
  const works = root && await loopback.attach(probeIp).then(
    () => loopback.detach(probeIp).then(() => true, () => true),
    () => false,
  );
  if (works) return loopback;
  if (mode === "loopback") {
    throw new Error(
      `Cannot put pod IPs on the loopback interface: ${
        root ? `"ip addr add ${probeIp}/32 dev lo" failed` : "not running as root"
      }; use the port-block network instead`,
    );
  }
  return portBlockNetwork(cidr);
}
