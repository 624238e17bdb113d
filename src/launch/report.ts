import { UserError } from '../errors.js';
import type { Display } from '../guests/argv.js';
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


/** What a launch booted, kept for the words after a failed boot (plain data: the --detach supervisor gets it as JSON). */
export interface BootFacts {
  from: 'cd' | 'disk';
  /** The image booted from. */
  path: string;
  /** The guest has a CD (booted or not). */
  hasCd: boolean;
  accel: 'kvm' | 'tcg';
  display: Display;
}

/**
 * A guest that reset itself again and again: what is known (what it booted and what the disc check
 * says of it, the resets, the log) and only advice this launch did not already follow.
 */
export function resetLoopError(name: string, resets: { count: number; seconds: number; windowS: number }, log: string, boot: BootFacts | undefined, verdict: { bootable: boolean; said: string } | undefined): UserError {
  const lines = [`${name} reset itself ${resets.count} times in ${resets.seconds} s (more than ${resets.count - 1} within ${resets.windowS} s): stopped, a reset loop (the firmware found nothing to boot, or the OS failed early).`];
  const next: string[] = [];
  if (boot) {
    const what = boot.from === 'cd' ? 'the CD' : 'the disk';
    lines.push(`It booted ${what} ${boot.path}${verdict ? `: ${verdict.said}` : ''}.`);
    if (verdict && !verdict.bootable) {
      if (boot.from === 'cd') next.push(`give ${name} a PowerPC Mac install disc: talos-mac set ${name} --cdrom FILE (talos-mac media check FILE says whether one is)`);
      else if (boot.hasCd) next.push(`install from its CD: talos-mac launch ${name} --install`);
      else next.push(`give it an install disc: talos-mac set ${name} --cdrom FILE, then talos-mac launch ${name} --install`);
    }
    if (boot.accel === 'kvm') next.push(`try TCG: talos-mac launch ${name}${boot.from === 'cd' ? ' --install' : ''} --accel tcg`);
    if (boot.display === 'none') next.push(`watch the screen: talos-mac launch ${name}${boot.from === 'cd' ? ' --install' : ''} --display vnc, and talos-mac screenshot ${name} while it runs`);
  }
  if (next.length) lines.push(`Next: ${next.join('; or ')}.`);
  lines.push(`QEMU's messages and each reset: ${log}`);
  return new UserError(lines.join('\n'), 1);
}
