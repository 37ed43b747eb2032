/**
 * The pod-template-hash (controller.ComputeHash): FNV-32a over the pod template and the Deployment's
 * collisionCount, its decimal digits mapped onto apimachinery's safe alphabet (rand.SafeEncodeString)
 * so that it never spells words and is a valid label value: `5d59d67564`.
 * @module
 */
import type { PodTemplateSpec } from "../../shared/api/core.ts";
import { canonicalJson } from "./semantic.ts";

/** rand.SafeEncodeString's alphabet: no vowels, no look-alike characters. */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** FNV-1a, 32 bits, over `bytes`. */
export function fnv32a(bytes: Uint8Array): number {
  let hash = FNV32_OFFSET;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, FNV32_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** rand.SafeEncodeString: each character replaced by the alphabet's entry at its code modulo 27. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/**
 * ComputeHash: the hash of `template` (its canonical JSON: kubelab cannot reproduce Go's spew dump, so
 * values differ from Kubernetes' for the same template) followed, when set, by `collisionCount` as four
 * little-endian bytes.
 */
export function computeHash(template: PodTemplateSpec, collisionCount?: number): string {
  const json = new TextEncoder().encode(canonicalJson(template));
  let bytes = json;
  if (collisionCount !== undefined) {
    bytes = new Uint8Array(json.length + 4);
    bytes.set(json);
    new DataView(bytes.buffer).setUint32(json.length, collisionCount >>> 0, true);
  }
  return safeEncodeString(String(fnv32a(bytes)));
}
