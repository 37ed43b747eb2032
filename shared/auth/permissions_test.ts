import assert from "node:assert/strict";
import { parseIdentity } from "./identity.ts";
import { permissionsFor } from "./permissions.ts";

/** NATS subject matching, as the server does it: `*` one token, `>` the rest. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length || (p[i] !== "*" && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

function may(identity: string, op: "pub" | "sub", subject: string): boolean {
  const rules = permissionsFor(parseIdentity(identity))[op];
  return rules.allow.some((a) => matches(a, subject)) &&
    !(rules.deny ?? []).some((d) => matches(d, subject));
}

Deno.test("each identity publishes and subscribes only where its role reaches", () => {
  const cases: [string, "pub" | "sub", string, boolean][] = [
    // the API: only as oneself
    ["kubelet@node-1", "pub", "kl.api.pods.updateStatus.kubelet@node-1", true],
    ["kubelet@node-1", "pub", "kl.api.pods.updateStatus.kubelet@node-2", false],
    ["kubelet@node-1", "pub", "kl.api.pods.updateStatus.admin", false],
    ["scheduler", "pub", "kl.api.pods.bind.scheduler", true],
    ["runtime@node-1", "pub", "kl.api.pods.list.runtime@node-1", false],
    ["tap", "pub", "kl.api.pods.list.tap", false],
    // only a node's kubelet calls its runtime; only the runtime publishes its events
    ["kubelet@node-1", "pub", "kl.node.node-1.cri.RunPodSandbox", true],
    ["kubelet@node-1", "pub", "kl.node.node-2.cri.RunPodSandbox", false],
    ["kubelet@node-1", "pub", "kl.node.node-1.cri.events", false],
    ["admin", "pub", "kl.node.node-1.cri.ExecSync", false],
    ["runtime@node-1", "sub", "kl.node.node-1.cri.ExecSync", true],
    ["runtime@node-1", "sub", "kl.node.node-2.cri.ExecSync", false],
    ["runtime@node-1", "pub", "kl.node.node-1.cri.events", true],
    ["kubelet@node-1", "sub", "kl.node.node-1.cri.events", true],
    ["kubelet@node-1", "sub", "kl.node.node-2.cri.events", false],
    // watch events: only the state service publishes them; a node reads only its own pods
    ["state", "pub", "kl.watch.pods.node-1.default.web", true],
    ["admin", "pub", "kl.watch.pods.node-1.default.web", false],
    ["controllers", "pub", "kl.watch.pods.node-1.default.web", false],
    [
      "kubelet@node-1",
      "pub",
      "$JS.API.CONSUMER.CREATE.KL_WATCH.oc_1.kl.watch.pods.node-1.>",
      false,
    ],
    [
      "kubelet@node-1",
      "pub",
      "$JS.API.CONSUMER.CREATE.KL_WATCH.oc_1.kl.watch.pods.node-2.>",
      false,
    ],
    ["kubelet@node-1", "pub", "$JS.API.CONSUMER.CREATE.KL_WATCH.oc_1.kl.watch.pods.>", false],
    ["kube-proxy@node-1", "pub", "$JS.API.CONSUMER.CREATE.KL_WATCH.oc_1.kl.watch.services.>", true],
    ["kube-proxy@node-1", "pub", "$JS.API.CONSUMER.CREATE.KL_WATCH.oc_1.kl.watch.pods.>", false],
    ["scheduler", "pub", "$JS.API.CONSUMER.CREATE.KL_WATCH.oc_1.kl.watch.pods.>", true],
    // the store: the state service only
    ["state", "pub", "$KV.kubelab.pods.default.web", true],
    ["controllers", "pub", "$KV.kubelab.pods.default.web", false],
    ["kubelet@node-1", "pub", "$JS.API.STREAM.PURGE.KL_WATCH", false],
    ["admin", "pub", "$JS.API.STREAM.DELETE.KV_kubelab", false],
    // replies: one's own inbox; the owner and tap read everything
    ["kubelet@node-1", "sub", "_INBOX_kubelet@node-1.abc", true],
    ["kubelet@node-1", "sub", "_INBOX_kubelet@node-2.abc", false],
    ["kubelet@node-1", "sub", "_INBOX_kubelet@node-10.abc", false],
    ["tap", "sub", "kl.node.node-1.cri.RunPodSandbox", true],
    ["tap", "pub", "kl.lab.kill-node", false],
    ["admin", "pub", "kl.lab.kill-node", true],
    ["admin", "pub", "kl.node.node-1.kubelet.exec", true],
    ["kube-proxy@node-1", "pub", "kl.node.node-1.proxy.connections", true],
    ["kube-proxy@node-1", "pub", "kl.node.node-2.proxy.connections", false],
    // replies: an answering agent publishes only into the inboxes of those who may ask it
    ["runtime@node-1", "pub", "_INBOX_kubelet@node-1.abc", true],
    ["runtime@node-1", "pub", "_INBOX_kubelet@node-2.abc", false],
    ["runtime@node-1", "pub", "_INBOX_admin.abc", false],
    ["kubelet@node-1", "pub", "_INBOX_admin.abc", true],
    ["kubelet@node-1", "pub", "_INBOX_state.abc", true],
    ["kubelet@node-1", "pub", "_INBOX_kubelet@node-2.abc", false],
    ["scheduler", "pub", "_INBOX_kubelet@node-1.abc", false],
    ["state", "pub", "_INBOX_kubelet@node-1.abc", true],
    ["state", "pub", "kl.node.node-1.cri.ExecSync", false],
    ["state", "pub", "kl.node.node-1.cri.events", false],
    ["state", "pub", "kl.api.pods.list.admin", false],
    ["state", "pub", "kl.lab.kill-node", false],
    ["state", "pub", "kl.node.node-1.kubelet.exec", true],
    ["bootstrap", "pub", "kl.bootstrap.node", true],
    ["bootstrap", "pub", "kl.api.pods.list.bootstrap", false],
  ];
  for (const [identity, op, subject, want] of cases) {
    assert.equal(may(identity, op, subject), want, `${identity} ${op} ${subject}`);
  }
});

Deno.test("an agent answers into the inboxes of those who may ask it, and no other", () => {
  const cases: [string, string, boolean][] = [
    ["runtime@node-1", "_INBOX_kubelet@node-1.abc.1", true],
    ["runtime@node-1", "_INBOX_kubelet@node-2.abc.1", false],
    ["runtime@node-1", "_INBOX_admin.abc.1", false],
    ["kubelet@node-1", "_INBOX_admin.abc.1", true],
    ["kubelet@node-1", "_INBOX_state.abc.1", true],
    ["kubelet@node-1", "_INBOX_kubelet@node-2.abc.1", false],
    ["admin", "_INBOX_admin.abc.1", true],
    ["admin", "_INBOX_kubelet@node-1.abc.1", false],
    ["state", "_INBOX_kubelet@node-1.abc.1", true],
    ["scheduler", "_INBOX_admin.abc.1", false],
  ];
  for (const [identity, subject, want] of cases) {
    assert.equal(may(identity, "pub", subject), want, `${identity} pub ${subject}`);
  }
  const pool = permissionsFor(parseIdentity("runtime-pool@pool-1"), ["node-1", "node-2"]);
  assert.ok(pool.pub.allow.includes("_INBOX_kubelet-pool@pool-1.>"));
});
