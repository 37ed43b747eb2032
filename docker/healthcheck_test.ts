import assert from "node:assert/strict";
import { checkHealth } from "./healthcheck.ts";

/** Serves `handler` on a free loopback port for the length of a test. */
function serve(handler: (req: Request) => Response) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("http is healthy on a 2xx answer and says what came back otherwise", async () => {
  await using ok = serve(() => new Response("ok"));
  assert.equal(await checkHealth("http", [`${ok.url}/readyz`]), undefined);
  await using notReady = serve(() => new Response("watch cache not synced", { status: 503 }));
  assert.equal(
    await checkHealth("http", [`${notReady.url}/readyz`]),
    `GET ${notReady.url}/readyz: 503 watch cache not synced`,
  );
});

Deno.test("http is unhealthy when nothing listens", async () => {
  const problem = await checkHealth("http", ["http://127.0.0.1:1/readyz"]);
  assert.match(problem ?? "", /^http http:\/\/127\.0\.0\.1:1\/readyz: /);
});

Deno.test("fresh wants a file modified within the given seconds", async () => {
  const file = await Deno.makeTempFile();
  try {
    assert.equal(await checkHealth("fresh", [file, "10"]), undefined);
    const old = new Date(Date.now() - 60_000);
    await Deno.utime(file, old, old);
    assert.equal(await checkHealth("fresh", [file, "10"]), `${file} is 60 s old`);
    await Deno.remove(file);
    assert.match((await checkHealth("fresh", [file, "10"])) ?? "", /No such file/);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
});

Deno.test("nats-client wants a connection with the name from one of this host's addresses", async () => {
  const mine = Deno.networkInterfaces().find((i) => i.family === "IPv4")!.address;
  await using monitor = serve((req) =>
    Response.json({
      connections: new URL(req.url).pathname === "/connz"
        ? [{ name: "scheduler", ip: mine }, { name: "kubelet/n1", ip: "203.0.113.9" }]
        : [],
    })
  );
  assert.equal(await checkHealth("nats-client", [monitor.url, "scheduler"]), undefined);
  assert.match(
    (await checkHealth("nats-client", [monitor.url, "kubelet/n1"])) ?? "",
    /^no NATS connection named "kubelet\/n1" from /,
  );
});

Deno.test("an unknown check or missing arguments is a usage error", async () => {
  await assert.rejects(() => checkHealth("tcp", ["x"]), TypeError);
  await assert.rejects(() => checkHealth("fresh", ["/tmp/x"]), /Usage:/);
});
