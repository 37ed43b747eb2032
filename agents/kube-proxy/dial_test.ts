import assert from "node:assert/strict";
import { LabNetwork, NO_ROUTE_IN_LAB } from "../../shared/net/lab_network.ts";
import {
  ENDPOINT_DIAL_TIMEOUTS_MS,
  guardDial,
  splitHostPort,
  tryConnectEndpoints,
} from "./dial.ts";

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

Deno.test("endpoints outside the lab are refused undialled and cost no timeout", async () => {
  const network = new LabNetwork({
    networks: [],
    interfaces: () => [iface("10.244.1.7")],
    now: () => 0,
  });
  const cases: [string, string[], string | undefined, string[], string][] = [
    [
      "a stranger first, then a pod of the lab",
      ["10.244.9.9:80", "10.244.1.7:80"],
      "10.244.1.7:80",
      [
        "10.244.1.7:80",
      ],
      "",
    ],
    [
      "only strangers: rejected after one round, nothing dialled",
      ["10.244.9.9:80", "8.8.8.8:53", "10.244.9.9:80", "8.8.8.8:53"],
      undefined,
      [],
      NO_ROUTE_IN_LAB,
    ],
    ["loopback is the lab's", ["127.0.0.1:9"], "127.0.0.1:9", ["127.0.0.1:9"], ""],
  ];
  for (const [name, order, want, wantDialled, wantReason] of cases) {
    const dialled: string[] = [];
    let i = 0;
    const result = await tryConnectEndpoints(
      () => order[i++ % order.length],
      guardDial(network, (endpoint: string) => {
        dialled.push(endpoint);
        return Promise.resolve(`conn to ${endpoint}`);
      }),
    );
    assert.deepEqual(dialled, wantDialled, name);
    assert.equal(result.ok ? result.endpoint : undefined, want, name);
    if (!result.ok) {
      assert.equal(result.reason, wantReason, name);
      assert.match(
        result.failures[0].error,
        /no route in the lab: 10\.244\.9\.9 is not on an interface/,
      );
    }
  }
});

function iface(address: string): Deno.NetworkInterfaceInfo {
  return {
    family: "IPv4",
    name: "lo",
    address,
    netmask: "255.255.255.255",
    scopeid: null,
    cidr: `${address}/32`,
    mac: "00:00:00:00:00:00",
  };
}
