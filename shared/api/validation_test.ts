import assert from "node:assert/strict";
import { formatFieldError } from "./errors.ts";
import type { Pod } from "./core.ts";
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  validateObject,
  validatePodUpdate,
} from "./validation.ts";

/** A manifest under test; `any` so that tests can break it in ways no type allows. */
// deno-lint-ignore no-explicit-any
type Manifest = Record<string, any>;

/** The formatted errors validateObject reports for `input`. */
function errorsOf(input: unknown): string[] {
  return validateObject(input).errors.map(formatFieldError);
}

/** A minimal valid pod, changed by `edit`. */
function pod(edit: (p: Manifest) => void = () => {}): Manifest {
  const p: Manifest = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default" },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
  };
  edit(p);
  return p;
}

const SUBDOMAIN_ERROR = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " +
  "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. " +
  "'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_ERROR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters " +
  "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', " +
  "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** A Pod as kubectl users write them, with many fields kubelab does not model. */
const REAL_WORLD_POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "api-7c9d8f6b5-x2k4q",
    namespace: "shop",
    labels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/version": "2.3.1", tier: "be" },
    annotations: { "prometheus.io/scrape": "true", "kubectl.kubernetes.io/restartedAt": "x" },
  },
  spec: {
    serviceAccountName: "api",
    automountServiceAccountToken: false,
    priorityClassName: "high",
    securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000 },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{
            matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }],
          }],
        },
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchLabels: { "app.kubernetes.io/name": "api" } },
            topologyKey: "kubernetes.io/hostname",
          },
        }],
      },
    },
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { "app.kubernetes.io/name": "api" } },
    }],
    nodeSelector: { "kubernetes.io/os": "linux" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "shop", effect: "NoSchedule" }],
    initContainers: [{
      name: "migrate",
      image: "registry.example.com:5000/shop/api:2.3.1",
      command: ["/bin/migrate", "--up"],
      envFrom: [{ secretRef: { name: "db" } }],
    }],
    containers: [{
      name: "api",
      image: "registry.example.com:5000/shop/api@sha256:" + "a".repeat(64),
      args: ["--port=8080"],
      ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9090 }],
      env: [
        { name: "LOG_LEVEL", value: "info" },
        { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ],
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
      readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5 },
      livenessProbe: {
        httpGet: { path: "/healthz", port: 8080, httpHeaders: [{ name: "X-Probe", value: "1" }] },
        initialDelaySeconds: 10,
        failureThreshold: 3,
        terminationGracePeriodSeconds: 10,
      },
      startupProbe: { tcpSocket: { port: 8080 }, failureThreshold: 30, periodSeconds: 2 },
      lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } },
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      },
      volumeMounts: [{ name: "config", mountPath: "/etc/api", readOnly: true }, {
        name: "tmp",
        mountPath: "/tmp",
      }],
    }],
    volumes: [
      { name: "config", configMap: { name: "api-config", items: [{ key: "a", path: "a.yaml" }] } },
      { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
    ],
  },
};

const DEPLOYMENT = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: {
    replicas: 3,
    selector: {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["fe"] }],
    },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "0%" } },
    template: {
      metadata: { labels: { app: "web", tier: "fe" } },
      spec: {
        containers: [{
          name: "nginx",
          image: "nginx:1.27",
          ports: [{ containerPort: 80 }],
          readinessProbe: { httpGet: { path: "/", port: 80 } },
        }],
      },
    },
  },
};

Deno.test("a real-world Pod manifest validates and keeps the fields kubelab does not model", () => {
  const { object, errors } = validateObject(REAL_WORLD_POD);
  assert.deepEqual(errors.map(formatFieldError), []);
  assert.ok(object);
  assert.deepEqual(object, REAL_WORLD_POD);
  const spec = object.spec as Manifest;
  assert.deepEqual(spec.affinity, REAL_WORLD_POD.spec.affinity);
  assert.deepEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000 });
  assert.deepEqual(spec.volumes[0].configMap.name, "api-config");
  assert.deepEqual(spec.containers[0].volumeMounts[0].mountPath, "/etc/api");
});

Deno.test("an invalid Pod lists every error with its field path", () => {
  const bad = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "Web_1" },
    spec: {
      containers: [
        { image: "nginx", imagePullPolicy: "Sometimes" },
        { name: "app", ports: [{ containerPort: 70000 }] },
        { name: "app", image: "busybox" },
      ],
      restartPolicy: "Sometimes",
    },
  };
  assert.deepEqual(errorsOf(bad), [
    `metadata.name: Invalid value: "Web_1": ${SUBDOMAIN_ERROR}`,
    "spec.containers[0].name: Required value",
    'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: ' +
    '"Always", "IfNotPresent", "Never"',
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: ' +
    '"Always", "Never", "OnFailure"',
    "spec.containers[1].image: Required value",
    "spec.containers[1].ports[0].containerPort: Invalid value: 70000: " +
    "must be between 1 and 65535, inclusive",
    'spec.containers[2].name: Duplicate value: "app"',
  ]);
  assert.equal(validateObject(bad).object, undefined);
});

Deno.test("schema errors carry Kubernetes field paths, the value and the expected type", () => {
  const bad = pod((p) => {
    p.metadata.labels = { version: 1 };
    p.spec.containers[0].ports = [{ containerPort: "80" }];
    p.spec.containers[0].livenessProbe = { httpGet: { port: 1.5 } };
    p.spec.tolerations = "all";
    p.spec.nodeName = null;
  });
  assert.deepEqual(errorsOf(bad), [
    "metadata.labels[version]: Invalid value: 1: expected string",
    'spec.containers[0].ports[0].containerPort: Invalid value: "80": expected number',
    "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 1.5: " +
    "expected integer or string",
    "spec.nodeName: Invalid value: null: expected string",
    'spec.tolerations: Invalid value: "all": expected array',
  ]);
  assert.deepEqual(validateObject(bad).errors.map((e) => e.type), [
    "FieldValueTypeInvalid",
    "FieldValueTypeInvalid",
    "FieldValueTypeInvalid",
    "FieldValueTypeInvalid",
    "FieldValueTypeInvalid",
  ]);
});

Deno.test("an unregistered kind or apiVersion is reported on kind or apiVersion", () => {
  const cases: [unknown, string[]][] = [
    [{ apiVersion: "v1", kind: "Foo" }, [
      'kind: Invalid value: "Foo": no kind "Foo" is registered for version "v1"',
    ]],
    [{ apiVersion: "v1", kind: "Deployment", metadata: { name: "x" } }, [
      'apiVersion: Invalid value: "v1": no kind "Deployment" is registered for version "v1"',
    ]],
    [{ metadata: { name: "x" } }, ["apiVersion: Required value", "kind: Required value"]],
    [{ apiVersion: 1, kind: "Pod" }, ["apiVersion: Invalid value: 1: expected string"]],
    ["Pod", ['Invalid value: "Pod": expected object']],
    [null, ["Invalid value: null: expected object"]],
    [[], ["Invalid value: []: expected object"]],
  ];
  for (const [input, want] of cases) assert.deepEqual(errorsOf(input), want, JSON.stringify(input));
});

Deno.test("metadata names follow the API server's rules per kind", () => {
  const name = (kind: string, apiVersion: string, metadata: object) =>
    errorsOf({ apiVersion, kind, metadata, spec: kind === "Service" ? { clusterIP: "None" } : {} });
  const cases: [string, string, object, string[]][] = [
    ["Node", "v1", {}, ["metadata.name: Required value: name or generateName is required"]],
    ["Node", "v1", { generateName: "node-" }, []],
    ["Node", "v1", { name: "node-1.example.com" }, []],
    ["Node", "v1", { name: "x".repeat(254) }, [
      `metadata.name: Invalid value: "${"x".repeat(254)}": must be no more than 253 characters`,
    ]],
    ["Node", "v1", { generateName: "Node-" }, [
      `metadata.generateName: Invalid value: "Node-": ${SUBDOMAIN_ERROR}`,
    ]],
    ["Namespace", "v1", { name: "team.a" }, [
      `metadata.name: Invalid value: "team.a": ${LABEL_ERROR}`,
    ]],
    ["Namespace", "v1", { name: "team-a" }, []],
    ["Namespace", "v1", { name: "team-a", namespace: "x" }, [
      "metadata.namespace: Forbidden: not allowed on this type",
    ]],
    ["Service", "v1", { name: "1web" }, [
      'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case ' +
      "alphanumeric characters or '-', start with an alphabetic character, and end with an " +
      "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is " +
      "'[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]],
    ["Lease", "coordination.k8s.io/v1", { name: "n1", namespace: "kube-node-lease" }, []],
    ["Lease", "coordination.k8s.io/v1", { name: "n1", namespace: "Kube" }, [
      `metadata.namespace: Invalid value: "Kube": ${LABEL_ERROR}`,
    ]],
  ];
  for (const [kind, apiVersion, metadata, want] of cases) {
    assert.deepEqual(name(kind, apiVersion, metadata), want, `${kind} ${JSON.stringify(metadata)}`);
  }
});

Deno.test("label and annotation keys and label values must be valid", () => {
  const errors = errorsOf(pod((p) => {
    p.metadata.labels = { "-bad": "ok", good: "-bad", "x/y/z": "v", long: "v".repeat(64) };
    p.metadata.annotations = { "Example.COM/Thing": "fine", "a b": "x" };
  }));
  assert.deepEqual(errors.map((e) => e.split(": ").slice(0, 3).join(": ")), [
    'metadata.labels: Invalid value: "-bad"',
    'metadata.labels: Invalid value: "-bad"',
    'metadata.labels: Invalid value: "x/y/z"',
    `metadata.labels: Invalid value: "${"v".repeat(64)}"`,
    'metadata.annotations: Invalid value: "a b"',
  ]);
});

Deno.test("annotations may total 262144 bytes of keys and values, as ValidateAnnotationsSize counts", () => {
  const LIMIT = 262144;
  const sized = (bytes: number) => ({ key: "v".repeat(bytes - 3) });
  const cases: [Record<string, string>, boolean][] = [
    [sized(LIMIT), true],
    [sized(LIMIT + 1), false],
    [{ a: "x".repeat(LIMIT / 2 - 1), b: "y".repeat(LIMIT / 2 - 1) }, true],
    [{ a: "x".repeat(LIMIT / 2 - 1), b: "y".repeat(LIMIT / 2) }, false],
    // Bytes, not characters: "é" is two bytes in UTF-8.
    [{ key: "é".repeat((LIMIT - 3) / 2 + 1) }, false],
  ];
  for (const [annotations, ok] of cases) {
    const errors = errorsOf(pod((p) => p.metadata.annotations = annotations));
    assert.deepEqual(
      errors,
      ok ? [] : ["metadata.annotations: Too long: must have at most 262144 bytes"],
      Object.entries(annotations).map(([k, v]) => `${k}=${v.length}`).join(","),
    );
  }
  const template = structuredClone(DEPLOYMENT) as Manifest;
  template.spec.template.metadata.annotations = sized(LIMIT + 1);
  assert.deepEqual(errorsOf(template), [
    "spec.template.metadata.annotations: Too long: must have at most 262144 bytes",
  ]);
});

/** Sets `value` at a dotted path with `[i]` indices, making objects and arrays on the way. */
function setAt(target: Manifest, path: string, value: unknown): void {
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".");
  let at: Manifest = target;
  keys.slice(0, -1).forEach((k, i) => {
    at[k] ??= /^\d+$/.test(keys[i + 1]) ? [] : {};
    at = at[k];
  });
  at[keys.at(-1)!] = value;
}

Deno.test("integer fields hold what their Go type holds: int32, or int64 within JavaScript's exact integers", () => {
  const INT32 = [-2147483648, 2147483647] as const;
  const INT64 = [-9007199254740991, 9007199254740991] as const;
  const service = () => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web" },
    spec: { type: "NodePort", ports: [{ port: 80 }] },
  });
  const lease = () => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "n" },
  });
  const event = () => ({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "e" },
    involvedObject: { kind: "Pod", name: "p" },
  });
  const cases: [() => Manifest, string, readonly [number, number]][] = [
    [pod, "spec.priority", INT32],
    [pod, "spec.containers[0].ports[0].containerPort", INT32],
    [pod, "spec.containers[0].ports[0].hostPort", INT32],
    [pod, "spec.containers[0].livenessProbe.periodSeconds", INT32],
    [pod, "spec.containers[0].livenessProbe.grpc.port", INT32],
    [pod, "spec.containers[0].readinessProbe.httpGet.port", INT32],
    [pod, "spec.containers[0].livenessProbe.terminationGracePeriodSeconds", INT64],
    [pod, "spec.containers[0].lifecycle.preStop.sleep.seconds", INT64],
    [pod, "spec.terminationGracePeriodSeconds", INT64],
    [pod, "spec.tolerations[0].tolerationSeconds", INT64],
    [pod, "status.containerStatuses[0].restartCount", INT32],
    [pod, "status.containerStatuses[0].state.terminated.exitCode", INT32],
    [pod, "metadata.generation", INT64],
    [pod, "metadata.deletionGracePeriodSeconds", INT64],
    [() => structuredClone(DEPLOYMENT), "spec.replicas", INT32],
    [() => structuredClone(DEPLOYMENT), "spec.revisionHistoryLimit", INT32],
    [() => structuredClone(DEPLOYMENT), "spec.progressDeadlineSeconds", INT32],
    [() => structuredClone(DEPLOYMENT), "spec.strategy.rollingUpdate.maxSurge", INT32],
    [() => structuredClone(DEPLOYMENT), "status.availableReplicas", INT32],
    [() => structuredClone(DEPLOYMENT), "status.observedGeneration", INT64],
    [service, "spec.ports[0].port", INT32],
    [service, "spec.ports[0].nodePort", INT32],
    [service, "spec.ports[0].targetPort", INT32],
    [service, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", INT32],
    [lease, "spec.leaseDurationSeconds", INT32],
    [lease, "spec.leaseTransitions", INT32],
    [event, "count", INT32],
  ];
  for (const [make, path, [min, max]] of cases) {
    const bits = max === INT32[1] ? "an int32" : "an int64 (within JavaScript's exact integers)";
    for (const value of [min - 1, max + 1]) {
      const m = make();
      setAt(m, path, value);
      assert.ok(
        errorsOf(m).includes(
          `${path}: Invalid value: ${value}: must be ${bits}: from ${min} to ${max}`,
        ),
        `${path} = ${value}: ${errorsOf(m).join("; ")}`,
      );
    }
    for (const value of [min, max]) {
      const m = make();
      setAt(m, path, value);
      assert.ok(
        !errorsOf(m).some((e) => e.includes(`must be ${bits}`)),
        `${path} = ${value}: ${errorsOf(m).join("; ")}`,
      );
    }
  }
});

Deno.test("a pod or pod template has at most 100 containers and 100 init containers (a lab limit)", () => {
  const containers = (n: number, prefix = "c") =>
    Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, image: "busybox" }));
  const cases: [Manifest, string[]][] = [
    [pod((p) => p.spec.containers = containers(100)), []],
    [pod((p) => p.spec.containers = containers(101)), [
      "spec.containers: Too many: 101: must have at most 100 items",
    ]],
    [pod((p) => p.spec.initContainers = containers(101, "i")), [
      "spec.initContainers: Too many: 101: must have at most 100 items",
    ]],
    [
      (() => {
        const d = structuredClone(DEPLOYMENT) as Manifest;
        d.spec.template.spec.containers = containers(2500);
        return d;
      })(),
      ["spec.template.spec.containers: Too many: 2500: must have at most 100 items"],
    ],
  ];
  for (const [manifest, want] of cases) assert.deepEqual(errorsOf(manifest), want);
});

Deno.test("pod spec rules report each broken rule", () => {
  const cases: [string, (p: Manifest) => void, string[]][] = [
    ["no containers", (p) => p.spec.containers = [], ["spec.containers: Required value"]],
    ["missing spec", (p) => delete p.spec, ["spec: Required value"]],
    ["empty container name", (p) => p.spec.containers[0].name = "", [
      "spec.containers[0].name: Required value",
    ]],
    ["container name not a label", (p) => p.spec.containers[0].name = "App", [
      `spec.containers[0].name: Invalid value: "App": ${LABEL_ERROR}`,
    ]],
    ["image with whitespace", (p) => p.spec.containers[0].image = " nginx", [
      'spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing ' +
      "whitespace",
    ]],
    ["init container reusing a container name", (p) => {
      p.spec.initContainers = [{ name: "app", image: "busybox" }];
    }, ['spec.initContainers[0].name: Duplicate value: "app"']],
    ["port 0 and bad hostPort", (p) => {
      p.spec.containers[0].ports = [{ containerPort: 0, hostPort: 70000 }];
    }, [
      "spec.containers[0].ports[0].containerPort: Required value",
      "spec.containers[0].ports[0].hostPort: Invalid value: 70000: must be between 1 and 65535, " +
      "inclusive",
    ]],
    ["port names", (p) => {
      p.spec.containers[0].ports = [
        { name: "http-metrics-long", containerPort: 80 },
        { name: "8080", containerPort: 81 },
        { name: "web", containerPort: 82 },
        { name: "web", containerPort: 83 },
      ];
    }, [
      'spec.containers[0].ports[0].name: Invalid value: "http-metrics-long": must be no more ' +
      "than 15 characters",
      'spec.containers[0].ports[1].name: Invalid value: "8080": must contain at least one letter ' +
      "(a-z)",
      'spec.containers[0].ports[3].name: Duplicate value: "web"',
    ]],
    ["negative terminationGracePeriodSeconds", (p) => p.spec.terminationGracePeriodSeconds = -1, [
      "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0",
    ]],
    ["activeDeadlineSeconds 0", (p) => p.spec.activeDeadlineSeconds = 0, [
      "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
    ]],
    ["volumes", (p) => {
      p.spec.volumes = [{ name: "data", emptyDir: {} }, { name: "data", emptyDir: {} }];
    }, ['spec.volumes[1].name: Duplicate value: "data"']],
    ["tolerations", (p) => {
      p.spec.tolerations = [
        { effect: "NoSchedule" },
        { key: "k", operator: "Exists", value: "v" },
        { key: "k", tolerationSeconds: 10, effect: "NoSchedule" },
        { operator: "Exists" },
      ];
    }, [
      'spec.tolerations[0].operator: Invalid value: "": operator must be Exists when `key` is ' +
      'empty, which means "match all values and all keys"',
      'spec.tolerations[1].operator: Invalid value: {"key":"k","operator":"Exists","value":"v"}: ' +
      "value must be empty when `operator` is 'Exists'",
      "spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' " +
      "when `tolerationSeconds` is set",
    ]],
    ["resources", (p) => {
      p.spec.containers[0].resources = {
        limits: { cpu: "500m", memory: "12x" },
        requests: { cpu: "1", memory: "-1Mi" },
      };
    }, [
      'spec.containers[0].resources.limits[memory]: Invalid value: "12x": quantities must match ' +
      "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      'spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater ' +
      "than or equal to 0",
      'spec.containers[0].resources.requests[cpu]: Invalid value: "1": must be less than or ' +
      "equal to cpu limit of 500m",
    ]],
  ];
  for (const [name, edit, want] of cases) assert.deepEqual(errorsOf(pod(edit)), want, name);
});

Deno.test("probe rules follow the API server", () => {
  const probe = (kind: string, p: object) =>
    errorsOf(pod((x) => x.spec.containers[0][kind] = p)).map((e) =>
      e.replace("spec.containers[0].", "")
    );
  const cases: [string, object, string[]][] = [
    ["livenessProbe", { exec: { command: ["true"] } }, []],
    ["readinessProbe", { httpGet: { port: "http" }, successThreshold: 3 }, []],
    ["livenessProbe", {}, ["livenessProbe: Required value: must specify a handler type"]],
    ["livenessProbe", { periodSeconds: 10 }, [
      "livenessProbe: Required value: must specify a handler type",
    ]],
    ["startupProbe", { exec: { command: ["true"] }, tcpSocket: { port: 80 } }, [
      "startupProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    ]],
    ["livenessProbe", { exec: {} }, ["livenessProbe.exec.command: Required value"]],
    ["livenessProbe", { tcpSocket: { port: 0 } }, [
      "livenessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ]],
    ["livenessProbe", { exec: { command: ["true"] }, successThreshold: 2 }, [
      "livenessProbe.successThreshold: Invalid value: 2: must be 1",
    ]],
    ["startupProbe", { exec: { command: ["true"] }, successThreshold: 2 }, [
      "startupProbe.successThreshold: Invalid value: 2: must be 1",
    ]],
    ["readinessProbe", { exec: { command: ["true"] }, terminationGracePeriodSeconds: 5 }, [
      "readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for " +
      "readinessProbes",
    ]],
    ["livenessProbe", { exec: { command: ["true"] }, terminationGracePeriodSeconds: 0 }, [
      "livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
    ]],
    ["readinessProbe", {
      grpc: { port: 9000 },
      initialDelaySeconds: -1,
      timeoutSeconds: 0,
      periodSeconds: 0,
      successThreshold: 0,
      failureThreshold: 0,
    }, [
      "readinessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0",
      "readinessProbe.timeoutSeconds: Invalid value: 0: must be greater than or equal to 1",
      "readinessProbe.periodSeconds: Invalid value: 0: must be greater than or equal to 1",
      "readinessProbe.successThreshold: Invalid value: 0: must be greater than or equal to 1",
      "readinessProbe.failureThreshold: Invalid value: 0: must be greater than or equal to 1",
    ]],
  ];
  for (const [kind, p, want] of cases) assert.deepEqual(probe(kind, p), want, JSON.stringify(p));
});

Deno.test("probes and hooks are only allowed on init containers that are sidecars", () => {
  const errors = errorsOf(pod((p) => {
    p.spec.initContainers = [
      { name: "setup", image: "busybox", readinessProbe: { exec: { command: ["true"] } } },
      {
        name: "proxy",
        image: "envoy",
        restartPolicy: "Always",
        readinessProbe: { tcpSocket: { port: 15000 } },
        lifecycle: { preStop: { sleep: { seconds: 5 } } },
      },
    ];
  }));
  assert.deepEqual(errors, [
    "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers " +
    "without restartPolicy=Always",
  ]);
});

Deno.test("service rules cover ports, names, node ports and selectors", () => {
  const service = (spec: object) =>
    errorsOf({ apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec });
  const cases: [object, string[]][] = [
    [{ selector: { app: "web" }, ports: [{ port: 80 }] }, []],
    [{ type: "NodePort", ports: [{ port: 80, targetPort: "http", nodePort: 30080 }] }, []],
    [{ clusterIP: "None" }, []],
    [{ type: "ExternalName", externalName: "db.example.com" }, []],
    [{}, ["spec.ports: Required value"]],
    [{ type: "ExternalName" }, ["spec.externalName: Required value"]],
    [{ ports: [{ port: 0 }] }, [
      "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ]],
    [{ ports: [{ port: 80 }, { port: 443 }] }, [
      "spec.ports[0].name: Required value",
      "spec.ports[1].name: Required value",
    ]],
    [{ ports: [{ name: "web", port: 80 }, { name: "web", port: 443 }] }, [
      'spec.ports[1].name: Duplicate value: "web"',
    ]],
    [{ ports: [{ name: "Web", port: 80 }] }, [
      `spec.ports[0].name: Invalid value: "Web": ${LABEL_ERROR}`,
    ]],
    [{ ports: [{ port: 80, targetPort: 70000 }] }, [
      "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ]],
    [{ ports: [{ port: 80, nodePort: 30080 }] }, [
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    ]],
    [{ type: "NodePort", ports: [{ port: 80, nodePort: 8080 }] }, [
      "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. " +
      "The range of valid ports is 30000-32767",
    ]],
    [{ type: "Magic", ports: [{ port: 80 }] }, [
      'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", ' +
      '"LoadBalancer", "NodePort"',
    ]],
  ];
  for (const [spec, want] of cases) assert.deepEqual(service(spec), want, JSON.stringify(spec));
});

Deno.test("a Deployment manifest validates", () => {
  const { object, errors } = validateObject(DEPLOYMENT);
  assert.deepEqual(errors, []);
  assert.deepEqual(object, DEPLOYMENT);
});

Deno.test("Deployment and ReplicaSet rules cover selector, template, replicas and strategy", () => {
  const deployment = (edit: (d: Manifest) => void, kind = "Deployment") => {
    const d = structuredClone(DEPLOYMENT) as Manifest;
    d.kind = kind;
    if (kind === "ReplicaSet") delete d.spec.strategy;
    edit(d);
    return errorsOf(d);
  };
  const cases: [string, (d: Manifest) => void, string[]][] = [
    ["selector not matching", (d) => d.spec.template.metadata.labels = { app: "api", tier: "fe" }, [
      'spec.template.metadata.labels: Invalid value: {"app":"api","tier":"fe"}: `selector` does ' +
      "not match template `labels`",
    ]],
    ["template without labels", (d) => delete d.spec.template.metadata, [
      "spec.template.metadata.labels: Invalid value: null: `selector` does not match template " +
      "`labels`",
    ]],
    ["missing selector", (d) => delete d.spec.selector, ["spec.selector: Required value"]],
    ["empty selector", (d) => d.spec.selector = {}, [
      "spec.selector: Invalid value: {}: empty selector is invalid for deployment",
    ]],
    ["In without values", (d) => d.spec.selector.matchExpressions[0].values = [], [
      "spec.selector.matchExpressions[0].values: Required value: must be specified when " +
      "`operator` is 'In' or 'NotIn'",
      'spec.template.metadata.labels: Invalid value: {"app":"web","tier":"fe"}: `selector` ' +
      "does not match template `labels`",
    ]],
    ["negative replicas", (d) => d.spec.replicas = -1, [
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ]],
    ["template restartPolicy Never", (d) => d.spec.template.spec.restartPolicy = "Never", [
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]],
    ["template container without image", (d) => delete d.spec.template.spec.containers[0].image, [
      "spec.template.spec.containers[0].image: Required value",
    ]],
    ["both 0", (d) => d.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: "0%" }, [
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when ' +
      "`maxSurge` is 0",
    ]],
    [
      "bad percent",
      (d) => d.spec.strategy.rollingUpdate = { maxUnavailable: "110%", maxSurge: "x" },
      [
        'spec.strategy.rollingUpdate.maxSurge: Invalid value: "x": a valid percent string must ' +
        "be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for " +
        "validation is '[0-9]+%')",
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "110%": must not be greater ' +
        "than 100%",
      ],
    ],
    ["Recreate with rollingUpdate", (d) => d.spec.strategy.type = "Recreate", [
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is " +
      "'Recreate'",
    ]],
    [
      "progress deadline",
      (d) => Object.assign(d.spec, { minReadySeconds: 10, progressDeadlineSeconds: 5 }),
      [
        "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds",
      ],
    ],
  ];
  for (const [name, edit, want] of cases) assert.deepEqual(deployment(edit), want, name);
  assert.deepEqual(deployment(() => {}, "ReplicaSet"), []);
  assert.deepEqual(
    deployment((d) => d.spec.selector = { matchLabels: { app: "x" } }, "ReplicaSet"),
    [
      'spec.template.metadata.labels: Invalid value: {"app":"web","tier":"fe"}: `selector` does ' +
      "not match template `labels`",
    ],
  );
});

Deno.test("isDNS1123Subdomain and isDNS1123Label accept what Kubernetes accepts", () => {
  const cases: [string, boolean, boolean][] = [
    // value, subdomain, label
    ["web-1", true, true],
    ["example.com", true, false],
    ["1web", true, true],
    ["Web", false, false],
    ["web_1", false, false],
    ["-web", false, false],
    ["web-", false, false],
    ["", false, false],
    ["a".repeat(63), true, true],
    ["a".repeat(64), true, false],
    ["a".repeat(253), true, false],
    ["a".repeat(254), false, false],
  ];
  for (const [value, subdomain, label] of cases) {
    assert.equal(isDNS1123Subdomain(value), subdomain, value);
    assert.equal(isDNS1123Label(value), label, value);
  }
});

/** A defaulted-looking pod for update tests. */
function runningPod(): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default" },
    spec: {
      containers: [{ name: "app", image: "nginx:1.26", imagePullPolicy: "IfNotPresent" }],
      initContainers: [{ name: "init", image: "busybox:1.36" }],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      activeDeadlineSeconds: 600,
      tolerations: [{ key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }],
      nodeName: "n1",
    },
  };
}

const FORBIDDEN_UPDATE = "spec: Forbidden: pod updates may not change fields other than " +
  "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`," +
  "`spec.tolerations` (only additions to existing tolerations)," +
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

Deno.test("validatePodUpdate allows only the fields the API server lets change", () => {
  const cases: [string, (p: Pod) => void, string[]][] = [
    ["nothing changed", () => {}, []],
    ["container image", (p) => p.spec.containers[0].image = "nginx:1.27", []],
    ["init container image", (p) => p.spec.initContainers![0].image = "busybox:1.37", []],
    ["activeDeadlineSeconds lowered", (p) => p.spec.activeDeadlineSeconds = 60, []],
    ["tolerations added", (p) => p.spec.tolerations!.push({ key: "b", operator: "Exists" }), []],
    ["tolerationSeconds changed", (p) => p.spec.tolerations![0].tolerationSeconds = 10, []],
    ["an empty list for an absent one", (p) => p.spec.readinessGates = [], []],
    ["activeDeadlineSeconds raised", (p) => p.spec.activeDeadlineSeconds = 6000, [
      "spec.activeDeadlineSeconds: Invalid value: 6000: must be less than or equal to previous " +
      "value",
    ]],
    ["activeDeadlineSeconds removed", (p) => delete p.spec.activeDeadlineSeconds, [
      "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer " +
      "to nil value",
    ]],
    ["toleration removed", (p) => p.spec.tolerations = [], [
      "spec.tolerations: Forbidden: existing toleration can not be modified except its " +
      "tolerationSeconds",
    ]],
    ["image emptied", (p) => p.spec.containers[0].image = "", [
      "spec.containers[0].image: Required value",
    ]],
    ["container added", (p) => p.spec.containers.push({ name: "b", image: "b" }), [
      "spec.containers: Forbidden: pod updates may not add or remove containers",
    ]],
    ["nodeName changed", (p) => p.spec.nodeName = "n2", [FORBIDDEN_UPDATE]],
    ["restartPolicy changed", (p) => p.spec.restartPolicy = "Never", [FORBIDDEN_UPDATE]],
    ["container env changed", (p) => p.spec.containers[0].env = [{ name: "A", value: "1" }], [
      FORBIDDEN_UPDATE,
    ]],
    ["terminationGracePeriodSeconds changed", (p) => p.spec.terminationGracePeriodSeconds = 10, [
      FORBIDDEN_UPDATE,
    ]],
  ];
  for (const [name, edit, want] of cases) {
    const before = runningPod();
    const after = runningPod();
    edit(after);
    assert.deepEqual(validatePodUpdate(before, after).map(formatFieldError), want, name);
  }
});

Deno.test("validatePodUpdate lets a negative grace period become 1 and nothing else", () => {
  const before = runningPod();
  before.spec.terminationGracePeriodSeconds = -1;
  const toOne = runningPod();
  toOne.spec.terminationGracePeriodSeconds = 1;
  const toTwo = runningPod();
  toTwo.spec.terminationGracePeriodSeconds = 2;
  assert.deepEqual(validatePodUpdate(before, toOne), []);
  assert.deepEqual(validatePodUpdate(before, toTwo).map(formatFieldError), [FORBIDDEN_UPDATE]);
});

Deno.test("validatePodUpdate forbids binding through an update", () => {
  const pending = runningPod();
  delete pending.spec.nodeName;
  assert.deepEqual(validatePodUpdate(pending, runningPod()).map(formatFieldError), [
    FORBIDDEN_UPDATE,
  ]);
});
