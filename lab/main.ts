/**
 * `deno task lab`: the local lab. Starts the cluster (lab/cluster.ts) — nats-server from PATH, the state
 * service, the scheduler, the controllers and N worker nodes, each a separate process kept running by
 * one supervisor — waits until the nodes are Ready, prints how to use the lab, and stops everything in
 * order on Ctrl-C or SIGTERM, exiting 0.
 * @module
 */
import { parseArgs } from "node:util";
import { Logger } from "../shared/log.ts";
import { hasNatsServer } from "../shared/nats_server.ts";
import { timingProfile } from "../shared/timing.ts";
import { type LabInfo, startCluster } from "./cluster.ts";

const USAGE = `Usage: deno task lab [options]

Starts a local kubelab: nats-server, the state service, the scheduler, the controllers and N
worker nodes (runtime, kubelet, kube-proxy per node), each a separate process. A process that
dies is restarted.

Options:
  --nodes N         worker nodes (default 3); past 20, hosted in pools: one runtime, one kubelet and
                    one kube-proxy process for each pool of nodes
  --pool-size N     nodes per pool (default 250)
  --dir DIR         lab directory: NATS store, logs, lab.json (default .kubelab)
  --profile NAME    timing profile: default (Kubernetes' timings) or fast (default: default)
  --runtime NAME    container runtime backend of every node: fake, or process for real
                    processes (as root: pod IPs on lo, so Services carry traffic) (default: fake)
  --port N          NATS client port; 0 picks a free one (default 4222)
  --http-port N     state service HTTP port; 0 picks a free one (default 8080)
  --monitor-port N  NATS monitoring port; 0 picks a free one (default 8222)
  --clean           delete the lab directory's stored state first
  -h, --help        this text
`;

/** Runs the lab; resolves with the process exit code. */
export async function main(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      options: {
        nodes: { type: "string", default: "3" },
        "pool-size": { type: "string", default: "250" },
        dir: { type: "string", default: ".kubelab" },
        profile: { type: "string", default: "default" },
        runtime: { type: "string", default: "fake" },
        port: { type: "string", default: "4222" },
        "http-port": { type: "string", default: "8080" },
        "monitor-port": { type: "string", default: "8222" },
        clean: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`lab: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const nodes = Number(flags.nodes);
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > 10_000) {
    console.error(`lab: --nodes must be a whole number from 0 to 10000, got "${flags.nodes}"`);
    return 2;
  }
  const poolSize = Number(flags["pool-size"]);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 2_000) {
    console.error(
      `lab: --pool-size must be a whole number from 1 to 2000, got "${flags["pool-size"]}"`,
    );
    return 2;
  }
  try {
    timingProfile(flags.profile);
  } catch (err) {
    console.error(`lab: ${(err as Error).message}`);
    return 2;
  }
  if (!(await hasNatsServer())) {
    console.error(
      "lab: nats-server is not on PATH. Install it first:\n" +
        "  Debian/Ubuntu:  sudo apt-get install -y nats-server\n" +
        "  macOS:          brew install nats-server\n" +
        "  other:          https://github.com/nats-io/nats-server/releases",
    );
    return 1;
  }

  // Ctrl-C in a terminal reaches only this process (its children have sessions of their own), which
  // stops them in order.
  const stopping = new AbortController();
  const stopRequested = new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => {
        stopping.abort();
        resolve();
      });
    }
  });
  const log = new Logger({ fields: { agent: "lab" } });
  let cluster;
  try {
    cluster = await startCluster({
      dir: flags.dir,
      nodes,
      nodesPerPool: poolSize,
      profile: flags.profile,
      runtime: flags.runtime,
      port: portFlag(flags.port),
      httpPort: portFlag(flags["http-port"]),
      monitorPort: portFlag(flags["monitor-port"]),
      clean: flags.clean,
      logLevel: Deno.env.get("KUBELAB_LOG_LEVEL") ?? "info",
      log,
    });
  } catch (err) {
    console.error(`lab: ${(err as Error).message}`);
    return err instanceof RangeError ? 2 : 1;
  }
  let ready = false;
  try {
    await cluster.waitReady({ signal: stopping.signal });
    ready = true;
  } catch (err) {
    if (!stopping.signal.aborted) {
      log.error("Lab did not come up", { error: err, logs: `${cluster.info.dir}/logs` });
    }
  }
  if (ready) {
    console.log(banner(cluster.info));
    await stopRequested;
  }
  console.log("\nStopping the lab…");
  await cluster.stop();
  console.log("Lab stopped.");
  return ready || stopping.signal.aborted ? 0 : 1;
}

function portFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`Invalid port "${value}"`);
  return n;
}

function banner(lab: LabInfo): string {
  return `
kubelab is up: ${lab.nodes.length} node(s) Ready (${
    lab.nodes.length > 6
      ? `${lab.nodes.slice(0, 3).join(", ")}, …, ${lab.nodes.at(-1)}`
      : lab.nodes.join(", ")
  }), profile ${lab.profile}.

  NATS        ${lab.natsUrl}   (credentials: ${lab.credsFile})
  HTTP API    ${lab.httpUrl}   (Kubernetes REST paths, bearer token in ${lab.dir}/http-token)
  lab dir     ${lab.dir}   (lab.json, logs/, nats/, auth/)

In another terminal, from this directory:
  deno task kubelab apply -f examples/pods.yaml
  deno task kubelab get pods -o wide
  deno task kubelab describe pod web-1
  deno task kubelab tap                      # every message on the bus
  deno task kubelab delete pod web-1
  deno task kubelab lab kill-node node-2     # then watch: kubelab get pods -o wide -w

kubectl works too:
  export KUBECONFIG=${lab.kubeconfig}
  kubectl get nodes

Ctrl-C stops the lab; its state stays in ${lab.dir}/nats for the next start.
`;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
