/**
 * A compose node container joining the lab (agents/state/bootstrap.ts has the other side): with the
 * shared bootstrap credentials it asks on `kl.bootstrap.node` for its agents' credentials, sending only
 * the public keys of key pairs it made itself, and writes one credentials file per agent (mode 0600).
 * The state service may not be up yet: the request is retried until it answers.
 * @module
 */
import { BootstrapReply } from "../shared/auth/bootstrap.ts";
import { credsFile, newUserKey } from "../shared/auth/jwt.ts";
import { NODE_ROLES, type NodeRole } from "../shared/auth/identity.ts";
import { Bus } from "../shared/bus/bus.ts";
import { subjects } from "../shared/bus/subjects.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";

/** Options for {@linkcode bootstrapNode}. */
export interface BootstrapNodeOptions {
  /** NATS URL(s). */
  servers: string | string[];
  /** The text of the bootstrap credentials. */
  bootstrapCreds: string;
  node: string;
  /** Where the agents' credentials files go. */
  dir: string;
  clock: Clock;
  log: Logger;
  signal?: AbortSignal;
}

/** Gets the node's credentials; resolves with each agent's credentials file. */
export async function bootstrapNode(
  options: BootstrapNodeOptions,
): Promise<Record<NodeRole, string>> {
  const keys = Object.fromEntries(NODE_ROLES.map((r) => [r, newUserKey()])) as Record<
    NodeRole,
    ReturnType<typeof newUserKey>
  >;
  const bus = await Bus.connect({
    servers: options.servers,
    name: `bootstrap/${options.node}`,
    log: options.log,
    creds: options.bootstrapCreds,
  });
  let reply: BootstrapReply;
  try {
    let delayMs = 500;
    while (true) {
      try {
        reply = await bus.request(
          subjects.bootstrap,
          {
            node: options.node,
            keys: Object.fromEntries(NODE_ROLES.map((r) => [r, keys[r].publicKey])),
          },
          BootstrapReply,
          { timeoutMs: 5_000 },
        );
        break;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        options.log.info("Waiting for the state service to issue node credentials", {
          retryMs: delayMs,
          error: err,
        });
        await options.clock.sleep(delayMs, options.signal);
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    }
  } finally {
    await bus.drain();
  }
  await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
  const files = {} as Record<NodeRole, string>;
  for (const role of NODE_ROLES) {
    files[role] = `${options.dir}/${role}.creds`;
    await Deno.writeTextFile(files[role], credsFile(reply.jwts[role], keys[role].seed), {
      mode: 0o600,
    });
  }
  options.log.info("Got the node's credentials", { node: options.node });
  return files;
}
