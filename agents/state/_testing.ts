/**
 * Test scaffolding for the state service (private to its tests): a real nats-server with a temporary store,
 * the service in-process on its own connection, and a client on another — torn down with `await using`.
 * @module
 */
import { Bus } from "../../shared/bus/bus.ts";
import { ApiClient } from "../../shared/client/client.ts";
import { type Clock, ManualClock } from "../../shared/clock.ts";
import { Logger } from "../../shared/log.ts";
import { type NatsServer, startNatsServer } from "../../shared/nats_server.ts";
import { StateService, type StateServiceOptions } from "./service.ts";

/** The bearer token the HTTP door of a test service accepts (unless the test passes `service.http`). */
export const TEST_HTTP_TOKEN = "test-token-0123456789";

/** Options for {@linkcode startStateEnv}. */
export interface StateEnvOptions {
  /** @default a ManualClock at 2026-01-01T00:00:00Z */
  clock?: Clock;
  /** Passed to the service. */
  service?: Partial<
    Pick<
      StateServiceOptions,
      "watchMaxAgeMs" | "watchMaxMsgs" | "random" | "defaultTolerationSeconds" | "http"
    >
  >;
}

/** A nats-server, a state service and a client, for one test. */
export interface StateEnv extends AsyncDisposable {
  server: NatsServer;
  clock: Clock;
  /** The client's connection. */
  bus: Bus;
  client: ApiClient;
  /** The running service (replaced by {@linkcode restartService}). */
  service: StateService;
  /** Log lines of the service and the client. */
  lines: string[];
  log: Logger;
  /** Stops the service (and its connection) and starts a new instance on the same NATS. */
  restartService(): Promise<StateService>;
  /** Restarts nats-server on the same store and waits until the service answers again. */
  restartNats(): Promise<void>;
}

/** Starts everything; dispose it to stop and clean up. */
export async function startStateEnv(options: StateEnvOptions = {}): Promise<StateEnv> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-state-" });
  const server = await startNatsServer({ storeDir: dir });
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l) });
  const clock = options.clock ?? new ManualClock();
  const bus = await Bus.connect({ servers: server.url, name: "test-client", log });
  let serviceBus = await Bus.connect({ servers: server.url, name: "state", log });
  const start = (b: Bus) =>
    StateService.start({
      bus: b,
      clock,
      log,
      http: { tokens: [TEST_HTTP_TOKEN] },
      ...options.service,
    });
  const env: StateEnv = {
    server,
    clock,
    bus,
    client: new ApiClient(bus, { timeoutMs: 5_000 }),
    service: await start(serviceBus),
    lines,
    log,
    async restartService() {
      await env.service.stop();
      await serviceBus.drain();
      serviceBus = await Bus.connect({ servers: server.url, name: "state", log });
      env.service = await start(serviceBus);
      return env.service;
    },
    async restartNats() {
      await server.restart();
      // Short requests: one sent while disconnected would otherwise wait out the full timeout.
      const probe = new ApiClient(bus, { timeoutMs: 250 });
      await waitUntil(
        () => probe.list("namespaces").then(() => true, () => false),
        10_000,
        "state after restart",
      );
    },
    async [Symbol.asyncDispose]() {
      await env.service.stop();
      await serviceBus.drain();
      await bus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return env;
}

/** Polls `cond` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
