/**
 * The one wrapper around a NATS connection that every agent and the CLI use: typed publish, subscribe and
 * request/reply with zod validation at the edge, a trace id in headers, clear errors for timeouts,
 * missing responders and messages larger than the server takes, and reconnects that never give up.
 * @module
 */
import {
  headers as natsHeaders,
  jwtAuthenticator,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  type Subscription,
  TimeoutError,
} from "@nats-io/nats-core";
import { NatsConnectionImpl, setTransportFactory } from "@nats-io/nats-core/internal";
import type { z } from "zod";
import { ApiError, apiError, Status } from "../api/errors.ts";
import { parseCreds } from "../auth/jwt.ts";
import { DEFAULT_IDENTITY, inboxPrefix, parseIdentity } from "../auth/identity.ts";
import type { Logger } from "../log.ts";
import { formatBytes, maxPayload } from "./payload.ts";
import { STATUS_HEADER, TRACE_HEADER } from "./subjects.ts";
import { DenoTransport } from "./transport.ts";

// Every connection of this process speaks NATS over Deno's own TCP (./transport.ts).
setTransportFactory({ factory: () => new DenoTransport(), defaultPort: 4222 });

/** What a handler learns about the message it got. */
export interface MsgContext {
  subject: string;
  /** The trace id of the chain this message belongs to. */
  traceId: string;
  headers?: MsgHdrs;
}

/** Options for {@linkcode Bus.connect}. */
export interface BusOptions {
  /** NATS URL(s). @default "nats://127.0.0.1:4222" */
  servers?: string | string[];
  /** Connection name shown in the server's monitoring (`connz`). */
  name: string;
  log: Logger;
  /**
   * NATS credentials (the text of a `.creds` file, shared/auth/jwt.ts): who this connection is and
   * what the server lets it publish and subscribe. @default none (a NATS without authentication)
   */
  creds?: string;
  /**
   * The identity (shared/auth/identity.ts) when there are no credentials: a NATS without
   * authentication, in tests. @default the credentials' identity, else "admin"
   */
  identity?: string;
  /** Give up connecting for the first time after this long; -1 waits forever. @default -1 */
  connectTimeoutMs?: number;
  /** Keep trying until the first connect succeeds. @default true */
  waitOnFirstConnect?: boolean;
}

/** Why a request failed without an answer. */
export type BusErrorKind = "timeout" | "no-responders" | "invalid-reply" | "closed" | "too-large";

/** A request that got no usable answer. */
export class BusError extends Error {
  readonly kind: BusErrorKind;
  readonly subject: string;
  constructor(kind: BusErrorKind, subject: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusError";
    this.kind = kind;
    this.subject = subject;
  }
}

/** One verb of {@linkcode Bus.serveVerbs}: how its request is validated and what answers it. */
export interface VerbHandler {
  // deno-lint-ignore no-explicit-any
  schema: z.ZodType<any>;
  // deno-lint-ignore no-explicit-any
  handler: (data: any, ctx: MsgContext) => unknown | Promise<unknown>;
}

/** Options for publishing. */
export interface PublishOptions {
  traceId?: string;
}

/** Options for requests. */
export interface RequestOptions {
  traceId?: string;
  /** @default 5000 */
  timeoutMs?: number;
}

/** Options for subscriptions. */
export interface SubscribeOptions {
  /** Queue group: one member gets each message. */
  queue?: string;
  /** Handle messages concurrently instead of one after another. @default false */
  concurrent?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fresh trace id. */
export function newTraceId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 16);
}

/** The bus: one NATS connection, typed. Close it with `drain()` or `await using`. */
export class Bus implements AsyncDisposable {
  readonly nc: NatsConnection;
  readonly log: Logger;
  /** Who this connection is (`kubelet@node-1`): API requests carry it, NATS permits by it. */
  readonly identity: string;
  readonly #subs = new Set<Subscription>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #onReconnect = new Set<() => void>();
  readonly #onSlowConsumer = new Map<Subscription, () => void>();
  #connected = true;

  constructor(nc: NatsConnection, log: Logger, identity: string = DEFAULT_IDENTITY) {
    this.nc = nc;
    this.log = log;
    this.identity = identity;
    this.#watchStatus();
  }

  /**
   * Connects with kubelab's client defaults: reconnect forever, wait for the first connect. With
   * credentials, the connection authenticates as their identity and its replies come to that
   * identity's own inbox (`_INBOX_kubelet@node-1.…`), which no other agent may read. Throws a
   * SyntaxError for unreadable credentials, a RangeError for an unknown identity.
   */
  static async connect(options: BusOptions): Promise<Bus> {
    const servers = options.servers ?? "nats://127.0.0.1:4222";
    const creds = options.creds ? parseCreds(options.creds) : undefined;
    const identity = creds?.identity ?? options.identity ?? DEFAULT_IDENTITY;
    parseIdentity(identity);
    const nc = await NatsConnectionImpl.connect({
      servers,
      name: options.name,
      inboxPrefix: inboxPrefix(identity),
      authenticator: creds
        ? jwtAuthenticator(creds.jwt, new TextEncoder().encode(creds.seed))
        : undefined,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      waitOnFirstConnect: options.waitOnFirstConnect ?? true,
      timeout: options.connectTimeoutMs && options.connectTimeoutMs > 0
        ? options.connectTimeoutMs
        : undefined,
      pingInterval: 10_000,
    });
    return new Bus(nc, options.log.with({ conn: options.name }), identity);
  }

  /**
   * Calls `fn` after each reconnect: whatever was published while the connection was down (container
   * events, say) was lost, and a listener can catch up. Returns the function that removes it.
   */
  onReconnect(fn: () => void): () => void {
    this.#onReconnect.add(fn);
    return () => this.#onReconnect.delete(fn);
  }

  /**
   * Calls `fn` when the server reports `sub` too slow (and drops its messages). Returns the function
   * that removes it.
   */
  onSlowConsumer(sub: Subscription, fn: () => void): () => void {
    this.#onSlowConsumer.set(sub, fn);
    return () => this.#onSlowConsumer.delete(sub);
  }

  /** Whether the connection is up now (false between a disconnect and the reconnect). */
  get connected(): boolean {
    return this.#connected && !this.nc.isClosed();
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.#connected = false;
          this.log.warn("Disconnected from NATS", { server: s.server });
          break;
        case "reconnect":
          this.#connected = true;
          this.log.info("Reconnected to NATS", { server: s.server });
          for (const fn of this.#onReconnect) {
            try {
              fn();
            } catch (err) {
              this.log.error("Reconnect listener failed", { error: err });
            }
          }
          break;
        case "error":
          this.log.error("NATS error", { error: s.error });
          break;
        case "slowConsumer":
          this.log.warn("Slow consumer", { subject: s.sub.getSubject() });
          this.#onSlowConsumer.get(s.sub)?.();
          break;
      }
    }
  }

  /**
   * Publishes `data` as JSON. Throws a RangeError naming the subject and the sizes when it is larger
   * than the server takes (max_payload).
   */
  publish(subject: string, data: unknown, opts: PublishOptions = {}): void {
    const h = natsHeaders();
    h.set(TRACE_HEADER, opts.traceId ?? newTraceId());
    const payload = encode(data);
    try {
      this.nc.publish(subject, payload, { headers: h });
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      throw new RangeError(tooLargeMessage("Message", subject, payload.length, this.nc), {
        cause: err,
      });
    }
  }

  /**
   * Subscribes with validation at the edge: a payload that is not JSON or fails `schema` is logged with
   * its subject and dropped; the handler only ever sees valid data.
   */
  subscribe<T>(
    subject: string,
    schema: z.ZodType<T>,
    handler: (data: T, ctx: MsgContext) => void | Promise<void>,
    opts: SubscribeOptions = {},
  ): Subscription {
    const sub = this.nc.subscribe(subject, { queue: opts.queue });
    this.#subs.add(sub);
    const loop = async () => {
      for await (const msg of sub) {
        const parsed = this.#parse(msg, schema);
        if (!parsed.ok) continue;
        const run = this.#runHandler(() => handler(parsed.data, parsed.ctx), msg.subject);
        if (!opts.concurrent) await run;
      }
    };
    this.#track(loop().finally(() => this.#subs.delete(sub)));
    return sub;
  }

  /**
   * Answers requests on `subject`. The request is validated with `schema`; the handler's result is the
   * reply. A thrown {@linkcode ApiError} travels as its Status; any other error as InternalError; an
   * invalid request as BadRequest. Requests are handled concurrently.
   */
  serve<T>(
    subject: string,
    schema: z.ZodType<T>,
    handler: (data: T, ctx: MsgContext) => unknown | Promise<unknown>,
    opts: { queue?: string } = {},
  ): Subscription {
    return this.#serve(subject, () => ({ schema, handler }), opts);
  }

  /**
   * Answers requests on `prefix.*` with one subscription, dispatching on the last token: the verbs of a
   * node's runtime or kubelet (`kl.node.node-1.cri.*`), so that a process hosting a thousand nodes holds
   * a thousand subscriptions, not twenty thousand. A message for a verb not in `verbs` that asks for an
   * answer gets 404; one that does not (the runtime's own published events) is ignored.
   */
  serveVerbs(
    subject: string,
    verbs: Record<string, VerbHandler>,
    opts: { queue?: string } = {},
  ): Subscription {
    return this.#serve(
      subject,
      (msg) => verbs[msg.subject.slice(msg.subject.lastIndexOf(".") + 1)],
      opts,
    );
  }

  #serve(
    subject: string,
    route: (msg: Msg) => VerbHandler | undefined,
    opts: { queue?: string },
  ): Subscription {
    const sub = this.nc.subscribe(subject, { queue: opts.queue });
    this.#subs.add(sub);
    const loop = async () => {
      for await (const msg of sub) {
        const verb = route(msg);
        if (!verb) {
          const traceId = msg.headers?.get(TRACE_HEADER) || newTraceId();
          this.#replyError(msg, apiError("NotFound", `Nothing answers ${msg.subject}`), traceId);
          continue;
        }
        const parsed = this.#parse(msg, verb.schema);
        if (!parsed.ok) {
          this.#replyError(msg, apiError("BadRequest", parsed.error), parsed.traceId);
          continue;
        }
        this.#track((async () => {
          try {
            const result = await verb.handler(parsed.data, parsed.ctx);
            this.#reply(msg, result, parsed.ctx.traceId);
          } catch (err) {
            const apiErr = err instanceof ApiError ? err : apiError(
              "InternalError",
              `Internal error serving ${msg.subject}: ${
                err instanceof Error ? err.message : String(err)
              }`,
            );
            if (!(err instanceof ApiError)) {
              this.log.error("Handler failed", { subject: msg.subject, error: err });
            }
            this.#replyError(msg, apiErr, parsed.ctx.traceId);
          }
        })());
      }
    };
    this.#track(loop().finally(() => this.#subs.delete(sub)));
    return sub;
  }

  /**
   * Sends a request and validates the reply with `schema`. A reply carrying a Status throws
   * {@linkcode ApiError}; no answer throws {@linkcode BusError}.
   */
  async request<T>(
    subject: string,
    data: unknown,
    schema: z.ZodType<T>,
    opts: RequestOptions = {},
  ): Promise<T> {
    const timeout = opts.timeoutMs ?? 5000;
    const h = natsHeaders();
    h.set(TRACE_HEADER, opts.traceId ?? newTraceId());
    const payload = encode(data);
    let msg: Msg;
    try {
      msg = await this.nc.request(subject, payload, { timeout, headers: h });
    } catch (err) {
      if (isTooLarge(err)) {
        const message = tooLargeMessage("Request", subject, payload.length, this.nc);
        throw new BusError("too-large", subject, message, { cause: err });
      }
      throw toBusError(err, subject, timeout);
    }
    let body: unknown;
    try {
      body = msg.data.length ? JSON.parse(decoder.decode(msg.data)) : undefined;
    } catch {
      throw new BusError("invalid-reply", subject, `Reply on ${subject} is not JSON`);
    }
    if (msg.headers?.get(STATUS_HEADER)) {
      const status = Status.safeParse(body);
      if (status.success) throw new ApiError(status.data);
      throw new BusError("invalid-reply", subject, `Malformed error reply on ${subject}`);
    }
    const result = schema.safeParse(body);
    if (!result.success) {
      throw new BusError(
        "invalid-reply",
        subject,
        `Reply on ${subject} failed validation: ${summarizeIssues(result.error)}`,
      );
    }
    return result.data;
  }

  /** Waits for every message sent so far to reach the server. */
  flush(): Promise<void> {
    return this.nc.flush();
  }

  /** Stops subscriptions, lets in-flight handlers finish, flushes and closes. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    for (const sub of this.#subs) sub.unsubscribe();
    await Promise.allSettled([...this.#inflight]);
    if (!this.nc.isClosed() && !this.nc.isDraining()) {
      await this.nc.drain().catch(() => this.nc.close());
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.drain();
  }

  #parse<T>(
    msg: Msg,
    schema: z.ZodType<T>,
  ):
    | { ok: true; data: T; ctx: MsgContext }
    | { ok: false; error: string; traceId: string } {
    const traceId = msg.headers?.get(TRACE_HEADER) || newTraceId();
    let raw: unknown;
    try {
      raw = msg.data.length ? JSON.parse(decoder.decode(msg.data)) : undefined;
    } catch (err) {
      const error = `Malformed message on ${msg.subject}: not JSON (${(err as Error).message})`;
      this.log.warn("Dropped malformed message", { subject: msg.subject, error, traceId });
      return { ok: false, error, traceId };
    }
    const result = schema.safeParse(raw);
    if (!result.success) {
      const error = `Invalid message on ${msg.subject}: ${summarizeIssues(result.error)}`;
      this.log.warn("Dropped invalid message", { subject: msg.subject, error, traceId });
      return { ok: false, error, traceId };
    }
    return {
      ok: true,
      data: result.data,
      ctx: { subject: msg.subject, traceId, headers: msg.headers },
    };
  }

  async #runHandler(fn: () => void | Promise<void>, subject: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error("Handler failed", { subject, error: err });
    }
  }

  #reply(msg: Msg, result: unknown, traceId: string): void {
    if (!msg.reply) return;
    const h = natsHeaders();
    h.set(TRACE_HEADER, traceId);
    const payload = encode(result ?? null);
    try {
      msg.respond(payload, { headers: h });
    } catch (err) {
      const message = isTooLarge(err)
        ? tooLargeMessage("Reply", msg.subject, payload.length, this.nc)
        : `Reply on ${msg.subject} failed: ${(err as Error).message}`;
      this.log.error("Reply failed", { subject: msg.subject, error: message });
      this.#replyError(msg, apiError("InternalError", message), traceId);
    }
  }

  #replyError(msg: Msg, err: ApiError, traceId: string): void {
    if (!msg.reply) return;
    const h = natsHeaders();
    h.set(TRACE_HEADER, traceId);
    h.set(STATUS_HEADER, String(err.code));
    msg.respond(encode(err.status), { headers: h });
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    p.finally(() => this.#inflight.delete(p));
  }
}

/** JSON-encodes a payload. */
export function encode(data: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(data ?? null));
}

/** Decodes a JSON payload. */
export function decode(data: Uint8Array): unknown {
  return JSON.parse(decoder.decode(data));
}

/** `spec.containers[0].name: Required; kind: Invalid input` from a zod error. */
export function summarizeIssues(error: z.ZodError): string {
  return error.issues.slice(0, 5).map((i) => {
    const path = i.path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("")
      .replace(/^\./, "");
    return `${path || "(root)"}: ${i.message}`;
  }).join("; ") + (error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "");
}

/** Whether the client refused a message for being larger than the server's max_payload. */
function isTooLarge(err: unknown): boolean {
  return err instanceof Error && /max_payload/.test(err.message);
}

/** `Reply on kl.node.n1.cri.ListImages is 2,000,000 bytes, more than the 1,048,576 bytes …`. */
function tooLargeMessage(
  what: string,
  subject: string,
  bytes: number,
  nc: NatsConnection,
): string {
  return `${what} on ${subject} is ${formatBytes(bytes)}, more than the ${
    formatBytes(maxPayload(nc))
  } the server takes in one message (max_payload, headers included)`;
}

function toBusError(err: unknown, subject: string, timeout: number): Error {
  const cause = err instanceof RequestError ? err.cause ?? err : err;
  if (
    cause instanceof NoRespondersError ||
    (err instanceof RequestError && err.isNoResponders())
  ) {
    return new BusError(
      "no-responders",
      subject,
      `No responder on ${subject}: the agent that serves it is not running or not connected`,
      { cause: err },
    );
  }
  if (cause instanceof TimeoutError || err instanceof TimeoutError) {
    return new BusError(
      "timeout",
      subject,
      `Request on ${subject} timed out after ${timeout} ms`,
      { cause: err },
    );
  }
  if (err instanceof Error && /closed/i.test(err.message)) {
    return new BusError("closed", subject, `Connection closed: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
