/**
 * Label selectors and field selectors as apimachinery parses and matches them
 * (k8s.io/apimachinery/pkg/labels and pkg/fields), and the syntax of label keys and values they
 * check against (pkg/util/validation).
 * @module
 */
import type { LabelSelector } from "./meta.ts";

// -------------------------------------------------------------------------------------------------
// Label syntax. These live here rather than in validation.ts because parsing a selector checks
// them, and validation.ts in turn matches selectors: keeping them here keeps the imports one-way.

const DNS1123_SUBDOMAIN_FORMAT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FORMAT}$`);
const DNS1123_SUBDOMAIN_ERROR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or " +
  "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used " +
  `for validation is '${DNS1123_SUBDOMAIN_FORMAT}')`;

const QUALIFIED_NAME_FORMAT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FORMAT}$`);
const QUALIFIED_NAME_ERROR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
  "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " +
  `validation is '${QUALIFIED_NAME_FORMAT}')`;

const LABEL_VALUE_FORMAT = `(${QUALIFIED_NAME_FORMAT})?`;
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FORMAT}$`);
const LABEL_VALUE_ERROR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
  "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or " +
  `'12345', regex used for validation is '${LABEL_VALUE_FORMAT}')`;

/**
 * Why `value` is not a DNS-1123 subdomain (`example.com`, at most 253 characters), in
 * apimachinery's words; empty when it is one. Object names and label-key prefixes use this rule.
 */
export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN.test(value)) errors.push(DNS1123_SUBDOMAIN_ERROR);
  return errors;
}

/**
 * Why `key` is not a qualified name (`app`, `app.kubernetes.io/name`), the syntax of label and
 * annotation keys; empty when it is one.
 */
export function qualifiedNameErrors(key: string): string[] {
  const parts = key.split("/");
  if (parts.length > 2) {
    return [
      `a qualified name ${QUALIFIED_NAME_ERROR} with an optional DNS subdomain prefix and '/' ` +
      `(e.g. 'example.com/MyName')`,
    ];
  }
  const errors: string[] = [];
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === "") errors.push("prefix part must be non-empty");
    else errors.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`));
  }
  if (name === "") errors.push("name part must be non-empty");
  else if (name.length > 63) errors.push("name part must be no more than 63 characters");
  if (!QUALIFIED_NAME.test(name)) errors.push(`name part ${QUALIFIED_NAME_ERROR}`);
  return errors;
}

/** Why `value` is not a valid label value (empty, or at most 63 characters of `[-A-Za-z0-9_.]`). */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push("must be no more than 63 characters");
  if (!LABEL_VALUE.test(value)) errors.push(LABEL_VALUE_ERROR);
  return errors;
}

// -------------------------------------------------------------------------------------------------
// Label selectors.

/** A selection.Operator as a label requirement holds it. */
export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

/** One term of a label selector: `app=web`, `tier in (be,fe)`, `canary`, `!canary`, `gen>3`. */
export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /**
   * One value for `=`, `==`, `!=`, `gt`, `lt`; one or more for `in`, `notin`; none for `exists` and
   * `!`.
   */
  values: string[];
}

/** metav1.LabelSelectorOperator → selection.Operator, as LabelSelectorAsSelector maps them. */
const EXPRESSION_OPERATORS: Record<string, LabelOperator> = {
  In: "in",
  NotIn: "notin",
  Exists: "exists",
  DoesNotExist: "!",
};

/** Binary operators spelled as words, recognised only where an operator is expected. */
const KEYWORD_OPERATORS = new Map<string, LabelOperator>([["in", "in"], ["notin", "notin"]]);
/** Binary operators spelled as symbols. */
const SYMBOL_OPERATORS = new Map<string, LabelOperator>([
  ["=", "="],
  ["==", "=="],
  ["!=", "!="],
  [">", "gt"],
  ["<", "lt"],
]);
const BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt";
const SPECIAL_SYMBOLS = "=!(),<>";
const WHITESPACE = " \t\r\n";

/**
 * A lexer token: an identifier (keywords `in`/`notin` included) or a symbol; `""` ends the input.
 */
interface Token {
  identifier: boolean;
  text: string;
}

const END: Token = { identifier: false, text: "" };

/**
 * The label-selector lexer: identifiers run until whitespace or a special symbol; `==` and `!=`
 * pair up.
 */
function tokenize(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const ch = selector[i];
    if (WHITESPACE.includes(ch)) {
      i++;
    } else if (SPECIAL_SYMBOLS.includes(ch)) {
      const pair = selector.slice(i, i + 2);
      const text = pair === "==" || pair === "!=" ? pair : ch;
      tokens.push({ identifier: false, text });
      i += text.length;
    } else {
      const start = i;
      while (
        i < selector.length && !WHITESPACE.includes(selector[i]) &&
        !SPECIAL_SYMBOLS.includes(selector[i])
      ) i++;
      tokens.push({ identifier: true, text: selector.slice(start, i) });
    }
  }
  return tokens;
}

/** Checks a requirement as selection's NewRequirement does; returns the problem or undefined. */
function requirementError(r: LabelRequirement): string | undefined {
  const keyErrors = qualifiedNameErrors(r.key);
  if (keyErrors.length > 0) {
    return `key: Invalid value: ${JSON.stringify(r.key)}: ${keyErrors.join("; ")}`;
  }
  const n = r.values.length;
  const values = `values: Invalid value: ${JSON.stringify(r.values)}`;
  if ((r.operator === "in" || r.operator === "notin") && n === 0) {
    return `${values}: for 'in', 'notin' operators, values set can't be empty`;
  }
  if ((r.operator === "=" || r.operator === "==" || r.operator === "!=") && n !== 1) {
    return `${values}: exact-match compatibility requires one single value`;
  }
  if ((r.operator === "exists" || r.operator === "!") && n !== 0) {
    return `${values}: values set must be empty for exists and does not exist`;
  }
  if (r.operator === "gt" || r.operator === "lt") {
    if (n !== 1) {
      return `${values}: for 'Gt', 'Lt' operators, exactly one value is required`;
    }
    if (!/^[+-]?[0-9]+$/.test(r.values[0])) {
      return `values[0]: Invalid value: ${JSON.stringify(r.values[0])}: ` +
        "for 'Gt', 'Lt' operators, the value must be an integer";
    }
  }
  for (const [i, v] of r.values.entries()) {
    const errors = labelValueErrors(v);
    if (errors.length > 0) {
      return `values[${i}][${r.key}]: Invalid value: ${JSON.stringify(v)}: ${errors.join("; ")}`;
    }
  }
  return undefined;
}

/**
 * Parses a label selector as `kubectl -l` and the API server's `labelSelector` parameter do:
 * `app=web`, `app==web`, `app!=web`, `tier in (be,fe)`, `tier notin (db)`, `canary`, `!canary`,
 * `gen>3`, `gen<5`, comma-separated (all must hold). The empty string selects everything. Values of
 * `in` and `notin` come back sorted and without duplicates.
 *
 * @throws {SyntaxError} naming the selector and the problem, e.g.
 * `Invalid label selector "a in (x": unable to parse requirement: found '', expected: ',' or ')'`
 */
export function parseLabelSelector(s: string): LabelRequirement[] {
  const tokens = tokenize(s);
  let pos = 0;
  const peek = (): Token => tokens[pos] ?? END;
  const next = (): Token => tokens[pos++] ?? END;
  const fail = (message: string): never => {
    throw new SyntaxError(`Invalid label selector ${JSON.stringify(s)}: ${message}`);
  };
  const failRequirement = (message: string): never =>
    fail(`unable to parse requirement: ${message}`);

  const parseValueSet = (): string[] => {
    const open = next();
    if (open.text !== "(" || open.identifier) failRequirement(`found '${open.text}' expected: '('`);
    const values = new Set<string>();
    let expectValue = true;
    for (;;) {
      const t = next();
      if (t.identifier && expectValue) {
        values.add(t.text);
        expectValue = false;
      } else if (t.text === "," && !t.identifier) {
        if (expectValue) values.add(""); // `(,x)` and `(x,,y)` hold an empty value
        expectValue = true;
      } else if (t.text === ")" && !t.identifier) {
        if (expectValue) values.add(""); // `()` and `(x,)` too
        return [...values].sort();
      } else {
        return failRequirement(
          `found '${t.text}', expected: ${expectValue ? "',', ')' or identifier" : "',' or ')'"}`,
        );
      }
    }
  };

  const parseRequirement = (): LabelRequirement => {
    let first = next();
    const negated = !first.identifier && first.text === "!";
    if (negated) first = next();
    if (!first.identifier) failRequirement(`found '${first.text}', expected: identifier`);
    const key = first.text;
    const after = peek();
    let requirement: LabelRequirement;
    if (negated || after === END || (!after.identifier && after.text === ",")) {
      requirement = { key, operator: negated ? "!" : "exists", values: [] };
    } else {
      const op = next();
      const operator = (op.identifier ? KEYWORD_OPERATORS : SYMBOL_OPERATORS).get(op.text) ??
        failRequirement(`found '${op.text}', expected: ${BINARY_OPERATORS}`);
      let values: string[];
      if (operator === "in" || operator === "notin") values = parseValueSet();
      else {
        const v = peek();
        if (v === END || (!v.identifier && v.text === ",")) values = [""];
        else if (v.identifier) values = [next().text];
        else values = failRequirement(`found '${v.text}', expected: identifier`);
      }
      requirement = { key, operator, values };
    }
    const problem = requirementError(requirement);
    if (problem) failRequirement(problem);
    return requirement;
  };

  const requirements: LabelRequirement[] = [];
  if (peek() === END) return requirements;
  for (;;) {
    const t = peek();
    if (!t.identifier && t.text !== "!") {
      fail(`found '${t.text}', expected: !, identifier, or 'end of string'`);
    }
    requirements.push(parseRequirement());
    const sep = next();
    if (sep === END) return requirements;
    if (sep.identifier || sep.text !== ",") {
      fail(`found '${sep.text}', expected: ',' or 'end of string'`);
    }
    const following = peek();
    if (!following.identifier && following.text !== "!") {
      fail(`found '${following.text}', expected: identifier after ','`);
    }
  }
}

/**
 * Turns a metav1.LabelSelector (matchLabels, then matchExpressions) into requirements. Unlike
 * apimachinery, where a nil selector selects nothing, an absent or empty selector here gives no
 * requirements, which selects everything.
 */
export function selectorFromLabelSelector(sel: LabelSelector | undefined): LabelRequirement[] {
  const requirements = Object.entries(sel?.matchLabels ?? {}).map(
    ([key, value]): LabelRequirement => ({ key, operator: "=", values: [value] }),
  );
  for (const e of sel?.matchExpressions ?? []) {
    requirements.push({
      key: e.key,
      operator: EXPRESSION_OPERATORS[e.operator],
      values: [...(e.values ?? [])],
    });
  }
  return requirements;
}

/**
 * Whether labels satisfy every requirement (labels.Selector.Matches); no requirements match
 * everything.
 */
export function matchesLabels(
  reqs: readonly LabelRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const set = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(set, r.key);
    const value = has ? set[r.key] : undefined;
    switch (r.operator) {
      case "=":
      case "==":
      case "in":
        return has && r.values.includes(value!);
      case "!=":
      case "notin":
        return !has || !r.values.includes(value!);
      case "exists":
        return has;
      case "!":
        return !has;
      case "gt":
      case "lt": {
        // selection.GreaterThan/LessThan compare integers; a non-integer label value never matches.
        if (!has || !/^[+-]?[0-9]+$/.test(value!)) return false;
        const [label, bound] = [Number(value), Number(r.values[0])];
        return r.operator === "gt" ? label > bound : label < bound;
      }
    }
  });
}

/**
 * Writes requirements back as a selector string, as labels.Selector.String() does:
 * `app=web,tier in (be,fe)`. Set values are sorted.
 */
export function formatLabelSelector(reqs: readonly LabelRequirement[]): string {
  return reqs.map((r) => {
    switch (r.operator) {
      case "exists":
        return r.key;
      case "!":
        return `!${r.key}`;
      case "in":
      case "notin":
        return `${r.key} ${r.operator} (${[...r.values].sort().join(",")})`;
      case "gt":
        return `${r.key}>${r.values[0]}`;
      case "lt":
        return `${r.key}<${r.values[0]}`;
      default:
        return `${r.key}${r.operator}${r.values[0]}`;
    }
  }).join(",");
}

// -------------------------------------------------------------------------------------------------
// Field selectors.

/** A field selector operator; `=` and `==` mean the same. */
export type FieldOperator = "=" | "==" | "!=";

/** One term of a field selector: `status.phase=Running`, `spec.nodeName!=`. */
export interface FieldRequirement {
  /** A dotted path into the object: `metadata.name`, `spec.nodeName`. */
  field: string;
  operator: FieldOperator;
  /** The unescaped value; `""` matches a missing field. */
  value: string;
}

/** Tried at each position in this order, as fields.splitTerm does. */
const FIELD_OPERATORS: readonly FieldOperator[] = ["!=", "==", "="];

/**
 * What a missing field reads as when it is not a string: the Go zero value the API server's field
 * sets hold (`kubectl get nodes --field-selector spec.unschedulable=false` lists uncordoned nodes).
 */
const FIELD_ZERO_VALUES: Record<string, string> = { "spec.unschedulable": "false" };

/** Splits on commas not escaped by a backslash. */
function splitFieldTerms(selector: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === "\\") i++;
    else if (selector[i] === ",") {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are escapes; a bare `,` or `=` is an error. */
function unescapeFieldValue(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "\\") {
      const escaped = value[++i];
      if (escaped === undefined || !"\\,=".includes(escaped)) {
        throw new Error(`invalid escape sequence: \\${escaped ?? ""}`);
      }
      out += escaped;
    } else if (ch === "," || ch === "=") {
      throw new Error(`unescaped character in value: '${ch}'`);
    } else out += ch;
  }
  return out;
}

/**
 * Parses a field selector as `kubectl --field-selector` and the API server's `fieldSelector`
 * parameter do: `field=value`, `field==value`, `field!=value`, comma-separated (all must hold).
 * Values may escape `\`, `,` and `=` with a backslash. The empty string selects everything.
 * Whitespace is not trimmed, as in apimachinery.
 *
 * @throws {SyntaxError} `Invalid field selector "phase": can't understand 'phase'`
 */
export function parseFieldSelector(s: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  for (const term of splitFieldTerms(s)) {
    if (term === "") continue;
    let split: FieldRequirement | undefined;
    for (let i = 0; i < term.length && !split; i++) {
      const operator = FIELD_OPERATORS.find((op) => term.startsWith(op, i));
      if (operator) {
        split = { field: term.slice(0, i), operator, value: term.slice(i + operator.length) };
      }
    }
    if (!split) {
      throw new SyntaxError(
        `Invalid field selector ${JSON.stringify(s)}: can't understand '${term}'`,
      );
    }
    try {
      requirements.push({ ...split, value: unescapeFieldValue(split.value) });
    } catch (e) {
      throw new SyntaxError(`Invalid field selector ${JSON.stringify(s)}: ${(e as Error).message}`);
    }
  }
  return requirements;
}

/**
 * Reads a dotted path as a field selector sees it: strings as they are, numbers and booleans as
 * text.
 */
function fieldValue(obj: unknown, path: string): string {
  let value = obj;
  for (const part of path.split(".")) {
    value = value !== null && typeof value === "object"
      ? (value as Record<string, unknown>)[part]
      : undefined;
  }
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return FIELD_ZERO_VALUES[path] ?? "";
}

/**
 * Whether an object satisfies every field requirement. The field is a dotted path into the object
 * (`metadata.name`, `spec.nodeName`, `status.phase`, `involvedObject.name`); a missing field reads
 * as `""` (`spec.unschedulable` as `"false"`).
 */
export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.operator !== "!="));
}
