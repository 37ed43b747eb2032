import assert from "node:assert/strict";
import { interfaceNetworks, LabNetwork, NotInLabError, parseLabNetworks } from "./lab_network.ts";

function iface(address: string, cidr = `${address}/32`, name = "lo"): Deno.NetworkInterfaceInfo {
  const v6 = address.includes(":");
  return {
    family: v6 ? "IPv6" : "IPv4",
    name,
    address,
    netmask: "",
    scopeid: v6 ? 0 : null,
    cidr,
    mac: "00:00:00:00:00:00",
  };
}

Deno.test("the lab owns loopback, its interfaces' addresses and the networks it created", () => {
  const network = new LabNetwork({
    networks: ["172.18.0.0/16"],
    interfaces: () => [iface("10.244.1.5"), iface("192.168.1.20", "192.168.1.20/24", "eth0")],
    now: () => 0,
  });
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.1.0.3", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["10.244.1.5", true], // a pod IP on lo
    ["192.168.1.20", true], // the host's own address
    ["172.18.0.9", true], // the compose network
    ["10.244.1.6", false], // a pod IP that exists nowhere
    ["192.168.1.1", false], // the host's gateway: outside
    ["8.8.8.8", false],
    ["example.com", false],
    ["2001:db8::1", false],
  ];
  for (const [address, owned] of cases) {
    assert.equal(network.refusal(address) === undefined, owned, address);
  }
  assert.throws(
    () => network.check("10.244.1.6"),
    (e: unknown) =>
      e instanceof NotInLabError && e.address === "10.244.1.6" &&
      e.message === "no route in the lab: 10.244.1.6 is not on an interface of the lab",
  );
});

Deno.test("an address added to an interface counts once it is there, read at most every refreshMs", () => {
  let now = 0;
  let reads = 0;
  const addresses = ["127.0.0.1"];
  const network = new LabNetwork({
    interfaces: () => {
      reads++;
      return addresses.map((a) => iface(a));
    },
    now: () => now,
    refreshMs: 250,
  });
  assert.notEqual(network.refusal("10.244.1.9"), undefined);
  addresses.push("10.244.1.9");
  assert.notEqual(network.refusal("10.244.1.9"), undefined, "not re-read within 250 ms");
  now = 300;
  assert.equal(network.refusal("10.244.1.9"), undefined, "re-read after 250 ms");
  assert.equal(reads, 2);
  assert.equal(network.refusal("10.244.1.9"), undefined, "known: no read");
  assert.equal(reads, 2);
});

Deno.test("KUBELAB_LAB_NETWORKS lists CIDRs; `interfaces` stands for this container's networks", () => {
  const ifaces = () => [
    iface("127.0.0.1", "127.0.0.1/8"),
    iface("172.18.0.5", "172.18.0.5/16", "eth0"),
    iface("fe80::1", "fe80::1/64", "eth0"),
  ];
  assert.deepEqual(parseLabNetworks(undefined, ifaces), []);
  assert.deepEqual(parseLabNetworks("interfaces", ifaces), ["172.18.0.0/16"]);
  assert.deepEqual(parseLabNetworks(" 10.244.2.0/24, interfaces", ifaces), [
    "10.244.2.0/24",
    "172.18.0.0/16",
  ]);
  assert.throws(
    () => parseLabNetworks("10.244.2.1/24", ifaces),
    /Invalid KUBELAB_LAB_NETWORKS: Invalid lab network "10.244.2.1\/24": host bits are set/,
  );
  assert.deepEqual(interfaceNetworks(ifaces()), ["172.18.0.0/16"]);
});
