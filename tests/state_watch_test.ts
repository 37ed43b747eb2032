import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { Kvm } from "@nats-io/kv";
import type { KubeObject } from "../shared/api/meta.ts";
import type { Pod } from "../shared/api/core.ts";
import { ApiError } from "../shared/api/errors.ts";
import { KV_BUCKET, objectKey, REVISION_HEADER, WATCH_STREAM } from "../shared/bus/subjects.ts";
import { Informer, type StreamEvent, watchStream } from "../shared/client/watch.ts";
import type { ApiClient } from "../shared/client/client.ts";
import type { WatchEventType } from "../shared/client/protocol.ts";
import { startStateEnv, type StateEnv, waitUntil } from "../agents/state/_testing.ts";

function pod(name: string, labels: Record<string, string> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
  };
}

/** A background watchStream that records every event, for counting. */
function recordWatch(
  env: StateEnv,
  resource: string,
  afterSeq: number,
  opts: { nodeName?: string } = {},
) {
  const controller = new AbortController();
  const events: StreamEvent<KubeObject>[] = [];
  const done = (async () => {
    for await (
      const ev of watchStream(env.bus, resource, {
        afterSeq,
        signal: controller.signal,
        log: env.log,
        ...opts,
      })
    ) events.push(ev);
  })().catch((err) => {
    if (!controller.signal.aborted) throw err;
  });
  const summary = () =>
    events.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`);
  return {
    events,
    summary,
    /**
     * The events up to a sentinel written now, without it. The stream is ordered, so a repeated or late
     * event would show before the sentinel: no need to sleep and hope.
     */
    async settled(): Promise<string[]> {
      const name = `sentinel-${events.length}`;
      await env.client.create("pods", pod(name));
      await waitUntil(() => events.some((e) => e.object.metadata.name === name), 8_000, name);
      return summary().filter((line) => !line.includes(" sentinel-"));
    },
    async [Symbol.asyncDispose]() {
      controller.abort();
      await done;
    },
  };
}

/** Writes a few changes to pods and returns the event each should produce, in order. */
async function churn(client: ApiClient, prefix: string): Promise<string[]> {
  const expected: string[] = [];
  const a = await client.create("pods", pod(`${prefix}-a`));
  expected.push(`ADDED ${prefix}-a ${a.metadata.resourceVersion}`);
  const b = await client.create("pods", pod(`${prefix}-b`));
  expected.push(`ADDED ${prefix}-b ${b.metadata.resourceVersion}`);
  const a2 = await client.patch("pods", {
    namespace: "default",
    name: `${prefix}-a`,
    patch: { metadata: { labels: { step: "2" } } },
  });
  expected.push(`MODIFIED ${prefix}-a ${a2.metadata.resourceVersion}`);
  await client.delete("pods", { namespace: "default", name: `${prefix}-b` });
  // The tombstone's revision: nothing else was written since, so it is the list's.
  expected.push(`DELETED ${prefix}-b ${(await client.list("pods")).resourceVersion}`);
  return expected;
}

Deno.test("watch from a list's watchSeq sees every later change exactly once, in order", async () => {
  await using env = await startStateEnv();
  await env.client.create("pods", pod("before"));
  const list = await env.client.list("pods");
  await using w = recordWatch(env, "pods", list.watchSeq);
  const expected = await churn(env.client, "x");
  assert.deepEqual(await w.settled(), expected);
  const deleted = w.events[expected.length - 1];
  assert.equal(deleted.object.metadata.name, "x-b", "DELETED carries the last stored object");
  assert.ok(deleted.object.metadata.uid);
});

Deno.test("watch events of pods are routed by node", async () => {
  await using env = await startStateEnv();
  const list = await env.client.list("pods");
  await using node1 = recordWatch(env, "pods", list.watchSeq, { nodeName: "node-1" });
  await using unscheduled = recordWatch(env, "pods", list.watchSeq, { nodeName: "" });
  await env.client.create("pods", pod("p"));
  const bound = await env.client.bind<Pod>("default", "p", "node-1");
  await env.client.delete("pods", { namespace: "default", name: "p", gracePeriodSeconds: 0 });
  await waitUntil(
    () => node1.events.length >= 2 && unscheduled.events.length >= 1,
    5_000,
    "events",
  );
  assert.deepEqual(unscheduled.events.map((e) => e.type), ["ADDED"]);
  assert.deepEqual(node1.events.map((e) => e.type), ["MODIFIED", "DELETED"]);
  assert.equal(node1.events[0].object.metadata.resourceVersion, bound.metadata.resourceVersion);
});

Deno.test("watch sees every change exactly once across a nats-server restart", async () => {
  await using env = await startStateEnv();
  const list = await env.client.list("pods");
  await using w = recordWatch(env, "pods", list.watchSeq);
  const expected = await churn(env.client, "one");
  await waitUntil(() => w.events.length >= expected.length, 5_000, "events before restart");
  await env.restartNats();
  expected.push(...await churn(env.client, "two"));
  assert.deepEqual(await w.settled(), expected);
});

Deno.test("watch sees every change exactly once across a restart of the state service", async () => {
  await using env = await startStateEnv();
  const list = await env.client.list("pods");
  await using w = recordWatch(env, "pods", list.watchSeq);
  const expected = await churn(env.client, "one");
  await env.restartService();
  expected.push(...await churn(env.client, "two"));
  assert.deepEqual(await w.settled(), expected);
});

for (const live of [false, true]) {
  Deno.test(`an Informer (${live ? "live" : "JetStream"} watch) stays exact across a state restart and a nats-server restart`, async () => {
    await using env = await startStateEnv();
    await env.client.create("pods", pod("seed"));
    const controller = new AbortController();
    const seen: string[] = [];
    const informer = new Informer<KubeObject>({
      client: env.client,
      resource: "pods",
      log: env.log,
      signal: controller.signal,
      live,
      onEvent: (type: WatchEventType, obj) => {
        seen.push(`${type} ${obj.metadata.name}`);
      },
    });
    try {
      await informer.start();
      await env.client.create("pods", pod("a"));
      await env.restartService();
      await env.client.create("pods", pod("b"));
      await env.restartNats();
      await env.client.create("pods", pod("c"));
      await env.client.delete("pods", { namespace: "default", name: "a" });
      await env.client.create("pods", pod("sentinel")); // a repeat would show before it
      await waitUntil(() => seen.includes("ADDED sentinel"), 8_000, "informer events");
      const want = [
        "ADDED seed",
        "ADDED a",
        "ADDED b",
        "ADDED c",
        "DELETED a",
        "ADDED sentinel",
      ];
      // A live watch relists after the reconnect, and a relist reports what it found in its own
      // order: every change once, but not always in order.
      if (live) assert.deepEqual([...seen].sort(), [...want].sort());
      else assert.deepEqual(seen, want);
      assert.deepEqual(informer.list().map((p) => p.metadata.name).sort(), [
        "b",
        "c",
        "seed",
        "sentinel",
      ]);
    } finally {
      controller.abort();
      await informer.done;
    }
  });
}

Deno.test("objects survive a state restart and a nats-server restart with the same store", async () => {
  await using env = await startStateEnv();
  await env.client.create("namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team-a" },
  });
  await env.client.create("pods", pod("web-1", { app: "web" }));
  await env.client.create("pods", {
    ...pod("web-2"),
    metadata: { name: "web-2", namespace: "team-a" },
  });
  await env.client.bind("default", "web-1", "node-1");
  const before = await env.client.list("pods");

  await env.restartService();
  await env.restartNats();
  const after = await env.client.list("pods");
  assert.deepEqual(after.items, before.items);
  assert.equal(after.resourceVersion, before.resourceVersion);
  assert.equal(after.watchSeq, before.watchSeq);
  const created = await env.client.create("pods", pod("web-3"));
  assert.equal(Number(created.metadata.resourceVersion), Number(before.resourceVersion) + 1);
});

Deno.test("a restarted state service publishes changes written while it was down, once", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  await c.create("pods", pod("kept"));
  await c.create("pods", pod("gone"));
  const list = await c.list("pods");
  await using w = recordWatch(env, "pods", list.watchSeq);

  // The previous instance stored these but died before publishing their events.
  await env.service.stop();
  const kv = await new Kvm(env.bus.nc).open(KV_BUCKET);
  const kept = list.items.find((p) => p.metadata.name === "kept")!;
  const stored = (late: string) =>
    JSON.stringify({
      ...kept,
      metadata: { ...kept.metadata, resourceVersion: undefined, labels: { late } },
    });
  const r1 = await kv.put(objectKey("pods", "default", "kept"), stored("1"));
  const r2 = await kv.put(objectKey("pods", "default", "kept"), stored("2"));
  await kv.delete(objectKey("pods", "default", "gone"));
  const r3 = (await kv.get(objectKey("pods", "default", "gone")))!.revision;

  await env.restartService();
  const replayed = [`MODIFIED kept ${r1}`, `MODIFIED kept ${r2}`, `DELETED gone ${r3}`];
  assert.deepEqual(await w.settled(), replayed);
  assert.equal(
    w.events[2].object.metadata.uid,
    list.items.find((p) => p.metadata.name === "gone")!.metadata.uid,
  );
  assert.deepEqual((await c.get("pods", "default", "kept")).metadata.labels, { late: "2" });

  // Another restart publishes nothing again.
  await env.restartService();
  assert.deepEqual(await w.settled(), replayed);
});

Deno.test("watch events carry the revision header and msgID dedup in the stream", async () => {
  await using env = await startStateEnv();
  const created = await env.client.create("pods", pod("p"));
  const jsm = await jetstreamManager(env.bus.nc);
  const info = await jsm.streams.info(WATCH_STREAM);
  const last = await jsm.streams.getMessage(WATCH_STREAM, { seq: info.state.last_seq });
  assert.equal(last?.header.get(REVISION_HEADER), created.metadata.resourceVersion);
  assert.deepEqual(last?.json(), { type: "ADDED", object: created });
  assert.equal(info.config.duplicate_window, 120_000_000_000);
  assert.equal(info.config.max_age, 3_600_000_000_000);
  assert.equal(info.config.max_msgs, 1_000_000);
});

Deno.test("watchpos answers 410 Expired once the stream has dropped the events", async () => {
  await using env = await startStateEnv({ service: { watchMaxMsgs: 3 } });
  const c = env.client;
  const early = await c.list("pods");
  for (const name of ["a", "b", "c", "d", "e"]) await c.create("pods", pod(name));
  const late = await c.list("pods");
  await assert.rejects(
    () => c.watchPos("pods", early.resourceVersion),
    (err: unknown) => err instanceof ApiError && err.code === 410 && err.reason === "Expired",
  );
  assert.equal(await c.watchPos("pods", late.resourceVersion), late.watchSeq);
  const mid = await c.get("pods", "default", "d");
  assert.equal(await c.watchPos("pods", mid.metadata.resourceVersion!), late.watchSeq - 1);
});

Deno.test("an object seen in a watch event can be read, never older than the event, and written at once", async () => {
  // Watchers get an event as soon as it is in the stream, a moment before the state service's own cache
  // applies it; the scheduler binds a pod the instant it sees it. That must never be a 404.
  await using env = await startStateEnv();
  const list = await env.client.list("pods");
  const controller = new AbortController();
  const outcomes: Promise<string>[] = [];
  const names = Array.from({ length: 20 }, (_, i) => `fresh-${i}`);
  const acting = (async () => {
    for await (
      const ev of watchStream<Pod>(env.bus, "pods", {
        nodeName: "",
        afterSeq: list.watchSeq,
        signal: controller.signal,
        log: env.log,
      })
    ) {
      // Ask at once, without waiting for anything else.
      const name = ev.object.metadata.name!;
      const rv = Number(ev.object.metadata.resourceVersion);
      const got = env.client.get<Pod>("pods", "default", name).then((p) => {
        const seen = Number(p.metadata.resourceVersion);
        if (seen < rv) throw Object.assign(new Error(), { code: `stale ${seen} < ${rv}` });
      });
      const bound = env.client.bind("default", name, "node-1");
      outcomes.push(
        Promise.all([got, bound]).then(() => `${name}: ok`, (e) => `${name}: ${e.code}`),
      );
      if (outcomes.length === names.length) break;
    }
  })();
  for (const n of names) await env.client.create("pods", pod(n));
  await acting;
  controller.abort();
  assert.deepEqual((await Promise.all(outcomes)).sort(), names.map((n) => `${n}: ok`).sort());
});

/** Publishes a message on KL_WATCH as a stranger would: a valid-looking event, without `Kl-Revision`. */
async function publishStray(env: StateEnv, name: string, headers?: MsgHdrs): Promise<number> {
  const js = jetstream(env.bus.nc);
  const ack = await js.publish(
    `kl.watch.pods._.default.${name}`,
    JSON.stringify({
      type: "ADDED",
      object: { ...pod(name), metadata: { ...pod(name).metadata, resourceVersion: "1" } },
    }),
    headers ? { headers } : undefined,
  );
  return ack.seq;
}

Deno.test("a message without Kl-Revision last in KL_WATCH rewinds nothing on restart, and is skipped with a warning", async () => {
  await using env = await startStateEnv();
  const list = await env.client.list("pods");
  await using w = recordWatch(env, "pods", list.watchSeq);
  const expected = await churn(env.client, "one");
  const straySeq = await publishStray(env, "stray");
  const from = env.lines.length;
  await env.restartService();
  const restartLog = env.lines.slice(from).join("\n");
  expected.push(...await churn(env.client, "two"));
  assert.deepEqual(await w.settled(), expected, "no stray, nothing repeated");

  assert.match(restartLog, new RegExp(`WARN .*Kl-Revision.* seq=${straySeq}`));
  assert.doesNotMatch(restartLog, /Publishing unpublished changes/, "nothing replayed");
  const loading = restartLog.split("\n").find((l) => l.includes("Loading watch cache"))!;
  assert.match(loading, new RegExp(`revision=${expected[3].split(" ")[2]}\\b`), loading);
  assert.ok(
    env.lines.some((l) => /WARN .*Dropped a watch event without a valid Kl-Revision/.test(l)),
    "the watcher skipped it too",
  );
});

Deno.test("watchpos finds the right place in a KL_WATCH with stray messages between events", async () => {
  await using env = await startStateEnv();
  const c = env.client;
  const bad = natsHeaders();
  bad.set(REVISION_HEADER, "not-a-number");
  const revisions: string[] = [];
  for (let i = 0; i < 8; i++) {
    revisions.push((await c.create("pods", pod(`p${i}`))).metadata.resourceVersion!);
    if (i === 2) await publishStray(env, "stray-a");
    if (i === 5) await publishStray(env, "stray-b", bad);
  }
  await c.create("pods", pod("last"));
  // What the stream holds: each message's sequence and, for our events, revision.
  const jsm = await jetstreamManager(env.bus.nc);
  const { state } = await jsm.streams.info(WATCH_STREAM);
  const stream: { seq: number; rev?: number }[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(WATCH_STREAM, { seq });
    const rev = Number(m?.header.get(REVISION_HEADER));
    stream.push({ seq, rev: rev > 0 ? rev : undefined });
  }
  for (const rv of revisions) {
    const after = await c.watchPos("pods", rv);
    // A watch consuming after `after` sees exactly the events past `rv`.
    const seen = stream.filter((m) => m.seq > after && m.rev !== undefined).map((m) => m.rev);
    const want = stream.filter((m) => m.rev !== undefined && m.rev > Number(rv)).map((m) => m.rev);
    assert.deepEqual(seen, want, `watchpos ${rv} → ${after}`);
  }
});
