/**
 * Measurement helpers shared by the bench scripts: CPU time of a process from
 * /proc, CPU pinning with taskset, a mergeable latency histogram, and the
 * wall clock in microseconds that every process on the machine agrees on.
 */
import { readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on Linux x86/arm). */
const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** user + system CPU time of `pid` in microseconds (children not included). */
export function cpuMicros(pid: number): number {
  const { user, sys } = cpuSplitMicros(pid);
  return user + sys;
}

/** User and system (kernel: syscalls, and on loopback the receiving side's TCP work too) CPU time of `pid`, µs. */
export function cpuSplitMicros(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / CLK_TCK, sys: (Number(fields[12]) * 1e6) / CLK_TCK };
}

/** Peak and current resident set of `pid`, in KiB. */
export function rssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) =>
    Number(/^(\w+):\s+(\d+)/m.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[2] ?? NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
}

/** Wall-clock microseconds with sub-millisecond resolution, comparable across processes. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

let tasksetChecked: boolean | null = null;
/** True when `taskset` exists and the machine has at least two CPUs to split. */
export function canPin(): boolean {
  if (tasksetChecked === null) {
    const r = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
    tasksetChecked = r.status === 0 && availableCpus() >= 2;
  }
  return tasksetChecked;
}

export function availableCpus(): number {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return 1;
  }
}

/** Pin a running process (all its threads) to one CPU; no-op without taskset. */
export function pin(pid: number, cpu: number): void {
  if (!canPin()) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * Latency histogram with 1 % wide log buckets from 1 µs to ~100 s: cheap to
 * record (one log per sample), exact enough for percentiles, and mergeable
 * across processes by adding counts.
 */
export class Histogram {
  static readonly SIZE = 2048;
  private static readonly SCALE = 1 / Math.log(1.01);
  readonly counts: Float64Array;
  count = 0;
  max = 0;
  sum = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(Histogram.SIZE);
    if (counts) this.counts.set(counts);
    for (const c of this.counts) this.count += c;
  }

  /** Record `n` samples of `micros`. */
  record(micros: number, n = 1): void {
    const v = Math.max(micros, 1);
    let i = Math.floor(Math.log(v) * Histogram.SCALE);
    if (i >= Histogram.SIZE) i = Histogram.SIZE - 1;
    this.counts[i] += n;
    this.count += n;
    this.sum += micros * n;
    if (micros > this.max) this.max = micros;
  }

  merge(other: { counts: ArrayLike<number>; max: number; sum: number }): void {
    for (let i = 0; i < Histogram.SIZE; i++) {
      this.counts[i] += other.counts[i];
      this.count += other.counts[i];
    }
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Value (µs) at quantile q in [0, 1]: the upper edge of the bucket holding it. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < Histogram.SIZE; i++) {
      seen += this.counts[i];
      if (seen >= target && this.counts[i] > 0) return Math.min(1.01 ** (i + 1), this.max);
    }
    return this.max;
  }

  /** The percentiles the bench tables and JSON report, in milliseconds. */
  summaryMs(): { p50: number; p99: number; p999: number; max: number; mean: number } {
    return {
      p50: this.quantile(0.5) / 1000,
      p99: this.quantile(0.99) / 1000,
      p999: this.quantile(0.999) / 1000,
      max: this.max / 1000,
      mean: this.count ? this.sum / this.count / 1000 : NaN,
    };
  }

  toJSON(): { counts: number[]; max: number; sum: number } {
    return { counts: Array.from(this.counts), max: this.max, sum: this.sum };
  }
}

export function fmtMs(micros: number): string {
  if (!Number.isFinite(micros)) return '-';
  return micros >= 10_000 ? (micros / 1000).toFixed(0) : (micros / 1000).toFixed(2);
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Busy and total jiffies per CPU from /proc/stat (softirq time included: loopback TCP work lands there). */
export function cpuTimes(): Array<{ busy: number; total: number }> {
  const out: Array<{ busy: number; total: number }> = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].split(/\s+/).map(Number);
    const idle = v[3] + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

/** Busy % per CPU between two `cpuTimes()` snapshots. */
export function cpuBusyPct(a: ReturnType<typeof cpuTimes>, b: ReturnType<typeof cpuTimes>): number[] {
  return b.map((x, i) => {
    const dt = x.total - (a[i]?.total ?? 0);
    return dt > 0 ? (100 * (x.busy - (a[i]?.busy ?? 0))) / dt : 0;
  });
}

/** Busy % of each CPU over `ms` before a run: other work on the machine skews every figure. */
export async function backgroundLoad(ms = 1000): Promise<number[]> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  return cpuBusyPct(a, cpuTimes()).map((x) => Math.round(x));
}
