import assert from "node:assert/strict";
import { cidrContains, formatCidr, ipToNumber, networkOf, numberToIp, parseCidr } from "./cidr.ts";

Deno.test("addresses convert to numbers and back; non-addresses are NaN", () => {
  assert.equal(ipToNumber("10.244.1.2"), 0x0af40102);
  assert.equal(numberToIp(0xffffffff), "255.255.255.255");
  for (const bad of ["10.244.1", "256.0.0.1", "a.b.c.d", "10.0.0.1 ", ""]) {
    assert.ok(Number.isNaN(ipToNumber(bad)), bad);
  }
});

Deno.test("CIDRs parse, contain and print", () => {
  const c = parseCidr("172.18.0.0/16");
  assert.equal(formatCidr(c), "172.18.0.0/16");
  assert.ok(cidrContains(c, "172.18.255.1"));
  assert.ok(!cidrContains(c, "172.19.0.1"));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0"), "8.8.8.8"));
  assert.equal(formatCidr(networkOf("172.18.0.5", 16)), "172.18.0.0/16");
  for (const bad of ["10.0.0.0", "10.0.0.1/24", "10.0.0.0/33", "10.0.0.0/24/1", "x/8"]) {
    assert.throws(() => parseCidr(bad, { what: "lab network" }), /Invalid lab network/, bad);
  }
});
