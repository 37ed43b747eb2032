import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import { clockTime, decodePayload, tapLine } from "./tap.ts";

const encode = (s: string) => new TextEncoder().encode(s);
const at = new Date(2026, 0, 1, 14, 3, 7, 42).getTime(); // local time, as tap prints it

Deno.test("tap prints time, subject and summary for each message", () => {
  const msg = {
    subject: "kl.api.pods.get.admin",
    data: encode(JSON.stringify({ namespace: "default", name: "web-1" })),
  };
  assert.equal(
    tapLine(msg, { time: at }),
    "14:03:07.042 kl.api.pods.get.admin  get pods default/web-1 (as admin)",
  );
});

Deno.test("tap prints a payload that is not JSON as it is, cut at 120 characters", () => {
  const msg = { subject: "kl.custom", data: encode("PING " + "z".repeat(200)) };
  assert.equal(tapLine(msg, { time: at }), `14:03:07.042 kl.custom  PING ${"z".repeat(115)}`);
  assert.equal(decodePayload(new Uint8Array()), undefined);
  assert.equal(decodePayload(new Uint8Array([0xff, 0xfe])), "\ufffd\ufffd");
});

Deno.test("tap --json prints one JSON object per message with its headers", () => {
  const h = headers();
  h.set("Kl-Trace-Id", "t1");
  const line = tapLine(
    { subject: "kl.api.pods.get", data: encode('{"name":"web-1"}'), headers: h },
    { time: 0, json: true },
  );
  assert.deepEqual(JSON.parse(line), {
    time: "1970-01-01T00:00:00.000Z",
    subject: "kl.api.pods.get",
    headers: { "Kl-Trace-Id": "t1" },
    data: { name: "web-1" },
  });
  const bare = JSON.parse(tapLine({ subject: "x", data: encode("raw") }, { time: 0, json: true }));
  assert.deepEqual([bare.headers, bare.data], [{}, "raw"]);
});

Deno.test("clockTime pads hours, minutes, seconds and milliseconds", () => {
  assert.equal(clockTime(new Date(2026, 0, 1, 3, 4, 5, 6).getTime()), "03:04:05.006");
});
