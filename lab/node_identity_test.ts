import assert from "node:assert/strict";
import { containerAddress, nodeIdentity, podCidrFor } from "./node_identity.ts";

const eth0 = { family: "IPv4", name: "eth0", address: "172.18.0.5" } as const;
const lo = { family: "IPv4", name: "lo", address: "127.0.0.1" } as const;
const noEnv = () => undefined;

Deno.test("a node container is named after its host name and addressed by its IPv4 address", () => {
  assert.deepEqual(
    nodeIdentity({ env: noEnv, hostname: "3f2a1b4c5d6e", interfaces: [lo, eth0] }),
    { name: "3f2a1b4c5d6e", address: "172.18.0.5", podCIDR: "10.244.5.0/24" },
  );
});

Deno.test("explicit KUBELAB_NODE_NAME, _ADDRESS and _POD_CIDR win over what the container sees", () => {
  const env: Record<string, string> = {
    KUBELAB_NODE_NAME: "worker-a",
    KUBELAB_NODE_ADDRESS: "10.0.0.9",
    KUBELAB_POD_CIDR: "10.100.0.0/24",
  };
  assert.deepEqual(
    nodeIdentity({ env: (n) => env[n], hostname: "ignored", interfaces: [eth0] }),
    { name: "worker-a", address: "10.0.0.9", podCIDR: "10.100.0.0/24" },
  );
  // An empty variable counts as unset, as compose passes `${VAR:-}`.
  assert.equal(
    nodeIdentity({ env: () => "", hostname: "n1", interfaces: [eth0] }).address,
    "172.18.0.5",
  );
});

Deno.test("host names are lower-cased, and one that is no DNS-1123 subdomain is refused", () => {
  assert.equal(nodeIdentity({ env: noEnv, hostname: "Node-A", interfaces: [eth0] }).name, "node-a");
  assert.throws(
    () => nodeIdentity({ env: noEnv, hostname: "node_a", interfaces: [eth0] }),
    /Invalid node name "node_a"/,
  );
});

Deno.test("containerAddress takes the first non-loopback IPv4 interface by name", () => {
  const eth1 = { family: "IPv4", name: "eth1", address: "10.1.0.7" } as const;
  const v6 = { family: "IPv6", name: "eth0", address: "fe80::1" } as const;
  assert.equal(containerAddress([eth1, v6, lo, eth0]), "172.18.0.5");
  assert.throws(() => containerAddress([lo, v6]), /set KUBELAB_NODE_ADDRESS/);
});

Deno.test("podCidrFor gives every last octet its own /24", () => {
  const cases: [string, string][] = [
    ["172.18.0.2", "10.244.2.0/24"],
    ["172.18.0.254", "10.244.254.0/24"],
    ["192.168.16.3", "10.244.3.0/24"],
  ];
  for (const [address, want] of cases) assert.equal(podCidrFor(address), want);
  assert.throws(() => podCidrFor("fe80::1"), /Cannot derive a pod CIDR from "fe80::1"/);
  assert.throws(() => podCidrFor("1.2.3.256"), RangeError);
});
