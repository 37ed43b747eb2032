import assert from "node:assert/strict";
import { type FlagSpec, formatFlags, parseArgs, parseDuration, UsageError } from "./args.ts";

const SPECS: FlagSpec[] = [
  { name: "namespace", short: "n", type: "string", description: "Namespace." },
  { name: "all-namespaces", short: "A", type: "boolean", description: "All." },
  { name: "watch", short: "w", type: "boolean", description: "Watch." },
  { name: "output", short: "o", type: "string", description: "Format." },
  { name: "filename", short: "f", type: "strings", description: "Files." },
  { name: "grace-period", type: "int", description: "Grace." },
  { name: "wait", type: "boolean", description: "Wait." },
];

Deno.test("parseArgs reads long, short, attached and = forms, interleaved with positionals", () => {
  const args = parseArgs(
    ["get", "-n", "shop", "pods", "--output=wide", "-ojson", "web-1", "--grace-period", "0"],
    SPECS,
  );
  assert.deepEqual(args.positionals, ["get", "pods", "web-1"]);
  assert.equal(args.string("namespace"), "shop");
  assert.equal(args.string("output"), "json");
  assert.equal(args.int("grace-period"), 0);
  assert.equal(args.has("watch"), false);
});

Deno.test("parseArgs combines boolean shorthands and accepts --flag=false", () => {
  const args = parseArgs(["-Aw", "--wait=false"], SPECS);
  assert.equal(args.bool("all-namespaces"), true);
  assert.equal(args.bool("watch"), true);
  assert.equal(args.has("wait"), true);
  assert.equal(args.bool("wait"), false);
});

Deno.test("parseArgs collects repeatable flags in order and takes - as a value", () => {
  const args = parseArgs(["-f", "a.yaml", "--filename", "dir/", "-f", "-"], SPECS);
  assert.deepEqual(args.strings("filename"), ["a.yaml", "dir/", "-"]);
});

Deno.test("parseArgs stops reading flags after --", () => {
  const args = parseArgs(["--", "-n", "x"], SPECS);
  assert.deepEqual(args.positionals, ["-n", "x"]);
});

Deno.test("parseArgs rejects unknown flags, missing values and bad numbers in kubectl's words", () => {
  assert.throws(() => parseArgs(["--bogus"], SPECS), new UsageError("unknown flag: --bogus"));
  assert.throws(
    () => parseArgs(["-x"], SPECS),
    new UsageError("unknown shorthand flag: 'x' in -x"),
  );
  assert.throws(
    () => parseArgs(["-n"], SPECS),
    new UsageError("flag needs an argument: 'n' in -n"),
  );
  assert.throws(
    () => parseArgs(["--grace-period=soon"], SPECS),
    new UsageError('invalid argument "soon" for "--grace-period" flag: expected an integer'),
  );
  assert.throws(
    () => parseArgs(["--wait=maybe"], SPECS),
    new UsageError('invalid argument "maybe" for "--wait" flag: expected true or false'),
  );
});

Deno.test("formatFlags aligns descriptions and marks repeatable flags and defaults", () => {
  const text = formatFlags([
    {
      name: "namespace",
      short: "n",
      type: "string",
      valueName: "NS",
      description: "Ns.",
      defaultText: "default",
    },
    { name: "filename", short: "f", type: "strings", valueName: "PATH", description: "Files." },
    { name: "force", type: "boolean", description: "Force." },
  ]);
  assert.equal(
    text,
    [
      "  -n, --namespace NS   Ns. (default default)",
      "  -f, --filename PATH  Files. Repeatable.",
      "      --force          Force.",
    ].join("\n"),
  );
});

Deno.test("parseDuration reads Go durations and bare seconds", () => {
  assert.equal(parseDuration("30s", "timeout"), 30_000);
  assert.equal(parseDuration("1m30s", "timeout"), 90_000);
  assert.equal(parseDuration("500ms", "timeout"), 500);
  assert.equal(parseDuration("2h", "timeout"), 7_200_000);
  assert.equal(parseDuration("45", "timeout"), 45_000);
  assert.throws(() => parseDuration("soon", "timeout"), UsageError);
  assert.throws(() => parseDuration("1x", "timeout"), UsageError);
});
