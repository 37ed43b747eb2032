import assert from "node:assert/strict";
import { bearerToken, crossOrigin, isAllowedHost, tokenMatches } from "./http_access.ts";

Deno.test("isAllowedHost takes IP literals, localhost and allowed names only", () => {
  const cases: [string, readonly string[], boolean][] = [
    ["127.0.0.1", [], true],
    ["10.0.0.7", [], true],
    ["[::1]", [], true],
    ["[fe80::1]", [], true],
    ["localhost", [], true],
    ["localhost.", [], true],
    ["state", ["state"], true],
    ["state", ["State"], true],
    ["state", [], false],
    ["evil.example", ["state"], false],
    ["127.0.0.1.evil.example", [], false],
    ["localhost.evil.example", [], false],
    ["", [], false],
  ];
  for (const [host, allowed, want] of cases) {
    assert.equal(isAllowedHost(host, allowed), want, `${host} ${allowed}`);
  }
});

Deno.test("crossOrigin refuses pre-flights and origins on another host or port", () => {
  const h = (init: Record<string, string>) => new Headers(init);
  const cases: [string, Headers, string, boolean][] = [
    ["GET", h({}), "127.0.0.1:8080", false],
    ["POST", h({ origin: "http://127.0.0.1:8080" }), "127.0.0.1:8080", false],
    ["POST", h({ origin: "https://127.0.0.1:8080" }), "127.0.0.1:8080", false],
    ["GET", h({ origin: "http://localhost" }), "localhost", false],
    ["GET", h({ origin: "http://localhost:80" }), "localhost", false],
    ["POST", h({ origin: "http://evil.example" }), "127.0.0.1:8080", true],
    ["POST", h({ origin: "http://127.0.0.1:3000" }), "127.0.0.1:8080", true],
    ["POST", h({ origin: "null" }), "127.0.0.1:8080", true],
    ["POST", h({ origin: "" }), "127.0.0.1:8080", true],
    ["OPTIONS", h({ "access-control-request-method": "PUT" }), "127.0.0.1:8080", true],
    ["OPTIONS", h({}), "127.0.0.1:8080", false],
  ];
  for (const [method, headers, host, refused] of cases) {
    assert.equal(
      crossOrigin(method, headers, host) !== undefined,
      refused,
      `${method} ${[...headers].join(" ")} → ${host}`,
    );
  }
});

Deno.test("bearerToken reads the header as kube-apiserver's bearer token authenticator", () => {
  const cases: [string | null, string | undefined][] = [
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["  Bearer abc  ", "abc"],
    ["Bearer abc def", "abc"],
    ["Bearer", undefined],
    ["Bearer ", undefined],
    ["Basic YWRtaW46YWRtaW4=", undefined],
    ["abc", undefined],
    [null, undefined],
  ];
  for (const [header, want] of cases) assert.equal(bearerToken(header), want, String(header));
});

Deno.test("tokenMatches finds a token among several and nothing else", () => {
  assert.equal(tokenMatches("b", ["a", "b"]), true);
  assert.equal(tokenMatches("a", ["a", "b"]), true);
  assert.equal(tokenMatches("c", ["a", "b"]), false);
  assert.equal(tokenMatches("a", []), false);
  assert.equal(tokenMatches("", [""]), true, "the caller never configures an empty token");
  assert.equal(tokenMatches("abc", ["abcd"]), false);
});
