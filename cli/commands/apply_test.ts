import assert from "node:assert/strict";
import { parseManifest } from "../manifest.ts";
import { planDocument } from "./apply.ts";

const INVALID_POD = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
spec:
  restartPolicy: Sometimes
  containers:
  - image: nginx:1.27
  - name: side
    ports:
    - containerPort: 99999
`;

Deno.test("an invalid object gives one line per field error, each with the line of its field", () => {
  const [doc] = parseManifest(INVALID_POD, "pod.yaml").documents;
  assert.deepEqual(planDocument(doc, { mode: "apply" }), [
    'pod.yaml:8: Pod "web-1" is invalid: spec.containers[0].name: Required value',
    'pod.yaml:6: Pod "web-1" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported ' +
    'values: "Always", "Never", "OnFailure"',
    'pod.yaml:9: Pod "web-1" is invalid: spec.containers[1].image: Required value',
    'pod.yaml:11: Pod "web-1" is invalid: spec.containers[1].ports[0].containerPort: Invalid value: ' +
    "99999: must be between 1 and 65535, inclusive",
  ]);
});

Deno.test("an unknown kind is reported on the kind's line", () => {
  const [doc] =
    parseManifest("apiVersion: v1\nkind: Pdo\nmetadata:\n  name: x\n", "x.yaml").documents;
  assert.deepEqual(planDocument(doc, { mode: "apply" }), [
    'x.yaml:2: Pdo "x" is invalid: kind: Invalid value: "Pdo": no kind "Pdo" is registered for version "v1"',
  ]);
});

Deno.test("a namespaced object takes -n, else default; a different namespace in the object is an error", () => {
  const text = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
spec:
  containers:
  - name: app
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: web-2
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx
`;
  const [plain, inShop] = parseManifest(text, "pods.yaml").documents;
  const planned = (ns: string | undefined, doc = plain) => {
    const p = planDocument(doc, { namespace: ns, mode: "apply" });
    return Array.isArray(p) ? p : p.object.metadata.namespace;
  };
  assert.equal(planned(undefined), "default");
  assert.equal(planned("dev"), "dev");
  assert.equal(planned(undefined, inShop), "shop");
  assert.deepEqual(planned("dev", inShop), [
    'pods.yaml:14: the namespace from the provided object "shop" does not match the namespace "dev". ' +
    "You must pass '--namespace=shop' to perform this operation.",
  ]);
  // The document itself is left as it was read.
  assert.equal((plain.object.metadata as { namespace?: string }).namespace, undefined);
});

Deno.test("apply needs a name; create may generate one", () => {
  const text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  generateName: lab-\n";
  const [doc] = parseManifest(text, "ns.yaml").documents;
  assert.deepEqual(planDocument(doc, { mode: "apply" }), [
    "ns.yaml:3: cannot use generateName with apply: give a name",
  ]);
  assert.equal(Array.isArray(planDocument(doc, { mode: "create" })), false);
});
