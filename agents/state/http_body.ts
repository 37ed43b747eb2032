/**
 * Request bodies of the HTTP door: read as a stream and refused with 413 as soon as they pass
 * {@linkcode MAX_REQUEST_BYTES} (kube-apiserver's `limitedReadBody`), so an endless or huge body is never
 * held in memory, then parsed as JSON (400 when it is not).
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
import { MAX_REQUEST_BYTES } from "../../shared/api/limits.ts";

const decoder = new TextDecoder();

/** The body as text; 413 RequestEntityTooLarge once more than `limit` bytes are declared or sent. */
export async function readBody(req: Request, limit = MAX_REQUEST_BYTES): Promise<string> {
  if (Number(req.headers.get("content-length")) > limit) throw tooLarge(limit);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return decoder.decode(all);
}

/** JSON.parse with a 400 BadRequest for text that is not JSON. */
export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw apiError("BadRequest", `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** kube-apiserver's words: `Request entity too large: limit is 3145728`. */
function tooLarge(limit: number) {
  return apiError("RequestEntityTooLarge", `Request entity too large: limit is ${limit}`);
}
