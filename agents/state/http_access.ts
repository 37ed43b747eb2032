/**
 * Who may use the HTTP door, decided before anything else looks at a request: its Host must be an IP
 * address, `localhost` or an allowed name (a DNS-rebinding defence); a browser's cross-origin request
 * and CORS pre-flight are refused (kubectl and client libraries send no `Origin`); and outside the open
 * paths a bearer token must match one configured — else 401, as kube-apiserver answers a request no
 * authenticator accepts. Pure functions over the request; {@linkcode checkAccess} runs them in order.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type ApiError, apiError } from "../../shared/api/errors.ts";

/** Options for {@linkcode checkAccess}. */
export interface HttpAccessOptions {
  /** Bearer tokens accepted. @default none: only the {@linkcode OPEN_PATHS} answer */
  tokens?: readonly string[];
  /** Host names a request may address besides IP addresses and `localhost` (`state` in compose). @default [] */
  allowedHosts?: readonly string[];
}

/**
 * Paths served without a token: what kube-apiserver's `system:public-info-viewer` role grants to
 * `system:unauthenticated` (`/healthz`, `/livez`, `/readyz`, `/version`).
 */
export const OPEN_PATHS: ReadonlySet<string> = new Set([
  "/healthz",
  "/livez",
  "/readyz",
  "/version",
]);

/** Why a request without a configured token is refused: how to configure one. */
export const NO_TOKEN_MESSAGE = "Unauthorized: the state service has no token for its HTTP API; " +
  "set KUBELAB_HTTP_TOKEN_FILE to a file holding one (docs/security.md)";

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Whether `hostname` (as `URL.hostname` gives it: lower case, IPv6 in brackets, no port) may be
 * addressed: an IP literal, `localhost`, or one of `allowed`. A browser tricked by DNS rebinding sends
 * the attacker's name, which is none of these.
 */
export function isAllowedHost(hostname: string, allowed: readonly string[] = []): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (IPV4.test(name) || (name.startsWith("[") && name.endsWith("]"))) return true;
  return name === "localhost" || allowed.some((a) => a.toLowerCase() === name);
}

/**
 * Why a request is cross-origin, or undefined when it is not: a CORS pre-flight (OPTIONS with
 * `Access-Control-Request-Method`) always is; else an `Origin` whose host and port differ from the
 * request's. `host` is the request URL's `host` (name and port, default port omitted).
 */
export function crossOrigin(
  method: string,
  headers: Headers,
  host: string,
): string | undefined {
  const origin = headers.get("origin");
  if (method === "OPTIONS" && headers.has("access-control-request-method")) {
    return `a CORS pre-flight from ${JSON.stringify(origin ?? "")} is not allowed`;
  }
  if (origin === null) return undefined;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host;
  } catch { /* "null" or garbage: no host, so cross-origin */ }
  return originHost === host
    ? undefined
    : `a cross-origin request from ${JSON.stringify(origin)} to ${
      JSON.stringify(host)
    } is not allowed`;
}

/**
 * The token of an `Authorization: Bearer <token>` header, read as kube-apiserver's bearer token
 * authenticator does (scheme case-insensitive, the token is the second space-separated part).
 */
export function bearerToken(authorization: string | null): string | undefined {
  const parts = (authorization ?? "").trim().split(" ");
  if (parts.length < 2 || parts[0].toLowerCase() !== "bearer" || parts[1] === "") return undefined;
  return parts[1];
}

/**
 * Whether `token` is one of `tokens`, in time that does not depend on where they differ: both sides are
 * hashed to the same length and compared with `timingSafeEqual`, and every token is compared.
 */
export function tokenMatches(token: string, tokens: readonly string[]): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const given = digest(token);
  let found = false;
  for (const t of tokens) found = timingSafeEqual(given, digest(t)) || found;
  return found;
}

/**
 * The error refusing `req`, or undefined when it may go on: 403 for a host not allowed or a
 * cross-origin request (on every path), then 401 outside the open paths without a valid token.
 * `path` is the URL path without a trailing slash.
 */
export function checkAccess(
  req: Request,
  url: URL,
  path: string,
  opts: HttpAccessOptions,
): ApiError | undefined {
  if (!isAllowedHost(url.hostname, opts.allowedHosts)) {
    return apiError(
      "Forbidden",
      `forbidden: host ${JSON.stringify(url.hostname)} is not allowed: address the API by IP ` +
        "address, localhost, or a name in KUBELAB_HTTP_HOSTS",
    );
  }
  const cross = crossOrigin(req.method.toUpperCase(), req.headers, url.host);
  if (cross) return apiError("Forbidden", `forbidden: ${cross}`);
  if (OPEN_PATHS.has(path)) return undefined;
  const tokens = opts.tokens ?? [];
  if (tokens.length === 0) return apiError("Unauthorized", NO_TOKEN_MESSAGE);
  const token = bearerToken(req.headers.get("authorization"));
  return token !== undefined && tokenMatches(token, tokens)
    ? undefined
    : apiError("Unauthorized", "Unauthorized");
}
