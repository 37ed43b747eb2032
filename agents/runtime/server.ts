/**
 * The runtime agent's NATS front: serves every CRI method of a {@linkcode RuntimeBackend} on
 * `kl.node.<node>.cri.<Method>` and publishes its container events on `kl.node.<node>.cri.events`.
 * The list methods answer in pages that each fit in a NATS message (shared/bus/pager.ts): however many
 * containers a node holds, its lists still reach the kubelet. Logs and exec output are bounded to one
 * message too (reply_bounds.ts).
 * @module
 */
import type { Subscription } from "@nats-io/nats-core";
import type { z } from "zod";
import type { Bus } from "../../shared/bus/bus.ts";
import { type ListOf, ListPager } from "../../shared/bus/pager.ts";
import { maxMessageBytes } from "../../shared/bus/payload.ts";
import { CRI_METHODS, type CriMethod, subjects } from "../../shared/bus/subjects.ts";
import type { Clock } from "../../shared/clock.ts";
import {
  CRI,
  criListItems,
  criMethodName,
  type CriParsedRequest,
  type CriReply,
} from "../../shared/cri/api.ts";
import type { Logger } from "../../shared/log.ts";
import type { RuntimeBackend } from "./backend.ts";
import { boundReply, boundRequest } from "./reply_bounds.ts";

/** Options for {@linkcode RuntimeServer}. */
export interface RuntimeServerOptions {
  bus: Bus;
  nodeName: string;
  backend: RuntimeBackend;
  /** How long the rest of a paged list is kept is counted on it. */
  clock: Clock;
  log: Logger;
}

type Pager = ListPager<string, ListOf<string>>;

/** Serves a runtime backend on NATS until stopped. */
export class RuntimeServer {
  readonly #opts: RuntimeServerOptions;
  readonly #subs: Subscription[] = [];
  /** One pager per list method. */
  readonly #pagers = new Map<CriMethod, Pager>();
  #unwatch?: () => void;

  constructor(options: RuntimeServerOptions) {
    this.#opts = options;
    const { bus, nodeName, clock } = options;
    for (const method of CRI_METHODS) {
      const key = criListItems(method);
      if (!key) continue;
      this.#pagers.set(
        method,
        new ListPager({
          key,
          subject: subjects.cri(nodeName, method),
          clock,
          maxBytes: () => maxMessageBytes(bus.nc),
        }),
      );
    }
  }

  /** Subscribes to every CRI subject of the node and starts forwarding events. */
  async start(): Promise<void> {
    const { bus, nodeName, backend, log } = this.#opts;
    // One subscription for every method (`kl.node.<node>.cri.*`): a pool of a thousand runtimes
    // holds a thousand, not twenty thousand.
    const verbs = Object.fromEntries(CRI_METHODS.map((method) => [method, {
      schema: CRI[method].request as unknown as z.ZodType<CriParsedRequest<CriMethod>>,
      handler: (req: CriParsedRequest<CriMethod>) => this.#dispatch(method, req),
    }]));
    this.#subs.push(bus.serveVerbs(subjects.criAll(nodeName), verbs));
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

  /**
   * Calls the backend, keeping the reply within one message. For a list: the first page of what the
   * backend answers, or — given a `continue` token — the next page of a list answered earlier,
   * without asking the backend again.
   */
  async #dispatch(method: CriMethod, req: CriParsedRequest<CriMethod>): Promise<unknown> {
    const { backend, bus } = this.#opts;
    const fn = backend[criMethodName(method)] as (r: unknown) => Promise<CriReply<CriMethod>>;
    const maxBytes = maxMessageBytes(bus.nc);
    const pager = this.#pagers.get(method);
    if (!pager) {
      const reply = await fn.call(backend, boundRequest(method, req, maxBytes));
      return boundReply(method, reply, maxBytes);
    }
    const { limit, continue: token } = req as { limit?: number; continue?: string };
    const page = token
      ? pager.resume(token, limit)
      : pager.start(await fn.call(backend, req) as unknown as ListOf<string>, limit);
    return page.continue ? { ...page.list, continue: page.continue } : page.list;
  }
}
