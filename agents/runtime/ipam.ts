/**
 * Pod IP allocation from a node's pod CIDR, as CNI's host-local IPAM does it: the first address is the
 * network, the second the bridge gateway, the last the broadcast; the rest go to pods, round-robin after
 * the last one handed out so that a released IP is not reused at once.
 * @module
 */

/** A parsed IPv4 CIDR. */
export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  network: number;
  prefix: number;
}

/**
 * Parses `10.244.1.0/24`.
 *
 * @throws {RangeError} `Invalid pod CIDR "x": …`
 */
export function parseCidr(cidr: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) {
    throw new RangeError(`Invalid pod CIDR "${cidr}": expected an IPv4 CIDR such as 10.244.1.0/24`);
  }
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255)) {
    throw new RangeError(`Invalid pod CIDR "${cidr}": octet above 255`);
  }
  if (prefix < 8 || prefix > 30) {
    throw new RangeError(`Invalid pod CIDR "${cidr}": the prefix must be between /8 and /30`);
  }
  const addr = ipToNumber(octets.join("."));
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) {
    throw new RangeError(`Invalid pod CIDR "${cidr}": host bits are set`);
  }
  return { network: addr, prefix };
}

/** `10.244.1.2` → its unsigned 32-bit number. */
export function ipToNumber(ip: string): number {
  return ip.split(".").reduce((n, o) => (n * 256 + Number(o)) >>> 0, 0);
}

/** An unsigned 32-bit number → `10.244.1.2`. */
export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The first and last address pods may get: network+2 … broadcast−1. */
export function podRange(cidr: Cidr): { first: number; last: number } {
  const size = 2 ** (32 - cidr.prefix);
  return { first: cidr.network + 2, last: cidr.network + size - 2 };
}

/**
 * The next free pod IP after `last` (wrapping around), or undefined when every address is in use.
 */
export function nextFreeIp(
  cidr: Cidr,
  inUse: ReadonlySet<string>,
  last?: string,
): string | undefined {
  const { first, last: end } = podRange(cidr);
  const count = end - first + 1;
  const lastN = last ? ipToNumber(last) : first - 1;
  const start = lastN >= first && lastN <= end ? lastN + 1 - first : 0;
  for (let i = 0; i < count; i++) {
    const ip = numberToIp(first + (start + i) % count);
    if (!inUse.has(ip)) return ip;
  }
  return undefined;
}
