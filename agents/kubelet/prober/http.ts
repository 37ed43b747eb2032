/**
 * The network side of probes and hooks, as the kubelet's HTTP and TCP probers (pkg/probe/http,
 * pkg/probe/tcp): a real HTTP GET (HTTPS without certificate verification, same-host redirects followed)
 * and a real TCP dial, both bounded by a timeout on the injected clock, with Go's error wording so that
 * Unhealthy events read as Kubernetes' do.
 * @module
 */
import http from "node:http";
import https from "node:https";
import type { Clock } from "../../../shared/clock.ts";

/** The User-Agent of probes: `kube-probe/1.32`. */
export const PROBE_USER_AGENT = "kube-probe/1.32";
/** The User-Agent of lifecycle hooks' HTTP calls: `kube-lifecycle/1.32`. */
export const LIFECYCLE_USER_AGENT = "kube-lifecycle/1.32";

/** How much of a response body becomes the probe's output (maxRespBodyLength, 10 KiB). */
export const MAX_RESPONSE_BODY = 10 * 1024;

/** An HTTP GET to make. */
export interface HttpGetRequest {
  scheme: "HTTP" | "HTTPS";
  host: string;
  port: number;
  path: string;
  /** Headers as given in the pod spec, in order. */
  headers?: { name: string; value: string }[];
  timeoutMs: number;
  /** @default "kube-probe/1.32"; hooks send `kube-lifecycle/1.32` */
  userAgent?: string;
}

/** What a network check gave: Success or Failure with output (as the kubelet words it). */
export interface NetworkOutcome {
  result: "Success" | "Failure";
  output: string;
}

/** `http://10.244.1.5:8080/healthz`, as Go's url.URL prints (IPv6 hosts in brackets). */
export function probeUrl(req: Pick<HttpGetRequest, "scheme" | "host" | "port" | "path">): string {
  const host = req.host.includes(":") ? `[${req.host}]` : req.host;
  const path = req.path.startsWith("/") ? req.path : `/${req.path}`;
  return `${req.scheme.toLowerCase()}://${host}:${req.port}${path}`;
}

/**
 * The request headers (buildHeader + the prober's defaults): the pod's headers, then `User-Agent:
 * kube-probe/1.32` and an Accept of any media type unless the pod set them (an empty value removes the
 * default).
 */
export function probeHeaders(
  headers: { name: string; value: string }[] = [],
  userAgent = PROBE_USER_AGENT,
): [string, string][] {
  const out: [string, string][] = headers.map((h) => [h.name, h.value]);
  const has = (name: string) => out.some(([n]) => n.toLowerCase() === name.toLowerCase());
  if (!has("User-Agent")) out.push(["User-Agent", userAgent]);
  if (!has("Accept")) out.push(["Accept", "*/*"]);
  return out.filter(([, v]) => v !== "");
}

/**
 * The result of a response (DoHTTPProbe): 200–399 is Success with the body as output; a 3xx that is still
 * a redirect (to another host) is a warning that counts as Success; anything else is Failure, "HTTP
 * probe failed with statuscode: 503".
 */
export function httpOutcome(status: number, body: string, redirected = false): NetworkOutcome {
  if (status >= 200 && status < 400) {
    if (redirected && status >= 300) {
      return { result: "Success", output: `Probe terminated redirects, Response body: ${body}` };
    }
    return { result: "Success", output: body };
  }
  return { result: "Failure", output: `HTTP probe failed with statuscode: ${status}` };
}

/** A socket error in Go's words: `dial tcp 10.244.1.5:80: connect: connection refused`. */
export function dialError(host: string, port: number, err: unknown): string {
  const code = (err as { code?: string }).code ?? (err as Error).name;
  const addr = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const reason: Record<string, string> = {
    ECONNREFUSED: "connect: connection refused",
    ConnectionRefused: "connect: connection refused",
    EHOSTUNREACH: "connect: no route to host",
    ENETUNREACH: "connect: network is unreachable",
    ECONNRESET: "read: connection reset by peer",
    ConnectionReset: "read: connection reset by peer",
  };
  return `dial tcp ${addr}: ${reason[code] ?? (err as Error).message}`;
}

interface Response {
  status: number;
  location?: string;
  body: string;
}

/** One GET without following redirects; rejects with a Go-worded error. */
function getOnce(url: URL, headers: [string, string][], signal: AbortSignal): Promise<Response> {
  const mod = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({
      method: "GET",
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(headers),
      // kubelet: HTTPS probes skip certificate verification (InsecureSkipVerify).
      rejectUnauthorized: false,
      signal,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (chunk: Uint8Array) => {
        if (size < MAX_RESPONSE_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on("end", () => {
        const body = new TextDecoder().decode(concat(chunks)).slice(0, MAX_RESPONSE_BODY);
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, body });
      });
      res.on("error", reject);
    });
    req.on("error", (err) => reject(new Error(dialError(url.hostname, Number(url.port), err))));
    req.end();
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Resolves after `ms` on the clock, or never once `signal` aborts. */
function timeout(clock: Clock, ms: number, signal: AbortSignal): Promise<"timeout"> {
  return clock.sleep(ms, signal).then(() => "timeout" as const, () => new Promise(() => {}));
}

/** What an HTTP GET gave: a response, or an error in Go's words (`Get "http://…": dial tcp …`). */
export type HttpGetResult =
  | { status: number; body: string; redirected: boolean }
  | { error: string };

/**
 * An HTTP GET as the kubelet's prober client makes it: follows up to 10 redirects to the same host and
 * stops at a redirect to another; bounded by `timeoutMs` on the clock.
 */
export async function httpGet(req: HttpGetRequest, clock: Clock): Promise<HttpGetResult> {
  const first = probeUrl(req);
  const headers = probeHeaders(req.headers, req.userAgent);
  const controller = new AbortController();
  const attempt = (async (): Promise<HttpGetResult> => {
    let url = new URL(first);
    for (let hops = 0;; hops++) {
      const res = await getOnce(url, headers, controller.signal);
      if (res.status < 300 || res.status >= 400 || !res.location) {
        return { status: res.status, body: res.body, redirected: false };
      }
      const next = new URL(res.location, url);
      if (next.hostname !== url.hostname || hops >= 10) {
        return { status: res.status, body: res.body, redirected: true };
      }
      url = next;
    }
  })().catch((err) => ({ error: `Get "${first}": ${err.message}` }));
  try {
    const done = await Promise.race([attempt, timeout(clock, req.timeoutMs, controller.signal)]);
    if (done !== "timeout") return done;
    return {
      error:
        `Get "${first}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
    };
  } finally {
    controller.abort();
  }
}

/** An HTTP GET probe: a timeout, a refused connection or a status outside 200–399 is a Failure. */
export async function httpGetProbe(req: HttpGetRequest, clock: Clock): Promise<NetworkOutcome> {
  const res = await httpGet(req, clock);
  if ("error" in res) return { result: "Failure", output: res.error };
  return httpOutcome(res.status, res.body, res.redirected);
}

/** A TCP probe: the connection opens within the timeout (dialled from the node). */
export async function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  clock: Clock,
): Promise<NetworkOutcome> {
  const stop = new AbortController();
  const dial = Deno.connect({ hostname: host, port, transport: "tcp" }).then(
    (conn): NetworkOutcome => {
      conn.close();
      return { result: "Success", output: "" };
    },
    (err): NetworkOutcome => ({ result: "Failure", output: dialError(host, port, err) }),
  );
  try {
    const done = await Promise.race([dial, timeout(clock, timeoutMs, stop.signal)]);
    if (done !== "timeout") return done;
    // A dial that opens after the timeout is closed and ignored.
    dial.catch(() => {});
    return { result: "Failure", output: `dial tcp ${host}:${port}: i/o timeout` };
  } finally {
    stop.abort();
  }
}
