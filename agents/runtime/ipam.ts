/**
 * Pod IP allocation from a node's pod CIDR, as CNI's host-local IPAM does it: the first address is the
 * network, the second the bridge gateway, the last the broadcast; the rest go to pods, round-robin after
 * the last one handed out so that a released IP is not reused at once.
 * @module
 */

import {
  type Cidr,
  ipToNumber,
  numberToIp,
  parseCidr as parseAnyCidr,
} from "../../shared/net/cidr.ts";

export type { Cidr };

/**
 * Parses a pod CIDR such as `10.244.1.0/24` (a /8 to a /30).
 *
 * @throws {RangeError} `Invalid pod CIDR "x": …`
 */
export function parseCidr(cidr: string): Cidr {
  return parseAnyCidr(cidr, { what: "pod CIDR", minPrefix: 8, maxPrefix: 30 });
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
