/**
 * Fuzzing every NATS subject the agents serve (issue 9). The lab's own traffic is recorded — API
 * requests of every agent, CRI calls, kubelet verbs — and replayed, mutated, as the identity that may
 * send each: fields dropped, values replaced by wrong types, names like `*`, `>`, `%ZZ` and 10,000
 * characters, JSON nested 2,000 deep, bytes that are not JSON. Seeded, a few thousand cases. No answer
 * may be a 5xx, none may hang, no agent may exit, and the lab still runs a pod afterwards.
 */
import assert from "node:assert/strict";
import type { Msg } from "@nats-io/nats-core";
import type { Pod } from "../shared/api/core.ts";
import { identityToken } from "../shared/auth/identity.ts";
import { Bus, decode, encode } from "../shared/bus/bus.ts";
import { STATUS_HEADER, subjects } from "../shared/bus/subjects.ts";
import { ApiClient } from "../shared/client/client.ts";
import { Logger } from "../shared/log.ts";
import { startCluster } from "../lab/cluster.ts";

const CASES = 3_000;
const SEED = 20261204;
const quiet = new Logger({ level: "error", sink: () => {} });

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = [
  "",
  "*",
  ">",
  "a.b",
  "%ZZ",
  "..",
  "../../etc/passwd",
  "x".repeat(10_000),
  "node-1\u0000",
  "UPPER",
  "kl.>",
  "-1",
  "💥",
];
const NASTY_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  2 ** 31,
  2 ** 53 + 1,
  1e308,
  -0.5,
  [],
  {},
  [[[]]],
  ...NASTY_STRINGS,
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/** A mutation of `value`: one field dropped, replaced or nested wrongly, recursively at random. */
function mutate(r: () => number, value: unknown, depth = 0): unknown {
  if (depth > 6 || r() < 0.15) return pick(r, NASTY_VALUES);
  if (Array.isArray(value)) {
    if (!value.length || r() < 0.3) return [...value, pick(r, NASTY_VALUES)];
    const i = Math.floor(r() * value.length);
    return value.map((v, j) => j === i ? mutate(r, v, depth + 1) : v);
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    const copy: Record<string, unknown> = { ...value as Record<string, unknown> };
    if (!keys.length || r() < 0.2) {
      copy[pick(r, ["name", "namespace", "__proto__", "constructor", "x"])] = pick(r, NASTY_VALUES);
      return copy;
    }
    const k = pick(r, keys);
    if (r() < 0.3) delete copy[k];
    else copy[k] = mutate(r, copy[k], depth + 1);
    return copy;
  }
  return pick(r, NASTY_VALUES);
}

/** A body that is not a mutation of anything: raw bytes, deep nesting, huge arrays. */
function garbage(r: () => number): Uint8Array {
  const enc = new TextEncoder();
  switch (Math.floor(r() * 5)) {
    case 0:
      return crypto.getRandomValues(new Uint8Array(Math.floor(r() * 256)));
    case 1:
      return enc.encode("[".repeat(2_000) + "]".repeat(2_000));
    case 2:
      return enc.encode(`{"name": ${"[".repeat(50)}`);
    case 3:
      return enc.encode(JSON.stringify({ items: Array(5_000).fill({ name: "x" }) }));
    default:
      return new Uint8Array();
  }
}

/** Who may send on `subject` (the fuzz plays by the lab's rules: it is not a permission test). */
function senderOf(subject: string): string | undefined {
  const t = subject.split(".");
  if (t[1] === "api" && t.length === 5) return t[4].replaceAll("=", ".");
  if (t[1] === "node" && t[3] === "cri" && t[4] !== "events") return `kubelet@${t[2]}`;
  if (t[1] === "node" && t[3] === "kubelet") return "admin";
  return undefined;
}

Deno.test({
  name:
    "fuzzed requests on every served subject: no 5xx, no hang, no agent exits, the lab still works",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kubelab-fuzz-" });
    await using cluster = await startCluster({
      dir,
      nodes: 2,
      profile: "fast",
      port: 0,
      httpPort: 0,
      monitorPort: 0,
      log: quiet,
    });
    await cluster.waitReady({ timeoutMs: 60_000 });
    const connect = async (identity: string) =>
      await Bus.connect({
        servers: cluster.info.natsUrl,
        name: `fuzz-${identity}`,
        log: quiet,
        creds: await Deno.readTextFile(`${dir}/auth/creds/${identityToken(identity)}.creds`),
      });
    const buses = new Map<string, Bus>();
    const busOf = async (identity: string) => {
      let bus = buses.get(identity);
      if (!bus) buses.set(identity, bus = await connect(identity));
      return bus;
    };
    const admin = await busOf("admin");
    const client = new ApiClient(admin);

    // Record the lab's own requests while it runs pods and is asked things.
    const recorded = new Map<string, unknown[]>();
    const tap = admin.nc.subscribe(subjects.all, {
      callback: (_err, m: Msg) => {
        if (!m?.reply || !senderOf(m.subject)) return;
        let body: unknown;
        try {
          body = decode(m.data);
        } catch {
          return;
        }
        const list = recorded.get(m.subject) ?? [];
        if (list.length < 20) list.push(body);
        recorded.set(m.subject, list);
      },
    });
    const pod = (name: string, node: string): Pod => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: { nodeName: node, containers: [{ name: "app", image: "nginx:1.27" }] },
    });
    for (const [i, node] of cluster.info.nodes.entries()) {
      await client.create("pods", pod(`seed-${i}`, node));
    }
    await until(
      "the seed pods Running",
      async () =>
        (await client.list<Pod>("pods", { namespace: "default" })).items
          .every((p) => p.status?.phase === "Running"),
    );
    for (const node of cluster.info.nodes) {
      for (const verb of ["stats", "logs", "exec"] as const) {
        const body = verb === "stats"
          ? {}
          : { namespace: "default", pod: "seed-0", container: "app", command: ["true"] };
        await admin.nc.request(subjects.kubelet(node, verb), encode(body), { timeout: 2_000 })
          .catch(() => {});
      }
    }
    await client.delete("pods", { namespace: "default", name: "seed-1" });
    await new Promise((r) => setTimeout(r, 2_000));
    tap.unsubscribe();
    const templates = [...recorded.entries()];
    assert.ok(templates.length >= 20, `recorded ${templates.length} subjects`);
    const before = new Map(cluster.supervisor.status().map((s) => [s.name, s.pid]));

    const r = prng(SEED);
    const failures: string[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const [subject, bodies] = pick(r, templates);
      const payload = r() < 0.15 ? garbage(r) : encode(mutate(r, pick(r, bodies)));
      const bus = await busOf(senderOf(subject)!);
      try {
        const reply = await bus.nc.request(subject, payload, { timeout: 3_000 });
        const code = Number(reply.headers?.get(STATUS_HEADER) || 200);
        codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
        if (code >= 500) {
          failures.push(
            `case ${i} ${subject}: ${code} ${new TextDecoder().decode(reply.data).slice(0, 300)}`,
          );
        }
      } catch (err) {
        failures.push(`case ${i} ${subject}: ${(err as Error).message}`);
      }
      if (failures.length >= 10) break;
    }
    console.log(
      `fuzz: ${CASES} cases over ${templates.length} subjects; replies by code: ${
        JSON.stringify(Object.fromEntries(codes))
      }`,
    );
    assert.deepEqual(failures, [], failures.join("\n"));

    const after = new Map(cluster.supervisor.status().map((s) => [s.name, s.pid]));
    assert.deepEqual(after, before, "no process of the lab exited");
    await client.create("pods", pod("after-fuzz", cluster.info.nodes[0]));
    await until(
      "a pod Running after the fuzz",
      async () =>
        (await client.get<Pod>("pods", "default", "after-fuzz")).status?.phase === "Running",
    );
    for (const bus of buses.values()) await bus.drain();
  },
});

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
