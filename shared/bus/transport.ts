/**
 * A NATS transport on Deno's own TCP (`Deno.connect`), in place of `@nats-io/transport-node`'s
 * `node:net` socket.
 *
 * Why: under Deno, `node:net` writes go through Node's stream machinery to one write per flush, and
 * nats.js flushes once per task — once per reply, for a service answering requests. A profile of the
 * state service under load spent a quarter of its CPU in that write. Here a frame waits while a write
 * is in flight and everything queued meanwhile goes in the next write, so a busy process writes a few
 * large buffers instead of many small ones, with no delay added when it is idle (no timer: the next
 * write starts when the last one finishes). Fewer, larger writes also cost nats-server fewer reads.
 *
 * The protocol (parsing, PING/PONG, reconnects, authentication) stays nats.js's: this is only the
 * byte pipe its `Transport` interface describes. The lab's NATS has no TLS; a server that requires
 * it is refused with a clear error.
 * @module
 */
import {
  checkOptions,
  type ConnectionOptions,
  type Deferred,
  deferred,
  errors,
  extractProtocolMessage,
  INFO,
  type Server,
  type ServerInfo,
  type Transport,
} from "@nats-io/nats-core/internal";

const READ_BUFFER_BYTES = 64 * 1024;

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** One connection to a NATS server over `Deno.TcpConn`. */
export class DenoTransport implements Transport {
  readonly lang = "nats.deno-kubelab";
  readonly version = "1.0.0";
  closeError?: Error;
  #conn?: Deno.TcpConn;
  #connected = false;
  #done = false;
  /** Bytes read while waiting for INFO: the protocol parses them too. */
  #initial: Uint8Array[] = [];
  #queue: Uint8Array[] = [];
  #writing?: Promise<void>;
  readonly #closed: Deferred<void | Error> = deferred();

  get isClosed(): boolean {
    return this.#done;
  }

  async connect(server: Server, options: ConnectionOptions): Promise<void> {
    try {
      this.#conn = await Deno.connect({ hostname: server.hostname, port: server.port });
      this.#conn.setNoDelay(true);
      const info = await this.#peekInfo();
      checkOptions(info, options);
      if (info.tls_required) {
        throw errors.InvalidArgumentError.format(
          "tls",
          "is required by this server, and kubelab's NATS transport speaks plain TCP",
        );
      }
      if (this.#done) throw new errors.ConnectionError("closed while connecting");
      this.#connected = true;
    } catch (err) {
      this.#closeConn();
      if ((err as Error).name === "ConnectionRefused") {
        throw new errors.ConnectionError("connection refused", { cause: err });
      }
      throw err;
    }
  }

  /** Reads until the server's INFO line; keeps what was read for the parser. */
  async #peekInfo(): Promise<ServerInfo> {
    const buf = new Uint8Array(READ_BUFFER_BYTES);
    for (;;) {
      const n = await this.#conn!.read(buf);
      if (n === null) throw new errors.ConnectionError("the server closed the connection");
      this.#initial.push(buf.slice(0, n));
      const line = extractProtocolMessage(concat(this.#initial));
      if (line === "") continue;
      const m = INFO.exec(line);
      if (!m) throw new errors.ConnectionError("unexpected response from server");
      return JSON.parse(m[1]);
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.#iterate();
  }

  async *#iterate(): AsyncIterableIterator<Uint8Array> {
    const initial = this.#initial;
    this.#initial = [];
    for (const chunk of initial) yield chunk;
    const buf = new Uint8Array(READ_BUFFER_BYTES);
    let error: Error | undefined;
    while (!this.#done && this.#conn) {
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (err) {
        error = this.#done ? undefined : err as Error;
        break;
      }
      if (n === null) break;
      yield buf.slice(0, n);
    }
    await this.#close(error, false);
  }

  isEncrypted(): boolean {
    return false;
  }

  send(frame: Uint8Array): void {
    if (this.#done || !this.#conn) return;
    this.#queue.push(frame);
    this.#writing ??= this.#writeQueued();
  }

  /** Writes what is queued, then what was queued meanwhile, until nothing is. */
  async #writeQueued(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#conn && !this.#done) {
        const chunk = concat(this.#queue);
        this.#queue = [];
        for (let at = 0; at < chunk.length;) at += await this.#conn.write(chunk.subarray(at));
      }
    } catch {
      // A failed write shows up as a failed read: the reader closes the transport.
    } finally {
      this.#writing = undefined;
    }
  }

  close(err?: Error): Promise<void> {
    return this.#close(err, true);
  }

  disconnect(): void {
    void this.#close(undefined, true);
  }

  closed(): Promise<void | Error> {
    return this.#closed;
  }

  discard(): void {
    this.#done = true;
    this.#queue = [];
    this.#closeConn();
  }

  async #close(err: Error | undefined, internal: boolean): Promise<void> {
    // A transport that never connected is the dialer's to report, not a disconnect.
    if (!this.#connected) return;
    if (this.#done) {
      this.#closeConn();
      return;
    }
    this.closeError = err;
    if (!err && internal) await this.#writing; // what was sent before close goes out
    this.#done = true;
    this.#queue = [];
    this.#closeConn();
    this.#closed.resolve(this.closeError);
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = undefined;
  }
}
