/**
 * IPv4 addresses and CIDRs as numbers: the one place kubelab does address arithmetic (pod IPs from a
 * node's pod CIDR, cluster IPs from the service CIDR, the networks the lab owns).
 * @module
 */

/** A parsed IPv4 CIDR. */
export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  network: number;
  /** The prefix length, 0–32. */
  prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Whether `ip` is a dotted-quad IPv4 address. */
export function isIPv4(ip: string): boolean {
  const m = IPV4.exec(ip);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** `10.244.1.2` → its unsigned 32-bit number; NaN when it is no IPv4 address. */
export function ipToNumber(ip: string): number {
  if (!isIPv4(ip)) return NaN;
  return ip.split(".").reduce((n, o) => (n * 256 + Number(o)) >>> 0, 0);
}

/** An unsigned 32-bit number → `10.244.1.2`. */
export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The netmask of a prefix length as an unsigned 32-bit number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Options for {@linkcode parseCidr}. */
export interface ParseCidrOptions {
  /** What the CIDR is, for errors: `pod CIDR`. @default "CIDR" */
  what?: string;
  /** The shortest prefix allowed. @default 0 */
  minPrefix?: number;
  /** The longest prefix allowed. @default 32 */
  maxPrefix?: number;
}

/**
 * Parses `10.244.1.0/24`.
 *
 * @throws {RangeError} `Invalid pod CIDR "x": …`
 */
export function parseCidr(cidr: string, options: ParseCidrOptions = {}): Cidr {
  const { what = "CIDR", minPrefix = 0, maxPrefix = 32 } = options;
  const [ip, bits, extra] = cidr.trim().split("/");
  const prefix = Number(bits);
  if (extra !== undefined || !IPV4.test(ip) || !/^\d{1,2}$/.test(bits ?? "")) {
    throw new RangeError(`Invalid ${what} "${cidr}": expected an IPv4 CIDR such as 10.244.1.0/24`);
  }
  const network = ipToNumber(ip);
  if (Number.isNaN(network)) throw new RangeError(`Invalid ${what} "${cidr}": octet above 255`);
  if (prefix < minPrefix || prefix > maxPrefix) {
    throw new RangeError(
      `Invalid ${what} "${cidr}": the prefix must be between /${minPrefix} and /${maxPrefix}`,
    );
  }
  if ((network & prefixMask(prefix)) >>> 0 !== network) {
    throw new RangeError(`Invalid ${what} "${cidr}": host bits are set`);
  }
  return { network, prefix };
}

/** The CIDR an address belongs to with `prefix` bits of network: (`172.18.0.5`, 16) → 172.18.0.0/16. */
export function networkOf(ip: string, prefix: number): Cidr {
  return { network: (ipToNumber(ip) & prefixMask(prefix)) >>> 0, prefix };
}

/** Whether IPv4 `ip` lies inside `cidr`. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const n = ipToNumber(ip);
  return !Number.isNaN(n) && ((n & prefixMask(cidr.prefix)) >>> 0) === cidr.network;
}

/** `10.244.1.0/24`. */
export function formatCidr(cidr: Cidr): string {
  return `${numberToIp(cidr.network)}/${cidr.prefix}`;
}
