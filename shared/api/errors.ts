/**
 * Kubernetes `Status` objects and the error that carries one. Every failure the state service reports —
 * NotFound, AlreadyExists, Conflict, Invalid, BadRequest — travels as a Status with its HTTP code and reason,
 * over NATS and over HTTP alike.
 * @module
 */
import { z } from "zod";

/** metav1.StatusReason values kubelab uses. */
export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "MethodNotAllowed"
  | "Gone"
  | "Expired"
  | "Forbidden"
  | "Unauthorized"
  | "RequestEntityTooLarge"
  | "UnsupportedMediaType"
  | "Timeout"
  | "ServiceUnavailable"
  | "InternalError";

/** metav1.StatusCause: one field error. */
export const StatusCause = z.looseObject({
  reason: z.string().optional(),
  message: z.string().optional(),
  field: z.string().optional(),
});
export type StatusCause = z.infer<typeof StatusCause>;

/** metav1.Status, the body of every failed API call. */
export const Status = z.looseObject({
  kind: z.literal("Status"),
  apiVersion: z.literal("v1"),
  metadata: z.looseObject({}).optional(),
  status: z.enum(["Success", "Failure"]),
  message: z.string().optional(),
  reason: z.string().optional(),
  details: z.looseObject({
    name: z.string().optional(),
    group: z.string().optional(),
    kind: z.string().optional(),
    uid: z.string().optional(),
    causes: z.array(StatusCause).optional(),
  }).optional(),
  code: z.number().int(), // int32 in metav1.Status; set by the server, never by a user
});
export type Status = z.infer<typeof Status>;

const CODES: Record<StatusReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  MethodNotAllowed: 405,
  Gone: 410,
  Expired: 410,
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Timeout: 504,
  ServiceUnavailable: 503,
  InternalError: 500,
};

/** An API failure that carries a Kubernetes Status. */
export class ApiError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message ?? status.reason ?? "API error");
    this.name = "ApiError";
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? "";
  }
}

/** Builds the ApiError for `reason`. */
export function apiError(
  reason: StatusReason,
  message: string,
  details?: Status["details"],
): ApiError {
  return new ApiError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    details,
    code: CODES[reason],
  });
}

/** `pods "web-1" not found` */
export function notFound(resource: string, name: string): ApiError {
  return apiError("NotFound", `${resource} "${name}" not found`, { name, kind: resource });
}

/** `pods "web-1" already exists` */
export function alreadyExists(resource: string, name: string): ApiError {
  return apiError("AlreadyExists", `${resource} "${name}" already exists`, {
    name,
    kind: resource,
  });
}

/** The API server's optimistic-concurrency message. */
export function conflict(resource: string, name: string): ApiError {
  return apiError(
    "Conflict",
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; ` +
      `please apply your changes to the latest version and try again`,
    { name, kind: resource },
  );
}

/** One field error, as field.Error prints: `spec.containers[0].name: Required value`. */
export interface FieldError {
  /** `spec.containers[0].name` */
  field: string;
  /** `FieldValueRequired`, `FieldValueInvalid`, … */
  type: string;
  /** `Required value`, `Invalid value: "Web": a lowercase RFC 1123 …` */
  detail: string;
}

/** Formats a field error as Kubernetes does. */
export function formatFieldError(e: FieldError): string {
  return e.field ? `${e.field}: ${e.detail}` : e.detail;
}

/** The 422 Invalid error listing every field error. */
export function invalid(kind: string, name: string, errors: FieldError[]): ApiError {
  const list = errors.map(formatFieldError);
  const body = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
  return apiError("Invalid", `${kind} "${name}" is invalid: ${body}`, {
    name,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}
