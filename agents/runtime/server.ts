/**
 * The runtime agent's NATS front: serves every CRI method of a {@linkcode RuntimeBackend} on
 * `kl.node.<node>.cri.<Method>` and publishes its container events on `kl.node.<node>.cri.events`.
 * @module
 */
import type { Subscription } from "@nats-io/nats-core";
import type { z } from "zod";
import type { Bus } from "../../shared/bus/bus.ts";
import { CRI_METHODS, type CriMethod, subjects } from "../../shared/bus/subjects.ts";
import { CRI, criMethodName, type CriParsedRequest } from "../../shared/cri/api.ts";
import type { Logger } from "../../shared/log.ts";
import type { RuntimeBackend } from "./backend.ts";

/** Options for {@linkcode RuntimeServer}. */
export interface RuntimeServerOptions {
  bus: Bus;
  nodeName: string;
  backend: RuntimeBackend;
  log: Logger;
}

/** Serves a runtime backend on NATS until stopped. */
export class RuntimeServer {
  readonly #opts: RuntimeServerOptions;
  readonly #subs: Subscription[] = [];
  #unwatch?: () => void;

  constructor(options: RuntimeServerOptions) {
    this.#opts = options;
  }

  /** Subscribes to every CRI subject of the node and starts forwarding events. */
  async start(): Promise<void> {
    const { bus, nodeName, backend, log } = this.#opts;
    for (const method of CRI_METHODS) {
      this.#subs.push(bus.serve(
        subjects.cri(nodeName, method),
        CRI[method].request as unknown as z.ZodType<CriParsedRequest<CriMethod>>,
        (req) => this.#dispatch(method, req),
      ));
    }
    const eventSubject = subjects.criEvents(nodeName);
    this.#unwatch = backend.watchEvents((ev) => {
      log.debug("Container event", { type: ev.type, container: ev.containerId.slice(0, 13) });
      bus.publish(eventSubject, ev);
    });
    await bus.flush();
    log.info("Serving CRI", {
      subjects: subjects.cri(nodeName, "Version").replace(/Version$/, "*"),
    });
  }

  /** Stops serving (answering the requests already received) and releases the backend. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.#subs.splice(0).map((sub) => sub.drain()));
    this.#unwatch?.();
    await this.#opts.backend.close();
  }

  #dispatch(method: CriMethod, req: CriParsedRequest<CriMethod>): Promise<unknown> {
    const fn = this.#opts.backend[criMethodName(method)] as (r: unknown) => Promise<unknown>;
    return fn.call(this.#opts.backend, req);
  }
}
