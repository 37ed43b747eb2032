/**
 * `kubelab tap`: every message on the lab's subjects, one line each, as it happens — API requests, watch
 * events, CRI calls, runtime events — until Ctrl-C.
 * @module
 */
import type { Msg, MsgHdrs, Subscription } from "@nats-io/nats-core";
import { subjects } from "../../shared/bus/subjects.ts";
import type { Args } from "../args.ts";
import type { Command, CommandContext, Writer } from "../context.ts";
import { summarize } from "../printers/summarize.ts";

/**
 * Replies travel on each asker's own inbox (`_INBOX_<identity>.…`, shared/auth/identity.ts), which no
 * wildcard can name apart from the rest: `--replies` taps everything and keeps what went to an inbox.
 */
export const REPLY_SUBJECT = ">";

const decoder = new TextDecoder();

/** A payload as tap shows it: parsed JSON, else the text, else undefined when empty. */
export function decodePayload(data: Uint8Array): unknown {
  if (!data.length) return undefined;
  const text = decoder.decode(data);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `14:03:07.412`: the local wall-clock time of a message. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const seconds = `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${seconds}`;
}

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of h?.keys() ?? []) out[key] = h!.values(key).join(", ");
  return out;
}

/** One message as tap prints it: `HH:MM:SS.mmm SUBJECT  SUMMARY`, or a JSON line with `--json`. */
export function tapLine(
  msg: { subject: string; data: Uint8Array; headers?: MsgHdrs },
  options: { time: number; json?: boolean },
): string {
  const { time, json } = options;
  const data = decodePayload(msg.data);
  if (json) {
    return JSON.stringify({
      time: new Date(time).toISOString(),
      subject: msg.subject,
      headers: headerRecord(msg.headers),
      data: data ?? null,
    });
  }
  return `${clockTime(time)} ${msg.subject}  ${summarize(msg.subject, data)}`;
}

async function pump(
  sub: Subscription,
  out: Writer,
  now: () => number,
  json: boolean,
  accept: (subject: string) => boolean,
): Promise<void> {
  for await (const msg of sub as AsyncIterable<Msg>) {
    if (accept(msg.subject)) out.write(tapLine(msg, { time: now(), json }) + "\n");
  }
}

/**
 * Whether a message that arrived on the reply subscription is a reply. JetStream delivers stream messages
 * (watch events, KV entries) to consumers' inboxes under their original subject; those are either seen on
 * the tapped subject already or were not asked for.
 */
function isReply(subject: string): boolean {
  return subject.startsWith("_INBOX");
}

async function run(ctx: CommandContext, args: Args): Promise<number> {
  const subject = args.positionals[0] ?? subjects.all;
  const json = args.bool("json");
  const client = await ctx.client();
  const nc = client.bus.nc;
  const tapped = args.bool("replies") ? [subject, REPLY_SUBJECT] : [subject];
  const subs = tapped.map((s) => nc.subscribe(s));
  const pumps = subs.map((sub, i) =>
    pump(sub, ctx.io.stdout, () => ctx.clock.now(), json, i === 0 ? () => true : isReply)
  );
  // Make sure the server has the subscriptions before saying so.
  await nc.flush();
  const what = args.bool("replies") ? `${subject} and replies (_INBOX_*)` : subject;
  ctx.io.stderr.write(`Tapping ${what} on ${ctx.server} (Ctrl-C to stop)\n`);
  if (!ctx.signal.aborted) {
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
  }
  // Drain: messages already received are still printed before the command returns.
  await Promise.all(subs.map((s) => s.drain().catch(() => s.unsubscribe())));
  await Promise.all(pumps);
  return 0;
}

/** `kubelab tap` */
export const tapCommand: Command = {
  name: "tap",
  summary: "Print every message on the lab's NATS subjects as it happens",
  usage: "kubelab tap [SUBJECT] [flags]",
  details: `SUBJECT defaults to kl.> (everything kubelab publishes). One line per message:
  HH:MM:SS.mmm SUBJECT  SUMMARY
where SUMMARY says what the message is about: "create pods default/web-1", "bind pods default/web-1 →
node-2", "MODIFIED pod default/web-1 node=node-2 phase=Running rv=12", "RunPodSandbox pod=default/web-1",
"CONTAINER_STARTED_EVENT pod=default/web-1 container=app", "reply 404 NotFound: …".

Examples:
  kubelab tap
  kubelab tap 'kl.api.>' --replies
  kubelab tap 'kl.node.node-1.>' --json`,
  flags: [
    {
      name: "json",
      type: "boolean",
      description: "Print one JSON object per message: {time, subject, headers, data}.",
    },
    {
      name: "replies",
      type: "boolean",
      description:
        `Also tap replies (${REPLY_SUBJECT}), shown as "reply ok" or "reply <code> <reason>".`,
    },
  ],
  run,
};
