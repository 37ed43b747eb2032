import assert from "node:assert/strict";
import { nextFreeIp, parseCidr, podRange } from "./ipam.ts";

Deno.test("pod range leaves out network, gateway and broadcast", () => {
  const r = podRange(parseCidr("10.244.1.0/24"));
  assert.equal(r.last - r.first + 1, 253);
  assert.equal(nextFreeIp(parseCidr("10.244.1.0/24"), new Set()), "10.244.1.2");
});

Deno.test("pod IPs are handed out round-robin after the last one", () => {
  const cidr = parseCidr("10.244.1.0/24");
  assert.equal(nextFreeIp(cidr, new Set(), "10.244.1.2"), "10.244.1.3");
  assert.equal(nextFreeIp(cidr, new Set(["10.244.1.3"]), "10.244.1.2"), "10.244.1.4");
  assert.equal(nextFreeIp(cidr, new Set(), "10.244.1.254"), "10.244.1.2");
});

Deno.test("a full pod CIDR has no free IP", () => {
  const cidr = parseCidr("10.0.0.0/30");
  assert.equal(nextFreeIp(cidr, new Set(["10.0.0.2"])), undefined);
});

Deno.test("invalid pod CIDRs are refused with the value", () => {
  for (const bad of ["10.244.1.0", "10.244.1.1/24", "300.0.0.0/24", "10.0.0.0/31", "x/24"]) {
    assert.throws(
      () => parseCidr(bad),
      (e: unknown) => e instanceof RangeError && e.message.includes(bad),
    );
  }
});
