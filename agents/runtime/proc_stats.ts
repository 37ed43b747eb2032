/**
 * CPU and memory of process trees read from Linux's /proc, as cAdvisor reads them from a container's
 * cgroup. A process-runtime container is a session (its first process calls setsid), so its processes
 * are those whose /proc/<pid>/stat names that session.
 * @module
 */

/** Clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on every Linux architecture). */
export const USER_HZ = 100;

/** What kubelab reads of /proc/<pid>/stat. */
export interface ProcStat {
  pid: number;
  ppid: number;
  session: number;
  /** utime + stime + cutime + cstime, in clock ticks: the process and the children it reaped. */
  cpuTicks: number;
  /** Start time after boot, in clock ticks: with the pid, identifies a process across pid reuse. */
  startTicks: number;
}

/**
 * Parses /proc/<pid>/stat. The command name is in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  const open = text.indexOf("(");
  if (open < 0 || close < open) return undefined;
  // Fields after the name, numbered from 3 (state) as in proc(5).
  const f = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number) => Number(f[n - 3]);
  const pid = Number(text.slice(0, open).trim());
  const stat = {
    pid,
    ppid: field(4),
    session: field(6),
    cpuTicks: field(14) + field(15) + field(16) + field(17),
    startTicks: field(22),
  };
  return Object.values(stat).every(Number.isFinite) ? stat : undefined;
}

/** The `VmRSS` of /proc/<pid>/status in bytes; 0 when absent (a zombie or a kernel thread). */
export function parseVmRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** What a session's processes use right now. */
export interface SessionUsage {
  pids: number[];
  /** Cumulative CPU time of the session's processes, in core-nanoseconds. */
  cpuCoreNanoSeconds: number;
  /** Resident memory of the session's processes. */
  rssBytes: number;
}

/** Reads a text file of /proc, or undefined when the process has gone meanwhile. */
async function readProc(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** /proc/<pid>/stat, or undefined when the process is gone or /proc does not exist. */
export async function readProcStat(pid: number, procDir = "/proc"): Promise<ProcStat | undefined> {
  const text = await readProc(`${procDir}/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/**
 * The usage of every session in `sessions` (by session id), from one pass over /proc. A session with
 * no process left is absent. Without /proc (not Linux) the map is empty.
 */
export async function readSessionUsage(
  sessions: ReadonlySet<number>,
  procDir = "/proc",
): Promise<Map<number, SessionUsage>> {
  const usage = new Map<number, SessionUsage>();
  if (sessions.size === 0) return usage;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(procDir));
  } catch {
    return usage;
  }
  const stats = await Promise.all(
    entries.filter((e) => /^\d+$/.test(e.name)).map((e) => readProcStat(Number(e.name), procDir)),
  );
  const members = stats.filter((s): s is ProcStat => s !== undefined && sessions.has(s.session));
  const rss = await Promise.all(
    members.map(async (s) => parseVmRssBytes(await readProc(`${procDir}/${s.pid}/status`) ?? "")),
  );
  members.forEach((s, i) => {
    const u = usage.get(s.session) ?? { pids: [], cpuCoreNanoSeconds: 0, rssBytes: 0 };
    u.pids.push(s.pid);
    u.cpuCoreNanoSeconds += s.cpuTicks * (1e9 / USER_HZ);
    u.rssBytes += rss[i];
    usage.set(s.session, u);
  });
  return usage;
}

/** A point of a container's cumulative CPU time. */
export interface CpuSample {
  coreNanoSeconds: number;
  atMs: number;
}

/**
 * CRI's usageNanoCores: the CPU used between two samples, in nanocores (1e9 = one core busy). Zero when
 * no time passed.
 */
export function usageNanoCores(from: CpuSample, to: CpuSample): number {
  const elapsedNs = (to.atMs - from.atMs) * 1e6;
  if (elapsedNs <= 0) return 0;
  return Math.max(0, Math.round((to.coreNanoSeconds - from.coreNanoSeconds) / elapsedNs * 1e9));
}
