/**
 * Connecting the CLI to the lab's NATS. Unlike the agents, which wait for NATS forever, a command gives up
 * on the first connect quickly and says what to do.
 * @module
 */
import { Bus } from "../shared/bus/bus.ts";
import type { Logger } from "../shared/log.ts";

/** No NATS server answered at the URL. */
export class NatsUnreachableError extends Error {
  readonly url: string;
  constructor(url: string, options?: ErrorOptions) {
    super(
      `Cannot reach NATS at ${url}: is the lab running? Start it with \`deno task lab\``,
      options,
    );
    this.name = "NatsUnreachableError";
    this.url = url;
  }
}

/** NATS refused the credentials (or their absence). */
export class NatsAuthError extends Error {
  readonly url: string;
  constructor(url: string, creds: string | undefined, options?: ErrorOptions) {
    super(
      creds
        ? `NATS at ${url} refused the credentials in ${creds}: are they this lab's? ` +
          "(deno task lab writes .kubelab/auth/creds/admin.creds)"
        : `NATS at ${url} requires credentials: pass --creds FILE or set KUBELAB_NATS_CREDS ` +
          "(deno task lab writes .kubelab/auth/creds/admin.creds; in compose, use " +
          "`docker compose run --rm kubelab`)",
      options,
    );
    this.name = "NatsAuthError";
    this.url = url;
  }
}

/** Options for {@linkcode connectBus}. */
export interface ConnectBusOptions {
  log: Logger;
  /** The path of a NATS credentials file. @default none */
  creds?: string;
  /** Give up the first connect after this long. @default 2000 */
  timeoutMs?: number;
}

/**
 * Connects to `url` (one URL or several, comma-separated). Once connected it reconnects like any agent,
 * so a long `get -w` or `tap` survives a NATS restart. Throws {@linkcode NatsUnreachableError} or
 * {@linkcode NatsAuthError}.
 */
export async function connectBus(url: string, options: ConnectBusOptions): Promise<Bus> {
  let creds: string | undefined;
  if (options.creds) {
    try {
      creds = await Deno.readTextFile(options.creds);
    } catch (err) {
      throw new Error(
        `Cannot read the credentials file ${options.creds}: ${(err as Error).message}`,
      );
    }
  }
  try {
    return await Bus.connect({
      servers: url.split(",").map((s) => s.trim()).filter(Boolean),
      name: "kubelab-cli",
      log: options.log,
      creds,
      connectTimeoutMs: options.timeoutMs ?? 2000,
      waitOnFirstConnect: false,
    });
  } catch (err) {
    if (/authori[sz]ation|authentication/i.test(String((err as Error)?.message ?? err))) {
      throw new NatsAuthError(url, options.creds, { cause: err });
    }
    if (err instanceof SyntaxError || err instanceof RangeError) throw err;
    throw new NatsUnreachableError(url, { cause: err });
  }
}
