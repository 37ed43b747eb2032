import assert from "node:assert/strict";
import type { KubeObject } from "../../shared/api/meta.ts";
import { findResource } from "../../shared/api/registry.ts";
import { renderTable, tableRows } from "./table.ts";
import { alignText } from "./tabwriter.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");

function ns(name: string, namespace?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, namespace, creationTimestamp: "2026-01-01T00:59:55Z" },
    status: { phase: "Active" },
  };
}

Deno.test("tables are aligned as kubectl's tab writer does, three spaces apart", () => {
  const info = findResource("ns")!;
  const text = renderTable(tableRows(info, [ns("default"), ns("kube-system")], { now: NOW }));
  assert.equal(
    text,
    [
      "NAME          STATUS   AGE",
      "default       Active   5s",
      "kube-system   Active   5s",
      "",
    ].join("\n"),
  );
});

Deno.test("-A leads with NAMESPACE; several types name rows kind/name; --no-headers drops the header", () => {
  const info = findResource("leases")!;
  const lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: "node-1",
      namespace: "kube-node-lease",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: { holderIdentity: "node-1" },
  };
  const rows = tableRows(info, [lease], { now: NOW, withNamespace: true, withKind: true });
  assert.deepEqual(rows, [
    ["NAMESPACE", "NAME", "HOLDER", "AGE"],
    ["kube-node-lease", "lease.coordination.k8s.io/node-1", "node-1", "60m"],
  ]);
  assert.equal(tableRows(info, [lease], { now: NOW, noHeaders: true }).length, 1);
});

Deno.test("a watch keeps the first table's column widths for later rows", () => {
  const info = findResource("ns")!;
  const widths: number[] = [];
  renderTable(tableRows(info, [ns("a-rather-long-name")], { now: NOW }), widths);
  const later = renderTable(tableRows(info, [ns("b")], { now: NOW, noHeaders: true }), widths);
  assert.equal(later, "b                    Active   5s\n");
});

Deno.test("alignText aligns each run of lines with a cell in a column, as Go's tabwriter", () => {
  const text = [
    "Name:\tweb-1",
    "Namespace:\tdefault",
    "IPs:",
    "  IP:\t10.0.0.1",
    "Containers:",
    "  app:",
    "    Image:\tnginx",
    "    Restart Count:\t0",
    "Port:\t<unset>\t80/TCP",
    "TargetPort:\t8080/TCP",
    "",
  ].join("\n");
  assert.equal(
    alignText(text, { padding: 2 }),
    [
      "Name:       web-1",
      "Namespace:  default",
      "IPs:",
      "  IP:  10.0.0.1",
      "Containers:",
      "  app:",
      "    Image:          nginx",
      "    Restart Count:  0",
      // Still the same run of lines with a first cell: aligned with the container's fields.
      "Port:               <unset>  80/TCP",
      "TargetPort:         8080/TCP",
      "",
    ].join("\n"),
  );
});
