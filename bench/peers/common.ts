// Helpers shared by the peer benchmarks: timing summaries, process memory, child processes that speak in lines, and
// reading a run's whole history (every run of a continue-as-new chain) through the client's public API only.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common';
import proto from '@temporalio/proto';
import { repoRoot } from '../../test/support/env';
import { quantile } from '../support';

type History = proto.temporal.api.history.v1.IHistory;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Median of `values` (nearest rank), NaN when empty. */
export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** 99th percentile of `values` (nearest rank), NaN when empty. */
export const p99 = (values: readonly number[]): number => quantile(values, 0.99);

/**
 * Formats a number for a Markdown cell: `—` for NaN, else `digits` decimals.
 * @param value - the number
 * @param digits - decimals (default 1)
 */
export function cell(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

/**
 * Resident memory of a process from `/proc/<pid>/status` (Linux only), in MiB.
 * @param pid - the process
 * @returns current resident set (`VmRSS`) and its peak (`VmHWM`); NaN where the kernel does not say
 */
export function residentMiB(pid: number): { rss: number; peak: number } {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rss: NaN, peak: NaN };
  }
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] !== undefined ? Number(match[1]) / 1024 : NaN;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/**
 * The fields of a /proc `stat` line after the command name (which may hold spaces and parentheses): the state first,
 * then the parent's id, and so on (proc(5) numbers them from 3).
 * @param path - e.g. `/proc/PID/stat` or `/proc/PID/task/TID/stat`
 * @throws Error when the file cannot be read (the process or thread has gone)
 */
export function procStatFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time a process's threads have used so far (ms, user plus system), by thread id; empty once it has gone. */
export function threadCpuMs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      // utime and stime are the 14th and 15th fields of the line, in clock ticks of 10 ms on Linux.
      const fields = procStatFields(`/proc/${pid}/task/${tid}/stat`);
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/**
 * Where a process spent its CPU between two {@link threadCpuMs} readings, as shares of one core (%): the whole process,
 * its main thread (the thread whose id is the process id) and its three busiest other threads.
 * @param pid - the process
 * @param before - the first reading
 * @param after - the second reading
 * @param wallMs - the time between them (ms)
 */
export function cpuShares(
  pid: number,
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  wallMs: number,
): { total: number; main: number; busiest: number[] } {
  const used = [...after].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)] as const);
  const pct = (ms: number): number => (ms / wallMs) * 100;
  return {
    total: pct(used.reduce((sum, [, ms]) => sum + ms, 0)),
    main: pct(used.find(([tid]) => tid === pid)?.[1] ?? 0),
    busiest: used
      .filter(([tid]) => tid !== pid)
      .map(([, ms]) => pct(ms))
      .sort((a, b) => b - a)
      .slice(0, 3),
  };
}

/**
 * Bytes a SQLite database occupies on disk: its file and, when present, its write-ahead log.
 * @param path - the database file
 */
export function sqliteFileBytes(path: string): number {
  const size = (p: string): number => (existsSync(p) ? statSync(p).size : 0);
  return size(path) + size(`${path}-wal`);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep the order of `items`.
 * @param items - inputs
 * @param limit - concurrency
 * @param fn - the work for one item
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/**
 * A client for reading long histories. One page of `GetWorkflowExecutionHistory` can exceed gRPC's default 4 MiB
 * receive limit once events carry large payloads; the SDK's own default (128 MB) is set under the key
 * `max_receive_message_length`, which grpc-js does not read, so it is set here under grpc-js's name.
 * @param address - the server, `host:port`
 * @returns the client and a function that closes its connection
 */
export async function connectHistoryClient(address: string): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({
    address,
    channelArgs: { 'grpc.max_receive_message_length': 512 * 2 ** 20 },
  });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/**
 * Every history of a workflow id's latest chain, oldest run first. A run that continued as new names its predecessor
 * in its first event (`continuedExecutionRunId`), so the chain is walked backwards from the latest run; for a run that
 * never continued as new this is one history.
 * @param client - a connected client
 * @param workflowId - the run
 */
export async function historyChain(client: Client, workflowId: string): Promise<History[]> {
  const chain: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    chain.unshift(history);
    const previous = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (previous === undefined || previous === null || previous === '') return chain;
    runId = previous;
  }
}

/** All events of a chain in order. */
export function chainEvents(chain: readonly History[]): HistoryEvent[] {
  return chain.flatMap((h) => h.events ?? []);
}

/** Bytes of the chain's histories as the server's API serialises them (protobuf), summed over its runs. */
export function chainBytes(chain: readonly History[]): number {
  return chain.reduce((n, h) => n + proto.temporal.api.history.v1.History.encode(h).finish().length, 0);
}

/**
 * Times (ms since the epoch) at which activities of one type started, in history order. A retried attempt records
 * one started event, so each activity counts once. A local activity (read-only tools under an `auto` gate, since
 * `PATCHES.readOnlyLocal`) has no started event: its marker's `complete_time` (the worker's clock, same machine)
 * stands in, as the read takes well under a millisecond.
 * @param events - the chain's events
 * @param activityType - e.g. `get_invoice`
 */
export function activityStartTimes(events: readonly HistoryEvent[], activityType: string): number[] {
  const scheduled = new Set<string>();
  const times: number[] = [];
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === activityType) scheduled.add(String(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started != null && scheduled.has(String(started.scheduledEventId)) && e.eventTime != null) {
      times.push(tsToMs(e.eventTime));
    }
    const local = localActivityMarker(e);
    if (local?.activity_type === activityType && local.complete_time != null) {
      times.push(Number(local.complete_time.seconds) * 1000 + Math.floor((local.complete_time.nanos ?? 0) / 1e6));
    }
  }
  return times;
}

/** What the SDK's core records of a local activity in its marker (the fields used here). */
interface LocalActivityMarkerData {
  activity_type?: string;
  complete_time?: { seconds: number | string; nanos?: number } | null;
}

/** The data of a local activity's marker event, or undefined for any other event. */
function localActivityMarker(e: HistoryEvent): LocalActivityMarkerData | undefined {
  const marker = e.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.['data']?.payloads?.[0]?.data;
  if (data == null) return undefined;
  return JSON.parse(Buffer.from(data).toString('utf8')) as LocalActivityMarkerData;
}

/** A child process running a TypeScript file under tsx, whose stdout is read line by line. */
export interface LineChild {
  child: ChildProcess;
  pid: number;
  /**
   * Waits for the first line (from now on, or already buffered and not yet taken) that `match` accepts.
   * @throws Error when the process exits first or `timeoutMs` passes
   */
  waitForLine(match: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
}

/**
 * Starts `node --import tsx <script>` from the repository root (so the pid is node's own, and a SIGKILL hits it).
 * Its stderr is passed through to ours, prefixed, so crashes of the child are visible.
 * @param script - path relative to the repository root
 * @param args - arguments after the script
 * @param env - added to this process's environment
 */
export function spawnTsx(script: string, args: string[], env: Record<string, string>): LineChild {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined || child.stdout === null || child.stderr === null) {
    throw new Error(`could not start ${script}`);
  }
  const pending: string[] = [];
  const waiters = new Set<(line: string) => boolean>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    for (const waiter of waiters) if (waiter(line)) return;
    pending.push(line);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    process.stderr.write(`[${script} ${child.pid}] ${line}\n`);
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const waitForLine = (match: (line: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> => {
    const i = pending.findIndex(match);
    if (i >= 0) return Promise.resolve(pending.splice(i, 1)[0] as string);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter = (line: string): boolean => {
        if (!match(line)) return false;
        done();
        resolve(line);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${script}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((how) => {
        if (!waiters.has(waiter)) return;
        done();
        reject(new Error(`${script} exited (${how}) before ${what}`));
      });
    });
  };
  return { child, pid: child.pid, waitForLine, exited };
}

/**
 * Sends `signal` to a child we started and waits until it is gone.
 * @param proc - the child
 * @param signal - `SIGKILL` for a crash, `SIGTERM` for a graceful stop
 */
export async function stopChild(proc: LineChild, signal: NodeJS.Signals): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill(signal);
  await proc.exited;
}

/** Prints, on stderr, what a benchmark is about to measure and whether this is a quick smoke run. */
export function announce(title: string, quick: boolean): void {
  process.stderr.write(`${title}${quick ? ' (quick smoke run)' : ''}\n`);
}

/** The common tail of every benchmark's main: print the error and set a failing exit code. */
export function reportFailure(err: unknown): void {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
