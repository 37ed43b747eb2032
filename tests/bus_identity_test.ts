/**
 * Identity on the bus (issue 9): in a lab, NATS admits only the lab's credentials, and each identity can
 * do what its role needs and nothing else — as Kubernetes' NodeRestriction and RBAC do. Every forgery
 * the trust review found is tried here with a real credential of the wrong identity.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import type { Node, Pod } from "../shared/api/core.ts";
import type { Lease } from "../shared/api/coordination.ts";
import { ApiError } from "../shared/api/errors.ts";
import { identityToken } from "../shared/auth/identity.ts";
import { Bus } from "../shared/bus/bus.ts";
import { subjects } from "../shared/bus/subjects.ts";
import { ApiClient } from "../shared/client/client.ts";
import { Logger } from "../shared/log.ts";
import { startCluster } from "../lab/cluster.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

async function forbidden(what: string, p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `${what}: ${err}`);
    assert.equal(err.code, 403, `${what}: ${err.message}`);
    return err.message;
  }
  assert.fail(`${what} was allowed`);
}

/** A publish the server refuses: the request gets no answer (the violation goes to the sender). */
async function refused(what: string, bus: Bus, subject: string, body: unknown = {}) {
  await assert.rejects(
    bus.request(subject, body, z.unknown(), { timeoutMs: 1_000 }),
    (err: unknown) => err instanceof Error && /permission/i.test(`${err.message} ${err.cause}`),
    what,
  );
}

Deno.test({
  name: "NATS admits only the lab's identities, each only where its role reaches",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kubelab-identity-" });
    await using cluster = await startCluster({
      dir,
      nodes: 2,
      profile: "fast",
      port: 0,
      httpPort: 0,
      monitorPort: 0,
      log: quiet,
    });
    await cluster.waitReady({ timeoutMs: 60_000 });
    const { natsUrl } = cluster.info;
    const connect = async (identity: string) =>
      await Bus.connect({
        servers: natsUrl,
        name: `test-${identity}`,
        log: quiet,
        creds: await Deno.readTextFile(`${dir}/auth/creds/${identityToken(identity)}.creds`),
      });

    // A stranger without credentials is turned away.
    await assert.rejects(
      Bus.connect({
        servers: natsUrl,
        name: "stranger",
        log: quiet,
        connectTimeoutMs: 2_000,
        waitOnFirstConnect: false,
      }),
      /authori[sz]ation/i,
    );

    await using admin = await connect("admin");
    const adminApi = new ApiClient(admin);
    const pod = await adminApi.create<Pod>("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "victim", namespace: "default" },
      spec: { nodeName: "node-1", containers: [{ name: "app", image: "nginx:1.27" }] },
    });

    // node-2's kubelet, forging node-1's business.
    await using node2 = await connect("kubelet@node-2");
    const asNode2 = new ApiClient(node2, { timeoutMs: 3_000 });
    const statusMsg = await forbidden(
      "node-2 writes the status of node-1's pod",
      asNode2.updateStatus<Pod>("pods", { ...pod, status: { phase: "Failed" } }),
    );
    assert.match(
      statusMsg,
      /pods "victim" is forbidden: User "system:node:node-2" cannot update resource "pods\/status" .*node "node-2" can only update the status of pods with spec.nodeName set to itself/,
    );
    await forbidden(
      "node-2 deletes node-1's pod",
      asNode2.delete("pods", { namespace: "default", name: "victim", gracePeriodSeconds: 0 }),
    );
    await forbidden("node-2 lists every pod", asNode2.list<Pod>("pods"));
    await forbidden(
      "node-2 lists node-1's pods",
      asNode2.list<Pod>("pods", { fieldSelector: "spec.nodeName=node-1" }),
    );
    assert.ok(
      (await asNode2.list<Pod>("pods", { fieldSelector: "spec.nodeName=node-2" })).items.length >=
        0,
      "its own pods it may list",
    );
    await forbidden(
      "node-2 creates a pod",
      asNode2.create<Pod>("pods", { ...pod, metadata: { name: "x", namespace: "default" } }),
    );
    const lease = await adminApi.get<Lease>("leases", "kube-node-lease", "node-1");
    await forbidden("node-2 renews node-1's Lease", asNode2.update("leases", lease));
    const node1Object = await adminApi.get<Node>("nodes", undefined, "node-1");
    await forbidden("node-2 posts node-1's status", asNode2.updateStatus("nodes", node1Object));
    await forbidden(
      "node-2 deletes a Service",
      asNode2.delete("services", { namespace: "default", name: "kubernetes" }),
    );
    // …and at the NATS level: node-1's runtime and node-1's watch events are out of its reach.
    await refused("node-2 calls node-1's runtime", node2, subjects.cri("node-1", "ListPodSandbox"));
    await refused(
      "node-2 asks the API as node-1",
      node2,
      subjects.api("pods", "list", "kubelet@node-1"),
      { fieldSelector: "spec.nodeName=node-1" },
    );

    // The lab's owner may do anything through the API, but may not call a runtime or forge events.
    await refused("admin calls a runtime", admin, subjects.cri("node-1", "StopPodSandbox"), {
      podSandboxId: "x",
    });
    // Only the state service publishes watch events: a forged one never reaches the stream (a
    // subscriber of everything, the owner's own tap, does not see it either).
    await using tap = await connect("admin");
    const seen: string[] = [];
    tap.nc.subscribe(subjects.watchAll, { callback: (_e, m) => void seen.push(m?.subject) });
    await tap.flush();
    admin.publish(subjects.watchObject("pods", "default", "ghost", "node-1"), {
      type: "ADDED",
      object: { ...pod, metadata: { ...pod.metadata, name: "ghost" } },
    });
    await admin.flush();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!seen.some((s) => s?.endsWith(".ghost")), `forged event delivered: ${seen}`);
    await using node1Kubelet = await connect("kubelet@node-1");
    // A subscription to another node's pods is refused by the server.
    const denied = node1Kubelet.nc.subscribe(
      subjects.watchFilter("pods", { nodeName: "node-2" }),
    );
    const closed = await Promise.race([
      denied.closed,
      new Promise((r) => setTimeout(() => r("still open"), 2_000)),
    ]);
    assert.match(String(closed), /Permissions Violation for Subscription/);

    // A runtime has no API access at all; a kube-proxy only reads.
    await using runtime = await connect("runtime@node-1");
    await refused("a runtime lists pods", runtime, subjects.api("pods", "list", "runtime@node-1"));
    await using proxy = await connect("kube-proxy@node-1");
    const asProxy = new ApiClient(proxy, { timeoutMs: 3_000 });
    assert.ok((await asProxy.list("services")).items.length >= 0);
    await forbidden(
      "kube-proxy deletes a pod",
      asProxy.delete("pods", { namespace: "default", name: "victim" }),
    );

    // What the node itself may do still works: its own Lease and pod status.
    await using node1 = await connect("kubelet@node-1");
    const asNode1 = new ApiClient(node1, { timeoutMs: 3_000 });
    const own = await asNode1.get<Lease>("leases", "kube-node-lease", "node-1");
    await asNode1.update("leases", own);
    await asNode1.get<Pod>("pods", "default", "victim");
  },
});
