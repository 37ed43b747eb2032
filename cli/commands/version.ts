/**
 * `kubelab version`: the CLI's version and, unless `--client`, the NATS server it reaches and whether the
 * state service answers there.
 * @module
 */
import { BusError } from "../../shared/bus/bus.ts";
import type { Args } from "../args.ts";
import type { Command, CommandContext } from "../context.ts";

/** The version of kubelab's CLI. */
export const VERSION = "0.1.0";

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const out = ctx.io.stdout;
  out.write(`Client Version: v${VERSION}\n`);
  out.write(`Deno Version: ${Deno.version.deno}\n`);
  if (args.bool("client")) return 0;
  const client = await ctx.client();
  const info = client.bus.nc.info;
  out.write(`NATS Server: ${ctx.server}${info ? ` (nats-server ${info.version})` : ""}\n`);
  try {
    await client.list("namespaces");
    out.write("State Service: answering\n");
  } catch (err) {
    if (!(err instanceof BusError)) throw err;
    out.write(`State Service: not answering (${err.message})\n`);
    return 1;
  }
  return 0;
}

/** `kubelab version` */
export const versionCommand: Command = {
  name: "version",
  summary: "Print the CLI's version, the NATS server's, and whether the state service answers",
  usage: "kubelab version [flags]",
  flags: [{
    name: "client",
    type: "boolean",
    description: "Only the CLI's version; connect to nothing.",
  }],
  run,
};
