/**
 * The kubelab CLI end to end: whole command lines through `runCli`, against a real nats-server and the
 * real state service running in this process.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { Bus } from "../shared/bus/bus.ts";
import { RealClock } from "../shared/clock.ts";
import { Logger } from "../shared/log.ts";
import { freePort, type NatsServer, startNatsServer } from "../shared/nats_server.ts";
import { StateService } from "../agents/state/service.ts";
import type { Event, Pod } from "../shared/api/core.ts";
import { ApiClient } from "../shared/client/client.ts";
import { runCli } from "../cli/main.ts";

interface Lab extends AsyncDisposable {
  server: NatsServer;
  /** A client of the state service, for setting up what the CLI should find. */
  client: ApiClient;
  /** A scratch directory: the CLI's working directory, for manifests. */
  dir: string;
}

/** A nats-server with a temporary store and, unless `state: false`, the state service. */
async function startLab(opts: { state?: boolean } = {}): Promise<Lab> {
  const dir = await Deno.makeTempDir({ prefix: "kubelab-cli-" });
  const server = await startNatsServer({ storeDir: `${dir}/nats` });
  const log = new Logger({ level: "error", sink: () => {} });
  const bus = await Bus.connect({ servers: server.url, name: "state", log });
  const service = opts.state === false
    ? undefined
    : await StateService.start({ bus, clock: new RealClock(), log });
  return {
    server,
    client: new ApiClient(bus),
    dir,
    async [Symbol.asyncDispose]() {
      await service?.stop();
      await bus.drain();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kubelab ARGS --server <lab>`; `out` and `err` fill as the command writes (for watches). */
function kubelab(
  lab: Lab,
  args: string[],
  opts: { stdin?: string; signal?: AbortSignal; out?: string[]; err?: string[] } = {},
): Promise<Run> {
  const out = opts.out ?? [];
  const err = opts.err ?? [];
  return runCli([...args, "--server", lab.server.url], {
    io: {
      stdout: { write: (t) => void out.push(t) },
      stderr: { write: (t) => void err.push(t) },
      stdin: ReadableStream.from([new TextEncoder().encode(opts.stdin ?? "")]),
    },
    cwd: lab.dir,
    signal: opts.signal ?? new AbortController().signal,
  }).then((code) => ({ code, stdout: out.join(""), stderr: err.join("") }));
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SHOP = (image: string) =>
  `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  labels:
    app: web
spec:
  containers:
  - name: app
    image: ${image}
    ports:
    - containerPort: 8080
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
`;

Deno.test("apply creates, then reports unchanged, then configured; get and describe show the objects", async () => {
  await using lab = await startLab();
  await Deno.writeTextFile(`${lab.dir}/shop.yaml`, SHOP("nginx:1.27"));

  const created = await kubelab(lab, ["apply", "-f", "shop.yaml"]);
  assert.deepEqual(created, {
    code: 0,
    stdout: "namespace/shop created\npod/web-1 created\nservice/web created\n",
    stderr: "",
  });

  const again = await kubelab(lab, ["apply", "-f", "shop.yaml"]);
  assert.equal(
    again.stdout,
    "namespace/shop unchanged\npod/web-1 unchanged\nservice/web unchanged\n",
  );
  assert.equal(again.code, 0);

  await Deno.writeTextFile(`${lab.dir}/shop.yaml`, SHOP("nginx:1.28"));
  const changed = await kubelab(lab, ["apply", "-f", "shop.yaml"]);
  assert.equal(
    changed.stdout,
    "namespace/shop unchanged\npod/web-1 configured\nservice/web unchanged\n",
  );

  const json = await kubelab(lab, ["get", "pod", "web-1", "-n", "shop", "-o", "json"]);
  assert.equal(json.code, 0);
  const pod = JSON.parse(json.stdout);
  assert.equal(pod.spec.containers[0].image, "nginx:1.28");
  assert.equal(pod.metadata.namespace, "shop");

  const yaml = await kubelab(lab, ["get", "po,svc", "-n", "shop", "-o", "yaml"]);
  const list = parseYaml(yaml.stdout);
  assert.equal(list.kind, "List");
  assert.deepEqual(list.items.map((i: { kind: string }) => i.kind), ["Pod", "Service"]);

  const wide = await kubelab(lab, ["get", "pods", "-n", "shop", "-o", "wide"]);
  const [header, row] = wide.stdout.trimEnd().split("\n");
  assert.match(
    header,
    /^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES$/,
  );
  assert.match(row, /^web-1 +0\/1 +Pending +0 +\d+s +<none> +<none> +<none> +<none>$/);

  const services = await kubelab(lab, ["get", "svc", "-A", "--no-headers"]);
  assert.match(
    services.stdout,
    /^shop +web +NodePort +10\.96\.\d+\.\d+ +<none> +80:3\d{4}\/TCP +\d+s\n/m,
  );

  const names = await kubelab(lab, ["get", "pod/web-1", "service/web", "-n", "shop", "-o", "name"]);
  assert.equal(names.stdout, "pod/web-1\nservice/web\n");

  const described = await kubelab(lab, ["describe", "pod", "web-1", "-n", "shop"]);
  assert.equal(described.code, 0);
  assert.match(described.stdout, /^Name: +web-1$/m);
  assert.match(described.stdout, /^Namespace: +shop$/m);
  assert.match(described.stdout, /^ {4}Image: +nginx:1\.28$/m);
  assert.match(
    described.stdout,
    /^ {4}Liveness: +http-get http:\/\/:8080\/healthz delay=0s timeout=1s period=10s #success=1 #failure=3$/m,
  );
  // kubectl leaves its own bookkeeping annotation out.
  assert.doesNotMatch(described.stdout, /last-applied-configuration/);

  const describedSvc = await kubelab(lab, ["describe", "svc", "web", "-n", "shop"]);
  assert.match(describedSvc.stdout, /^Type: +NodePort$/m);
  assert.match(describedSvc.stdout, /^TargetPort: +8080\/TCP$/m);
});

Deno.test("describe pod shows the events recorded about that pod, repeats counted", async () => {
  await using lab = await startLab();
  await kubelab(lab, ["apply", "-f", "-"], { stdin: SHOP("nginx:1.27") });
  const pod = await lab.client.get<Pod>("pods", "shop", "web-1");
  const now = Date.now();
  const event = (name: string, uid: string, count: number): Event => ({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace: "shop" },
    involvedObject: { kind: "Pod", name: "web-1", namespace: "shop", uid },
    reason: "BackOff",
    message: "Back-off restarting failed container app in pod web-1_shop",
    type: "Warning",
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: new Date(now - 120_000).toISOString(),
    lastTimestamp: new Date(now - 10_000).toISOString(),
    count,
  });
  await lab.client.create("events", event("web-1.a", pod.metadata.uid!, 3));
  // An event about an earlier pod of the same name is not this pod's.
  await lab.client.create("events", event("web-1.b", "another-uid", 1));
  const described = await kubelab(lab, ["describe", "pod", "web-1", "-n", "shop"]);
  const events = described.stdout.slice(described.stdout.indexOf("Events:"));
  assert.match(
    events,
    new RegExp(
      String.raw`^Events:
  Type +Reason +Age +From +Message
  ---- +------ +---- +---- +-------
  Warning +BackOff +1\ds \(x3 over 2m\) +kubelet +Back-off restarting failed container app in pod web-1_shop
$`,
    ),
  );
});

Deno.test("get reports what is missing in kubectl's words", async () => {
  await using lab = await startLab();
  const missing = await kubelab(lab, ["get", "pods", "nope"]);
  assert.deepEqual(missing, {
    code: 1,
    stdout: "",
    stderr: 'Error from server (NotFound): pods "nope" not found\n',
  });
  const empty = await kubelab(lab, ["get", "pods"]);
  assert.deepEqual(empty, {
    code: 0,
    stdout: "",
    stderr: "No resources found in default namespace.\n",
  });
  const namespaces = await kubelab(lab, ["get", "ns"]);
  assert.match(namespaces.stdout, /^NAME +STATUS +AGE\ndefault +Active +\d+s\n/);
  const unknown = await kubelab(lab, ["get", "pdos"]);
  assert.deepEqual(unknown, {
    code: 1,
    stdout: "",
    stderr: 'error: the server doesn\'t have a resource type "pdos"\n',
  });
});

Deno.test("delete removes a pod and waits until it is gone", async () => {
  await using lab = await startLab();
  await kubelab(lab, ["apply", "-f", "-"], { stdin: SHOP("nginx:1.27") });
  const deleted = await kubelab(lab, ["delete", "pod", "web-1", "-n", "shop"]);
  assert.deepEqual(deleted, { code: 0, stdout: 'pod "web-1" deleted\n', stderr: "" });
  assert.equal((await kubelab(lab, ["get", "pod", "web-1", "-n", "shop"])).code, 1);

  const forced = await kubelab(lab, ["delete", "svc/web", "-n", "shop", "--force", "--wait=false"]);
  assert.equal(forced.stdout, 'service "web" force deleted\n');
  assert.match(forced.stderr, /^Warning: Immediate deletion does not wait for confirmation/);

  const again = await kubelab(lab, ["delete", "pod", "web-1", "-n", "shop"]);
  assert.deepEqual(again, {
    code: 1,
    stdout: "",
    stderr: 'Error from server (NotFound): pods "web-1" not found\n',
  });
});

Deno.test("delete -f deletes what a manifest names, namespaces last, and waits for all of it", async () => {
  await using lab = await startLab();
  await Deno.writeTextFile(`${lab.dir}/shop.yaml`, SHOP("nginx:1.27"));
  await kubelab(lab, ["apply", "-f", "shop.yaml"]);
  const run = await kubelab(lab, ["delete", "-f", "shop.yaml"]);
  assert.deepEqual(run, {
    code: 0,
    stdout: 'pod "web-1" deleted\nservice "web" deleted\nnamespace "shop" deleted\n',
    stderr: "",
  });
  assert.equal((await kubelab(lab, ["get", "ns", "shop"])).code, 1);
});

Deno.test("a bad document is reported with its file and line, and the good ones are still applied", async () => {
  await using lab = await startLab();
  await Deno.mkdir(`${lab.dir}/manifests`);
  await Deno.writeTextFile(
    `${lab.dir}/manifests/a-broken.yaml`,
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n   app: web\n  bad\n",
  );
  await Deno.writeTextFile(
    `${lab.dir}/manifests/b-pods.yaml`,
    `apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  containers:
  - name: app
    image: nginx
---
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - image: nginx
  - name: side
`,
  );
  const run = await kubelab(lab, ["apply", "-f", "manifests"]);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "pod/good created\n");
  assert.equal(
    run.stderr,
    "manifests/a-broken.yaml:7:3: Implicit map keys need to be followed by map values\n" +
      'manifests/b-pods.yaml:16: Pod "bad" is invalid: spec.containers[0].name: Required value\n' +
      'manifests/b-pods.yaml:17: Pod "bad" is invalid: spec.containers[1].image: Required value\n',
  );
  assert.equal((await kubelab(lab, ["get", "pod", "good"])).code, 0);
});

Deno.test("create -f creates only: an existing object is an AlreadyExists error", async () => {
  await using lab = await startLab();
  const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";
  assert.equal(
    (await kubelab(lab, ["create", "-f", "-"], { stdin: ns })).stdout,
    "namespace/shop created\n",
  );
  const twice = await kubelab(lab, ["create", "-f", "-"], { stdin: ns });
  assert.deepEqual(twice, {
    code: 1,
    stdout: "",
    stderr:
      'Error from server (AlreadyExists): error when creating "STDIN": namespaces "shop" already exists\n',
  });
});

Deno.test("get -w prints the table, then a row per change, until interrupted", async () => {
  await using lab = await startLab();
  await kubelab(lab, ["apply", "-f", "-"], { stdin: SHOP("nginx:1.27") });
  const stop = new AbortController();
  const out: string[] = [];
  const watching = kubelab(lab, ["get", "pods", "-n", "shop", "-w"], { signal: stop.signal, out });
  await until(() => out.join("").includes("web-1"), "the first table");
  await kubelab(lab, ["delete", "pod", "web-1", "-n", "shop", "--wait=false"]);
  await until(() => out.join("").trimEnd().split("\n").length >= 3, "the row of the deletion");
  stop.abort();
  const run = await watching;
  assert.equal(run.code, 0);
  const lines = run.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^NAME +READY +STATUS +RESTARTS +AGE$/);
  assert.match(lines[1], /^web-1 +0\/1 +Pending +0 +\d+s$/);
  assert.match(lines[2], /^web-1 +0\/1 +Pending +0 +\d+s$/);
});

Deno.test("get with several types and -w watches each, rows named by kind", async () => {
  await using lab = await startLab();
  await kubelab(lab, ["apply", "-f", "-"], { stdin: SHOP("nginx:1.27") });
  const stop = new AbortController();
  const out: string[] = [];
  const watching = kubelab(lab, ["get", "pods,services", "-n", "shop", "-w"], {
    signal: stop.signal,
    out,
  });
  await until(() => /pod\/web-1/.test(out.join("")), "the pods table");
  await kubelab(lab, ["delete", "pod", "web-1", "-n", "shop", "--wait=false"]);
  await until(
    () => (out.join("").match(/pod\/web-1/g) ?? []).length >= 2,
    "the row of the deletion",
  );
  stop.abort();
  const run = await watching;
  assert.equal(run.code, 0);
});

Deno.test("tap prints the API requests it sees until interrupted", async () => {
  await using lab = await startLab();
  const stop = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  const tapping = kubelab(lab, ["tap", "--replies"], { signal: stop.signal, out, err });
  await until(
    () => err.join("").startsWith("Tapping kl.> and replies (_INBOX_*) on"),
    "the tap to start",
  );
  await kubelab(lab, ["get", "pod", "web-1"]);
  await until(() => out.join("").includes("reply 404 NotFound"), "the reply");
  stop.abort();
  const run = await tapping;
  assert.equal(run.code, 0);
  assert.match(
    run.stdout,
    /^\d\d:\d\d:\d\d\.\d{3} kl\.api\.pods\.get\.admin {2}get pods default\/web-1 \(as admin\)$/m,
  );
  assert.match(
    run.stdout,
    /^\d\d:\d\d:\d\d\.\d{3} _INBOX_admin\.\S+ {2}reply 404 NotFound: pods "web-1" not found$/m,
  );
});

Deno.test("without the state service, or without NATS, the CLI says what is not running", async () => {
  await using lab = await startLab({ state: false });
  const noState = await kubelab(lab, ["get", "pods"]);
  assert.deepEqual(noState, {
    code: 1,
    stdout: "",
    stderr: "The state service is not running (no responder on kl.api.pods.list.admin)\n",
  });
  const url = `nats://127.0.0.1:${freePort()}`;
  const noNats = await runCli(["get", "pods", "--server", url], {
    io: {
      stdout: { write: () => {} },
      stderr: {
        write: (t) =>
          assert.equal(
            t,
            `Cannot reach NATS at ${url}: is the lab running? Start it with \`deno task lab\`\n`,
          ),
      },
      stdin: ReadableStream.from([]),
    },
    cwd: lab.dir,
    signal: new AbortController().signal,
  });
  assert.equal(noNats, 1);
});
