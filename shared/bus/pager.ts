/**
 * Lists too large for one NATS message, in pages — the API server's `limit` and `continue`, for any
 * reply that holds its items in one field (`{ containers: [...] }`, `{ items: [...] }`, `{ pods: [...] }`).
 *
 * The answerer measures the list item by item and sends as many items as fit in one message (and no
 * more than `limit`); the rest of that same list waits under a `continue` token for the next request,
 * so every page comes from the one view taken when the first page was asked for. The asker follows the
 * tokens ({@linkcode readAllPages}) and gets the whole list. A list that is published rather than asked
 * for is cut into parts with {@linkcode splitPages}. An item too large for a message on its own is an
 * error naming the subject and the sizes: never dropped in silence.
 * @module
 */
import { z } from "zod";
import { apiError } from "../api/errors.ts";
import type { Clock } from "../clock.ts";
import { formatBytes, jsonBytes } from "./payload.ts";

/** The fields a request for a paged list adds: spread them into its schema. */
export const PAGE_REQUEST_FIELDS = {
  /** At most this many items in one reply (a reply is also cut to fit a message). */
  limit: z.number().int().min(1).optional(),
  /** The `continue` of the previous page: the next page of the same list. */
  continue: z.string().min(1).optional(),
};

/** The field a page of a paged list adds: spread it into the reply's schema. */
export const PAGE_REPLY_FIELDS = {
  /** Present when more items follow: pass it back as `continue` for the next page. */
  continue: z.string().optional(),
};

/** Room the fields a page adds take (`"continue":"<uuid>"`, `"remainingItemCount":N`). */
const PAGE_FIELDS_BYTES = 128;

/**
 * Where the page that starts at item `from` ends (exclusive): as many items as fit in `budget` bytes —
 * item `i` takes `sizes[i]`, plus one for the comma before it — and at most `limit`. Returns `from`
 * when the item at `from` alone is larger than the budget.
 */
export function pageEnd(
  sizes: readonly number[],
  from: number,
  budget: number,
  limit = Infinity,
): number {
  let bytes = 0;
  let i = from;
  for (; i < sizes.length && i - from < limit; i++) {
    const size = sizes[i] + (i > from ? 1 : 0);
    if (bytes + size > budget) break;
    bytes += size;
  }
  return i;
}

/** A list whose items are in field `K`. */
export type ListOf<K extends string> = { [P in K]: readonly unknown[] };

/** The error for an item that cannot travel in any page. */
function itemTooLarge(subject: string, index: number, bytes: number, budget: number): Error {
  return apiError(
    "InternalError",
    `Cannot send the reply on ${subject} in pages: item ${index} alone is ${formatBytes(bytes)}, ` +
      `more than the ${formatBytes(budget)} one message can carry`,
  );
}

/** A list measured for paging. */
interface Measured<L> {
  list: L;
  /** The JSON size of each item. */
  sizes: number[];
  /** The bytes a page can give its items. */
  budget: number;
}

function measure<K extends string, L extends ListOf<K>>(
  list: L,
  key: K,
  maxBytes: number,
): Measured<L> {
  const envelope = jsonBytes({ ...list, [key]: [] }) + PAGE_FIELDS_BYTES;
  // A copy of the item array: what the caller does to its own after this does not change the pages.
  const view = { ...list, [key]: [...list[key]] };
  return { list: view, sizes: view[key].map(jsonBytes), budget: maxBytes - envelope };
}

/** `list` with only the items from `from` to `to`. */
function slice<K extends string, L extends ListOf<K>>(
  list: L,
  key: K,
  from: number,
  to: number,
): L {
  return { ...list, [key]: list[key].slice(from, to) };
}

/**
 * `list` cut into parts of at most `maxBytes` each, every part the list with a run of its items (one
 * part, the list itself, when it fits). For a list that is published: nobody asks for a next page.
 */
export function splitPages<K extends string, L extends ListOf<K>>(
  list: L,
  key: K,
  maxBytes: number,
  subject: string,
): L[] {
  const { sizes, budget } = measure(list, key, maxBytes);
  const parts: L[] = [];
  for (let from = 0; from < sizes.length;) {
    const to = pageEnd(sizes, from, budget);
    if (to === from) throw itemTooLarge(subject, from, sizes[from], budget);
    parts.push(from === 0 && to === sizes.length ? list : slice(list, key, from, to));
    from = to;
  }
  return parts.length ? parts : [list];
}

/** One page of a list. */
export interface Page<L> {
  /** The list with only this page's items. */
  list: L;
  /** Present when more items follow: the token that asks for them. */
  continue?: string;
  /** How many items the pages after this one hold. */
  remainingItemCount?: number;
}

/** Options for {@linkcode ListPager}. */
export interface ListPagerOptions<K extends string> {
  /** The field that holds the items: `items`, `containers`, … */
  key: K;
  /** The subject the pages answer on, for errors. */
  subject: string;
  clock: Clock;
  /** The most bytes of JSON one page may take (`maxMessageBytes` of the connection). */
  maxBytes: () => number;
  /** How long the rest of a list waits for its next page. @default 60_000 */
  ttlMs?: number;
  /** Lists kept at most at once; the oldest goes first. @default 256 */
  maxLists?: number;
}

interface Remainder<L> extends Measured<L> {
  /** Index of the next item to send. */
  next: number;
  expires: number;
}

/** Cuts the lists answered on one subject into pages that each fit in a message. */
export class ListPager<K extends string, L extends ListOf<K>> {
  readonly #opts: ListPagerOptions<K>;
  readonly #remainders = new Map<string, Remainder<L>>();

  constructor(options: ListPagerOptions<K>) {
    this.#opts = options;
  }

  /** The first page of `list` (`list` itself when it fits and `limit` allows). */
  start(list: L, limit?: number): Page<L> {
    const { key, maxBytes } = this.#opts;
    return this.#page({ ...measure(list, key, maxBytes()), next: 0, expires: 0 }, limit);
  }

  /** The next page of the list that `token` continues; 410 Expired when it is unknown or too old. */
  resume(token: string, limit?: number): Page<L> {
    this.#expire(this.#opts.clock.now());
    const remainder = this.#remainders.get(token);
    if (!remainder) {
      throw apiError(
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. " +
          "You can start a new list without the continue parameter.",
      );
    }
    this.#remainders.delete(token);
    return this.#page(remainder, limit);
  }

  #page(remainder: Remainder<L>, limit?: number): Page<L> {
    const { key, subject, clock } = this.#opts;
    const { list, sizes, budget, next } = remainder;
    const end = pageEnd(sizes, next, budget, limit);
    if (end === next && next < sizes.length) {
      throw itemTooLarge(subject, next, sizes[next], budget);
    }
    if (next === 0 && end === sizes.length) return { list };
    const page = slice(list, key, next, end);
    if (end === sizes.length) return { list: page };
    const now = clock.now();
    this.#expire(now);
    const token = crypto.randomUUID();
    this.#remainders.set(token, {
      ...remainder,
      next: end,
      expires: now + (this.#opts.ttlMs ?? 60_000),
    });
    if (this.#remainders.size > (this.#opts.maxLists ?? 256)) {
      this.#remainders.delete(this.#remainders.keys().next().value!);
    }
    return { list: page, continue: token, remainingItemCount: sizes.length - end };
  }

  #expire(now: number): void {
    for (const [token, r] of this.#remainders) {
      if (r.expires <= now) this.#remainders.delete(token);
    }
  }
}

/**
 * A whole list from its pages: fetches the first page, then the next one while the last names a
 * `continue` token, and joins their items. The result has no `continue`.
 */
export async function readAllPages<K extends string, L extends ListOf<K> & { continue?: string }>(
  key: K,
  fetch: (token?: string) => Promise<L>,
): Promise<L> {
  const first = await fetch();
  const items = [...first[key]];
  for (let page = first; page.continue;) {
    page = await fetch(page.continue);
    for (const item of page[key]) items.push(item);
  }
  const { continue: _, ...whole } = first;
  return { ...whole, [key]: items } as unknown as L;
}
