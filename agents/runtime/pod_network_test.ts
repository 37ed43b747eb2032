import assert from "node:assert/strict";
import { parseCidr } from "./ipam.ts";
import { choosePodNetwork, portOffset, type RunCommand } from "./pod_network.ts";

const cidr = parseCidr("10.244.3.0/24");

function fakeIp(fail?: string): { run: RunCommand; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: (command, args) => {
      calls.push([command, ...args].join(" "));
      return Promise.resolve(
        fail ? { success: false, stderr: fail } : { success: true, stderr: "" },
      );
    },
  };
}

Deno.test("auto uses pod IPs on lo when root can add an address there", async () => {
  const ip = fakeIp();
  const net = await choosePodNetwork("auto", { cidr, run: ip.run, root: true });
  assert.equal(net.mode, "loopback");
  assert.deepEqual(ip.calls, [
    "ip addr add 10.244.3.1/32 dev lo",
    "ip addr del 10.244.3.1/32 dev lo",
  ]);
  assert.deepEqual(await net.attach("10.244.3.7"), {
    podIP: "10.244.3.7",
    env: { POD_IP: "10.244.3.7", KUBELAB_POD_IP: "10.244.3.7", PORT_OFFSET: "0" },
  });
});

Deno.test("auto falls back to port blocks when not root or when ip fails", async () => {
  assert.equal(
    (await choosePodNetwork("auto", { cidr, root: false, run: fakeIp().run })).mode,
    "port-block",
  );
  const denied = fakeIp("RTNETLINK answers: Operation not permitted");
  const net = await choosePodNetwork("auto", { cidr, root: true, run: denied.run });
  assert.equal(net.mode, "port-block");
  assert.deepEqual(await net.attach("10.244.3.7"), {
    podIP: "127.0.0.1",
    env: { POD_IP: "127.0.0.1", KUBELAB_POD_IP: "127.0.0.1", PORT_OFFSET: "10700" },
  });
});

Deno.test("an explicit loopback network that cannot work fails at once", async () => {
  await assert.rejects(
    () => choosePodNetwork("loopback", { cidr, root: false, run: fakeIp().run }),
    /not running as root/,
  );
});

Deno.test("an address left on lo is taken over; one already gone is not an error", async () => {
  const net = await choosePodNetwork("loopback", {
    cidr,
    root: true,
    run: (_c, args) =>
      Promise.resolve(
        args[1] === "add" && args[2] === "10.244.3.9/32"
          ? { success: false, stderr: "Error: ipv4: Address already assigned." }
          : args[1] === "del"
          ? { success: false, stderr: "Error: ipv4: Address not found." }
          : { success: true, stderr: "" },
      ),
  });
  assert.equal((await net.attach("10.244.3.9")).podIP, "10.244.3.9");
  await net.detach("10.244.3.9");
});

Deno.test("port blocks are 100 ports apart from 10000 on", () => {
  assert.equal(portOffset("10.244.3.2", cidr), 10_200);
  assert.equal(portOffset("10.244.3.254", cidr), 35_400);
});
