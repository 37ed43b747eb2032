/**
 * Pages of a list over NATS. A NATS message is at most `max_payload` (1 MiB by default) — a list of a few
 * thousand pods is more — so the NATS front door answers lists in pages, as the API server does with
 * `limit` and `continue`: the whole list is taken at one resourceVersion, the first page is sent, and the
 * rest is kept for a while under a continue token, so every page belongs to the same consistent list.
 * @module
 */
import { apiError } from "../../shared/api/errors.ts";
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

interface Remainder {
  list: ListReply;
  /** Index of the next item to send. */
  next: number;
  expires: number;
}

const encoder = new TextEncoder();

/** Cuts lists into pages that fit a NATS message. */
export class ListPager {
  readonly #opts: ListPagerOptions;
  readonly #remainders = new Map<string, Remainder>();

  constructor(opts: ListPagerOptions) {
    this.#opts = opts;
  }

  /**
   * The page asked for: the first page of `full()` when `req.continue` is absent, else the next page of
   * the list that token continues (410 Expired when it is unknown or too old).
   */
  page(req: ListRequest, full: () => ListReply): ListReply {
    const now = this.#opts.clock.now();
    this.#expire(now);
    let remainder: Remainder;
    if (req.continue) {
      const found = this.#remainders.get(req.continue);
      if (!found) {
        throw apiError(
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. " +
            "You can start a new list without the continue parameter.",
        );
      }
      this.#remainders.delete(req.continue);
      remainder = found;
    } else {
      remainder = { list: full(), next: 0, expires: 0 };
    }
    const { list } = remainder;
    const budget = this.#opts.maxBytes() - envelopeBytes(list);
    const items: unknown[] = [];
    let bytes = 0;
    let i = remainder.next;
    for (; i < list.items.length; i++) {
      if (req.limit !== undefined && items.length >= req.limit) break;
      const size = encoder.encode(JSON.stringify(list.items[i])).length + 1;
      if (items.length > 0 && bytes + size > budget) break;
      if (size > budget) {
        throw apiError(
          "InternalError",
          `An object of ${size} bytes does not fit in a NATS message`,
        );
      }
      items.push(list.items[i]);
      bytes += size;
    }
    const metadata: ListReply["metadata"] = { resourceVersion: list.metadata.resourceVersion };
    if (i < list.items.length) {
      const token = crypto.randomUUID();
      this.#remainders.set(token, {
        list,
        next: i,
        expires: now + (this.#opts.ttlMs ?? 60_000),
      });
      if (this.#remainders.size > (this.#opts.maxLists ?? 256)) {
        this.#remainders.delete(this.#remainders.keys().next().value!);
      }
      metadata.continue = token;
      metadata.remainingItemCount = list.items.length - i;
    }
    return { ...list, metadata, items };
  }

  #expire(now: number): void {
    for (const [token, r] of this.#remainders) {
      if (r.expires <= now) this.#remainders.delete(token);
    }
  }
}

/** The bytes of a list without its items. */
function envelopeBytes(list: ListReply): number {
  return encoder.encode(JSON.stringify({ ...list, items: [] })).length + 1024;
}
