/**
 * The Deno TCP transport against a real nats-server: order and size of what it writes, reconnects,
 * refusals. (Every other test of the project runs over it too: Bus.connect uses nothing else.)
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { Bus } from "./bus.ts";
import { Logger } from "../log.ts";
import { freePort, startNatsServer } from "../nats_server.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

async function server(opts: { configFile?: string } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-transport-" });
  const nats = await startNatsServer(
    opts.configFile ? { storeDir: dir, ...opts } : { storeDir: dir, maxPayload: 8 * 1024 * 1024 },
  );
  return {
    nats,
    dir,
    async [Symbol.asyncDispose]() {
      await nats.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const N = z.object({ n: z.number() });

Deno.test("many messages sent in one burst arrive whole and in order", async () => {
  await using env = await server();
  await using a = await Bus.connect({ servers: env.nats.url, name: "a", log: quiet });
  await using b = await Bus.connect({ servers: env.nats.url, name: "b", log: quiet });
  const got: number[] = [];
  const all = Promise.withResolvers<void>();
  b.nc.subscribe("t.order", {
    callback: (_e, m) => {
      got.push(m.json<{ n: number }>().n);
      if (got.length === 20_000) all.resolve();
    },
  });
  await b.flush();
  // Sent without yielding: the transport writes them as few large buffers.
  for (let n = 0; n < 20_000; n++) a.nc.publish("t.order", JSON.stringify({ n }));
  await all.promise;
  assert.deepEqual(got, Array.from({ length: 20_000 }, (_, n) => n));
});

Deno.test("a message larger than a read reaches the other side intact", async () => {
  await using env = await server();
  await using bus = await Bus.connect({ servers: env.nats.url, name: "big", log: quiet });
  const Big = z.object({ text: z.string() });
  const text = "kubelab ".repeat(400_000); // 3.2 MB, fifty times the transport's read buffer
  bus.serve("t.big", Big, (req) => ({ text: req.text.toUpperCase() }));
  await bus.flush();
  const reply = await bus.request("t.big", { text }, Big, { timeoutMs: 10_000 });
  assert.equal(reply.text.length, text.length);
  assert.equal(reply.text, text.toUpperCase());
});

Deno.test("requests and replies interleave from many callers at once", async () => {
  await using env = await server();
  await using bus = await Bus.connect({ servers: env.nats.url, name: "rr", log: quiet });
  bus.serve("t.double", N, async (req) => {
    await new Promise((r) => setTimeout(r, req.n % 3));
    return { n: req.n * 2 };
  });
  await bus.flush();
  const replies = await Promise.all(
    Array.from({ length: 500 }, (_, n) => bus.request("t.double", { n }, N)),
  );
  assert.deepEqual(replies.map((r) => r.n), Array.from({ length: 500 }, (_, n) => n * 2));
});

Deno.test("the connection comes back after nats-server restarts, subscriptions with it", async () => {
  await using env = await server();
  await using bus = await Bus.connect({ servers: env.nats.url, name: "back", log: quiet });
  let reconnects = 0;
  bus.onReconnect(() => reconnects++);
  bus.serve("t.ping", N, (req) => ({ n: req.n + 1 }));
  await bus.flush();
  assert.deepEqual(await bus.request("t.ping", { n: 1 }, N), { n: 2 });
  await env.nats.restart();
  for (let i = 0; reconnects === 0; i++) {
    assert.ok(i < 200, "no reconnect within 20 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await bus.request("t.ping", { n: 41 }, N, { timeoutMs: 5_000 }), { n: 42 });
});

Deno.test("no server: the first connect fails with connection refused when it may not wait", async () => {
  const port = freePort();
  await assert.rejects(
    Bus.connect({
      servers: `127.0.0.1:${port}`,
      name: "nobody",
      log: quiet,
      waitOnFirstConnect: false,
      connectTimeoutMs: 2_000,
    }),
    /connection refused|CONNECTION_REFUSED/i,
  );
});

Deno.test("a refused credential is an error, not the end of the process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-transport-auth-" });
  const conf = `${dir}/auth.conf`;
  await Deno.writeTextFile(conf, "authorization { user: lab, password: secret }\n");
  await using env = await server({ configFile: conf });
  for (let i = 0; i < 50; i++) {
    await assert.rejects(
      Bus.connect({
        servers: env.nats.url,
        name: "stranger",
        log: quiet,
        waitOnFirstConnect: false,
        connectTimeoutMs: 2_000,
      }),
      /authori[sz]ation/i,
    );
  }
  await Deno.remove(dir, { recursive: true });
});
