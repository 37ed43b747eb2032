/**
 * How the CRI replies that grow with what a container prints, and are not lists (lists come in pages:
 * server.ts), stay within one NATS message of `maxBytes`: ContainerLogs is asked for no more lines
 * than fit (`limitBytes`), and ExecSync's output is cut to fit, with a note of how much was cut.
 * @module
 */
import { fitText } from "../../shared/bus/payload.ts";
import type { CriMethod } from "../../shared/bus/subjects.ts";
import type { CriParsedRequest, CriReply } from "../../shared/cri/api.ts";

/** Room for ExecSync's other fields (`exitCode`, the keys, the brackets). */
const EXEC_FIELDS_BYTES = 64;

/** The request as the backend gets it: ContainerLogs' `limitBytes` no higher than `maxBytes`. */
export function boundRequest<M extends CriMethod>(
  method: M,
  req: CriParsedRequest<M>,
  maxBytes: number,
): CriParsedRequest<M> {
  if (method !== "ContainerLogs") return req;
  const logs = req as CriParsedRequest<"ContainerLogs">;
  const limitBytes = Math.min(logs.limitBytes ?? maxBytes, maxBytes);
  return { ...logs, limitBytes } as CriParsedRequest<M>;
}

/** The reply as it is sent: ExecSync's stdout and stderr cut to half of `maxBytes` each. */
export function boundReply<M extends CriMethod>(
  method: M,
  reply: CriReply<M>,
  maxBytes: number,
): CriReply<M> {
  if (method !== "ExecSync") return reply;
  const exec = reply as CriReply<"ExecSync">;
  const half = Math.floor((maxBytes - EXEC_FIELDS_BYTES) / 2);
  return {
    ...exec,
    stdout: fitText(exec.stdout, half),
    stderr: fitText(exec.stderr, half),
  } as CriReply<M>;
}
