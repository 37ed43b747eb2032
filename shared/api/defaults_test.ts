import assert from "node:assert/strict";
import type { Container, Pod, Service, Toleration } from "./core.ts";
import type { Deployment, ReplicaSet } from "./apps.ts";
import type { KubeObject } from "./meta.ts";
import { addDefaultTolerations, applyDefaults, qosClass } from "./defaults.ts";
import { validateObject } from "./validation.ts";

const NOT_READY: Toleration = {
  key: "node.kubernetes.io/not-ready",
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: 300,
};
const UNREACHABLE: Toleration = { ...NOT_READY, key: "node.kubernetes.io/unreachable" };

function pod(containers: Container[], spec: Partial<Pod["spec"]> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1" },
    spec: { containers, ...spec },
  };
}

Deno.test("applyDefaults fills a Pod as the API server does", () => {
  const input = pod([{
    name: "app",
    image: "nginx:1.27",
    ports: [{ containerPort: 80 }],
    livenessProbe: { httpGet: { port: 80 } },
    readinessProbe: { exec: { command: ["true"] }, periodSeconds: 5 },
  }]);
  assert.deepEqual(applyDefaults(input), {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default" },
    spec: {
      containers: [{
        name: "app",
        image: "nginx:1.27",
        imagePullPolicy: "IfNotPresent",
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        ports: [{ containerPort: 80, protocol: "TCP" }],
        livenessProbe: {
          httpGet: { port: 80, path: "/", scheme: "HTTP" },
          timeoutSeconds: 1,
          periodSeconds: 10,
          successThreshold: 1,
          failureThreshold: 3,
        },
        readinessProbe: {
          exec: { command: ["true"] },
          timeoutSeconds: 1,
          periodSeconds: 5,
          successThreshold: 1,
          failureThreshold: 3,
        },
      }],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      enableServiceLinks: true,
    },
  });
});

Deno.test("applyDefaults returns a copy and leaves its input untouched", () => {
  const input = pod([{ name: "app", image: "nginx", resources: { limits: { cpu: "1" } } }]);
  const before = structuredClone(input);
  const out = applyDefaults(input);
  assert.deepEqual(input, before);
  assert.notEqual(out.spec, input.spec);
  assert.notEqual(out.spec.containers[0], input.spec.containers[0]);
});

Deno.test("applyDefaults keeps values already given, even zero", () => {
  const input = pod([{
    name: "app",
    image: "nginx",
    imagePullPolicy: "Never",
    readinessProbe: { httpGet: { port: 80, path: "/ready", scheme: "HTTPS" }, periodSeconds: 0 },
  }], {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 0,
    dnsPolicy: "Default",
    schedulerName: "mine",
    enableServiceLinks: false,
  });
  input.metadata.namespace = "shop";
  const out = applyDefaults(input);
  const c = out.spec.containers[0];
  assert.equal(out.metadata.namespace, "shop");
  assert.equal(c.imagePullPolicy, "Never");
  assert.deepEqual(c.readinessProbe?.httpGet, { port: 80, path: "/ready", scheme: "HTTPS" });
  assert.equal(c.readinessProbe?.periodSeconds, 0);
  assert.equal(out.spec.restartPolicy, "Never");
  assert.equal(out.spec.terminationGracePeriodSeconds, 0);
  assert.equal(out.spec.dnsPolicy, "Default");
  assert.equal(out.spec.schedulerName, "mine");
  assert.equal(out.spec.enableServiceLinks, false);
});

Deno.test("the image pull policy defaults from the image tag", () => {
  const cases: [string | undefined, string][] = [
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["docker.io/library/nginx:latest", "Always"],
    ["registry:5000/team/app", "Always"],
    ["nginx:1.27", "IfNotPresent"],
    ["registry:5000/team/app:v2", "IfNotPresent"],
    ["nginx@sha256:" + "a".repeat(64), "IfNotPresent"],
    ["nginx:latest@sha256:" + "a".repeat(64), "Always"],
    [undefined, "IfNotPresent"],
  ];
  for (const [image, want] of cases) {
    const out = applyDefaults(
      pod([{ name: "app", image }], { initContainers: [{ name: "i", image }] }),
    );
    assert.equal(out.spec.containers[0].imagePullPolicy, want, image);
    assert.equal(out.spec.initContainers?.[0].imagePullPolicy, want, image);
  }
});

Deno.test("container requests default to limits per resource", () => {
  const out = applyDefaults(pod([{
    name: "app",
    image: "nginx",
    resources: { limits: { cpu: "1", memory: "256Mi" }, requests: { cpu: "250m" } },
  }], {
    initContainers: [{ name: "init", image: "busybox", resources: { limits: { cpu: "2" } } }],
  }));
  assert.deepEqual(out.spec.containers[0].resources, {
    limits: { cpu: "1", memory: "256Mi" },
    requests: { cpu: "250m", memory: "256Mi" },
  });
  assert.deepEqual(out.spec.initContainers?.[0].resources, {
    limits: { cpu: "2" },
    requests: { cpu: "2" },
  });
});

Deno.test("addDefaultTolerations adds not-ready and unreachable tolerations if missing", () => {
  const cases: [string, Toleration[] | undefined, Toleration[]][] = [
    ["no tolerations", undefined, [NOT_READY, UNREACHABLE]],
    ["an unrelated toleration", [{ key: "gpu", operator: "Exists" }], [
      { key: "gpu", operator: "Exists" },
      NOT_READY,
      UNREACHABLE,
    ]],
    ["not-ready tolerated for 60s", [{ ...NOT_READY, tolerationSeconds: 60 }], [
      { ...NOT_READY, tolerationSeconds: 60 },
      UNREACHABLE,
    ]],
    ["unreachable tolerated with any effect", [{
      key: "node.kubernetes.io/unreachable",
      operator: "Exists",
    }], [{ key: "node.kubernetes.io/unreachable", operator: "Exists" }, NOT_READY]],
    ["everything tolerated", [{ operator: "Exists" }], [{ operator: "Exists" }]],
    ["every NoExecute taint tolerated", [{ operator: "Exists", effect: "NoExecute" }], [
      { operator: "Exists", effect: "NoExecute" },
    ]],
    ["only NoSchedule tolerated", [{ operator: "Exists", effect: "NoSchedule" }], [
      { operator: "Exists", effect: "NoSchedule" },
      NOT_READY,
      UNREACHABLE,
    ]],
  ];
  for (const [name, tolerations, want] of cases) {
    const input = pod([{ name: "app", image: "nginx" }], tolerations ? { tolerations } : {});
    const before = structuredClone(input);
    assert.deepEqual(addDefaultTolerations(input).spec.tolerations, want, name);
    assert.deepEqual(input, before, name);
  }
});

Deno.test("pod templates get pod spec defaults but not pod-only ones", () => {
  const template = {
    metadata: { labels: { app: "web" } },
    spec: {
      containers: [{
        name: "web",
        image: "nginx",
        resources: { limits: { cpu: "1" } },
        ports: [{ containerPort: 80 }],
      }],
    },
  };
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  };
  const out = applyDefaults(deployment);
  assert.equal(out.metadata.namespace, "default");
  const { template: _, ...spec } = out.spec;
  assert.deepEqual(spec, {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    minReadySeconds: 0,
  });
  assert.deepEqual(out.spec.template.spec, {
    containers: [{
      name: "web",
      image: "nginx",
      resources: { limits: { cpu: "1" } },
      ports: [{ containerPort: 80, protocol: "TCP" }],
      imagePullPolicy: "Always",
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
    }],
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    schedulerName: "default-scheduler",
  });
  const replicaSet: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web-abc", namespace: "shop" },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  };
  const rs = applyDefaults(replicaSet);
  assert.equal(rs.spec.replicas, 1);
  assert.equal(rs.metadata.namespace, "shop");
  assert.deepEqual(rs.spec.template?.spec, out.spec.template.spec);
});

Deno.test("a Deployment's Recreate strategy gets no rollingUpdate", () => {
  const out = applyDefaults<Deployment>({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "db" },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "db" } },
      strategy: { type: "Recreate" },
      template: { metadata: { labels: { app: "db" } }, spec: { containers: [] } },
    },
  });
  assert.deepEqual(out.spec.strategy, { type: "Recreate" });
  assert.equal(out.spec.replicas, 0);
});

Deno.test("applyDefaults fills Services per type", () => {
  const service = (spec: Service["spec"]): Service => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web" },
    spec,
  });
  const cases: [Service["spec"], Service["spec"]][] = [
    [{ ports: [{ port: 80 }, { port: 443, targetPort: "https", protocol: "UDP" }] }, {
      type: "ClusterIP",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      ports: [
        { port: 80, protocol: "TCP", targetPort: 80 },
        { port: 443, targetPort: "https", protocol: "UDP" },
      ],
    }],
    [{ type: "NodePort", ports: [{ port: 80, targetPort: 8080 }] }, {
      type: "NodePort",
      sessionAffinity: "None",
      externalTrafficPolicy: "Cluster",
      internalTrafficPolicy: "Cluster",
      ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }],
    }],
    [{ type: "LoadBalancer", externalTrafficPolicy: "Local" }, {
      type: "LoadBalancer",
      sessionAffinity: "None",
      externalTrafficPolicy: "Local",
      internalTrafficPolicy: "Cluster",
    }],
    [{ sessionAffinity: "ClientIP" }, {
      type: "ClusterIP",
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      internalTrafficPolicy: "Cluster",
    }],
    [{ type: "ExternalName", externalName: "db.example.com" }, {
      type: "ExternalName",
      externalName: "db.example.com",
      sessionAffinity: "None",
    }],
    [undefined, { type: "ClusterIP", sessionAffinity: "None", internalTrafficPolicy: "Cluster" }],
  ];
  for (const [spec, want] of cases) {
    assert.deepEqual(applyDefaults(service(spec)).spec, want, JSON.stringify(spec));
  }
});

Deno.test("applyDefaults fills Events, Namespaces and Nodes, and leaves Leases alone", () => {
  const cases: [KubeObject, KubeObject][] = [
    [
      { apiVersion: "v1", kind: "Event", metadata: { name: "e1" }, involvedObject: { name: "p" } },
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e1", namespace: "default" },
        involvedObject: { name: "p" },
        count: 1,
        type: "Normal",
      },
    ],
    [
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e2", namespace: "shop" },
        involvedObject: {},
        count: 4,
        type: "Warning",
      },
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e2", namespace: "shop" },
        involvedObject: {},
        count: 4,
        type: "Warning",
      },
    ],
    [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" } },
        status: { phase: "Active" },
      },
    ],
    [
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "n1" },
        status: { capacity: { pods: "110" } },
      },
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "n1" },
        status: { capacity: { pods: "110" }, allocatable: { pods: "110" } },
      },
    ],
    [
      { apiVersion: "v1", kind: "Node", metadata: { name: "n2" } },
      { apiVersion: "v1", kind: "Node", metadata: { name: "n2" } },
    ],
    [
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "n1", namespace: "kube-node-lease" },
        spec: { holderIdentity: "n1" },
      },
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "n1", namespace: "kube-node-lease" },
        spec: { holderIdentity: "n1" },
      },
    ],
  ];
  for (const [input, want] of cases) {
    assert.deepEqual(applyDefaults(input), want, `${input.kind} ${input.metadata.name}`);
  }
});

Deno.test("a defaulted object still validates", () => {
  const out = applyDefaults(pod([{
    name: "app",
    image: "nginx",
    livenessProbe: { httpGet: { port: 80 } },
    resources: { limits: { cpu: "1", memory: "1Gi" } },
  }]));
  assert.deepEqual(validateObject(out).errors, []);
});

Deno.test("qosClass follows the Kubernetes rules", () => {
  const cases: [string, Container[], Container[], string][] = [
    ["no resources", [{ name: "a" }], [], "BestEffort"],
    [
      "only other resources",
      [{ name: "a", resources: { limits: { "nvidia.com/gpu": "1" } } }],
      [],
      "BestEffort",
    ],
    ["zero requests", [{ name: "a", resources: { requests: { cpu: "0" } } }], [], "BestEffort"],
    [
      "limits equal requests",
      [
        {
          name: "a",
          resources: {
            limits: { cpu: "1", memory: "1Gi" },
            requests: { cpu: "1000m", memory: "1Gi" },
          },
        },
      ],
      [],
      "Guaranteed",
    ],
    [
      "limits only (requests default to them)",
      [
        { name: "a", resources: { limits: { cpu: "500m", memory: "128Mi" } } },
        { name: "b", resources: { limits: { cpu: "1", memory: "1Gi" } } },
      ],
      [],
      "Guaranteed",
    ],
    [
      "requests below limits",
      [
        {
          name: "a",
          resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } },
        },
      ],
      [],
      "Burstable",
    ],
    ["cpu limit only", [{ name: "a", resources: { limits: { cpu: "1" } } }], [], "Burstable"],
    [
      "one container without limits",
      [
        { name: "a", resources: { limits: { cpu: "1", memory: "1Gi" } } },
        { name: "b" },
      ],
      [],
      "Burstable",
    ],
    [
      "requests only",
      [{ name: "a", resources: { requests: { memory: "64Mi" } } }],
      [],
      "Burstable",
    ],
    [
      "an init container without limits",
      [
        { name: "a", resources: { limits: { cpu: "1", memory: "1Gi" } } },
      ],
      [{ name: "i" }],
      "Burstable",
    ],
    ["init containers count", [{ name: "a" }], [
      { name: "i", resources: { requests: { cpu: "100m" } } },
    ], "Burstable"],
  ];
  for (const [name, containers, initContainers, want] of cases) {
    assert.equal(qosClass(pod(containers, { initContainers })), want, name);
  }
});
