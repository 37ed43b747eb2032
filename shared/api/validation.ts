/**
 * Validation of manifests as the API server does it (pkg/apis/core/validation,
 * pkg/apis/apps/validation): the kind must be registered, the shape must match the kind's schema,
 * and the semantic rules hold. Every problem is reported as a {@linkcode FieldError} with a
 * Kubernetes field path (`spec.containers[0].name: Required value`); validation never stops at the
 * first.
 *
 * Validation may run before or after `applyDefaults`: a field left out that defaulting
 * fills in is not an error.
 * @module
 */
import type { z } from "zod";
import type { FieldError } from "./errors.ts";
import { type KubeObject, LabelSelector } from "./meta.ts";
import type { Pod, Toleration } from "./core.ts";
import { resourceForKind, type ResourceInfo, RESOURCES } from "./registry.ts";
import { parseQuantity, quantityErrors } from "./quantity.ts";
import { MAX_CONTAINERS, MAX_GRACE_PERIOD_SECONDS, TOTAL_ANNOTATION_SIZE_LIMIT } from "./limits.ts";
import {
  dns1123SubdomainErrors,
  type LabelRequirement,
  labelValueErrors,
  matchesLabels,
  qualifiedNameErrors,
  selectorFromLabelSelector,
} from "./selector.ts";

/**
 * What {@linkcode validateObject} found: the parsed object when there are no errors, and every
 * error.
 */
export interface ValidationResult {
  /**
   * The object as the kind's schema parsed it (fields kubelab does not model kept); only when
   * valid.
   */
  object?: KubeObject;
  errors: FieldError[];
}

type Obj = Record<string, unknown>;

// -------------------------------------------------------------------------------------------------
// Field errors, worded as k8s.io/apimachinery/pkg/util/validation/field prints them.

/** A value as an error message shows it; JSON, with `null` for a missing value. */
function show(value: unknown): string {
  return value === undefined ? "null" : JSON.stringify(value);
}

function required(field: string, detail?: string): FieldError {
  return {
    field,
    type: "FieldValueRequired",
    detail: detail ? `Required value: ${detail}` : "Required value",
  };
}

function invalid(field: string, value: unknown, detail: string): FieldError {
  return { field, type: "FieldValueInvalid", detail: `Invalid value: ${show(value)}: ${detail}` };
}

function typeInvalid(field: string, value: unknown, detail: string): FieldError {
  return {
    field,
    type: "FieldValueTypeInvalid",
    detail: `Invalid value: ${show(value)}: ${detail}`,
  };
}

function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const list = [...supported].sort().map((v) => JSON.stringify(v)).join(", ");
  return {
    field,
    type: "FieldValueNotSupported",
    detail: `Unsupported value: ${show(value)}: supported values: ${list}`,
  };
}

function duplicate(field: string, value: unknown): FieldError {
  return { field, type: "FieldValueDuplicate", detail: `Duplicate value: ${show(value)}` };
}

/** field.TooLong: the value is left out of the message. */
function tooLong(field: string, maxBytes: number): FieldError {
  return {
    field,
    type: "FieldValueTooLong",
    detail: `Too long: must have at most ${maxBytes} bytes`,
  };
}

/** field.TooMany: a list longer than allowed. */
function tooMany(field: string, count: number, max: number): FieldError {
  return {
    field,
    type: "FieldValueTooMany",
    detail: `Too many: ${count}: must have at most ${max} items`,
  };
}

function forbidden(field: string, detail: string): FieldError {
  return { field, type: "FieldValueForbidden", detail: `Forbidden: ${detail}` };
}

/**
 * One Invalid error per message, as the API server reports each broken rule of a name separately.
 */
function eachInvalid(field: string, value: unknown, messages: string[]): FieldError[] {
  return messages.map((m) => invalid(field, value, m));
}

// -------------------------------------------------------------------------------------------------
// Names.

const DNS1123_LABEL_FORMAT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_FORMAT}$`);
const DNS1123_LABEL_ERROR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " +
  "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used " +
  `for validation is '${DNS1123_LABEL_FORMAT}')`;

const DNS1035_LABEL_FORMAT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL = new RegExp(`^${DNS1035_LABEL_FORMAT}$`);
const DNS1035_LABEL_ERROR =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an " +
  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', " +
  `regex used for validation is '${DNS1035_LABEL_FORMAT}')`;

const PERCENT = /^[0-9]+%$/;
const EMPTY_KEY_OPERATOR_ERROR =
  'operator must be Exists when `key` is empty, which means "match all values and all keys"';
const PERCENT_ERROR =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or " +
  "'93%', regex used for validation is '[0-9]+%')";

function dns1123LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push("must be no more than 63 characters");
  if (!DNS1123_LABEL.test(value)) errors.push(DNS1123_LABEL_ERROR);
  return errors;
}

function dns1035LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push("must be no more than 63 characters");
  if (!DNS1035_LABEL.test(value)) errors.push(DNS1035_LABEL_ERROR);
  return errors;
}

/** validation.IsValidPortName: an IANA_SVC_NAME such as `http` or `metrics-2`. */
function portNameErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 15) errors.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(value)) {
    errors.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (!/[a-z]/.test(value)) errors.push("must contain at least one letter (a-z)");
  if (value.includes("--")) errors.push("must not contain consecutive hyphens (-)");
  if (value.startsWith("-") || value.endsWith("-")) {
    errors.push("must not begin or end with a hyphen (-)");
  }
  return errors;
}

/**
 * Whether `s` is a DNS-1123 subdomain (`web-1`, `example.com`; at most 253 characters): most object
 * names.
 */
export function isDNS1123Subdomain(s: string): boolean {
  return dns1123SubdomainErrors(s).length === 0;
}

/**
 * Whether `s` is a DNS-1123 label (`web-1`; at most 63 characters): namespace and container names.
 */
export function isDNS1123Label(s: string): boolean {
  return dns1123LabelErrors(s).length === 0;
}

// -------------------------------------------------------------------------------------------------
// Reading unknown input: the semantic rules run even when the schema check failed, so they read
// defensively and leave values of the wrong type to the schema errors.

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

/** The object elements of a list, with their indices. */
function items(v: unknown): [number, Obj][] {
  return Array.isArray(v) ? [...v.entries()].filter((e): e is [number, Obj] => isObj(e[1])) : [];
}

function atLeast(value: unknown, min: number, field: string): FieldError[] {
  return typeof value === "number" && value < min
    ? [invalid(field, value, `must be greater than or equal to ${min}`)]
    : [];
}

function portNumberErrors(value: unknown, field: string): FieldError[] {
  return typeof value === "number" && (value < 1 || value > 65535)
    ? [invalid(field, value, "must be between 1 and 65535, inclusive")]
    : [];
}

function portNumberOrNameErrors(value: unknown, field: string): FieldError[] {
  return typeof value === "string"
    ? eachInvalid(field, value, portNameErrors(value))
    : portNumberErrors(value, field);
}

// -------------------------------------------------------------------------------------------------
// Schema issues.

/** Map-valued fields, whose keys are written `labels[app]` rather than `labels.app`. */
const MAP_FIELDS = new Set([
  "labels",
  "annotations",
  "nodeSelector",
  "matchLabels",
  "requests",
  "limits",
  "capacity",
  "allocatable",
]);

/** A zod path as field.Path prints it: `spec.containers[0].name`, `metadata.labels[app]`. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  path.forEach((part, i) => {
    const key = String(part);
    if (typeof part === "number") out += `[${key}]`;
    else if (i > 0 && MAP_FIELDS.has(String(path[i - 1]))) out += `[${key}]`;
    else out += out === "" ? key : `.${key}`;
  });
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    value = value !== null && typeof value === "object"
      ? (value as Record<PropertyKey, unknown>)[part]
      : undefined;
  }
  return value;
}

const TYPE_NAMES: Record<string, string> = { int: "integer", record: "object" };

function expected(issue: z.core.$ZodIssue): string | undefined {
  return issue.code === "invalid_type" ? TYPE_NAMES[issue.expected] ?? issue.expected : undefined;
}

/** One schema issue as a field error: Required, Unsupported or Invalid with the expected type. */
function issueError(issue: z.core.$ZodIssue, input: unknown): FieldError {
  const field = fieldPath(issue.path);
  const value = valueAt(input, issue.path);
  if (value === undefined) return required(field);
  switch (issue.code) {
    case "invalid_type":
      return typeInvalid(field, value, `expected ${expected(issue)}`);
    case "invalid_value":
      return notSupported(field, value, issue.values.map(String));
    case "too_big":
    case "too_small":
      return invalid(field, value, issue.message);
    case "invalid_union": {
      const options = issue.errors.flatMap((branch) => branch.map(expected).filter((e) => e));
      return typeInvalid(
        field,
        value,
        `expected ${[...new Set(options)].join(" or ") || "another value"}`,
      );
    }
    default:
      return typeInvalid(field, value, issue.message);
  }
}

// -------------------------------------------------------------------------------------------------
// Metadata, labels and selectors.

/** Name rules per kind; every other kind's names are DNS-1123 subdomains. */
const NAME_RULES: Record<string, (name: string) => string[]> = {
  Namespace: dns1123LabelErrors,
  // ValidateServiceName: a Service name becomes a DNS label in cluster DNS.
  Service: dns1035LabelErrors,
};

/**
 * What is wrong with `name` as the name of a `kind` object (NAME_RULES: DNS-1123 subdomain, label for
 * Namespaces, DNS-1035 label for Services); empty when it can name one.
 */
export function objectNameErrors(kind: string, name: string): string[] {
  return (NAME_RULES[kind] ?? dns1123SubdomainErrors)(name);
}

function labelsErrors(labels: unknown, field: string): FieldError[] {
  return Object.entries(obj(labels)).flatMap(([key, value]) => [
    ...eachInvalid(field, key, qualifiedNameErrors(key)),
    ...(typeof value === "string" ? eachInvalid(field, value, labelValueErrors(value)) : []),
  ]);
}

function objectMetaErrors(metadata: unknown, info: ResourceInfo): FieldError[] {
  const meta = obj(metadata);
  const nameErrors = (name: string) => objectNameErrors(info.kind, name);
  const errors: FieldError[] = [];
  const { name, generateName, namespace } = meta;
  if (typeof generateName === "string" && generateName !== "") {
    // A generated name gets a suffix, so a trailing dash is fine (maskTrailingDash).
    const masked = generateName.length > 1 ? generateName.replace(/-$/, "a") : generateName;
    errors.push(...eachInvalid("metadata.generateName", generateName, nameErrors(masked)));
  }
  if (name === undefined || name === "") {
    if (!generateName) errors.push(required("metadata.name", "name or generateName is required"));
  } else if (typeof name === "string") {
    errors.push(...eachInvalid("metadata.name", name, nameErrors(name)));
  }
  if (typeof namespace === "string" && namespace !== "") {
    errors.push(
      ...(info.namespaced
        ? eachInvalid("metadata.namespace", namespace, dns1123LabelErrors(namespace))
        : [forbidden("metadata.namespace", "not allowed on this type")]),
    );
  }
  errors.push(...labelsErrors(meta.labels, "metadata.labels"));
  errors.push(...annotationsErrors(meta.annotations, "metadata.annotations"));
  return errors;
}

const utf8 = new TextEncoder();

/**
 * ValidateAnnotations: keys are qualified names (checked in lower case), and keys and values together
 * hold at most TotalAnnotationSizeLimitB bytes (ValidateAnnotationsSize counts Go's len, i.e. bytes).
 */
function annotationsErrors(annotations: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  let size = 0;
  for (const [key, value] of Object.entries(obj(annotations))) {
    errors.push(...eachInvalid(field, key, qualifiedNameErrors(key.toLowerCase())));
    size += utf8.encode(key).length + (typeof value === "string" ? utf8.encode(value).length : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errors.push(tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errors;
}

function labelSelectorErrors(selector: Obj, field: string): FieldError[] {
  const errors = labelsErrors(selector.matchLabels, `${field}.matchLabels`);
  for (const [i, e] of items(selector.matchExpressions)) {
    const at = `${field}.matchExpressions[${i}]`;
    const values = Array.isArray(e.values) ? e.values : [];
    if ((e.operator === "In" || e.operator === "NotIn") && values.length === 0) {
      errors.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    }
    if ((e.operator === "Exists" || e.operator === "DoesNotExist") && values.length > 0) {
      errors.push(
        forbidden(
          `${at}.values`,
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
      );
    }
    if (typeof e.key === "string") {
      errors.push(...eachInvalid(`${at}.key`, e.key, qualifiedNameErrors(e.key)));
    }
    values.forEach((v, j) => {
      if (typeof v === "string") {
        errors.push(...eachInvalid(`${at}.values[${j}]`, v, labelValueErrors(v)));
      }
    });
  }
  return errors;
}

// -------------------------------------------------------------------------------------------------
// Pods.

const PROBE_HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"] as const;
const LIFECYCLE_HANDLERS = ["exec", "httpGet", "tcpSocket", "sleep"] as const;
const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;
const PROBE_MINIMUMS = {
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 1,
  successThreshold: 1,
  failureThreshold: 1,
} as const;

/** validateHandler: exactly one handler, and its fields make sense. */
function handlerErrors(handler: Obj, field: string, kinds: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  let found = false;
  for (const kind of kinds) {
    if (handler[kind] === undefined || handler[kind] === null) continue;
    const at = `${field}.${kind}`;
    if (found) {
      errors.push(forbidden(at, "may not specify more than 1 handler type"));
      continue;
    }
    found = true;
    const action = obj(handler[kind]);
    if (kind === "exec" && !(Array.isArray(action.command) && action.command.length > 0)) {
      errors.push(required(`${at}.command`));
    }
    if (kind === "httpGet" || kind === "tcpSocket") {
      errors.push(...portNumberOrNameErrors(action.port, `${at}.port`));
    }
    if (kind === "grpc") errors.push(...portNumberErrors(action.port, `${at}.port`));
    if (kind === "sleep") errors.push(...atLeast(action.seconds, 0, `${at}.seconds`));
  }
  if (!found) errors.push(required(field, "must specify a handler type"));
  return errors;
}

function probeErrors(probe: Obj, field: string, kind: typeof PROBES[number]): FieldError[] {
  const errors = handlerErrors(probe, field, PROBE_HANDLERS);
  for (const [name, min] of Object.entries(PROBE_MINIMUMS)) {
    errors.push(...atLeast(probe[name], min, `${field}.${name}`));
  }
  const success = probe.successThreshold;
  if (kind !== "readinessProbe" && typeof success === "number" && success > 1) {
    errors.push(invalid(`${field}.successThreshold`, success, "must be 1"));
  }
  const grace = probe.terminationGracePeriodSeconds;
  if (typeof grace === "number") {
    if (kind === "readinessProbe") {
      errors.push(
        invalid(
          `${field}.terminationGracePeriodSeconds`,
          grace,
          "must not be set for readinessProbes",
        ),
      );
    } else if (grace <= 0) {
      errors.push(
        invalid(`${field}.terminationGracePeriodSeconds`, grace, "must be greater than 0"),
      );
    }
  }
  return errors;
}

function containerPortsErrors(ports: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  for (const [i, port] of items(ports)) {
    const at = `${field}[${i}]`;
    if (typeof port.name === "string" && port.name !== "") {
      errors.push(...eachInvalid(`${at}.name`, port.name, portNameErrors(port.name)));
      if (names.has(port.name)) errors.push(duplicate(`${at}.name`, port.name));
      names.add(port.name);
    }
    if (port.containerPort === 0) errors.push(required(`${at}.containerPort`));
    else errors.push(...portNumberErrors(port.containerPort, `${at}.containerPort`));
    if (port.hostPort !== 0) errors.push(...portNumberErrors(port.hostPort, `${at}.hostPort`));
  }
  return errors;
}

/** Quantities must parse and be non-negative; a request may not exceed its limit. */
function resourcesErrors(resources: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const given = { limits: obj(obj(resources).limits), requests: obj(obj(resources).requests) };
  const amounts = { limits: new Map<string, number>(), requests: new Map<string, number>() };
  for (const part of ["limits", "requests"] as const) {
    for (const [name, q] of Object.entries(given[part])) {
      if (typeof q !== "string" && typeof q !== "number") continue;
      const at = `${field}.${part}[${name}]`;
      const problems = quantityErrors(q);
      if (problems.length > 0) {
        errors.push(...eachInvalid(at, q, problems));
        continue;
      }
      const amount = parseQuantity(name, q);
      if (amount < 0) errors.push(invalid(at, q, "must be greater than or equal to 0"));
      amounts[part].set(name, amount);
    }
  }
  for (const [name, request] of amounts.requests) {
    const limit = amounts.limits.get(name);
    if (limit !== undefined && request > limit) {
      errors.push(
        invalid(
          `${field}.requests[${name}]`,
          given.requests[name],
          `must be less than or equal to ${name} limit of ${given.limits[name]}`,
        ),
      );
    }
  }
  return errors;
}

/**
 * One container. `names` holds the names seen so far in the pod (regular containers first, then
 * init containers, as ValidatePodSpec checks them) and is added to.
 */
function containerErrors(c: Obj, field: string, names: Set<string>, init: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (c.name === "") errors.push(required(`${field}.name`));
  else if (typeof c.name === "string") {
    errors.push(...eachInvalid(`${field}.name`, c.name, dns1123LabelErrors(c.name)));
    if (names.has(c.name)) errors.push(duplicate(`${field}.name`, c.name));
    names.add(c.name);
  }
  if (c.image === undefined || c.image === "") errors.push(required(`${field}.image`));
  else if (typeof c.image === "string" && c.image.trim() !== c.image) {
    errors.push(invalid(`${field}.image`, c.image, "must not have leading or trailing whitespace"));
  }
  errors.push(...containerPortsErrors(c.ports, `${field}.ports`));
  // Probes and hooks need a container that keeps running: app containers and sidecars.
  const runs = !init || c.restartPolicy === "Always";
  const lifecycle = obj(c.lifecycle);
  for (const kind of PROBES) {
    if (!isObj(c[kind])) continue;
    if (!runs) {
      errors.push(
        forbidden(
          `${field}.${kind}`,
          "may not be set for init containers without restartPolicy=Always",
        ),
      );
    } else errors.push(...probeErrors(c[kind], `${field}.${kind}`, kind));
  }
  for (const hook of ["postStart", "preStop"]) {
    if (!isObj(lifecycle[hook])) continue;
    const at = `${field}.lifecycle.${hook}`;
    if (!runs) {
      errors.push(forbidden(at, "may not be set for init containers without restartPolicy=Always"));
    } else errors.push(...handlerErrors(lifecycle[hook], at, LIFECYCLE_HANDLERS));
  }
  errors.push(...resourcesErrors(c.resources, `${field}.resources`));
  return errors;
}

function tolerationsErrors(tolerations: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [i, t] of items(tolerations)) {
    const at = `${field}[${i}]`;
    const key = typeof t.key === "string" ? t.key : "";
    const value = typeof t.value === "string" ? t.value : "";
    if (key !== "") errors.push(...eachInvalid(`${at}.key`, key, qualifiedNameErrors(key)));
    if (key === "" && t.operator !== "Exists") {
      errors.push(invalid(`${at}.operator`, t.operator ?? "", EMPTY_KEY_OPERATOR_ERROR));
    }
    if (typeof t.tolerationSeconds === "number" && t.effect !== "NoExecute") {
      errors.push(
        invalid(
          `${at}.effect`,
          t.effect ?? "",
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
    if (t.operator === "Exists" && value !== "") {
      errors.push(invalid(`${at}.operator`, t, "value must be empty when `operator` is 'Exists'"));
    } else if (t.operator !== "Exists" && labelValueErrors(value).length > 0) {
      errors.push(invalid(`${at}.operator`, value, labelValueErrors(value).join(";")));
    }
  }
  return errors;
}

function volumesErrors(volumes: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  for (const [i, v] of items(volumes)) {
    if (typeof v.name !== "string") continue;
    const at = `${field}[${i}].name`;
    if (v.name === "") errors.push(required(at));
    else errors.push(...eachInvalid(at, v.name, dns1123LabelErrors(v.name)));
    if (names.has(v.name)) errors.push(duplicate(at, v.name));
    names.add(v.name);
  }
  return errors;
}

/** ValidatePodSpec, for a Pod (`spec`) or a pod template (`spec.template.spec`). */
function podSpecErrors(spec: Obj, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (Array.isArray(spec.containers) && spec.containers.length === 0) {
    errors.push(required(`${field}.containers`));
  }
  // A lab limit (Kubernetes has none): one pod may not outgrow its node's CRI replies.
  for (const list of ["containers", "initContainers"] as const) {
    const n = Array.isArray(spec[list]) ? spec[list].length : 0;
    if (n > MAX_CONTAINERS) errors.push(tooMany(`${field}.${list}`, n, MAX_CONTAINERS));
  }
  const names = new Set<string>();
  for (const [i, c] of items(spec.containers)) {
    errors.push(...containerErrors(c, `${field}.containers[${i}]`, names, false));
  }
  for (const [i, c] of items(spec.initContainers)) {
    errors.push(...containerErrors(c, `${field}.initContainers[${i}]`, names, true));
  }
  const grace = spec.terminationGracePeriodSeconds;
  errors.push(...atLeast(grace, 0, `${field}.terminationGracePeriodSeconds`));
  if (typeof grace === "number" && grace > MAX_GRACE_PERIOD_SECONDS) {
    errors.push(
      invalid(
        `${field}.terminationGracePeriodSeconds`,
        grace,
        `must be at most ${MAX_GRACE_PERIOD_SECONDS} (what a time.Duration holds)`,
      ),
    );
  }
  const deadline = spec.activeDeadlineSeconds;
  if (typeof deadline === "number" && (deadline < 1 || deadline > 2147483647)) {
    errors.push(
      invalid(
        `${field}.activeDeadlineSeconds`,
        deadline,
        "must be between 1 and 2147483647, inclusive",
      ),
    );
  }
  errors.push(...labelsErrors(spec.nodeSelector, `${field}.nodeSelector`));
  errors.push(...tolerationsErrors(spec.tolerations, `${field}.tolerations`));
  errors.push(...volumesErrors(spec.volumes, `${field}.volumes`));
  return errors;
}

// -------------------------------------------------------------------------------------------------
// Services.

const NODE_PORT_RANGE = [30000, 32767] as const;

function serviceErrors(service: Obj): FieldError[] {
  const spec = obj(service.spec);
  const type = typeof spec.type === "string" ? spec.type : "ClusterIP";
  const errors: FieldError[] = [];
  const ports = items(spec.ports);
  if (type === "ExternalName" && !spec.externalName) errors.push(required("spec.externalName"));
  if (type !== "ExternalName" && spec.clusterIP !== "None" && ports.length === 0) {
    errors.push(required("spec.ports"));
  }
  const names = new Set<string>();
  for (const [i, port] of ports) {
    const at = `spec.ports[${i}]`;
    if (port.name === undefined || port.name === "") {
      // Endpoints and EndpointSlices tell ports apart by name once there is more than one.
      if (ports.length > 1) errors.push(required(`${at}.name`));
    } else if (typeof port.name === "string") {
      errors.push(...eachInvalid(`${at}.name`, port.name, dns1123LabelErrors(port.name)));
      if (names.has(port.name)) errors.push(duplicate(`${at}.name`, port.name));
      names.add(port.name);
    }
    errors.push(...portNumberErrors(port.port, `${at}.port`));
    if (port.targetPort !== 0 && port.targetPort !== "") {
      errors.push(...portNumberOrNameErrors(port.targetPort, `${at}.targetPort`));
    }
    const nodePort = port.nodePort;
    if (typeof nodePort === "number" && nodePort !== 0) {
      if (type === "ClusterIP" || type === "ExternalName") {
        errors.push(forbidden(`${at}.nodePort`, `may not be used when \`type\` is '${type}'`));
      } else if (nodePort < NODE_PORT_RANGE[0] || nodePort > NODE_PORT_RANGE[1]) {
        errors.push(
          invalid(
            `${at}.nodePort`,
            nodePort,
            "provided port is not in the valid range. The range of valid ports is " +
              `${NODE_PORT_RANGE[0]}-${NODE_PORT_RANGE[1]}`,
          ),
        );
      }
    }
  }
  errors.push(...labelsErrors(spec.selector, "spec.selector"));
  const timeout = obj(obj(spec.sessionAffinityConfig).clientIP).timeoutSeconds;
  if (typeof timeout === "number" && (timeout <= 0 || timeout > 86400)) {
    errors.push(
      invalid(
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        timeout,
        "must be greater than 0 and less than 86400",
      ),
    );
  }
  return errors;
}

// -------------------------------------------------------------------------------------------------
// Deployments and ReplicaSets.

/**
 * ValidatePodTemplateSpecForReplicaSet: labels match the selector, restartPolicy Always, no
 * deadline.
 */
function templateErrors(template: Obj, selector: LabelRequirement[] | undefined): FieldError[] {
  const { labels, annotations } = obj(template.metadata);
  const errors = [
    ...labelsErrors(labels, "spec.template.metadata.labels"),
    ...annotationsErrors(annotations, "spec.template.metadata.annotations"),
  ];
  if (
    selector && selector.length > 0 &&
    !matchesLabels(selector, obj(labels) as Record<string, string>)
  ) {
    errors.push(
      invalid(
        "spec.template.metadata.labels",
        labels,
        "`selector` does not match template `labels`",
      ),
    );
  }
  const spec = obj(template.spec);
  errors.push(...podSpecErrors(spec, "spec.template.spec"));
  if (spec.restartPolicy === "Never" || spec.restartPolicy === "OnFailure") {
    errors.push(notSupported("spec.template.spec.restartPolicy", spec.restartPolicy, ["Always"]));
  }
  if (spec.activeDeadlineSeconds !== undefined) {
    errors.push(
      invalid(
        "spec.template.spec.activeDeadlineSeconds",
        spec.activeDeadlineSeconds,
        "activeDeadlineSeconds in ReplicaSet is not Supported",
      ),
    );
  }
  return errors;
}

/** The fields Deployments and ReplicaSets share: replicas, selector, template. */
function replicatedErrors(workload: Obj): FieldError[] {
  const spec = obj(workload.spec);
  const errors = [
    ...atLeast(spec.replicas, 0, "spec.replicas"),
    ...atLeast(spec.minReadySeconds, 0, "spec.minReadySeconds"),
  ];
  let selector: LabelRequirement[] | undefined;
  const parsed = LabelSelector.safeParse(spec.selector);
  if (parsed.success) {
    errors.push(...labelSelectorErrors(parsed.data, "spec.selector"));
    selector = selectorFromLabelSelector(parsed.data);
    if (selector.length === 0) {
      errors.push(
        invalid("spec.selector", spec.selector, "empty selector is invalid for deployment"),
      );
    }
  }
  if (isObj(spec.template)) errors.push(...templateErrors(spec.template, selector));
  return errors;
}

function intOrPercent(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  return typeof value === "string" && PERCENT.test(value) ? Number(value.slice(0, -1)) : undefined;
}

function deploymentErrors(deployment: Obj): FieldError[] {
  const spec = obj(deployment.spec);
  const errors = [
    ...replicatedErrors(deployment),
    ...atLeast(spec.revisionHistoryLimit, 0, "spec.revisionHistoryLimit"),
    ...atLeast(spec.progressDeadlineSeconds, 0, "spec.progressDeadlineSeconds"),
  ];
  const deadline = spec.progressDeadlineSeconds;
  const minReady = typeof spec.minReadySeconds === "number" ? spec.minReadySeconds : 0;
  if (typeof deadline === "number" && deadline >= 0 && deadline <= minReady) {
    errors.push(
      invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"),
    );
  }
  const strategy = obj(spec.strategy);
  const field = "spec.strategy.rollingUpdate";
  if (strategy.type === "Recreate" && strategy.rollingUpdate !== undefined) {
    errors.push(forbidden(field, "may not be specified when strategy `type` is 'Recreate'"));
  } else if (isObj(strategy.rollingUpdate)) {
    const { maxSurge, maxUnavailable } = strategy.rollingUpdate;
    for (const name of ["maxUnavailable", "maxSurge"]) {
      const value = strategy.rollingUpdate[name];
      if (typeof value === "string" && !PERCENT.test(value)) {
        errors.push(invalid(`${field}.${name}`, value, PERCENT_ERROR));
      }
      errors.push(...atLeast(value, 0, `${field}.${name}`));
    }
    if (intOrPercent(maxUnavailable) === 0 && intOrPercent(maxSurge) === 0) {
      errors.push(
        invalid(`${field}.maxUnavailable`, maxUnavailable, "may not be 0 when `maxSurge` is 0"),
      );
    }
    if (typeof maxUnavailable === "string" && (intOrPercent(maxUnavailable) ?? 0) > 100) {
      errors.push(
        invalid(`${field}.maxUnavailable`, maxUnavailable, "must not be greater than 100%"),
      );
    }
  }
  return errors;
}

// -------------------------------------------------------------------------------------------------
// Leases.

function leaseErrors(lease: Obj): FieldError[] {
  const spec = obj(lease.spec);
  const duration = spec.leaseDurationSeconds;
  return [
    ...(typeof duration === "number" && duration <= 0
      ? [invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")]
      : []),
    ...atLeast(spec.leaseTransitions, 0, "spec.leaseTransitions"),
  ];
}

/** Semantic rules per kind, beyond metadata. */
const KIND_RULES: Record<string, (o: Obj) => FieldError[]> = {
  Pod: (pod) => podSpecErrors(obj(pod.spec), "spec"),
  Service: serviceErrors,
  Deployment: deploymentErrors,
  ReplicaSet: replicatedErrors,
  Lease: leaseErrors,
};

// -------------------------------------------------------------------------------------------------
// Entry points.

/** Finds the registered resource for `apiVersion` and `kind`, or says why there is none. */
function typeMetaErrors(input: Obj): ResourceInfo | FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ["apiVersion", "kind"]) {
    const value = input[field];
    if (value === undefined || value === "") errors.push(required(field));
    else if (typeof value !== "string") errors.push(typeInvalid(field, value, "expected string"));
  }
  if (errors.length > 0) return errors;
  const apiVersion = input.apiVersion as string;
  const kind = input.kind as string;
  const info = resourceForKind(apiVersion, kind);
  if (info) return info;
  // The kind exists under another apiVersion (`v1` Deployment): the version is what is wrong.
  const field = RESOURCES.some((r) => r.kind === kind) ? "apiVersion" : "kind";
  return [
    invalid(
      field,
      input[field],
      `no kind ${show(kind)} is registered for version ${show(apiVersion)}`,
    ),
  ];
}

/**
 * Validates a manifest as the API server would on create: the kind is registered, the shape matches
 * the kind's schema (every zod issue becomes a FieldError) and the semantic rules hold. All errors
 * are collected. `object` is set only when there are none; it keeps fields kubelab does not model.
 *
 * @example
 * ```ts
 * const { errors } = validateObject({
 *   apiVersion: "v1",
 *   kind: "Pod",
 *   metadata: { name: "Web_1" },
 *   spec: { containers: [] },
 * });
 * errors.map(formatFieldError);
 * // [
 * //   'metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of …',
 * //   "spec.containers: Required value",
 * // ]
 * ```
 */
export function validateObject(input: unknown): ValidationResult {
  if (!isObj(input)) return { errors: [typeInvalid("", input, "expected object")] };
  const info = typeMetaErrors(input);
  if (Array.isArray(info)) return { errors: info };
  const parsed = info.schema.safeParse(input);
  const errors = parsed.success ? [] : parsed.error.issues.map((issue) => issueError(issue, input));
  errors.push(...objectMetaErrors(input.metadata, info));
  errors.push(...(KIND_RULES[info.kind]?.(input) ?? []));
  return errors.length === 0 && parsed.success
    ? { object: parsed.data as KubeObject, errors }
    : { errors: inDocumentOrder(errors, input) };
}

/**
 * Schema errors come before semantic ones; a stable sort on the top-level field (in the order the
 * manifest has them) puts `metadata` errors before `spec` errors again, as the API server lists
 * them.
 */
function inDocumentOrder(errors: FieldError[], input: Obj): FieldError[] {
  const keys = Object.keys(input);
  const rank = (e: FieldError) => {
    const i = keys.indexOf(e.field.split(/[.[]/)[0]);
    return i < 0 ? keys.length : i;
  };
  return errors
    .map((error, index) => ({ error, index, rank: rank(error) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ error }) => error);
}

// -------------------------------------------------------------------------------------------------
// Pod updates.

const POD_UPDATE_FORBIDDEN = "pod updates may not change fields other than " +
  "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`," +
  "`spec.tolerations` (only additions to existing tolerations)," +
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/**
 * Equality as apiequality.Semantic sees JSON: a missing field, an empty list and an empty map are
 * the same.
 */
function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const empty = (v: unknown) =>
    v === undefined || (Array.isArray(v) && v.length === 0) ||
    (isObj(v) && Object.keys(v).length === 0);
  if (empty(a) && empty(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => semanticEqual(x, b[i]));
  }
  if (!isObj(a) || !isObj(b)) return false;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].every((k) =>
    semanticEqual(a[k], b[k])
  );
}

function activeDeadlineUpdateErrors(before?: number, after?: number): FieldError[] {
  const field = "spec.activeDeadlineSeconds";
  if (after === undefined) {
    return before === undefined
      ? []
      : [invalid(field, after, "must not update from a positive integer to nil value")];
  }
  if (after < 0 || after > 2147483647) {
    return [invalid(field, after, "must be between 0 and 2147483647, inclusive")];
  }
  return before !== undefined && after > before
    ? [invalid(field, after, "must be less than or equal to previous value")]
    : [];
}

/**
 * Existing tolerations must stay, changed at most in tolerationSeconds
 * (validateOnlyAddedTolerations).
 */
function tolerationsUpdateErrors(before: Toleration[], after: Toleration[]): FieldError[] {
  const kept = before.every((old) =>
    after.some((t) => semanticEqual({ ...old, tolerationSeconds: t.tolerationSeconds }, t))
  );
  return kept ? [] : [
    forbidden(
      "spec.tolerations",
      "existing toleration can not be modified except its tolerationSeconds",
    ),
  ];
}

/**
 * The API server's rule for updating a pod's spec (ValidatePodUpdate): only container and init
 * container images, `activeDeadlineSeconds` (set, or lowered), added tolerations and
 * `terminationGracePeriodSeconds` (from negative to 1) may change. Anything else — `nodeName`
 * included, which only the binding subresource sets — gives one `Forbidden` error on `spec`.
 * Labels, annotations and status are not checked here; pass both pods defaulted, and validate
 * `newPod` with {@linkcode validateObject} too.
 */
export function validatePodUpdate(oldPod: Pod, newPod: Pod): FieldError[] {
  const before = oldPod.spec;
  const after = newPod.spec;
  const errors: FieldError[] = [];
  for (const list of ["containers", "initContainers"] as const) {
    const [old, next] = [before[list] ?? [], after[list] ?? []];
    if (old.length !== next.length) {
      return [forbidden(`spec.${list}`, "pod updates may not add or remove containers")];
    }
    next.forEach((c, i) => {
      if (!c.image) errors.push(required(`spec.${list}[${i}].image`));
      else if (c.image.trim() !== c.image) {
        errors.push(
          invalid(
            `spec.${list}[${i}].image`,
            c.image,
            "must not have leading or trailing whitespace",
          ),
        );
      }
    });
  }
  errors.push(
    ...activeDeadlineUpdateErrors(before.activeDeadlineSeconds, after.activeDeadlineSeconds),
  );
  errors.push(...tolerationsUpdateErrors(before.tolerations ?? [], after.tolerations ?? []));
  const oldGrace = before.terminationGracePeriodSeconds;
  const munged = {
    ...after,
    containers: after.containers.map((c, i) => ({ ...c, image: before.containers[i].image })),
    initContainers: after.initContainers?.map((c, i) => ({
      ...c,
      image: before.initContainers?.[i].image,
    })),
    activeDeadlineSeconds: before.activeDeadlineSeconds,
    tolerations: before.tolerations,
    terminationGracePeriodSeconds:
      oldGrace !== undefined && oldGrace < 0 && after.terminationGracePeriodSeconds === 1
        ? oldGrace
        : after.terminationGracePeriodSeconds,
  };
  if (!semanticEqual(munged, before)) errors.push(forbidden("spec", POD_UPDATE_FORBIDDEN));
  return errors;
}
