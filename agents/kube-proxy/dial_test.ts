import assert from "node:assert/strict";
import { ENDPOINT_DIAL_TIMEOUTS_MS, splitHostPort, tryConnectEndpoints } from "./dial.ts";

/** A dialler whose endpoints in `down` fail; records each attempt and its timeout. */
function fakeDial(down: Set<string>, attempts: [string, number][]) {
  return (endpoint: string, timeoutMs: number) => {
    attempts.push([endpoint, timeoutMs]);
    return down.has(endpoint)
      ? Promise.reject(new Error(`dial tcp ${endpoint}: connection refused`))
      : Promise.resolve(`conn to ${endpoint}`);
  };
}

Deno.test("tryConnectEndpoints retries the next endpoint with 250 ms, 500 ms, 1 s and 2 s", async () => {
  const cases: [string, string[], string[], string | undefined, [string, number][]][] = [
    ["first endpoint answers", ["a", "b"], [], "a", [["a", 250]]],
    ["one down: the next one", ["a", "b"], ["a"], "b", [["a", 250], ["b", 500]]],
    [
      "all down: four tries, then failure",
      ["a", "b", "a", "b"],
      ["a", "b"],
      undefined,
      [["a", 250], ["b", 500], ["a", 1000], ["b", 2000]],
    ],
    ["no endpoints", [], [], undefined, []],
  ];
  for (const [name, order, down, want, wantAttempts] of cases) {
    const attempts: [string, number][] = [];
    const resets: boolean[] = [];
    let i = 0;
    const result = await tryConnectEndpoints(
      (reset) => {
        resets.push(reset);
        return order[i++];
      },
      fakeDial(new Set(down), attempts),
    );
    assert.deepEqual(attempts, wantAttempts, name);
    assert.equal(result.ok ? result.endpoint : undefined, want, name);
    assert.deepEqual(
      resets,
      resets.map((_, k) => k > 0),
      `${name}: affinity reset after a failure`,
    );
    if (!result.ok) {
      assert.equal(
        result.reason,
        order.length ? "failed to connect to an endpoint" : "no endpoints available",
        name,
      );
      assert.equal(result.failures.length, wantAttempts.length, name);
    }
  }
  assert.deepEqual(ENDPOINT_DIAL_TIMEOUTS_MS, [250, 500, 1000, 2000]);
});

Deno.test("splitHostPort splits at the last colon", () => {
  assert.deepEqual(splitHostPort("10.244.1.2:8080"), { hostname: "10.244.1.2", port: 8080 });
});
