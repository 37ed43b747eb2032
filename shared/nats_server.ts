/**
 * Starts a real nats-server with JetStream for the local lab and for tests: a free port on loopback, its
 * store in a directory of the caller's choosing.
 * @module
 */

/** Options for {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** JetStream store directory. */
  storeDir: string;
  /** Client port; 0 picks a free one. @default 0 */
  port?: number;
  /** Monitoring port; 0 picks a free one, -1 disables it. @default -1 */
  httpPort?: number;
  /** Address to listen on. @default "127.0.0.1" */
  host?: string;
  /** The nats-server binary. @default "nats-server" */
  binary?: string;
  /** Where the server's own log goes; undefined discards it. */
  logFile?: string;
  /** A configuration file (accounts, users, limits); the other options override it. */
  configFile?: string;
  /**
   * The largest message the server takes, headers included (written to a configuration file of its
   * own; not with `configFile`). @default 1048576 (nats-server's)
   */
  maxPayload?: number;
}

/** The command-line arguments of nats-server for `options`, with the ports chosen. */
export function natsServerArgs(
  options: NatsServerOptions & { host: string; port: number; httpPort?: number },
): string[] {
  const args: string[] = [];
  if (options.configFile) args.push("-c", options.configFile);
  args.push("-js", "-a", options.host, "-p", String(options.port), "-sd", options.storeDir);
  if (options.httpPort) args.push("-m", String(options.httpPort));
  if (options.logFile) args.push("-l", options.logFile);
  return args;
}

/** A running nats-server. */
export interface NatsServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly httpPort?: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port and store. */
  restart(): Promise<void>;
}

/** Returns a TCP port that was free a moment ago. */
export function freePort(host = "127.0.0.1"): number {
  const l = Deno.listen({ hostname: host, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Whether `binary` can be run. */
export async function hasNatsServer(binary = "nats-server"): Promise<boolean> {
  try {
    const out = await new Deno.Command(binary, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      const c = await Deno.connect({ hostname: host, port });
      c.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`Nothing listens on ${host}:${port} after ${timeoutMs} ms`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Starts nats-server with JetStream on and waits until it accepts connections. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port || freePort(host);
  const httpPort = options.httpPort === undefined || options.httpPort < 0
    ? undefined
    : options.httpPort || freePort(host);
  const binary = options.binary ?? "nats-server";
  await Deno.mkdir(options.storeDir, { recursive: true });
  let configFile = options.configFile;
  if (options.maxPayload !== undefined) {
    if (configFile) throw new TypeError("Cannot start nats-server: give maxPayload or configFile");
    // nats-server has no flag for it: a configuration file, which the flags override.
    configFile = `${options.storeDir}/nats-server.conf`;
    await Deno.writeTextFile(configFile, `max_payload: ${options.maxPayload}\n`);
  }
  const args = natsServerArgs({ ...options, configFile, host, port, httpPort });

  let child: Deno.ChildProcess;
  const spawn = async () => {
    try {
      child = new Deno.Command(binary, { args, stdin: "null", stdout: "null", stderr: "null" })
        .spawn();
    } catch (err) {
      throw natsServerMissing(binary, err);
    }
    await waitForPort(host, port);
  };
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      return; // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await child.status;
    clearTimeout(timer);
  };
  await spawn();
  return {
    url: `nats://${host}:${port}`,
    port,
    httpPort,
    get pid() {
      return child.pid;
    },
    stop,
    async restart() {
      await stop();
      await spawn();
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** The error for a nats-server that cannot be started, saying how to install it. */
export function natsServerMissing(binary: string, cause: unknown): Error {
  return new Error(
    `Cannot start ${binary}: ${(cause as Error).message}. Install it with ` +
      "`apt-get install -y nats-server` (Debian/Ubuntu) or from https://nats.io/download/",
    { cause },
  );
}
