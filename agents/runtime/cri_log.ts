/**
 * Container log files in the CRI logging format, as containerd writes them under /var/log/pods: one
 * record per line, `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>` — `P` marks a part of a line
 * that was too long to wait for its end, `F` the full line or the last part.
 * @module
 */
import type { Clock } from "../../shared/clock.ts";

/** Output longer than this without a newline is written as a partial (`P`) record. */
export const MAX_PARTIAL_BYTES = 16 * 1024;

/** The stream a record came from. */
export type LogStream = "stdout" | "stderr";

/** One line of a container's output. */
export interface CriLogLine {
  /** RFC 3339 with nanoseconds: `2026-01-01T00:00:00.123000000Z`. */
  time: string;
  stream: LogStream;
  text: string;
}

/** RFC 3339 with nine fractional digits, as containerd stamps log records. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

/** One record of a CRI log file, with its newline. */
export function formatCriLogRecord(
  time: string,
  stream: LogStream,
  tag: "F" | "P",
  text: string,
): string {
  return `${time} ${stream} ${tag} ${text}\n`;
}

/**
 * The lines of a CRI log file, partial records joined to their line (stamped with the time of the
 * first part). Records that do not parse are skipped.
 */
export function parseCriLog(content: string): CriLogLine[] {
  const lines: CriLogLine[] = [];
  const partial = new Map<LogStream, CriLogLine>();
  for (const record of content.split("\n")) {
    const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(record);
    if (!m) continue;
    const [, time, stream, tag, text] = m as unknown as [string, string, LogStream, string, string];
    const head = partial.get(stream);
    const line = head ? { ...head, text: head.text + text } : { time, stream, text };
    if (tag === "P") partial.set(stream, line);
    else {
      partial.delete(stream);
      lines.push(line);
    }
  }
  return lines;
}

/**
 * Writes a running container's stdout and stderr into its CRI log file as the output arrives: each
 * complete line becomes an `F` record stamped with the injected clock; records of both streams are
 * appended one at a time.
 */
export class ContainerLogWriter {
  readonly #file: Deno.FsFile;
  readonly #clock: Clock;
  readonly #encoder = new TextEncoder();
  readonly #readers: ReadableStreamDefaultReader<string>[] = [];
  readonly #pumps: Promise<void>[] = [];
  #queue: Promise<void> = Promise.resolve();

  private constructor(file: Deno.FsFile, clock: Clock) {
    this.#file = file;
    this.#clock = clock;
  }

  /** Opens `path` for appending (creating it). */
  static async open(path: string, clock: Clock): Promise<ContainerLogWriter> {
    const file = await Deno.open(path, { append: true, create: true });
    return new ContainerLogWriter(file, clock);
  }

  /** Copies `stream` into the log as `name` until it ends. */
  pump(stream: ReadableStream<Uint8Array>, name: LogStream): void {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    this.#readers.push(reader);
    this.#pumps.push((async () => {
      let buffer = "";
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let nl: number;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            this.#append(name, "F", buffer.slice(0, nl));
            buffer = buffer.slice(nl + 1);
          }
          while (buffer.length > MAX_PARTIAL_BYTES) {
            this.#append(name, "P", buffer.slice(0, MAX_PARTIAL_BYTES));
            buffer = buffer.slice(MAX_PARTIAL_BYTES);
          }
        }
      } catch {
        // Cancelled by close(): what was read so far is still written below.
      }
      if (buffer) this.#append(name, "F", buffer);
    })());
  }

  /**
   * Waits until both streams have ended — at most `waitMs`, after which a stream still held open (by
   * a process that escaped the container's session) is cancelled — then closes the file.
   */
  async close(waitMs: number): Promise<void> {
    const all = Promise.all(this.#pumps);
    const stopWaiting = new AbortController();
    const ended = await Promise.race([
      all.then(() => true),
      this.#clock.sleep(waitMs, stopWaiting.signal).then(() => false, () => true),
    ]);
    stopWaiting.abort();
    if (!ended) await Promise.all(this.#readers.map((r) => r.cancel().catch(() => {})));
    await all;
    await this.#queue;
    this.#file.close();
  }

  #append(stream: LogStream, tag: "F" | "P", text: string): void {
    const bytes = this.#encoder.encode(
      formatCriLogRecord(rfc3339Nano(this.#clock.now()), stream, tag, text),
    );
    this.#queue = this.#queue.then(async () => {
      let rest = bytes;
      while (rest.length) rest = rest.subarray(await this.#file.write(rest));
    }).catch(() => {});
  }
}
