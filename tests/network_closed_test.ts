/**
 * The lab's network is closed (issue 9): in a network namespace whose default route leads to a stranger
 * who answers on every address, a NodePort request to pods of the fake runtime (whose IPs exist nowhere)
 * must never reach the stranger. kube-proxy rejects it at once, and the rejection is on the bus.
 */
import assert from "node:assert/strict";
import { canMakeNetns, makeNetnsPair } from "./_netns.ts";
import { kubelabWith, labEnv, startLab } from "./_lab.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A TCP server that answers every connection, on any address it is given, and reports each one. */
const STRANGER = `
const l = Deno.listen({ hostname: "0.0.0.0", port: 8080 });
console.log("listening");
for await (const c of l) {
  console.log("accepted " + c.localAddr.hostname + " from " + c.remoteAddr.hostname);
  c.write(new TextEncoder().encode("HTTP/1.1 404 Not Found\\r\\ncontent-length: 8\\r\\n\\r\\nstranger")).finally(() => c.close());
}`;

/** Sends a GET to host:port from inside `ns` and returns what came back (empty when closed). */
const CLIENT = `
const [host, port] = Deno.args;
const c = await Deno.connect({ hostname: host, port: Number(port) });
await c.write(new TextEncoder().encode("GET / HTTP/1.0\\r\\n\\r\\n"));
const buf = new Uint8Array(4096);
let out = "";
for (let n; (n = await c.read(buf)) !== null;) out += new TextDecoder().decode(buf.subarray(0, n));
console.log(JSON.stringify(out));`;

Deno.test({
  name: "kube-proxy never dials a pod IP that exists nowhere: the stranger outside gets nothing",
  ignore: !(await canMakeNetns()),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ns = await makeNetnsPair();
    const inLab = ["ip", "netns", "exec", ns.lab];
    await using lab = await startLab({ nodes: 1, prefix: inLab });
    const kubelab = (...args: string[]) => kubelabWith(inLab, lab, ...args);

    const applied = await kubelab("apply", "-f", "examples/echo/echo.yaml");
    assert.equal(applied.code, 0, applied.stderr);
    // Wait for the three fake pods to be the Service's ready endpoints.
    let ips: string[] = [];
    for (const deadline = Date.now() + 60_000; ips.length < 3;) {
      assert.ok(Date.now() < deadline, "the echo endpoints did not become ready");
      await new Promise((r) => setTimeout(r, 500));
      const got = await kubelab("get", "endpoints", "echo", "-o", "json");
      if (got.code !== 0) continue;
      const ep = JSON.parse(got.stdout) as { subsets?: { addresses?: { ip: string }[] }[] };
      ips = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
    }

    // The stranger owns every pod IP, outside the lab.
    for (const ip of ips) await ns.exec(ns.outside, ["ip", "addr", "add", `${ip}/32`, "dev", "lo"]);
    const stranger = ns.spawn(ns.outside, [Deno.execPath(), "eval", STRANGER]);
    let strangerOut = "";
    const strangerDone = (async () => {
      for await (const chunk of stranger.stdout) strangerOut += new TextDecoder().decode(chunk);
    })();
    while (!strangerOut.includes("listening")) await new Promise((r) => setTimeout(r, 50));
    // Sanity: the route out works, so a leak would be seen.
    const direct = await ns.exec(ns.lab, [Deno.execPath(), "eval", CLIENT, ips[0], "8080"]);
    assert.match(direct, /stranger/, "the lab namespace can reach the stranger directly");
    const directCount = strangerOut.split("\n").filter((l) => l.startsWith("accepted")).length;

    const tap = ns.spawn(ns.lab, [
      Deno.execPath(),
      "task",
      "--quiet",
      "kubelab",
      "tap",
      "kl.node.*.proxy.connections",
      "--json",
    ], { env: labEnv(lab), cwd: ROOT });
    let tapOut = "";
    let tapErr = "";
    const tapDone = Promise.all([
      (async () => {
        for await (const c of tap.stdout) tapOut += new TextDecoder().decode(c);
      })(),
      (async () => {
        for await (const c of tap.stderr) tapErr += new TextDecoder().decode(c);
      })(),
    ]);
    while (!tapErr.includes("Tapping")) await new Promise((r) => setTimeout(r, 50));

    for (let i = 0; i < 6; i++) {
      const answer = await ns.exec(ns.lab, [Deno.execPath(), "eval", CLIENT, "127.1.0.1", "30080"]);
      assert.equal(answer.trim(), '""', "kube-proxy closes the connection without an answer");
    }
    await new Promise((r) => setTimeout(r, 500));
    tap.kill("SIGTERM");
    await tapDone;
    stranger.kill("SIGTERM");
    await strangerDone;
    await stranger.status;
    await tap.status;

    const accepted = strangerOut.split("\n").filter((l) => l.startsWith("accepted")).length;
    assert.equal(accepted - directCount, 0, `the stranger was dialled:\n${strangerOut}`);
    const rejects = tapOut.split("\n").filter(Boolean).map((l) => JSON.parse(l).data)
      .filter((d) => d.event === "reject");
    assert.equal(rejects.length, 6, `one reject per request on the tap:\n${tapOut}`);
    for (const r of rejects) {
      assert.equal(r.service, "default/echo");
      assert.match(r.error, /^no route in the lab \(10\.244\.\d+\.\d+:8080: no route in the lab: /);
    }
  },
});
