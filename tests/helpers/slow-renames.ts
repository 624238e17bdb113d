import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** strace is a test prerequisite (scripts/test-prereqs.mjs); tests that need it skip without it. */
export const hasStrace = spawnSync('strace', ['-V']).status === 0;

const RENAMES = 'rename,renameat,renameat2';

/**
 * Runs argv under strace(1) with every rename(2) held `delayMs` on entry (the temp file written, the
 * rename not yet made) or on exit (the rename made, the program not yet told), so that a test can
 * watch the file system for a point inside an atomic write and kill the process there: the product
 * carries no pause of its own. `--seccomp-bpf` stops only the renames, so the rest runs at full
 * speed. Every rename is held, the earlier ones too: a short delay (seconds) leaves the test time
 * to see each point and kill. Stop it with killTraced.
 */
export function spawnWithSlowRenames(argv: readonly string[], o: { when: 'enter' | 'exit'; delayMs: number; env: NodeJS.ProcessEnv; cwd: string }): ChildProcess {
  const inject = `inject=${RENAMES}:delay_${o.when}=${o.delayMs * 1000}`;
  return spawn('strace', ['-f', '--seccomp-bpf', '-qq', '-o', '/dev/null', '-e', `trace=${RENAMES}`, '-e', inject, '--', ...argv], { cwd: o.cwd, env: o.env, stdio: 'ignore', detached: true });
}

/**
 * SIGKILL for the program strace runs (not strace): strace, its parent, reaps it and exits. Killing
 * the whole group would leave the program a zombie until init reaps it, and a zombie's pid still
 * looks alive (kill(pid, 0)) to the next run, which then keeps the dead run's temp files.
 */
export async function killTraced(child: ChildProcess): Promise<void> {
  const exited = child.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid of children) process.kill(pid, 'SIGKILL');
  await exited;
}
