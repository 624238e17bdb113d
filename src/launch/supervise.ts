import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import type { HeldLock } from './guest-lock.js';
import { lockHolder } from './guest-lock.js';
import { runGuest, type RunSpec } from './launch.js';
import { QmpClient } from './qmp.js';
import { parentOf } from './identity.js';

/**
 * `launch --detach`: a talos-mac process that outlives the command runs the guest exactly as a
 * foreground launch does (restarts after guest resets included), with its output in the log. It
 * is handed the launch lock's descriptor, so the lock passes to it with no moment where nobody
 * holds it; QEMU itself still holds the guest lock, so status, stop and kill work as before.
 */

/** What the supervisor writes last in the log: the line `startSupervisor` reports from. */
const END_MARK = '--- talos-mac supervisor ended: ';

/**
 * How the last --detach run ended, from the log: the supervisor's end line, if it comes after the
 * log's last run header (a later foreground run writes none).
 */
export function lastDetachedEnd(logText: string): { exit: number; message: string } | undefined {
  const i = logText.lastIndexOf(END_MARK);
  if (i < 0 || i < logText.lastIndexOf('\n--- 2')) return undefined;
  try {
    return JSON.parse(logText.slice(i + END_MARK.length).split('\n')[0]!) as { exit: number; message: string };
  } catch {
    return undefined;
  }
}

/**
 * The hidden `_supervise SPEC-FILE` command: runs the guest; its stdout and stderr are the log. The
 * spec comes in a file (removed once read), not on the command line: tools that look for a guest's
 * QEMU by the words of its command line (its pid file path) must not find this process.
 */
export async function superviseCommand(specFile: string): Promise<number> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as RunSpec;
  rmSync(specFile, { force: true });
  let exit = 0;
  let message: string;
  try {
    message = await runGuest(spec);
  } catch (err) {
    exit = err instanceof UserError ? err.exitCode : 70;
    message = err instanceof Error ? err.message : String(err);
  }
  writeSync(2, `${END_MARK}${JSON.stringify({ exit, message })}\n`);
  return exit;
}

export interface Supervised {
  pid: number;
  status: string;
  supervisor: number;
}

/**
 * Starts the supervisor and returns once its QEMU (a child of it that holds the guest lock) answers
 * on QMP; if the supervisor ends first, throws what it said.
 */
export async function startSupervisor(spec: RunSpec, launch: HeldLock, timeoutMs = 20_000): Promise<Supervised> {
  const logStart = (() => {
    try {
      return statSync(spec.log).size;
    } catch {
      return 0;
    }
  })();
  mkdirSync(dirname(spec.log), { recursive: true });
  const logFd = openSync(spec.log, 'a');
  const bin = process.argv[1]!;
  const specFile = join(spec.runtime.dir, `supervise-${randomBytes(6).toString('hex')}.json`);
  writeFileSync(specFile, JSON.stringify({ ...spec, serial: false }), { mode: 0o600, flag: 'wx' });
  const child = spawn(process.execPath, [bin, '_supervise', specFile], {
    detached: true,
    stdio: ['ignore', logFd, logFd, launch.fd],
  });
  closeSync(logFd);
  let ended: number | null | undefined;
  child.once('exit', (code) => (ended = code ?? 70));
  child.once('error', () => (ended = 70));
  const end = Date.now() + timeoutMs;
  try {
    while (Date.now() < end && ended === undefined) {
      const holder = await lockHolder(spec.lock);
      // Ours only: flock --no-fork execs QEMU, so our QEMU's parent is the supervisor.
      if (holder !== undefined && parentOf(holder.pid) === child.pid) {
        const q = await QmpClient.connect(spec.runtime.control, 1000).catch(() => undefined);
        if (q) {
          const status = await q.execute<{ status: string }>('query-status').then((s) => s.status, () => 'unknown');
          q.close();
          child.unref();
          return { pid: holder.pid, status, supervisor: child.pid! };
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ended === undefined) {
      // detached: the supervisor leads its own process group, and its QEMU is in it.
      process.kill(-child.pid!, 'SIGKILL');
      throw new UserError(`${spec.name}: QEMU did not answer on QMP within ${timeoutMs / 1000} s; it and the background talos-mac were killed. Log: ${spec.log}`, 1);
    }
    const text = readFileSync(spec.log, 'utf8').slice(logStart);
    const said = lastDetachedEnd(text);
    if (!said) throw new UserError(`the talos-mac process that runs ${spec.name} ended (exit ${ended}) before QEMU answered. Log: ${spec.log}`, 1);
    throw new UserError(said.exit === 0 ? `${spec.name} ended at once: ${said.message} Log: ${spec.log}` : said.message, said.exit === 0 ? 1 : said.exit);
  } finally {
    launch.release();
  }
}
