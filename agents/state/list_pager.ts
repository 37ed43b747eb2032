/**
 * Pages of a list over NATS. A NATS message is at most `max_payload` (1 MiB by default) — a list of a few
 * thousand pods is more — so the NATS front door answers lists in pages, as the API server does with
 * `limit` and `continue`: the whole list is taken at one resourceVersion, the first page is sent, and the
 * rest is kept for a while under a continue token, so every page belongs to the same consistent list.
 * The cutting is the bus's pager (shared/bus/pager.ts); this puts its token in `metadata.continue`.
 * @module
 */
import { ListPager as Pager } from "../../shared/bus/pager.ts";
import type { Clock } from "../../shared/clock.ts";
import type { ListReply, ListRequest } from "../../shared/client/protocol.ts";

/** Options for {@linkcode ListPager}. */
export interface ListPagerOptions {
  clock: Clock;
  /** The largest reply allowed, in bytes (the server's max_payload less room for headers). */
  maxBytes: () => number;
  /** How long the rest of a list waits for its next page. @default 60_000 */
  ttlMs?: number;
  /** Lists kept at most at once; the oldest goes first. @default 256 */
  maxLists?: number;
}

/** Cuts lists into pages that fit a NATS message. */
export class ListPager {
  readonly #pager: Pager<"items", ListReply>;

  constructor(opts: ListPagerOptions) {
    this.#pager = new Pager({ ...opts, key: "items", subject: "kl.api.<resource>.list" });
  }

  /**
   * The page asked for: the first page of `full()` when `req.continue` is absent, else the next page of
   * the list that token continues (410 Expired when it is unknown or too old).
   */
  page(req: ListRequest, full: () => ListReply): ListReply {
    const page = req.continue
      ? this.#pager.resume(req.continue, req.limit)
      : this.#pager.start(full(), req.limit);
    const metadata: ListReply["metadata"] = {
      resourceVersion: page.list.metadata.resourceVersion,
      ...(page.continue
        ? { continue: page.continue, remainingItemCount: page.remainingItemCount }
        : {}),
    };
    return { ...page.list, metadata };
  }
}
