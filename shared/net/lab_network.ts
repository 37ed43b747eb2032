/**
 * The lab's closed network: which addresses an agent may send a packet to. kube-proxy, the kubelet's
 * probes and hooks ask before every dial, so no agent ever dials an address the lab does not own —
 * a fake pod IP such as 10.244.1.5 that exists nowhere would otherwise leave through the host's default
 * route and could be answered by a stranger.
 *
 * An address is the lab's when it is
 * - loopback (127.0.0.0/8, ::1) or `localhost`;
 * - assigned to an interface of this host or container right now (pod IPs the process runtime put on
 *   `lo`, the node's own addresses) — read from the kernel, so a pod IP counts only while it exists;
 * - inside a network the lab created itself (`networks`: the compose network a node container sits on,
 *   the pod CIDRs routed over it).
 *
 * Anything else — another host's address, a private range nobody in the lab put on an interface, a DNS
 * name (resolving it would itself send a packet to a resolver outside) — is refused without a packet.
 * @module
 */
import { type Cidr, cidrContains, formatCidr, isIPv4, networkOf, parseCidr } from "./cidr.ts";

/** Why a dial was refused: the words kube-proxy's `reject` records and probe failures carry. */
export const NO_ROUTE_IN_LAB = "no route in the lab";

/** Refusal of a dial to an address the lab does not own. */
export class NotInLabError extends Error {
  /** The refused address (`10.244.1.5`, `example.com`). */
  readonly address: string;
  constructor(address: string, detail: string) {
    super(`${NO_ROUTE_IN_LAB}: ${address} ${detail}`);
    this.name = "NotInLabError";
    this.address = address;
  }
}

/** The interfaces of this host, as `Deno.networkInterfaces()` returns them. */
export type ReadInterfaces = () => Deno.NetworkInterfaceInfo[];

/** Options for {@linkcode LabNetwork}. */
export interface LabNetworkOptions {
  /** Networks the lab created (`172.18.0.0/16`), where every address is the lab's. @default [] */
  networks?: readonly string[];
  /** Reads the host's interfaces. @default Deno.networkInterfaces */
  interfaces?: ReadInterfaces;
  /** Milliseconds now, for how often interfaces are re-read. @default Date.now */
  now?: () => number;
  /** A missing address re-reads interfaces at most this often. @default 250 */
  refreshMs?: number;
}

/** Decides which addresses belong to the lab. */
export class LabNetwork {
  readonly #networks: Cidr[];
  readonly #interfaces: ReadInterfaces;
  readonly #now: () => number;
  readonly #refreshMs: number;
  #local = new Set<string>();
  #readAt = -Infinity;

  constructor(options: LabNetworkOptions = {}) {
    this.#networks = (options.networks ?? []).map((n) => parseCidr(n, { what: "lab network" }));
    this.#interfaces = options.interfaces ?? Deno.networkInterfaces;
    this.#now = options.now ?? Date.now;
    this.#refreshMs = options.refreshMs ?? 250;
  }

  /** The networks the lab created, as CIDRs. */
  get networks(): string[] {
    return this.#networks.map(formatCidr);
  }

  /** Why `host` is not the lab's, or undefined when it is. */
  refusal(host: string): string | undefined {
    const address = host.replace(/^\[|\]$/g, "").toLowerCase();
    if (address === "localhost" || isLoopback(address)) return undefined;
    if (!isIPv4(address) && !address.includes(":")) {
      return "is a name: the lab dials addresses only (resolving a name would query a resolver outside the lab)";
    }
    if (isIPv4(address) && this.#networks.some((n) => cidrContains(n, address))) return undefined;
    if (this.#isLocal(address)) return undefined;
    return "is not on an interface of the lab";
  }

  /** Throws {@linkcode NotInLabError} unless `host` is the lab's. */
  check(host: string): void {
    const why = this.refusal(host);
    if (why) throw new NotInLabError(host, why);
  }

  #isLocal(address: string): boolean {
    if (this.#local.has(address)) return true;
    // A pod IP added a moment ago is not in the last reading: read again, but not on every refusal.
    const now = this.#now();
    if (now - this.#readAt < this.#refreshMs) return false;
    this.#readAt = now;
    this.#local = new Set(this.#interfaces().map((i) => i.address.toLowerCase()));
    return this.#local.has(address);
  }
}

/** Whether `address` is a loopback address (127.0.0.0/8 or ::1). */
export function isLoopback(address: string): boolean {
  if (isIPv4(address)) return address.startsWith("127.");
  return address === "::1" || address === "0:0:0:0:0:0:0:1";
}

/**
 * The networks of this host's non-loopback IPv4 interfaces (`172.18.0.5/16` → `172.18.0.0/16`): in a
 * compose node container these are the networks compose created for the lab. Never use it on a host whose
 * interfaces sit on networks the lab did not create.
 */
export function interfaceNetworks(interfaces: Deno.NetworkInterfaceInfo[]): string[] {
  const out = new Set<string>();
  for (const i of interfaces) {
    if (i.family !== "IPv4" || isLoopback(i.address)) continue;
    const prefix = Number(i.cidr.split("/")[1]);
    if (Number.isInteger(prefix)) out.add(formatCidr(networkOf(i.address, prefix)));
  }
  return [...out];
}

/**
 * The lab networks named by `KUBELAB_LAB_NETWORKS`: a comma-separated list of CIDRs, where the word
 * `interfaces` stands for {@linkcode interfaceNetworks} (compose node containers). Empty: none.
 *
 * @throws {RangeError} naming the variable and the bad value.
 */
export function parseLabNetworks(
  value: string | undefined,
  interfaces: ReadInterfaces = Deno.networkInterfaces,
): string[] {
  const out: string[] = [];
  for (const item of (value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    if (item === "interfaces") {
      out.push(...interfaceNetworks(interfaces()));
      continue;
    }
    try {
      out.push(formatCidr(parseCidr(item, { what: "lab network" })));
    } catch (err) {
      throw new RangeError(`Invalid KUBELAB_LAB_NETWORKS: ${(err as Error).message}`);
    }
  }
  return out;
}
