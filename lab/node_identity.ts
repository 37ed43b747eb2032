/**
 * Who a node container is, from what the container sees: its name is the host name (a compose replica's
 * container id, so `--scale node=N` gives N distinct nodes), its address is the container's IPv4 address,
 * and its pod CIDR is derived from that address so that replicas never share one. Pure.
 * @module
 */

/** The identity the node's kubelet, runtime and kube-proxy are started with. */
export interface NodeIdentity {
  /** `KUBELAB_NODE_NAME`. */
  name: string;
  /** `KUBELAB_NODE_ADDRESS`. */
  address: string;
  /** `KUBELAB_POD_CIDR`. */
  podCIDR: string;
}

/** What {@linkcode nodeIdentity} reads. */
export interface IdentityInputs {
  /** Reads an environment variable; an explicit `KUBELAB_NODE_NAME`, `…_ADDRESS` or `…_POD_CIDR` wins. */
  env: (name: string) => string | undefined;
  /** The container's host name. */
  hostname: string;
  /** The container's network interfaces (`Deno.networkInterfaces()`). */
  interfaces: readonly Pick<Deno.NetworkInterfaceInfo, "family" | "name" | "address">[];
}

/** A DNS-1123 subdomain, as Kubernetes requires of node names. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Works out the node's name, address and pod CIDR; throws a RangeError saying what is missing. */
export function nodeIdentity(inputs: IdentityInputs): NodeIdentity {
  const explicit = (name: string) => {
    const v = inputs.env(name);
    return v === undefined || v === "" ? undefined : v;
  };
  const name = explicit("KUBELAB_NODE_NAME") ?? inputs.hostname.toLowerCase();
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw new RangeError(
      `Invalid node name "${name}": a node name must be a DNS-1123 subdomain; set KUBELAB_NODE_NAME`,
    );
  }
  const address = explicit("KUBELAB_NODE_ADDRESS") ?? containerAddress(inputs.interfaces);
  const podCIDR = explicit("KUBELAB_POD_CIDR") ?? podCidrFor(address);
  return { name, address, podCIDR };
}

/**
 * The container's own IPv4 address: the first non-loopback IPv4 interface by name (`eth0` before
 * `eth1`), which on a compose network is the address the other containers reach it at.
 */
export function containerAddress(
  interfaces: IdentityInputs["interfaces"],
): string {
  const candidates = interfaces
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    .toSorted((a, b) => a.name.localeCompare(b.name));
  if (!candidates.length) {
    throw new RangeError(
      "Cannot find the container's IPv4 address: no non-loopback IPv4 interface; set KUBELAB_NODE_ADDRESS",
    );
  }
  return candidates[0].address;
}

/**
 * `10.244.<last octet of the address>.0/24`: distinct for every node whose address differs in the last
 * octet, which holds for up to 254 replicas on one compose network.
 */
export function podCidrFor(address: string): string {
  const octets = address.split(".").map(Number);
  if (octets.length !== 4 || !octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255)) {
    throw new RangeError(`Cannot derive a pod CIDR from "${address}": expected an IPv4 address`);
  }
  return `10.244.${octets[3]}.0/24`;
}
