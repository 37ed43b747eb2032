import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createServingCertificate, ipBytes } from "./x509.ts";

Deno.test("ipBytes reads IPv4 and IPv6 literals and nothing else", () => {
  const cases: [string, number[] | undefined][] = [
    ["127.0.0.1", [127, 0, 0, 1]],
    ["10.244.1.255", [10, 244, 1, 255]],
    ["::1", [...Array(15).fill(0), 1]],
    ["fe80::1:2", [0xfe, 0x80, ...Array(10).fill(0), 0, 1, 0, 2]],
    ["2001:db8:0:0:0:0:0:1", [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]],
    ["256.0.0.1", undefined],
    ["localhost", undefined],
    ["state", undefined],
    ["1::2::3", undefined],
    ["abcd", undefined],
  ];
  for (const [host, want] of cases) {
    const got = ipBytes(host);
    assert.deepEqual(got && [...got], want, host);
  }
});

Deno.test("createServingCertificate makes a CA and a server certificate it signed for the hosts", async () => {
  const now = new Date("2026-12-01T00:00:00Z");
  const { caPem, certPem, keyPem } = await createServingCertificate({
    hosts: ["localhost", "127.0.0.1", "::1", "state"],
    now,
    days: 30,
  });
  const ca = new X509Certificate(caPem);
  const leaf = new X509Certificate(certPem);
  assert.equal(ca.ca, true);
  assert.equal(leaf.ca, false);
  assert.equal(ca.subject, "O=kubelab\nCN=kubelab-ca");
  assert.equal(leaf.issuer, ca.subject);
  assert.ok(leaf.verify(ca.publicKey), "signed by the CA");
  assert.ok(!leaf.verify(leaf.publicKey), "not self-signed");
  assert.equal(
    leaf.subjectAltName,
    "DNS:localhost, IP Address:127.0.0.1, IP Address:::1, DNS:state",
  );
  assert.equal(leaf.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(leaf.checkHost("state"), "state");
  assert.equal(leaf.checkHost("evil.example"), undefined);
  assert.deepEqual(leaf.keyUsage, ["DigitalSignature"]);
  assert.equal(new Date(leaf.validFrom).toISOString(), "2026-11-30T23:00:00.000Z");
  assert.equal(new Date(leaf.validTo).toISOString(), "2026-12-30T23:00:00.000Z");
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
});
