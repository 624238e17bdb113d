import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { shellLine } from '../ui/shell-quote.js';
import { explainQemuError, type ErrorContext, type KnownError } from './qemu-errors.js';
import { LOCK_CONFLICT, lockHolder } from './guest-lock.js';
import { QmpClient } from './qmp.js';

export type Outcome =
  /** The guest powered itself off (QMP SHUTDOWN reason guest-shutdown). */
  | 'powered-off'
  /** The guest reset itself and QEMU, run with -no-reboot, ended (SHUTDOWN reason guest-reset). */
  | 'reset'
  /** QMP quit: talos-mac stop, or another QMP client. */
  | 'quit'
  /** The QEMU window was closed. */
  | 'window-closed'
  /** QEMU ended on a signal (SIGTERM, SIGINT, or talos-mac kill). */
  | 'signal'
  /** talos-mac stopped it because --timeout passed. */
  | 'timeout'
  /** QEMU exited non-zero: it failed to start or crashed. */
  | 'failed'
  /** Exit status 0 without a SHUTDOWN event talos-mac saw. */
  | 'exited';

export interface RunResult {
  outcome: Outcome;
  exitCode: number | null;
  signal?: string;
  /** SHUTDOWN event reason, when one was seen. */
  reason?: string;
  stderr: string;
  known?: KnownError;
  /** flock refused: another QEMU holds this guest's lock, and none was started. */
  conflict?: true;
  ms: number;
}

export interface RunOptions {
  log: string;
  /** QMP socket the launcher listens on for the SHUTDOWN event. */
  events?: string;
  /** Firmware console (with -nographic): forwarded here as it arrives; also written to the log. */
  onConsole?: (chunk: string) => void;
  /** Stop QEMU after this long (QMP quit, then SIGKILL). */
  timeoutMs?: number;
  errorContext?: ErrorContext;
  /** argv runs under this guest lock (guest-lock.ts): QMP is only spoken to once our process holds it. */
  lock?: string;
}

async function openLog(log: string, argv: readonly string[], label: string): Promise<number> {
  await mkdir(dirname(log), { recursive: true });
  const fd = openSync(log, 'a');
  writeSync(fd, `\n--- ${new Date().toISOString()} ${label}\n$ ${shellLine(argv)}\n`);
  return fd;
}

/**
 * QEMU exits 0 for guest power-off, QMP quit (both in tests/launch/boot.test.ts) and SIGTERM alike: the SHUTDOWN
 * event's reason (ShutdownCause, qapi/run-state.json) tells them apart.
 */
function outcomeOf(exitCode: number | null, signal: string | undefined, reason: string | undefined, timedOut: boolean): Outcome {
  if (timedOut) return 'timeout';
  if (signal) return 'signal';
  if (exitCode !== 0) return 'failed';
  switch (reason) {
    case 'guest-shutdown':
      return 'powered-off';
    case 'guest-reset':
      return 'reset';
    case 'host-qmp-quit':
      return 'quit';
    case 'host-ui':
      return 'window-closed';
    case 'host-signal':
      return 'signal';
    default:
      return 'exited';
  }
}

/**
 * QEMU is started with node's spawn (an argv array, never a shell), not execa: a guest is a
 * long-lived process whose streams and signals we handle ourselves, and execa's ~85 ms import
 * would be most of `talos-mac demo`'s overhead over plain QEMU (scripts/bench/demo.mjs).
 */
function spawnQemu(argv: readonly string[], stdio: import('node:child_process').StdioOptions, detached = false) {
  return import('node:child_process').then(({ spawn }) => {
    const [file, ...args] = argv as [string, ...string[]];
    const sub = spawn(file, args, { stdio, detached });
    const ended = new Promise<{ exitCode: number | null; signal?: string; error?: Error }>((resolve) => {
      sub.once('error', (error) => resolve({ exitCode: null, error }));
      sub.once('close', (code, signal) => resolve({ exitCode: code, ...(signal ? { signal } : {}) }));
    });
    return { sub, ended };
  });
}

/**
 * Until the process we started holds the guest lock, the sockets in the runtime folder may be
 * another QEMU's: a launch that lost the race must never talk to the winner.
 */
async function holdsLock(lock: string | undefined, pid: number | undefined, alive: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  if (lock === undefined) return true;
  const end = Date.now() + timeoutMs;
  while (alive() && Date.now() < end) {
    if (pid !== undefined && (await lockHolder(lock))?.pid === pid) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/** flock's conflict exit (QEMU itself exits 0 or 1). */
const isConflict = (lock: string | undefined, exitCode: number | null): boolean => lock !== undefined && exitCode === LOCK_CONFLICT;

/** Runs QEMU in the foreground: stderr to the log and read, the console (if any) to `onConsole`. */
export async function runForeground(argv: readonly string[], o: RunOptions): Promise<RunResult> {
  const fd = await openLog(o.log, argv, 'launch');
  const t0 = Date.now();
  const { sub, ended } = await spawnQemu(argv, [o.onConsole && process.stdin.isTTY ? 'inherit' : 'ignore', o.onConsole ? 'pipe' : 'ignore', 'pipe']);
  let stderr = '';
  sub.stderr?.setEncoding('utf8');
  sub.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    writeSync(fd, chunk);
  });
  sub.stdout?.setEncoding('utf8');
  sub.stdout?.on('data', (chunk: string) => {
    writeSync(fd, chunk);
    o.onConsole?.(chunk);
  });
  let running = true;
  let reason: string | undefined;
  let qmp: QmpClient | undefined;
  const watching = o.events
    ? holdsLock(o.lock, sub.pid, () => running).then(async (ours) => {
        const c = ours ? await QmpClient.connectWhenReady(o.events!, () => running) : undefined;
        qmp = c;
        c?.onEvent((e) => {
          if (e.event === 'SHUTDOWN') reason = String(e.data?.['reason'] ?? '');
        });
      })
    : Promise.resolve();
  let timedOut = false;
  const timer =
    o.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          void qmp?.execute('quit').catch(() => undefined);
          setTimeout(() => sub.kill('SIGKILL'), 3000).unref();
        }, o.timeoutMs)
      : undefined;
  const result = await ended;
  running = false;
  if (timer) clearTimeout(timer);
  await watching;
  qmp?.close();
  const { exitCode, signal } = result;
  if (result.error) stderr += `${result.error.message}\n`;
  writeSync(fd, `--- QEMU ended: ${signal ? `signal ${signal}` : `exit ${exitCode}`}${reason ? ` (${reason})` : ''}\n`);
  closeSync(fd);
  const outcome = outcomeOf(exitCode, signal, reason, timedOut);
  const known = outcome === 'failed' ? explainQemuError(stderr, o.errorContext) : undefined;
  const conflict = isConflict(o.lock, exitCode) ? { conflict: true as const } : {};
  return { outcome, exitCode, ...(signal ? { signal } : {}), ...(reason ? { reason } : {}), stderr, ...(known ? { known } : {}), ...conflict, ms: Date.now() - t0 };
}
