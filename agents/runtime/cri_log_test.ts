import assert from "node:assert/strict";
import { ManualClock } from "../../shared/clock.ts";
import { ContainerLogWriter, formatCriLogRecord, parseCriLog, rfc3339Nano } from "./cri_log.ts";

Deno.test("CRI log records are stamped with nanosecond RFC 3339 times", () => {
  assert.equal(
    rfc3339Nano(Date.parse("2026-01-01T00:00:00.123Z")),
    "2026-01-01T00:00:00.123000000Z",
  );
  assert.equal(
    formatCriLogRecord("2026-01-01T00:00:00.123000000Z", "stderr", "F", "oops"),
    "2026-01-01T00:00:00.123000000Z stderr F oops\n",
  );
});

Deno.test("CRI logs parse into lines, joining partial records per stream", () => {
  const content = [
    "2026-01-01T00:00:01.000000000Z stdout P hel",
    "2026-01-01T00:00:01.100000000Z stderr F boom",
    "2026-01-01T00:00:01.200000000Z stdout F lo world",
    "not a record",
    "2026-01-01T00:00:02.000000000Z stdout F ",
    "",
  ].join("\n");
  assert.deepEqual(parseCriLog(content), [
    { time: "2026-01-01T00:00:01.100000000Z", stream: "stderr", text: "boom" },
    { time: "2026-01-01T00:00:01.000000000Z", stream: "stdout", text: "hello world" },
    { time: "2026-01-01T00:00:02.000000000Z", stream: "stdout", text: "" },
  ]);
});

Deno.test("the log writer writes each line of both streams as it arrives", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/0.log`;
    const writer = await ContainerLogWriter.open(path, new ManualClock());
    const bytes = (s: string) => new TextEncoder().encode(s);
    writer.pump(ReadableStream.from([bytes("one\ntw"), bytes("o\nthree")]), "stdout");
    writer.pump(ReadableStream.from([bytes("err\n")]), "stderr");
    await writer.close(1000);
    const lines = parseCriLog(await Deno.readTextFile(path));
    assert.deepEqual(
      lines.filter((l) => l.stream === "stdout").map((l) => l.text),
      ["one", "two", "three"],
    );
    assert.deepEqual(lines.filter((l) => l.stream === "stderr").map((l) => l.text), ["err"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
