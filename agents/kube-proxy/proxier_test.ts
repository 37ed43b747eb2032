/**
 * The proxier on real sockets at loopback addresses that need no root (every 127/8 address is the
 * host's on Linux): forwarding, accept-and-close without endpoints, and the cluster-IP lock between
 * two kube-proxies of one host, with the `ip` calls recorded instead of made.
 */
import assert from "node:assert/strict";
import { RealClock } from "../../shared/clock.ts";
import { Logger } from "../../shared/log.ts";
import type { LoopbackAddresses } from "./cluster_ip.ts";
import { type ConnectionRecord, Proxier, type ProxierOptions } from "./proxier.ts";
import type { Route } from "./routes.ts";

const LINUX = Deno.build.os === "linux";
const NODE = "127.1.251.1";
const BACKEND = "127.1.251.2";
const CLUSTER_IP = "127.1.251.10";

/** Serves each connection: reads what the client sends until EOF, then answers and closes. */
function echoBackend(name: string): { port: number } & Disposable {
  const listener = Deno.listen({ hostname: BACKEND, port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const chunks: Uint8Array[] = [];
        const buf = new Uint8Array(1024);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          chunks.push(buf.slice(0, n));
        }
        const got = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
        await conn.write(new TextEncoder().encode(`${name} got ${got}`));
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, [Symbol.dispose]: () => listener.close() };
}

function route(type: Route["type"], frontend: string, endpoints: string[], port = 80): Route {
  return {
    service: "default/web",
    portName: "",
    protocol: "TCP",
    type,
    frontend,
    port,
    endpoints,
    terminatingFallback: false,
    sessionAffinity: "None",
    affinityTimeoutSeconds: 0,
  };
}

function proxier(opts: Partial<ProxierOptions> & { records?: ConnectionRecord[] } = {}) {
  const records = opts.records ?? [];
  return new Proxier({
    nodeName: "node-1",
    nodeAddress: NODE,
    nodePortAddress: NODE,
    clusterIPMode: "node",
    addresses: { add: () => Promise.resolve(), remove: () => Promise.resolve() },
    clock: new RealClock(),
    log: new Logger({ level: "error" }),
    onConnection: (r) => records.push(r),
    ...opts,
  });
}

/** Sends `text`, half-closes, and reads the answer to EOF. */
async function exchange(port: number, text: string, hostname = NODE): Promise<string> {
  const conn = await Deno.connect({ hostname, port });
  await conn.write(new TextEncoder().encode(text));
  await conn.closeWrite();
  return await new Response(conn.readable).text();
}

/** A free port on `hostname`. */
function freePort(hostname: string): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test({
  name: "the proxier forwards a NodePort to an endpoint, half-close included, and reports it",
  ignore: !LINUX,
  async fn() {
    using server = echoBackend("backend");
    const records: ConnectionRecord[] = [];
    const p = proxier({ records });
    const nodePort = freePort(NODE);
    const r = route("NodePort", `*:${nodePort}`, [`${BACKEND}:${server.port}`]);
    await p.sync([r]);
    assert.deepEqual(p.status(r), { listen: `${NODE}:${nodePort}`, state: "listening" });
    assert.equal(await exchange(nodePort, "ping"), "backend got ping");
    await p.stop(1_000);
    assert.deepEqual(records.map((x) => x.event), ["open", "close"]);
    assert.equal(records[1].bytesIn, 4);
    assert.equal(records[1].bytesOut, "backend got ping".length);
    await assert.rejects(() => exchange(nodePort, "again"), Deno.errors.ConnectionRefused);
  },
});

Deno.test({
  name: "without endpoints the proxier accepts and closes at once; a removed route stops listening",
  ignore: !LINUX,
  async fn() {
    const records: ConnectionRecord[] = [];
    const p = proxier({ records });
    const nodePort = freePort(NODE);
    await p.sync([route("NodePort", `*:${nodePort}`, [])]);
    const conn = await Deno.connect({ hostname: NODE, port: nodePort });
    assert.equal(await new Response(conn.readable).text(), "", "closed at once");
    try {
      conn.close();
    } catch { /* closed by reading to the end */ }
    assert.equal(records[0].event, "reject");
    assert.equal(records[0].error, "no endpoints available");
    await p.sync([]);
    await assert.rejects(() => exchange(nodePort, "gone"), Deno.errors.ConnectionRefused);
    await p.stop(0);
  },
});

Deno.test({
  name: "one proxier of a host serves a cluster IP; another stands by and takes over when it stops",
  ignore: !LINUX,
  async fn() {
    using server = echoBackend("backend");
    const calls: string[] = [];
    const addresses = (who: string): LoopbackAddresses => ({
      add: (ip) => Promise.resolve(void calls.push(`${who} add ${ip}`)),
      remove: (ip) => Promise.resolve(void calls.push(`${who} remove ${ip}`)),
    });
    const port = freePort(CLUSTER_IP);
    const r = route("ClusterIP", `${CLUSTER_IP}:${port}`, [`${BACKEND}:${server.port}`], port);
    let changes = 0;
    const a = proxier({ clusterIPMode: "alias", addresses: addresses("a"), retryBindMs: 50 });
    const b = proxier({
      clusterIPMode: "alias",
      addresses: addresses("b"),
      retryBindMs: 50,
      onListenerChange: () => changes++,
    });
    await a.sync([r]);
    await b.sync([r]);
    assert.equal(a.status(r)?.state, "listening");
    assert.equal(b.status(r)?.state, "standby");
    assert.equal(await exchange(port, "x", CLUSTER_IP), "backend got x");

    const before = changes;
    await a.stop(1_000);
    assert.deepEqual(calls, ["a remove 127.1.251.10"], "the server gives the address back");
    const deadline = Date.now() + 2_000;
    while (b.status(r)?.state !== "listening" && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(b.status(r)?.state, "listening", "the standby took over");
    assert.ok(changes > before, "and said so");
    assert.equal(await exchange(port, "y", CLUSTER_IP), "backend got y");
    await b.stop(1_000);
    assert.deepEqual(calls, ["a remove 127.1.251.10", "b remove 127.1.251.10"]);
  },
});
