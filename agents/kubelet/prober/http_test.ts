import assert from "node:assert/strict";
import { RealClock } from "../../../shared/clock.ts";
import { dialError, httpGetProbe, httpOutcome, probeHeaders, probeUrl, tcpProbe } from "./http.ts";

const httpCases: [number, boolean, string, string][] = [
  [200, false, "Success", "ok"],
  [204, false, "Success", "ok"],
  [301, false, "Success", "ok"],
  [399, false, "Success", "ok"],
  [302, true, "Success", "Probe terminated redirects, Response body: ok"],
  [400, false, "Failure", "HTTP probe failed with statuscode: 400"],
  [503, false, "Failure", "HTTP probe failed with statuscode: 503"],
  [199, false, "Failure", "HTTP probe failed with statuscode: 199"],
];
for (const [status, redirected, result, output] of httpCases) {
  Deno.test(`httpOutcome: ${status}${redirected ? " (cross-host redirect)" : ""} → ${result}`, () => {
    assert.deepEqual(httpOutcome(status, "ok", redirected), { result, output });
  });
}

Deno.test("probe requests carry kube-probe/1.32 and an Accept of anything unless the pod says", () => {
  assert.deepEqual(probeHeaders(), [["User-Agent", "kube-probe/1.32"], ["Accept", "*/*"]]);
  assert.deepEqual(probeHeaders([{ name: "accept", value: "application/json" }]), [
    ["accept", "application/json"],
    ["User-Agent", "kube-probe/1.32"],
  ]);
  assert.deepEqual(probeHeaders([{ name: "User-Agent", value: "" }]), [["Accept", "*/*"]]);
});

Deno.test("probe URLs and dial errors read as Go prints them", () => {
  assert.equal(
    probeUrl({ scheme: "HTTPS", host: "10.244.1.5", port: 8443, path: "healthz" }),
    "https://10.244.1.5:8443/healthz",
  );
  assert.equal(
    dialError("10.244.1.5", 80, Object.assign(new Error("x"), { code: "ECONNREFUSED" })),
    "dial tcp 10.244.1.5:80: connect: connection refused",
  );
});

Deno.test("an httpGet probe hits a real server: headers, status, same-host redirects", async () => {
  const seen: Headers[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      seen.push(req.headers);
      const path = new URL(req.url).pathname;
      if (path === "/moved") return Response.redirect(new URL("/sick", req.url), 302);
      if (path === "/sick") return new Response("no", { status: 503 });
      return new Response("fine");
    },
  );
  const port = server.addr.port;
  const clock = new RealClock();
  const req = { scheme: "HTTP" as const, host: "127.0.0.1", port, timeoutMs: 2_000 };
  assert.deepEqual(await httpGetProbe({ ...req, path: "/healthz" }, clock), {
    result: "Success",
    output: "fine",
  });
  assert.equal(seen[0].get("user-agent"), "kube-probe/1.32");
  assert.equal(seen[0].get("accept"), "*/*");
  assert.deepEqual(await httpGetProbe({ ...req, path: "/moved" }, clock), {
    result: "Failure",
    output: "HTTP probe failed with statuscode: 503",
  });
});

Deno.test("httpGet and tcpSocket probes fail on a closed port with Go's message", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const clock = new RealClock();
  assert.deepEqual(await tcpProbe("127.0.0.1", port, 1_000, clock), {
    result: "Success",
    output: "",
  });
  listener.close();
  assert.deepEqual(await tcpProbe("127.0.0.1", port, 1_000, clock), {
    result: "Failure",
    output: `dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
  const http = await httpGetProbe(
    { scheme: "HTTP", host: "127.0.0.1", port, path: "/", timeoutMs: 1_000 },
    clock,
  );
  assert.equal(http.result, "Failure");
  assert.equal(
    http.output,
    `Get "http://127.0.0.1:${port}/": dial tcp 127.0.0.1:${port}: connect: connection refused`,
  );
});
