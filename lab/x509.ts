/**
 * A certificate authority and a serving certificate for the state service's HTTPS, made with WebCrypto
 * (ECDSA P-256, SHA-256) and a small DER encoder — kubectl sends its bearer token only over TLS
 * (client-go's clientcmd applies user credentials only when the transport is TLS), and the lab should
 * need no openssl. The CA signs one serving certificate and its private key is then dropped, as
 * kubeadm's would be if it never had to sign again.
 * @module
 */

/** Options for {@linkcode createServingCertificate}. */
export interface ServingCertificateOptions {
  /** DNS names and IP addresses the serving certificate is valid for. @default ["localhost", "127.0.0.1", "::1"] */
  hosts?: readonly string[];
  /** The start of validity (less an hour for clock skew). @default now */
  now?: Date;
  /** Validity in days. @default 3650 */
  days?: number;
}

/** PEM texts of a CA certificate and of a serving certificate with its PKCS#8 private key. */
export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const encoder = new TextEncoder();
const EC_KEY: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGN: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const COMMON_NAME = "2.5.4.3";
const ORGANIZATION = "2.5.4.10";
const EXT = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
};
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

/**
 * A new CA ("kubelab-ca") and a serving certificate it signed for `hosts`, valid for TLS server
 * authentication (what Go's crypto/x509, used by kubectl, and rustls, used by Deno, check).
 */
export async function createServingCertificate(
  opts: ServingCertificateOptions = {},
): Promise<ServingCertificate> {
  const hosts = opts.hosts ?? ["localhost", "127.0.0.1", "::1"];
  const notBefore = new Date((opts.now ?? new Date()).getTime() - 3600_000);
  const notAfter = new Date(notBefore.getTime() + (opts.days ?? 3650) * 86400_000);
  const caKeys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const leafKeys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const caName = name("kubelab-ca");
  const caKeyId = await keyIdentifier(caKeys.publicKey);
  const ca = await certificate({
    issuer: caName,
    subject: caName,
    subjectKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(EXT.basicConstraints, true, seq(bool(true))),
      // keyCertSign, cRLSign, digitalSignature
      extension(EXT.keyUsage, true, bitString(new Uint8Array([0x86]), 1)),
      extension(EXT.subjectKeyIdentifier, false, octets(caKeyId)),
    ],
  });
  const leaf = await certificate({
    issuer: caName,
    subject: name("kubelab-state"),
    subjectKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(EXT.basicConstraints, true, seq()),
      extension(EXT.keyUsage, true, bitString(new Uint8Array([0x80]), 7)), // digitalSignature
      extension(EXT.extKeyUsage, false, seq(oid(SERVER_AUTH))),
      extension(EXT.subjectAltName, false, seq(...hosts.map(generalName))),
      extension(EXT.subjectKeyIdentifier, false, octets(await keyIdentifier(leafKeys.publicKey))),
      extension(EXT.authorityKeyIdentifier, false, seq(tlv(0x80, caKeyId))),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey));
  return {
    caPem: pem("CERTIFICATE", ca),
    certPem: pem("CERTIFICATE", leaf),
    keyPem: pem("PRIVATE KEY", pkcs8),
  };
}

interface CertificateFields {
  issuer: Uint8Array;
  subject: Uint8Array;
  subjectKey: CryptoKey;
  signingKey: CryptoKey;
  notBefore: Date;
  notAfter: Date;
  extensions: Uint8Array[];
}

/** An X.509 v3 certificate (RFC 5280 §4.1), DER. */
async function certificate(f: CertificateFields): Promise<Uint8Array> {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  serial[0] |= 0x40; // positive and never shortened
  const algorithm = seq(oid(ECDSA_WITH_SHA256));
  const tbs = seq(
    tlv(0xa0, integer(new Uint8Array([2]))), // v3
    integer(serial),
    algorithm,
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    new Uint8Array(await crypto.subtle.exportKey("spki", f.subjectKey)),
    tlv(0xa3, seq(...f.extensions)),
  );
  const raw = new Uint8Array(await crypto.subtle.sign(SIGN, f.signingKey, tbs));
  // WebCrypto signs as r‖s; X.509 wants Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }.
  const signature = seq(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  return seq(tbs, algorithm, bitString(signature, 0));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the public key's bits. */
async function keyIdentifier(publicKey: CryptoKey): Promise<Uint8Array> {
  const point = await crypto.subtle.exportKey("raw", publicKey);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", point));
}

function name(commonName: string): Uint8Array {
  const rdn = (type: string, value: string) =>
    set(seq(oid(type), tlv(0x0c, encoder.encode(value))));
  return seq(rdn(ORGANIZATION, "kubelab"), rdn(COMMON_NAME, commonName));
}

/** A subjectAltName entry: iPAddress for an IPv4 or IPv6 literal, else dNSName. */
function generalName(host: string): Uint8Array {
  const ip = ipBytes(host);
  return ip ? tlv(0x87, ip) : tlv(0x82, encoder.encode(host));
}

/** The bytes of an IPv4 (`10.0.0.1`) or IPv6 (`::1`, `fe80::1`) literal; undefined for a name. */
export function ipBytes(host: string): Uint8Array | undefined {
  const v4 = host.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? new Uint8Array(parts) : undefined;
  }
  if (!host.includes(":") || !/^[0-9a-fA-F:]+$/.test(host)) return undefined;
  const [head, tail, ...more] = host.split("::");
  if (more.length) return undefined;
  const groups = (s?: string) => (s ? s.split(":") : []);
  const left = groups(head);
  const right = groups(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const all = [...left, ...Array(fill).fill("0"), ...right];
  if (all.length !== 8 || all.some((g) => g.length === 0 || g.length > 4)) return undefined;
  return new Uint8Array(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"; // YYYYMMDDHHMMSSZ
  const year = d.getUTCFullYear();
  return year < 2050 ? tlv(0x17, encoder.encode(iso.slice(2))) : tlv(0x18, encoder.encode(iso));
}

// ---------------------------------------------------------------------------------------------------------
// DER.

function tlv(tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = content.length;
  const length = n < 0x80 ? [n] : lengthBytes(n);
  const out = new Uint8Array(1 + length.length + n);
  out[0] = tag;
  out.set(length, 1);
  out.set(content, 1 + length.length);
  return out;
}

function lengthBytes(n: number): number[] {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const seq = (...parts: Uint8Array[]) => tlv(0x30, concat(parts));
const set = (...parts: Uint8Array[]) => tlv(0x31, concat(parts));
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bool = (b: boolean) => tlv(0x01, new Uint8Array([b ? 0xff : 0]));
const bitString = (bytes: Uint8Array, unusedBits: number) =>
  tlv(0x03, concat([new Uint8Array([unusedBits]), bytes]));

/** A non-negative INTEGER from big-endian bytes: leading zeros dropped, a 0 added before a high bit. */
function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, trimmed[0] & 0x80 ? concat([new Uint8Array([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
