import assert from "node:assert/strict";
import { type DuplexConn, pipe } from "./pipe.ts";

/** One end of an in-memory duplex stream: reads what the peer wrote, EOF after the peer's closeWrite. */
class End implements DuplexConn {
  readonly chunks: Uint8Array[] = [];
  peer!: End;
  eof = false;
  closed = false;
  #wake?: () => void;
  async read(p: Uint8Array): Promise<number | null> {
    while (!this.chunks.length && !this.eof && !this.closed) {
      await new Promise<void>((r) => this.#wake = r);
    }
    if (this.closed) throw new Error("closed");
    const chunk = this.chunks.shift();
    if (!chunk) return null;
    p.set(chunk);
    return chunk.length;
  }
  write(p: Uint8Array): Promise<number> {
    if (this.closed || this.peer.closed) return Promise.reject(new Error("broken pipe"));
    this.peer.chunks.push(p.slice());
    this.peer.#wake?.();
    return Promise.resolve(p.length);
  }
  closeWrite(): Promise<void> {
    this.peer.eof = true;
    this.peer.#wake?.();
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
    this.#wake?.();
  }
}

function pair(): [End, End] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

const text = (s: string) => new TextEncoder().encode(s);

async function readAll(end: End): Promise<string> {
  const buf = new Uint8Array(1024);
  let out = "";
  for (;;) {
    const n = await end.read(buf);
    if (n === null) return out;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
}

Deno.test("pipe copies both ways and passes a half-close on: the reply still comes back", async () => {
  const [client, proxyClientSide] = pair();
  const [proxyBackendSide, backend] = pair();
  const piped = pipe(proxyClientSide, proxyBackendSide);
  await client.write(text("GET / HTTP/1.0\r\n\r\n"));
  await client.closeWrite(); // the client is done sending
  assert.equal(await readAll(backend), "GET / HTTP/1.0\r\n\r\n");
  await backend.write(text("pod: echo-1\n"));
  await backend.closeWrite();
  assert.equal(await readAll(client), "pod: echo-1\n");
  assert.deepEqual(await piped, { bytesIn: 18, bytesOut: 12 });
  assert.ok(proxyClientSide.closed && proxyBackendSide.closed, "both closed at the end");
});

Deno.test("pipe closes both sides when one fails", async () => {
  const [client, proxyClientSide] = pair();
  const [proxyBackendSide, _backend] = pair();
  const piped = pipe(proxyClientSide, proxyBackendSide);
  await client.write(text("hello"));
  proxyBackendSide.close(); // the backend connection breaks
  const result = await piped;
  assert.ok(result.error, "the error is reported");
  assert.ok(proxyClientSide.closed);
});
