import assert from "node:assert/strict";
import {
  type FieldRequirement,
  formatLabelSelector,
  type LabelRequirement,
  labelValueErrors,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  qualifiedNameErrors,
  selectorFromLabelSelector,
} from "./selector.ts";

Deno.test("parseLabelSelector reads every operator kubectl -l accepts", () => {
  const cases: [string, LabelRequirement[]][] = [
    ["", []],
    ["   ", []],
    ["app=web", [{ key: "app", operator: "=", values: ["web"] }]],
    ["app==web", [{ key: "app", operator: "==", values: ["web"] }]],
    ["app!=web", [{ key: "app", operator: "!=", values: ["web"] }]],
    ["tier in (fe,be)", [{ key: "tier", operator: "in", values: ["be", "fe"] }]],
    ["tier notin (db)", [{ key: "tier", operator: "notin", values: ["db"] }]],
    ["canary", [{ key: "canary", operator: "exists", values: [] }]],
    ["!canary", [{ key: "canary", operator: "!", values: [] }]],
    ["gen>3", [{ key: "gen", operator: "gt", values: ["3"] }]],
    ["gen<5", [{ key: "gen", operator: "lt", values: ["5"] }]],
    ["app=", [{ key: "app", operator: "=", values: [""] }]],
    [
      "app=web, tier in (fe, be) ,!canary,track",
      [
        { key: "app", operator: "=", values: ["web"] },
        { key: "tier", operator: "in", values: ["be", "fe"] },
        { key: "canary", operator: "!", values: [] },
        { key: "track", operator: "exists", values: [] },
      ],
    ],
    [
      "app.kubernetes.io/name=web",
      [{ key: "app.kubernetes.io/name", operator: "=", values: ["web"] }],
    ],
    ["x in (b,a,b)", [{ key: "x", operator: "in", values: ["a", "b"] }]],
    ["x in (a,)", [{ key: "x", operator: "in", values: ["", "a"] }]],
    ["x in ()", [{ key: "x", operator: "in", values: [""] }]],
    ["in in (in,notin)", [{ key: "in", operator: "in", values: ["in", "notin"] }]],
  ];
  for (const [selector, want] of cases) {
    assert.deepEqual(parseLabelSelector(selector), want, selector);
  }
});

Deno.test("parseLabelSelector throws a SyntaxError naming the selector and the problem", () => {
  const cases: [string, string][] = [
    ["a in (x", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["a in x", "unable to parse requirement: found 'x' expected: '('"],
    ["a in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ["a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ["a=(", "unable to parse requirement: found '(', expected: identifier"],
    ["a,", "found '', expected: identifier after ','"],
    ["a=b c", "found 'c', expected: ',' or 'end of string'"],
    ["!a=b", "found '=', expected: ',' or 'end of string'"],
    ["=a", "found '=', expected: !, identifier, or 'end of string'"],
    [
      "gen>x",
      'unable to parse requirement: values[0]: Invalid value: "x": ' +
      "for 'Gt', 'Lt' operators, the value must be an integer",
    ],
  ];
  for (const [selector, reason] of cases) {
    assert.throws(
      () => parseLabelSelector(selector),
      {
        name: "SyntaxError",
        message: `Invalid label selector ${JSON.stringify(selector)}: ${reason}`,
      },
      selector,
    );
  }
});

Deno.test("parseLabelSelector rejects keys and values that are not valid label syntax", () => {
  for (const selector of ["A_=x", "a/b/c=x", "/a=x", "a=b_", `a=${"x".repeat(64)}`, "a in (-x)"]) {
    assert.throws(() => parseLabelSelector(selector), SyntaxError, selector);
  }
});

Deno.test("matchesLabels applies each operator as labels.Selector does", () => {
  const labels = { app: "web", tier: "fe", gen: "4" };
  const cases: [string, boolean][] = [
    ["", true],
    ["app=web", true],
    ["app==db", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["tier in (fe,be)", true],
    ["tier in (be)", false],
    ["missing in (x)", false],
    ["tier notin (be)", true],
    ["missing notin (x)", true],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["gen>3", true],
    ["gen>4", false],
    ["gen<5", true],
    ["app>1", false],
    ["app=web,tier=be", false],
    ["app=web,tier=fe", true],
  ];
  for (const [selector, want] of cases) {
    assert.equal(matchesLabels(parseLabelSelector(selector), labels), want, selector);
  }
  assert.equal(matchesLabels(parseLabelSelector("!app"), undefined), true);
  assert.equal(matchesLabels(parseLabelSelector("app"), undefined), false);
});

Deno.test("selectorFromLabelSelector combines matchLabels and matchExpressions", () => {
  const reqs = selectorFromLabelSelector({
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["fe", "be"] },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "track", operator: "Exists" },
      { key: "canary", operator: "DoesNotExist" },
    ],
  });
  assert.deepEqual(reqs, [
    { key: "app", operator: "=", values: ["web"] },
    { key: "tier", operator: "in", values: ["fe", "be"] },
    { key: "env", operator: "notin", values: ["dev"] },
    { key: "track", operator: "exists", values: [] },
    { key: "canary", operator: "!", values: [] },
  ]);
  assert.equal(
    formatLabelSelector(reqs),
    "app=web,tier in (be,fe),env notin (dev),track,!canary",
  );
  assert.equal(matchesLabels(reqs, { app: "web", tier: "be", track: "stable" }), true);
  assert.equal(matchesLabels(reqs, { app: "web", tier: "be", track: "a", canary: "y" }), false);
});

Deno.test("an absent or empty LabelSelector matches everything", () => {
  for (const sel of [undefined, {}, { matchLabels: {} }, { matchExpressions: [] }]) {
    const reqs = selectorFromLabelSelector(sel);
    assert.deepEqual(reqs, []);
    assert.equal(matchesLabels(reqs, { any: "thing" }), true);
    assert.equal(matchesLabels(reqs, undefined), true);
  }
});

Deno.test("formatLabelSelector writes what parseLabelSelector reads", () => {
  for (
    const selector of [
      "app=web",
      "app==web",
      "app!=web",
      "tier in (be,fe)",
      "tier notin (db)",
      "canary",
      "!canary",
      "gen>3",
      "gen<5",
      "app=web,tier in (be,fe),!canary",
    ]
  ) {
    assert.equal(formatLabelSelector(parseLabelSelector(selector)), selector);
  }
});

Deno.test("qualifiedNameErrors and labelValueErrors follow apimachinery's label syntax", () => {
  const keys: [string, boolean][] = [
    ["app", true],
    ["app.kubernetes.io/name", true],
    ["My_Key-1", true],
    ["a/b/c", false],
    ["/a", false],
    ["a/", false],
    ["-a", false],
    ["Example.com/a", false],
    ["x".repeat(63), true],
    ["x".repeat(64), false],
  ];
  for (const [key, valid] of keys) assert.equal(qualifiedNameErrors(key).length === 0, valid, key);
  const values: [string, boolean][] = [
    ["", true],
    ["web", true],
    ["v1.2_3-a", true],
    ["-web", false],
    ["a b", false],
    ["x".repeat(63), true],
    ["x".repeat(64), false],
  ];
  for (const [value, valid] of values) {
    assert.equal(labelValueErrors(value).length === 0, valid, value);
  }
  assert.deepEqual(qualifiedNameErrors("a/"), [
    "name part must be non-empty",
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " +
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
});

Deno.test("parseFieldSelector reads =, == and != terms and unescapes values", () => {
  const cases: [string, FieldRequirement[]][] = [
    ["", []],
    ["metadata.name=web-1", [{ field: "metadata.name", operator: "=", value: "web-1" }]],
    ["status.phase==Running", [{ field: "status.phase", operator: "==", value: "Running" }]],
    ["spec.nodeName!=", [{ field: "spec.nodeName", operator: "!=", value: "" }]],
    [
      "spec.nodeName=n1,status.phase!=Failed",
      [
        { field: "spec.nodeName", operator: "=", value: "n1" },
        { field: "status.phase", operator: "!=", value: "Failed" },
      ],
    ],
    ["a=x\\,y\\=z\\\\", [{ field: "a", operator: "=", value: "x,y=z\\" }]],
    ["a=1,,b=2", [
      { field: "a", operator: "=", value: "1" },
      { field: "b", operator: "=", value: "2" },
    ]],
  ];
  for (const [selector, want] of cases) {
    assert.deepEqual(parseFieldSelector(selector), want, selector);
  }
});

Deno.test("parseFieldSelector throws a SyntaxError naming the selector", () => {
  const cases: [string, string][] = [
    ["status.phase", "can't understand 'status.phase'"],
    ["a=b,c", "can't understand 'c'"],
    ["a==b=c", "unescaped character in value: '='"],
    ["a=b\\x", "invalid escape sequence: \\x"],
    ["a=b\\", "invalid escape sequence: \\"],
  ];
  for (const [selector, reason] of cases) {
    assert.throws(
      () => parseFieldSelector(selector),
      {
        name: "SyntaxError",
        message: `Invalid field selector ${JSON.stringify(selector)}: ${reason}`,
      },
      selector,
    );
  }
});

Deno.test("matchesFields reads dotted paths, with a missing field as an empty string", () => {
  const pod = {
    metadata: { name: "web-1", namespace: "default" },
    spec: { nodeName: "n1", priority: 0 },
    status: { phase: "Running" },
  };
  const unscheduled = { metadata: { name: "web-2", namespace: "default" }, spec: {} };
  const cases: [string, unknown, boolean][] = [
    ["", pod, true],
    ["metadata.name=web-1", pod, true],
    ["metadata.name!=web-1", pod, false],
    ["metadata.namespace=default,status.phase=Running", pod, true],
    ["spec.nodeName=n1", pod, true],
    ["spec.nodeName=", unscheduled, true],
    ["spec.nodeName!=", unscheduled, false],
    ["spec.nodeName!=", pod, true],
    ["status.phase=", unscheduled, true],
    ["spec.priority=0", pod, true],
    ["involvedObject.name=web-1", { involvedObject: { kind: "Pod", name: "web-1" } }, true],
    ["metadata.name=web-1", null, false],
  ];
  for (const [selector, obj, want] of cases) {
    assert.equal(matchesFields(parseFieldSelector(selector), obj), want, selector);
  }
});

Deno.test("matchesFields reads an absent spec.unschedulable as false, like the API server", () => {
  const cordoned = { spec: { unschedulable: true } };
  const ready = { spec: {} };
  const uncordoned = parseFieldSelector("spec.unschedulable=false");
  assert.equal(matchesFields(uncordoned, ready), true);
  assert.equal(matchesFields(uncordoned, cordoned), false);
  assert.equal(matchesFields(parseFieldSelector("spec.unschedulable=true"), cordoned), true);
});
