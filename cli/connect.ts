/**
 * Connecting the CLI to the lab's NATS. Unlike the agents, which wait for NATS forever, a command gives up
 * on the first connect quickly and says what to do.
 * @module
 */
import { connect } from "@nats-io/transport-node";
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

/** Options for {@linkcode connectBus}. */
export interface ConnectBusOptions {
  log: Logger;
  /** Give up the first connect after this long. @default 2000 */
  timeoutMs?: number;
}

/**
 * Connects to `url` (one URL or several, comma-separated). Once connected it reconnects like any agent,
 * so a long `get -w` or `tap` survives a NATS restart. Throws {@linkcode NatsUnreachableError}.
 */
export async function connectBus(url: string, options: ConnectBusOptions): Promise<Bus> {
  try {
    const nc = await connect({
      servers: url.split(",").map((s) => s.trim()).filter(Boolean),
      name: "kubelab-cli",
      timeout: options.timeoutMs ?? 2000,
      waitOnFirstConnect: false,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    return new Bus(nc, options.log);
  } catch (err) {
    throw new NatsUnreachableError(url, { cause: err });
  }
}
