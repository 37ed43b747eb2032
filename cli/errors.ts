/**
 * Errors as the CLI prints them, in kubectl's words where kubectl has some: `Error from server (NotFound):
 * pods "x" not found`, `The Pod "web" is invalid: …`, `error: unknown flag: --foo`.
 * @module
 */
import { ApiError } from "../shared/api/errors.ts";
import { BusError } from "../shared/bus/bus.ts";
import { UsageError } from "./args.ts";
import { NatsUnreachableError } from "./connect.ts";

/** kubectl's line for a failed API call. */
export function formatApiError(err: ApiError): string {
  // kubectl: "The Pod "web" is invalid: spec.containers[0].image: Required value"
  if (err.reason === "Invalid") return `The ${err.message}`;
  return `Error from server (${err.reason || err.code}): ${err.message}`;
}

/** Why a request got no answer, naming the agent that should have given one. */
export function formatBusError(err: BusError): string {
  const api = err.subject.startsWith("kl.api.");
  switch (err.kind) {
    case "no-responders":
      return api
        ? `The state service is not running (no responder on ${err.subject})`
        : `Nothing answers on ${err.subject}: the agent that serves it is not running`;
    case "timeout":
      return api ? `The state service did not answer in time: ${err.message}` : err.message;
    default:
      return `error: ${err.message}`;
  }
}

/** The line printed for an error that ends a command. */
export function formatError(err: unknown): string {
  if (err instanceof ApiError) return formatApiError(err);
  if (err instanceof BusError) return formatBusError(err);
  if (err instanceof NatsUnreachableError) return err.message;
  if (err instanceof UsageError) return `error: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** Whether the state service answered 404 NotFound. */
export function isNotFound(err: unknown): err is ApiError {
  return err instanceof ApiError && err.reason === "NotFound";
}

/** Whether an error means the lab cannot be talked to at all (so trying further objects is pointless). */
export function isConnectionError(err: unknown): boolean {
  return err instanceof BusError || err instanceof NatsUnreachableError;
}
