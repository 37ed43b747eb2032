/**
 * Copying bytes both ways between a client and a backend connection, as the userspace proxy's
 * ProxyTCP did, with half-close: when one side finishes sending (EOF), the other side's write half is
 * closed and the copy the other way goes on until it ends too. An error either way closes both.
 * @module
 */

/** The part of a TCP connection a pipe needs (Deno.TcpConn has it). */
export interface DuplexConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** Bytes carried by a finished pipe. */
export interface PipeResult {
  /** Client to backend. */
  bytesIn: number;
  /** Backend to client. */
  bytesOut: number;
  /** The first error that ended it early, if any. */
  error?: string;
}

const BUFFER_BYTES = 64 * 1024;

/** Copies `from` into `to` until EOF; counts what it wrote. */
async function copy(from: DuplexConn, to: DuplexConn, count: (n: number) => void): Promise<void> {
  const buf = new Uint8Array(BUFFER_BYTES);
  for (;;) {
    const n = await from.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await to.write(buf.subarray(off, n));
    count(n);
  }
  await to.closeWrite().catch(() => {});
}

/**
 * Pipes `client` and `backend` together until both directions have ended, then closes both. Never
 * throws: an error is reported in the result.
 */
export async function pipe(client: DuplexConn, backend: DuplexConn): Promise<PipeResult> {
  const result: PipeResult = { bytesIn: 0, bytesOut: 0 };
  const closeBoth = () => {
    for (const c of [client, backend]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  const fail = (err: unknown) => {
    result.error ??= err instanceof Error ? err.message : String(err);
    closeBoth();
  };
  await Promise.all([
    copy(client, backend, (n) => result.bytesIn += n).catch(fail),
    copy(backend, client, (n) => result.bytesOut += n).catch(fail),
  ]);
  closeBoth();
  return result;
}
