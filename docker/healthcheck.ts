/**
 * Container healthchecks without a shell (the images may have none): exits 0 when healthy, 1 with a
 * one-line reason (which `docker inspect` shows) when not.
 *
 *   deno run -A docker/healthcheck.ts http URL                      a 2xx answer within 2 s
 *   deno run -A docker/healthcheck.ts fresh FILE SECONDS            FILE modified in the last SECONDS
 *   deno run -A docker/healthcheck.ts nats-client MONITOR_URL NAME  this container holds a NATS connection
 *                                                                   named NAME (from MONITOR_URL/connz)
 * @module
 */

const TIMEOUT_MS = 2_000;

/** The checks, each resolving to undefined when healthy or to why not. */
const CHECKS: Record<string, (args: string[]) => Promise<string | undefined>> = {
  async http([url]) {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await res.text()).trim().slice(0, 200);
    return res.ok ? undefined : `GET ${url}: ${res.status} ${body}`;
  },
  async fresh([file, seconds]) {
    const maxAgeMs = Number(seconds) * 1000;
    if (!(maxAgeMs > 0)) throw new RangeError(`Invalid age "${seconds}": expected seconds > 0`);
    const { mtime } = await Deno.stat(file);
    const ageMs = Date.now() - (mtime?.getTime() ?? 0);
    return ageMs <= maxAgeMs ? undefined : `${file} is ${Math.round(ageMs / 1000)} s old`;
  },
  async "nats-client"([monitorUrl, name]) {
    const url = `${monitorUrl.replace(/\/$/, "")}/connz?limit=100000`;
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) return `GET ${url}: ${res.status}`;
    const { connections = [] } = await res.json() as {
      connections?: { name?: string; ip?: string }[];
    };
    const mine = new Set(Deno.networkInterfaces().map((i) => i.address));
    return connections.some((c) => c.name === name && mine.has(c.ip ?? ""))
      ? undefined
      : `no NATS connection named "${name}" from ${[...mine].join(", ")}`;
  },
};

/**
 * Runs one check: undefined when healthy, else why not. Throws a TypeError for an unknown check or
 * missing arguments.
 */
export async function checkHealth(kind: string, args: string[]): Promise<string | undefined> {
  const check = CHECKS[kind];
  if (!check || args.length < (kind === "http" ? 1 : 2)) {
    throw new TypeError(
      "Usage: healthcheck.ts http URL | fresh FILE SECONDS | nats-client MONITOR_URL NAME",
    );
  }
  try {
    return await check(args);
  } catch (err) {
    return `${kind} ${args.join(" ")}: ${(err as Error).message}`;
  }
}

if (import.meta.main) {
  const [kind = "", ...args] = Deno.args;
  let problem: string | undefined;
  try {
    problem = await checkHealth(kind, args);
  } catch (err) {
    console.log((err as Error).message);
    Deno.exit(2);
  }
  if (problem) console.log(`unhealthy: ${problem}`);
  Deno.exit(problem ? 1 : 0);
}
