import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/meta.ts";
import { findResource } from "../../shared/api/registry.ts";
import { kubeUser, parseIdentity } from "../../shared/auth/identity.ts";
import { authorize } from "./authorizer.ts";

const pods: Record<string, string | undefined> = {
  "default/mine": "node-1",
  "default/theirs": "node-2",
};
const read = (resource: string, namespace: string | undefined, name: string) =>
  resource === "pods" && `${namespace}/${name}` in pods
    ? { spec: { nodeName: pods[`${namespace}/${name}`] } } as unknown as KubeObject
    : undefined;

Deno.test("the authorizer applies the default roles, the Node authorizer and NodeRestriction", () => {
  type Case = [
    identity: string,
    verb: string,
    resource: string,
    opts: { subresource?: string; namespace?: string; name?: string; fieldSelector?: string },
    allowed: boolean,
  ];
  const cases: Case[] = [
    ["admin", "delete", "nodes", { name: "node-1" }, true],
    ["controllers", "create", "pods", { namespace: "default", name: "x" }, true],
    [
      "scheduler",
      "create",
      "pods",
      { namespace: "default", name: "x", subresource: "binding" },
      true,
    ],
    [
      "scheduler",
      "patch",
      "pods",
      { namespace: "default", name: "x", subresource: "status" },
      true,
    ],
    ["scheduler", "delete", "pods", { namespace: "default", name: "x" }, false],
    ["scheduler", "create", "events", { namespace: "default" }, true],
    ["kube-proxy@node-1", "list", "services", {}, true],
    ["kube-proxy@node-1", "update", "services", { namespace: "default", name: "s" }, false],
    ["kube-proxy@node-1", "list", "pods", {}, false],
    // a node: its own Node and Lease
    ["kubelet@node-1", "create", "nodes", { name: "node-1" }, true],
    ["kubelet@node-1", "update", "nodes", { name: "node-1", subresource: "status" }, true],
    ["kubelet@node-1", "update", "nodes", { name: "node-2", subresource: "status" }, false],
    ["kubelet@node-1", "delete", "nodes", { name: "node-1" }, false],
    ["kubelet@node-1", "get", "nodes", { name: "node-2" }, true],
    ["kubelet@node-1", "update", "leases", { namespace: "kube-node-lease", name: "node-1" }, true],
    ["kubelet@node-1", "update", "leases", { namespace: "kube-node-lease", name: "node-2" }, false],
    ["kubelet@node-1", "create", "leases", { namespace: "default", name: "node-1" }, false],
    // its own pods
    ["kubelet@node-1", "list", "pods", { fieldSelector: "spec.nodeName=node-1" }, true],
    ["kubelet@node-1", "list", "pods", { fieldSelector: "spec.nodeName!=node-1" }, false],
    ["kubelet@node-1", "list", "pods", {}, false],
    ["kubelet@node-1", "get", "pods", { namespace: "default", name: "mine" }, true],
    ["kubelet@node-1", "get", "pods", { namespace: "default", name: "theirs" }, false],
    ["kubelet@node-1", "update", "pods", {
      namespace: "default",
      name: "mine",
      subresource: "status",
    }, true],
    ["kubelet@node-1", "patch", "pods", {
      namespace: "default",
      name: "theirs",
      subresource: "status",
    }, false],
    ["kubelet@node-1", "delete", "pods", { namespace: "default", name: "mine" }, true],
    ["kubelet@node-1", "delete", "pods", { namespace: "default", name: "theirs" }, false],
    ["kubelet@node-1", "update", "pods", { namespace: "default", name: "mine" }, false],
    ["kubelet@node-1", "create", "pods", { namespace: "default", name: "new" }, false],
    ["kubelet@node-1", "create", "events", { namespace: "default" }, true],
    ["kubelet@node-1", "delete", "events", { namespace: "default", name: "e" }, false],
    ["kubelet@node-1", "create", "deployments", { namespace: "default", name: "d" }, false],
  ];
  for (const [identity, verb, resource, opts, want] of cases) {
    const user = kubeUser(parseIdentity(identity))!;
    const denied = authorize({ user, verb, resource: findResource(resource)!, ...opts }, read);
    assert.equal(
      denied === undefined,
      want,
      `${identity} ${verb} ${resource} ${JSON.stringify(opts)}: ${denied}`,
    );
  }
});

Deno.test("a denial reads as kube-apiserver's Forbidden message", () => {
  const user = kubeUser(parseIdentity("kubelet@node-1"))!;
  assert.equal(
    authorize({
      user,
      verb: "update",
      resource: findResource("leases")!,
      namespace: "kube-node-lease",
      name: "node-2",
    }, read),
    'leases "node-2" is forbidden: User "system:node:node-1" cannot update resource "leases" in API ' +
      'group "coordination.k8s.io" in the namespace "kube-node-lease": node "node-1" may only use its ' +
      'own Lease "kube-node-lease/node-1"',
  );
});
