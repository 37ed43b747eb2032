/**
 * `deno task bench http-list [--count N]`: one unpaged `GET /api/v1/pods`, then one watch from the start
 * (`?watch=1`, read until its N ADDED events are in), over the state service's HTTP door, with N pods of
 * about 100 KB each (1,600 make a list of about 160 MB). Prints the time to the first byte and to the
 * last, and the process's resident memory before and at its peak during each (Linux's VmHWM, reset
 * through /proc/self/clear_refs), since the service runs in this process. Nothing is asserted.
 * @module
 */
import { Bus } from "../shared/bus/bus.ts";
import type { Pod } from "../shared/api/core.ts";
import { findResource } from "../shared/api/registry.ts";
import { RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { startNatsServer } from "../shared/nats_server.ts";
import { StateService } from "../agents/state/service.ts";

/** Bytes of padding per pod, in an annotation. */
const PAD = 100_000;
const MIB = 1024 * 1024;
const TOKEN = "bench-token";

/** Resident memory now and its high-water mark, in bytes (Linux). */
async function rss(): Promise<{ now: number; peak: number }> {
  const status = await Deno.readTextFile("/proc/self/status");
  const kb = (field: string) =>
    Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1]);
  return { now: kb("VmRSS") * 1024, peak: kb("VmHWM") * 1024 };
}

/** Resets VmHWM to the current RSS (Linux 4.0+), so the next peak is the list's own. */
async function resetPeak(): Promise<void> {
  await Deno.writeTextFile("/proc/self/clear_refs", "5");
}

/**
 * Reads `url` to its end, or until `done` says so, and prints time and memory. The body is consumed as
 * it comes, so what grows is the server's side.
 */
async function measure(
  name: string,
  url: string,
  done: (chunk: Uint8Array) => boolean,
): Promise<void> {
  await resetPeak();
  const before = await rss();
  const start = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  let firstByte = 0;
  let bytes = 0;
  for await (const chunk of res.body!) {
    firstByte ||= performance.now() - start;
    bytes += chunk.length;
    if (done(chunk)) break;
  }
  const total = performance.now() - start;
  const after = await rss();
  console.log(
    `http ${name}, ${(bytes / MIB).toFixed(0)} MiB, status ${res.status}: ` +
      `first byte ${firstByte.toFixed(0)} ms, last byte ${total.toFixed(0)} ms; ` +
      `RSS ${(before.now / MIB).toFixed(0)} MiB before, peak ${
        (after.peak / MIB).toFixed(0)
      } MiB ` +
      `(+${((after.peak - before.now) / MIB).toFixed(0)} MiB)`,
  );
}

function pod(i: number, pad: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}`, namespace: "default", annotations: { pad } },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
  };
}

/** Creates `n` fat pods, then lists them once over HTTP and prints time and memory. */
export async function benchHttpList(n: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-bench-list-" });
  const server = await startNatsServer({ storeDir: dir });
  const log = new Logger({ level: "error" });
  const bus = await Bus.connect({ servers: server.url, name: "state", log });
  const state = await StateService.start({
    bus,
    clock: new RealClock(),
    log,
    http: { tokens: [TOKEN] },
  });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, state.http);
  try {
    const pods = findResource("pods")!;
    const pad = "x".repeat(PAD);
    const inFlight = 16;
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < n) await state.api.create(pods, { object: pod(next++, pad) });
    }));

    const url = `http://127.0.0.1:${http.addr.port}/api/v1/pods`;
    await measure(`list ${n} pods`, url, () => false);
    let added = 0;
    await measure(`watch ${n} pods`, `${url}?watch=1`, (chunk) => {
      for (const byte of chunk) if (byte === 0x0a) added++;
      return added >= n;
    });
  } finally {
    await http.shutdown();
    await state.stop();
    await bus.drain();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
