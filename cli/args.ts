/**
 * A small command-line flag parser in the manner of kubectl's (spf13/pflag): `--name value`, `--name=value`,
 * `-n value`, `-nvalue`, combined boolean shorthands (`-Aw`), `--flag=false`, repeatable flags, and `--` to
 * end flags. Flags and positionals may be interleaved.
 * @module
 */

/** How a flag takes its value. */
export type FlagType = "boolean" | "string" | "strings" | "int";

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes: `namespace`. */
  name: string;
  /** One-letter shorthand: `n`. */
  short?: string;
  type: FlagType;
  /** One line for the help text. */
  description: string;
  /** Placeholder shown in help: `NS`. @default "VALUE" */
  valueName?: string;
  /** Shown in help as `(default …)`; the parser does not apply it. */
  defaultText?: string;
}

/** A mistake in how a command was called; the message says what is wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed command line: typed access to flags, and the positionals. */
export class Args {
  readonly positionals: string[];
  readonly #values: Map<string, string | boolean | number | string[]>;

  constructor(values: Map<string, string | boolean | number | string[]>, positionals: string[]) {
    this.#values = values;
    this.positionals = positionals;
  }

  /** Whether the flag was given at all. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** A boolean flag's value, `false` when absent. */
  bool(name: string): boolean {
    return this.#values.get(name) === true;
  }

  /** A string flag's value. */
  string(name: string): string | undefined {
    const v = this.#values.get(name);
    return typeof v === "string" ? v : undefined;
  }

  /** Every value of a repeatable flag, in order. */
  strings(name: string): string[] {
    const v = this.#values.get(name);
    return Array.isArray(v) ? v : [];
  }

  /** An integer flag's value. */
  int(name: string): number | undefined {
    const v = this.#values.get(name);
    return typeof v === "number" ? v : undefined;
  }
}

/** Parses `argv` against `specs`. Throws {@linkcode UsageError} for unknown flags and missing values. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Args {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values = new Map<string, string | boolean | number | string[]>();
  const positionals: string[] = [];

  const set = (spec: FlagSpec, raw: string | undefined, shown: string) => {
    if (spec.type === "boolean") {
      if (raw === undefined || raw === "true") values.set(spec.name, true);
      else if (raw === "false") values.set(spec.name, false);
      else {throw new UsageError(
          `invalid argument "${raw}" for "${shown}" flag: expected true or false`,
        );}
      return;
    }
    if (raw === undefined) throw new UsageError(`flag needs an argument: ${shown}`);
    if (spec.type === "int") {
      if (!/^-?\d+$/.test(raw)) {
        throw new UsageError(`invalid argument "${raw}" for "${shown}" flag: expected an integer`);
      }
      values.set(spec.name, Number(raw));
    } else if (spec.type === "strings") {
      values.set(spec.name, [...(values.get(spec.name) as string[] | undefined ?? []), raw]);
    } else {
      values.set(spec.name, raw);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      let raw = eq < 0 ? undefined : arg.slice(eq + 1);
      if (raw === undefined && spec.type !== "boolean" && i + 1 < argv.length) raw = argv[++i];
      set(spec, raw, `--${name}`);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // Shorthands: booleans may be combined (-Aw); a value flag takes the rest or the next argument.
      for (let j = 1; j < arg.length; j++) {
        const spec = byShort.get(arg[j]);
        if (!spec) throw new UsageError(`unknown shorthand flag: '${arg[j]}' in ${arg}`);
        const shown = `'${arg[j]}' in ${arg}`;
        if (spec.type === "boolean") {
          if (arg[j + 1] === "=") {
            set(spec, arg.slice(j + 2), shown);
            break;
          }
          set(spec, undefined, shown);
          continue;
        }
        let raw: string | undefined = arg.slice(j + 1).replace(/^=/, "");
        if (raw === "") raw = i + 1 < argv.length ? argv[++i] : undefined;
        set(spec, raw, shown);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return new Args(values, positionals);
}

/** The flags section of a help text, aligned: `  -n, --namespace NS   The namespace…`. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => {
    const short = s.short ? `-${s.short}, ` : "    ";
    const value = s.type === "boolean" ? "" : ` ${s.valueName ?? "VALUE"}`;
    return `  ${short}--${s.name}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => {
    const def = s.defaultText !== undefined ? ` (default ${s.defaultText})` : "";
    const repeat = s.type === "strings" ? " Repeatable." : "";
    return `${left[i].padEnd(width)}${s.description}${repeat}${def}`;
  }).join("\n");
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`30s`, `1m30s`, `500ms`, `2h`) in milliseconds; a bare number means seconds. */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) {
    throw new UsageError(
      `invalid argument "${text}" for "--${flag}" flag: expected a duration like 30s or 2m`,
    );
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]], 0);
}
