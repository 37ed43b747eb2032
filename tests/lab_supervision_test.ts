/**
 * Every process of the local lab comes back (issue 9): a node agent or nats-server killed with SIGKILL is
 * restarted, the state service reports not-ready while NATS is down, agent logs fill while the lab runs,
 * and Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops the lab cleanly.
 */
import assert from "node:assert/strict";
import { kubelab, type Lab, startLab } from "./_lab.ts";

async function pidOf(lab: Lab, name: string): Promise<number> {
  return Number((await Deno.readTextFile(`${lab.dir}/run/${name}.pid`)).trim());
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alive = (pid: number) => {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
};

Deno.test({
  name: "the lab restarts killed node agents and nats-server; /readyz is 503 while NATS is down",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using lab = await startLab({ nodes: 2 });
    const { httpUrl } = JSON.parse(await Deno.readTextFile(`${lab.dir}/lab.json`));
    // The lab serves HTTPS with a CA of its own.
    const client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(`${lab.dir}/http-ca.crt`)],
    });
    const fetch = (url: string) => globalThis.fetch(url, { client });

    // Logs are written as the agents write, not when they exit.
    for (const name of ["state", "node-1-kubelet", "node-2-runtime"]) {
      const text = await Deno.readTextFile(`${lab.dir}/logs/${name}.log`);
      assert.match(text, /Started/, `${name}.log has the agent's start while it runs`);
    }

    // A node's agents, each killed in turn, come back with new processes.
    for (const agent of ["runtime", "kubelet", "kube-proxy"]) {
      const name = `node-1-${agent}`;
      const before = await pidOf(lab, name);
      Deno.kill(before, "SIGKILL");
      const after = await until(`${name} restarted`, async () => {
        const pid = await pidOf(lab, name);
        return pid !== before && alive(pid) ? pid : undefined;
      });
      assert.notEqual(after, before);
    }
    const ready = async () => {
      const out = await kubelab(lab, "get", "nodes", "--no-headers");
      const lines = out.stdout.trim().split("\n");
      return out.code === 0 && lines.length === 2 && lines.every((l) => / Ready /.test(l))
        ? lines
        : undefined;
    };
    await until("both nodes Ready after the node-1 restarts", ready);

    // nats-server killed: the state service says not ready until NATS is back, then all is well.
    const nats = await pidOf(lab, "nats-server");
    Deno.kill(nats, "SIGKILL");
    const notReady = await until("/readyz 503 while NATS is down", async () => {
      const res = await fetch(`${httpUrl}/readyz`);
      const body = await res.text();
      return res.status === 503 ? body : undefined;
    }, 5_000);
    assert.match(notReady, /NATS is unreachable/);
    await until("nats-server restarted", async () => {
      const pid = await pidOf(lab, "nats-server");
      return pid !== nats && alive(pid) ? pid : undefined;
    });
    await until("/readyz ok again", async () => {
      const res = await fetch(`${httpUrl}/readyz`);
      await res.body?.cancel();
      return res.status === 200 ? true : undefined;
    });
    await until("the nodes Ready again through the restarted NATS", ready);
    assert.match(lab.output(), /Process exited; restarting it .*child=nats-server/);
  },
});

Deno.test({
  name: "Ctrl-C (SIGINT to the lab's process group) stops the lab cleanly with exit 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using lab = await startLab({ nodes: 1, detached: true });
    const agents = await Promise.all(
      ["state", "node-1-kubelet", "nats-server"].map((n) => pidOf(lab, n)),
    );
    // The terminal's Ctrl-C: SIGINT to every process of the foreground group.
    Deno.kill(-lab.proc.pid, "SIGINT");
    const { code } = await lab.proc.status;
    assert.equal(code, 0, lab.output());
    assert.match(lab.output(), /Lab stopped\./);
    assert.doesNotMatch(lab.output(), /exited; restarting|exited unexpectedly/, lab.output());
    for (const pid of agents) assert.equal(alive(pid), false, `process ${pid} stopped`);
  },
});
