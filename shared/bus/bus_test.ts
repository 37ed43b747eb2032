import assert from "node:assert/strict";
import { z } from "zod";
import { Bus, BusError } from "./bus.ts";
import { ApiError, notFound } from "../api/errors.ts";
import { Logger } from "../log.ts";
import { startNatsServer } from "../nats_server.ts";

function quietLog(lines: string[] = []): Logger {
  return new Logger({ level: "debug", sink: (l) => lines.push(l) });
}

async function setup(opts: { maxPayload?: number } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-bus-" });
  const server = await startNatsServer({ storeDir: dir, ...opts });
  return {
    server,
    dir,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const Echo = z.object({ n: z.number() });

Deno.test("bus request/reply carries data and the trace id", async () => {
  await using env = await setup();
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog() });
  let seenTrace = "";
  bus.serve("t.echo", Echo, (req, ctx) => {
    seenTrace = ctx.traceId;
    return { n: req.n * 2 };
  });
  await bus.flush();
  const reply = await bus.request("t.echo", { n: 21 }, Echo, { traceId: "abc123" });
  assert.deepEqual(reply, { n: 42 });
  assert.equal(seenTrace, "abc123");
});

Deno.test("bus request without responders fails at once with a clear error", async () => {
  await using env = await setup();
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog() });
  await assert.rejects(
    () => bus.request("t.nobody", {}, Echo),
    (err: unknown) =>
      err instanceof BusError && err.kind === "no-responders" && /t\.nobody/.test(err.message),
  );
});

Deno.test("bus request that nobody answers in time times out with the subject and figure", async () => {
  await using env = await setup();
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog() });
  const sub = bus.nc.subscribe("t.slow"); // listens, never answers
  await bus.flush();
  await assert.rejects(
    () => bus.request("t.slow", {}, Echo, { timeoutMs: 200 }),
    (err: unknown) =>
      err instanceof BusError && err.kind === "timeout" && /t\.slow.*200 ms/.test(err.message),
  );
  sub.unsubscribe();
});

Deno.test("bus carries ApiError statuses across request/reply", async () => {
  await using env = await setup();
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog() });
  bus.serve("t.get", Echo, () => {
    throw notFound("pods", "web-1");
  });
  await bus.flush();
  await assert.rejects(
    () => bus.request("t.get", { n: 1 }, Echo),
    (err: unknown) => err instanceof ApiError && err.code === 404 && err.reason === "NotFound",
  );
});

Deno.test("bus drops malformed messages, logs their subject, and keeps serving", async () => {
  await using env = await setup();
  const lines: string[] = [];
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog(lines) });
  const got: number[] = [];
  bus.subscribe("t.events", Echo, (m) => {
    got.push(m.n);
  });
  bus.serve("t.echo", Echo, (req) => req);
  await bus.flush();
  bus.nc.publish("t.events", new TextEncoder().encode("{not json"));
  bus.nc.publish("t.events", new TextEncoder().encode(JSON.stringify({ n: "x" })));
  bus.publish("t.events", { n: 7 });
  await assert.rejects(
    () =>
      bus.nc.request("t.echo", new TextEncoder().encode("garbage")).then((m) => {
        if (m.headers?.get("Kl-Status") === "400") throw new Error("bad request");
      }),
    /bad request/,
  );
  assert.deepEqual(await bus.request("t.echo", { n: 3 }, Echo), { n: 3 });
  await bus.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(got, [7]);
  assert.ok(lines.some((l) => l.includes("Dropped malformed message") && l.includes("t.events")));
  assert.ok(lines.some((l) => l.includes("Dropped invalid message") && l.includes("t.events")));
});

Deno.test("bus keeps working after nats-server restarts", async () => {
  await using env = await setup();
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog() });
  bus.serve("t.echo", Echo, (req) => req);
  await bus.flush();
  await env.server.restart();
  let reply: unknown;
  for (let i = 0; i < 100 && reply === undefined; i++) {
    reply = await bus.request("t.echo", { n: 5 }, Echo, { timeoutMs: 300 }).catch(() => undefined);
    if (reply === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(reply, { n: 5 });
});

Deno.test("a message over the server's max_payload fails with the subject and the sizes", async () => {
  await using env = await setup({ maxPayload: 64 * 1024 });
  const lines: string[] = [];
  await using bus = await Bus.connect({ servers: env.server.url, name: "t", log: quietLog(lines) });
  const Big = z.object({ pad: z.string() });
  bus.serve("t.big", Echo, (req) => ({ pad: "x".repeat(req.n) }));
  await bus.flush();
  assert.equal((await bus.request("t.big", { n: 10 }, Big)).pad, "xxxxxxxxxx");
  await assert.rejects(
    () => bus.request("t.big", { n: 100_000 }, Big),
    (err: unknown) =>
      err instanceof ApiError && err.code === 500 &&
      err.message ===
        "Reply on t.big is 100,010 bytes, more than the 65,536 bytes the server takes in one " +
          "message (max_payload, headers included)",
  );
  assert.ok(lines.some((l) => l.includes("Reply failed")), "the server side logs it");
  await assert.rejects(
    () => bus.request("t.big", { n: 1, pad: "y".repeat(70_000) }, Big),
    (err: unknown) =>
      err instanceof BusError && err.kind === "too-large" &&
      /^Request on t\.big is 70,016 bytes, more than the 65,536 bytes/.test(err.message),
  );
  assert.throws(
    () => bus.publish("t.event", { pad: "z".repeat(70_000) }),
    (err: unknown) =>
      err instanceof RangeError && /^Message on t\.event is 70,010 bytes/.test(err.message),
  );
});
