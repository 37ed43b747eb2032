import assert from "node:assert/strict";
import { formatIdentity, inboxPrefix, kubeUser, parseIdentity } from "./identity.ts";

Deno.test("identities parse, print, and map to Kubernetes users", () => {
  const cases: [string, string | undefined, string[]][] = [
    ["admin", "kubernetes-admin", ["system:masters", "system:authenticated"]],
    ["state", "system:apiserver", ["system:masters", "system:authenticated"]],
    ["scheduler", "system:kube-scheduler", ["system:authenticated"]],
    ["controllers", "system:kube-controller-manager", ["system:authenticated"]],
    ["kubelet@node-1", "system:node:node-1", ["system:nodes", "system:authenticated"]],
    ["kube-proxy@node-1", "system:kube-proxy", ["system:authenticated"]],
    ["runtime@node-1", undefined, []],
    ["tap", undefined, []],
    ["bootstrap", undefined, []],
  ];
  for (const [text, name, groups] of cases) {
    const id = parseIdentity(text);
    assert.equal(formatIdentity(id), text);
    const user = kubeUser(id);
    assert.equal(user?.name, name, text);
    assert.deepEqual(user?.groups ?? [], groups, text);
  }
  assert.equal(kubeUser(parseIdentity("kubelet@n.example"))?.node, "n.example");
  assert.equal(inboxPrefix("kubelet@n.example"), "_INBOX_kubelet@n=example");
  for (const bad of ["root", "kubelet", "kubelet@", "kubelet@Node", "admin@node-1", "proxy@n"]) {
    assert.throws(() => parseIdentity(bad), new RegExp(`Invalid identity "${bad}"`), bad);
  }
});
