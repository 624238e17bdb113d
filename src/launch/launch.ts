import { writeOut } from '../ui/output.js';
import { writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import { LiveHost } from '../host/live-host.js';
import { shellCommand } from '../guests/argv.js';
import { logFile } from '../guests/paths.js';
import { GuestStore } from '../guests/store.js';
import { planLaunch, type LaunchOptions, type LaunchPlan } from './plan.js';
import { tail } from './qemu-errors.js';
import { runDetached, runForeground, type RunResult } from './run.js';
import { clearRuntime, firstTime, prepareRuntimeDir, runtimeFiles } from './state.js';

export interface LaunchCommandOptions extends LaunchOptions {
  printCmd: boolean;
  json: boolean;
  timeoutMs?: number | undefined;
}

/** Launch messages go to stderr: with --display serial, stdout is the guest's console. */
export const err = (text: string): void => void writeSync(2, text);

/** --print-cmd: the shell-quoted command, or with --json the argv array. */
export function printCommand(argv: readonly string[], json: boolean): void {
  writeOut(json ? JSON.stringify(argv) + '\n' : shellCommand(argv) + '\n');
}

/** Turns a QEMU run that did not end well into one clear error (exit 1), never a silent failure. */
export function failureOf(r: RunResult, log: string, what: string): UserError | undefined {
  switch (r.outcome) {
    case 'powered-off':
    case 'quit':
    case 'window-closed':
    case 'exited':
      return undefined;
    case 'timeout':
      return new UserError(`${what} was stopped: it did not finish within the time limit. Log: ${log}`, 1);
    case 'signal':
      return new UserError(`${what} ended on a signal (${r.signal ?? r.reason ?? 'unknown'}): stopped from outside (talos-mac kill, or a SIGTERM). Log: ${log}`, 1);
    case 'failed': {
      if (r.known) return new UserError(`QEMU failed: ${r.known.message}\n  Fix: ${r.known.fix}\n  Log: ${log}`, 1);
      return new UserError(`QEMU exited with status ${r.exitCode}. Its last words (full log: ${log}):\n${tail(r.stderr) || '(nothing on stderr)'}`, 1);
    }
  }
}

export function endLine(r: RunResult): string {
  const s = (r.ms / 1000).toFixed(1);
  switch (r.outcome) {
    case 'powered-off':
      return `The guest powered itself off after ${s} s.`;
    case 'quit':
      return `QEMU quit on request (talos-mac stop) after ${s} s.`;
    case 'window-closed':
      return `The QEMU window was closed after ${s} s.`;
    default:
      return `QEMU exited after ${s} s.`;
  }
}

export async function launchCommand(name: string, o: LaunchCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const store = new GuestStore(env);
  const guest = await store.read(name);
  const file = store.file(name);
  const runtime = runtimeFiles(store.paths, name);
  const plan: LaunchPlan = await planLaunch(guest, file, o, { host: new LiveHost(env), paths: store.paths, runtime });
  if (o.printCmd) {
    printCommand(plan.argv, o.json);
    return 0;
  }
  const log = logFile(store.paths, name);
  const { renderLaunchSummary, CHECKSTOP_WARNING } = await import('../ui/launch-summary.js');
  const { makeChalk } = await import('../ui/color.js');
  const c = await makeChalk(process.stderr);
  err(renderLaunchSummary(plan, c, { log, qmp: runtime.control }));
  if (plan.accel === 'kvm' && (await firstTime(store.paths, 'kvm-checkstop-warning'))) err(c.yellow(`\n${CHECKSTOP_WARNING}\n\n`));
  await prepareRuntimeDir(runtime);
  const errorContext = { file, name };
  if (o.detach) {
    const d = await runDetached(plan.argv, { log, control: runtime.control, errorContext });
    if (d.started) {
      err(`${name} is running (QEMU pid ${d.pid}, ${d.status}). talos-mac status ${name} | stop ${name} | kill ${name}\n`);
      return 0;
    }
    await clearRuntime(runtime);
    throw failureOf(d.result, log, `QEMU for ${name}`)!;
  }
  const r = await runForeground(plan.argv, {
    log,
    events: runtime.events,
    errorContext,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(plan.display === 'serial' ? { onConsole: (chunk: string) => void writeOut(chunk) } : {}),
  });
  // A second QEMU refused by the first one's pid-file lock must not remove the first one's files.
  if (r.known?.id !== 'pidfile-locked') await clearRuntime(runtime);
  const failure = failureOf(r, log, `QEMU for ${name}`);
  if (failure) throw failure;
  err(`${endLine(r)}\n`);
  return 0;
}
