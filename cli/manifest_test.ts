import assert from "node:assert/strict";
import { formatManifestError, parseManifest, readManifests, splitFieldPath } from "./manifest.ts";

const TWO_PODS = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
spec:
  containers:
  - name: app
    image: nginx:1.27
---
# the second one
apiVersion: v1
kind: Pod
metadata:
  name: web-2
spec:
  containers:
  - image: nginx:1.27
`;

Deno.test("parseManifest reads every document with the line it starts on", () => {
  const { documents, errors } = parseManifest(TWO_PODS, "pods.yaml");
  assert.deepEqual(errors, []);
  assert.deepEqual(
    documents.map((d) => [d.source, d.line, (d.object.metadata as { name: string }).name]),
    [
      ["pods.yaml", 1, "web-1"],
      ["pods.yaml", 11, "web-2"],
    ],
  );
});

Deno.test("lineOf finds the line of a field, or of its closest enclosing field when it is missing", () => {
  const [, second] = parseManifest(TWO_PODS, "pods.yaml").documents;
  assert.equal(second.lineOf("spec.containers[0].image"), 17);
  // `name` is missing: the container item's line is the best there is.
  assert.equal(second.lineOf("spec.containers[0].name"), 17);
  assert.equal(second.lineOf("metadata.name"), 14);
  assert.equal(second.lineOf("spec.nodeSelector[kubernetes.io/os]"), 15);
  assert.equal(second.lineOf(""), 11);
});

Deno.test("parseManifest reports a YAML error as file:line:col and keeps the good documents", () => {
  const text = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata: {name: [broken
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop-2
`;
  const { documents, errors } = parseManifest(text, "bad.yaml");
  assert.deepEqual(documents.map((d) => (d.object.metadata as { name: string }).name), [
    "shop",
    "shop-2",
  ]);
  assert.deepEqual(errors.map(formatManifestError), [
    "bad.yaml:9:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    "bad.yaml:9:1: Flow map in block collection must be sufficiently indented and end with a }",
  ]);
});

Deno.test("parseManifest gives the exact position of a YAML syntax error", () => {
  const { errors } = parseManifest("kind: Pod\nmetadata:\n  name: a: b\n", "p.yaml");
  assert.deepEqual(
    errors.map(formatManifestError),
    ["p.yaml:3:9: Nested mappings are not allowed in compact mappings"],
  );
  const unindented = parseManifest(
    "kind: Pod\nmetadata:\n  name: x\n  labels:\n   app: web\n  bad\n",
    "q.yaml",
  );
  assert.deepEqual(
    unindented.errors.map(formatManifestError),
    ["q.yaml:6:3: Implicit map keys need to be followed by map values"],
  );
});

Deno.test("parseManifest flattens kind: List into its items, with each item's own lines", () => {
  const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: a
- apiVersion: v1
  kind: Pod
  metadata:
    name: p
  spec:
    containers: []
- just a string
`;
  const { documents, errors } = parseManifest(text, "list.yaml");
  assert.deepEqual(documents.map((d) => [d.object.kind, d.line]), [["Namespace", 4], ["Pod", 8]]);
  assert.equal(documents[1].lineOf("spec.containers"), 13);
  assert.deepEqual(errors.map(formatManifestError), [
    "list.yaml:14:3: items[2]: expected an object with apiVersion and kind, got a string",
  ]);
});

Deno.test("parseManifest reads JSON, skips empty documents and rejects documents that are not objects", () => {
  const json = parseManifest(
    '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "j"}\n}\n',
    "ns.json",
  );
  assert.deepEqual(json.errors, []);
  assert.equal(json.documents[0].lineOf("metadata.name"), 4);
  const odd = parseManifest("---\n# nothing\n---\n- a\n- b\n", "odd.yaml");
  assert.deepEqual(odd.documents, []);
  assert.deepEqual(odd.errors.map(formatManifestError), [
    "odd.yaml:4:1: expected an object with apiVersion and kind, got a list",
  ]);
});

Deno.test("splitFieldPath reads Kubernetes field paths", () => {
  assert.deepEqual(splitFieldPath("spec.containers[0].name"), ["spec", "containers", 0, "name"]);
  assert.deepEqual(splitFieldPath("metadata.labels[app.kubernetes.io/name]"), [
    "metadata",
    "labels",
    "app.kubernetes.io/name",
  ]);
  assert.deepEqual(splitFieldPath(""), []);
});

Deno.test("readManifests reads a folder's manifests in name order, files and stdin, and reports missing paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
    await Deno.writeTextFile(`${dir}/b.yml`, ns("b"));
    await Deno.writeTextFile(`${dir}/a.yaml`, ns("a"));
    await Deno.writeTextFile(
      `${dir}/c.json`,
      JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "c" } }),
    );
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a manifest");
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/d.yaml`, ns("d"));
    const stdin = ReadableStream.from([new TextEncoder().encode(ns("s"))]);

    const read = await readManifests([".", "-", "a.yaml", "nope.yaml", "-"], { cwd: dir, stdin });
    const names = read.documents.map((d) =>
      `${d.source}:${(d.object.metadata as { name: string }).name}`
    );
    // Standard input is read once, however often `-` is given.
    assert.deepEqual(names, [
      "./a.yaml:a",
      "./b.yml:b",
      "./c.json:c",
      "STDIN:s",
      "a.yaml:a",
      "STDIN:s",
    ]);
    assert.deepEqual(read.errors.map(formatManifestError), ['the path "nope.yaml" does not exist']);

    const recursive = await readManifests([dir], { recursive: true });
    assert.deepEqual(recursive.documents.map((d) => d.source.slice(dir.length)), [
      "/a.yaml",
      "/b.yml",
      "/c.json",
      "/sub/d.yaml",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
