/**
 * How big a message may be. The server refuses a message larger than its `max_payload` (1 MiB by
 * default, headers included), so a reply whose size grows with what users create — lists of
 * containers, pods, images, log lines, command output — is measured here, then cut into pages
 * (pager.ts) or trimmed to fit.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";

/** nats-server's default `max_payload`. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * What a message leaves free for its headers (`Kl-Trace-Id`, `Kl-Status`: under 100 bytes) and the
 * fields a page adds (`continue`).
 */
export const HEADROOM_BYTES = 4 * 1024;

const encoder = new TextEncoder();

/** The largest message the server of `nc` takes: its `max_payload`, headers included. */
export function maxPayload(nc: Pick<NatsConnection, "info">): number {
  return nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
}

/** The most bytes of JSON one message on `nc` may carry: `max_payload` less {@linkcode HEADROOM_BYTES}. */
export function maxMessageBytes(nc: Pick<NatsConnection, "info">): number {
  return maxPayload(nc) - HEADROOM_BYTES;
}

/** Any UTF-16 unit that takes more than one byte in UTF-8. */
const NOT_ASCII = /[\u0080-\uffff]/;

/** The size of `value` as JSON in UTF-8, as the bus sends it. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value ?? null);
  // Most payloads are ASCII: one byte a unit, no need to encode them to count.
  return NOT_ASCII.test(text) ? encoder.encode(text).length : text.length;
}

/** `1,048,576 bytes`: a size as errors and logs print it. */
export function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString("en-US")} bytes`;
}

/**
 * `text` cut so that it takes at most `maxBytes` as a JSON string (quotes and escapes counted), ending
 * with a note saying how much was cut; `text` itself when it fits. The cut never splits a UTF-16
 * surrogate pair.
 */
export function fitText(text: string, maxBytes: number): string {
  if (jsonBytes(text) <= maxBytes) return text;
  const note = (cut: number) => ` [… ${formatBytes(cut)} cut to fit a message]`;
  const total = encoder.encode(text).length;
  // The longest prefix whose JSON, with the note, fits: a binary search over its length.
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const head = safePrefix(text, mid);
    const fits = jsonBytes(head + note(total - encoder.encode(head).length)) <= maxBytes;
    if (fits) lo = mid;
    else hi = mid - 1;
  }
  const head = safePrefix(text, lo);
  return head + note(total - encoder.encode(head).length);
}

/** The first `n` UTF-16 units of `text`, one fewer if the last would split a surrogate pair. */
function safePrefix(text: string, n: number): string {
  const last = text.charCodeAt(n - 1);
  return last >= 0xd800 && last <= 0xdbff ? text.slice(0, n - 1) : text.slice(0, n);
}
