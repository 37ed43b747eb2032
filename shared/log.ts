/**
 * Structured logging. One {@linkcode Logger} is made in each `main.ts` and handed down; children carry
 * fields (`log.with({ pod })`). Lines go to stderr as `time level msg key=value…` or as JSON.
 * @module
 */

/** Severity, lowest first. */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Fields attached to a log line. */
export type Fields = Record<string, unknown>;

/** Where formatted lines go. */
export type Sink = (line: string, level: Level) => void;

/** Options for {@linkcode Logger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  level?: Level;
  /** Write JSON lines instead of text. @default false */
  json?: boolean;
  /** Where lines go. @default stderr */
  sink?: Sink;
  /** Fields on every line. */
  fields?: Fields;
}

const encoder = new TextEncoder();
const stderrSink: Sink = (line) => Deno.stderr.writeSync(encoder.encode(line + "\n"));

/** A structured logger. */
export class Logger {
  readonly #level: Level;
  readonly #json: boolean;
  readonly #sink: Sink;
  readonly #fields: Fields;

  constructor(options: LoggerOptions = {}) {
    this.#level = options.level ?? "info";
    this.#json = options.json ?? false;
    this.#sink = options.sink ?? stderrSink;
    this.#fields = options.fields ?? {};
  }

  /** A child logger whose lines carry `fields` too. */
  with(fields: Fields): Logger {
    return new Logger({
      level: this.#level,
      json: this.#json,
      sink: this.#sink,
      fields: { ...this.#fields, ...fields },
    });
  }

  debug(msg: string, fields?: Fields): void {
    this.#write("debug", msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.#write("info", msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.#write("warn", msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.#write("error", msg, fields);
  }

  #write(level: Level, msg: string, fields?: Fields): void {
    if (ORDER[level] < ORDER[this.#level]) return;
    const all = { ...this.#fields, ...fields };
    const time = new Date().toISOString();
    if (this.#json) {
      this.#sink(JSON.stringify({ time, level, msg, ...all }), level);
      return;
    }
    const kv = Object.entries(all).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
    this.#sink(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${kv ? " " + kv : ""}`, level);
  }
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w./:@-]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** A logger configured from `KUBELAB_LOG_LEVEL` and `KUBELAB_LOG_FORMAT=json`. For `main.ts` files. */
export function loggerFromEnv(fields: Fields = {}): Logger {
  const level = (Deno.env.get("KUBELAB_LOG_LEVEL") ?? "info") as Level;
  return new Logger({
    level: level in ORDER ? level : "info",
    json: Deno.env.get("KUBELAB_LOG_FORMAT") === "json",
    fields,
  });
}
