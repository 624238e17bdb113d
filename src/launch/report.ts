import { UserError } from '../errors.js';
import { shellLine } from '../ui/shell-quote.js';
import { writeErrText, writeOut } from '../ui/output.js';
import { tail } from './qemu-errors.js';
import type { RunResult } from './run.js';

/** Launch messages go to stderr: with --display serial, stdout is the guest's console. */
export const err = (text: string): void => writeErrText(text);

/** --print-cmd: the shell-quoted command, or with --json the argv array. */
export function printCommand(argv: readonly string[], json: boolean): void {
  writeOut(json ? JSON.stringify(argv) + '\n' : shellLine(argv) + '\n');
}

/** Turns a QEMU run that did not end well into one clear error (exit 1), never a silent failure. */
export function failureOf(r: RunResult, log: string, what: string): UserError | undefined {
  switch (r.outcome) {
    case 'powered-off':
    case 'reset':
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

export function endLine(r: RunResult, restarts = 0): string {
  const s = (r.ms / 1000).toFixed(1);
  const again = restarts > 0 ? ` (restarted after a guest reset ${restarts === 1 ? 'once' : `${restarts} times`})` : '';
  return `${endWords(r, s)}${again}.`;
}

function endWords(r: RunResult, s: string): string {
  switch (r.outcome) {
    case 'powered-off':
      return `The guest powered itself off after ${s} s`;
    case 'reset':
      return `The guest reset itself after ${s} s; QEMU ended (a detached or pasted QEMU is not restarted)`;
    case 'quit':
      return `QEMU quit on request (talos-mac stop) after ${s} s`;
    case 'window-closed':
      return `The QEMU window was closed after ${s} s`;
    default:
      return `QEMU exited after ${s} s`;
  }
}

