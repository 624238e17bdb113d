import { stat } from 'node:fs/promises';
import { currentUserName } from '../host/user.js';
import { resolve } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { UserError } from '../errors.js';
import { EXIT } from '../cli/exit-codes.js';
import type { Host } from '../host/host.js';
import { PrivilegedRunner } from '../privileged/runner.js';
import { Facts } from '../steps/facts.js';
import { SETUP_STEPS } from '../steps/registry.js';
import { applyInOrder, type Outcome } from '../steps/runner.js';
import { appliesNow, statusOf, whyNotNow, type Changes, type HostOptions, type KvmHvChoice, type Step, type StepContext, type StepResult, type StepState } from '../steps/step.js';
import { makePrompts, type Prompts } from './prompts.js';
import { RECORD_PATH } from './record.js';
import { resumeInterrupted } from './resume.js';
import { RootedHost } from './rooted-host.js';
import { undoSetup } from './undo.js';

export interface SetupOptions {
  yes?: boolean;
  dryRun?: boolean;
  undo?: boolean;
  root?: string;
  snapshot?: string;
  user?: string;
  kvmHv?: string;
  buildKernel?: boolean;
}

export interface SetupIo {
  out: (line: string) => void;
  /** Is there a terminal to ask questions on (and for sudo to ask for a password)? */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
  uid: number;
  chalk?: ChalkInstance;
  /** Replaces the terminal prompts (tests). */
  prompts?: Prompts;
  /**
   * Replaces the live host for the running system (tests: a sandbox's files and fake tools, so the
   * kernel steps, which never run under --root, can run against a captured POWER9 host).
   */
  host?: Host;
  /** Keeps talos-mac's record and backups under this directory instead of the system's /var/lib (tests). */
  stateRoot?: string;
}

const KVM_HV_CHOICES: readonly KvmHvChoice[] = ['keep', 'unload', 'blacklist'];

function validate(opts: SetupOptions): void {
  if (opts.snapshot && !opts.dryRun) throw new UserError('--snapshot shows the plan for a captured host and can change nothing: add --dry-run.');
  if (opts.snapshot && (opts.root || opts.undo)) throw new UserError('--snapshot cannot be combined with --root or --undo.');
  if (opts.kvmHv !== undefined && !KVM_HV_CHOICES.includes(opts.kvmHv as KvmHvChoice)) {
    throw new UserError(`--kvm-hv must be one of ${KVM_HV_CHOICES.join(', ')} (got "${opts.kvmHv}").`);
  }
}

async function rootDir(root: string): Promise<string> {
  const abs = resolve(root);
  const s = await stat(abs).catch(() => undefined);
  if (!s?.isDirectory()) throw new UserError(`--root ${JSON.stringify(root)}: not a directory.`);
  return abs;
}

/**
 * --user must name a local user of the system being set up, checked before anything changes (not
 * left to usermod, after modprobe has already run).
 */
async function checkUser(host: Host, user: string, snapshot: boolean, where: string): Promise<void> {
  const passwd = await host.readFile('/etc/passwd');
  if (!passwd.ok) {
    if (snapshot) return;
    throw new UserError(`--user ${JSON.stringify(user)}: cannot check that this user exists (/etc/passwd: ${passwd.message}). Nothing was changed.`);
  }
  const names = passwd.data.toString('utf8').split('\n').map((l) => l.split(':')[0]);
  if (!names.includes(user)) {
    throw new UserError(`--user ${JSON.stringify(user)}: no such user in /etc/passwd${where}. Give the login name of an existing local user. Nothing was changed.`);
  }
}

const TAG: Record<StepState, string> = {
  done: 'done',
  todo: 'todo',
  blocked: 'blocked',
  'reboot-required': 'reboot',
  unknown: 'unknown',
  'not-applicable': 'n/a',
};

function stateLine(step: Step, r: StepResult, c?: ChalkInstance): string {
  const tag = `[${TAG[r.state]}]`.padEnd(10);
  const colour = !c ? (s: string) => s : r.state === 'done' ? c.green : r.state === 'not-applicable' ? c.dim : r.state === 'todo' || r.state === 'reboot-required' ? c.yellow : c.red;
  return `${colour(tag)}${step.id}: ${r.summary}`;
}

function fixLines(r: StepResult): string[] {
  if (!r.fix || r.state === 'done') return [];
  return [`          → ${r.fix.text}`, ...(r.fix.commands ?? []).map((cmd) => `            $ ${cmd}`)];
}

const notThisRun = (why: string): string => `  (not done by setup in this run: ${why})`;

function planned(outcomes: Outcome[], io: SetupIo): number {
  const pending = outcomes.filter((o) => ['todo', 'blocked', 'reboot-required'].includes(o.result.state)).length;
  io.out('');
  io.out(pending === 0 ? nothingToDo(outcomes.map((o) => o.result)) : 'Dry run: nothing was changed. Run without --dry-run to apply.');
  return 0;
}

function nothingToDo(results: StepResult[]): string {
  return results.every((r) => r.state === 'not-applicable')
    ? `Nothing to do: ${results[0]?.summary ?? 'no steps'}. Guests run under QEMU's TCG here (no KVM-PR).`
    : 'Nothing to do: this host is set up for KVM-PR.';
}

function finished(outcomes: Outcome[], steps: readonly Step[], options: HostOptions, io: SetupIo): number {
  const last = outcomes[outcomes.length - 1];
  // The step setup stopped at (whatever its severity), and the required steps not done.
  const stoppedAt = last?.applied && last.result.state !== 'done' && last.result.state !== 'reboot-required' ? last : undefined;
  const reboot = stoppedAt ? [] : outcomes.filter((o) => o.result.state === 'reboot-required');
  // A required step counts when it fails or warns: not when it only informs, is counted under
  // another (skip), or waits for the reboot.
  const open = outcomes.filter(
    (o) =>
      o === stoppedAt ||
      (o.step.severity === 'required' && !['done', 'not-applicable', 'reboot-required'].includes(o.result.state) && ['fail', 'warn'].includes(statusOf(o.step, o.result)) && !(reboot.length && o.result.state === 'blocked')),
  );
  const skipped = steps.length - outcomes.length;
  io.out('');
  if (open.length > 0 || (skipped > 0 && reboot.length === 0)) {
    // Each open step with its state and why, so the last line is never just "not finished".
    io.out(`Not finished: ${open.map((o) => o.step.id).join(', ') || `${skipped} step(s) not reached`}.`);
    for (const o of open) {
      const why = whyNotNow(o.step, o.result, options);
      io.out(`  ${o.step.id} (${TAG[o.result.state]}): ${o.result.summary}${why ? ` — ${why}` : ''}`);
    }
  }
  if (reboot.length > 0) {
    io.out(`Reboot now (for ${reboot.map((o) => o.step.id).join(', ')}), then run \`talos-mac setup\` again to continue with the remaining steps.`);
    return EXIT.REBOOT_NEEDED;
  }
  if (open.length > 0 || skipped > 0) return 1;
  io.out(outcomes.some((o) => o.applied) ? 'Setup complete.' : nothingToDo(outcomes.map((o) => o.result)));
  return 0;
}

export async function runSetup(opts: SetupOptions, io: SetupIo): Promise<number> {
  validate(opts);
  const root = opts.root ? await rootDir(opts.root) : '/';
  let host: Host;
  if (opts.snapshot) {
    const { SnapshotHost } = await import('../host/snapshot-host.js');
    host = await SnapshotHost.open(opts.snapshot);
  } else if (root !== '/') {
    host = new RootedHost(root, io.env);
  } else if (io.host) {
    host = io.host;
  } else {
    const { LiveHost } = await import('../host/live-host.js');
    host = new LiveHost(io.env);
  }
  const dryRun = Boolean(opts.dryRun || opts.snapshot);
  const runner = new PrivilegedRunner({ dryRun, root, out: io.out, uid: io.uid, interactive: io.interactive, env: io.env, host, ...(io.stateRoot ? { stateRoot: io.stateRoot } : {}) });
  const where = opts.snapshot ? ` for ${host.description}` : root !== '/' ? ` inside ${root}` : '';

  if (opts.undo) {
    io.out(`talos-mac setup --undo${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
    const { notes } = await undoSetup(runner);
    io.out(notes.length ? `Undo finished with ${notes.length} note(s) above.` : 'Undo finished.');
    return 0;
  }

  const recorder = runner.recorder;
  const prompts = io.prompts ?? makePrompts({ yes: opts.yes ?? false, interactive: io.interactive });
  const changes: Changes = { runner, prompts };
  const options: HostOptions = {
    user: opts.user ?? (io.uid === 0 ? io.env['SUDO_USER'] || 'root' : currentUserName(io.env)),
    ...(opts.kvmHv ? { kvmHv: opts.kvmHv as KvmHvChoice } : {}),
    root,
    buildKernel: opts.buildKernel ?? false,
    kernel: {},
  };
  if (opts.user !== undefined) await checkUser(host, opts.user, opts.snapshot !== undefined, where);
  const steps = SETUP_STEPS;
  const newContext = (): StepContext => ({ host, facts: new Facts(host), options });
  io.out(`talos-mac setup${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
  if (root !== '/') io.out(`Files are read and changed under ${root}; commands (update-grub, grubby, modprobe) act on the running system (docs/setup.md).`);
  io.out('');

  try {
    if (!dryRun) await resumeInterrupted(changes);
    const asked = new Set<Step>();
    const outcomes = await applyInOrder(steps, newContext, changes, {
      async confirm(step, before) {
        if (!appliesNow(step, before, options)) return false;
        asked.add(step);
        io.out(stateLine(step, before, io.chalk));
        if (dryRun) {
          fixLines(before).forEach((l) => io.out(l));
          return true;
        }
        const preset = step.preset?.(options);
        if (preset !== undefined) return preset;
        const yes = await prompts.confirm({ message: `${step.title}?`, default: step.severity !== 'advisory' });
        if (!yes) io.out('  skipped');
        return yes;
      },
      onResult(o) {
        if (o.wouldStop) io.out(`  would stop: ${o.wouldStop}`);
        if (dryRun && asked.has(o.step)) return;
        if (o.applied) io.out(`  → ${stateLine(o.step, o.result, io.chalk)}`);
        else if (!asked.has(o.step)) io.out(stateLine(o.step, o.result, io.chalk));
        // A step another one fixes (the running MMU, after the boot configuration) needs no fix of its own here.
        if (!o.step.fixedBy) fixLines(o.result).forEach((l) => io.out(l));
        const why = asked.has(o.step) ? undefined : whyNotNow(o.step, o.result, options);
        if (why) io.out(notThisRun(why));
      },
    });
    if (dryRun) return planned(outcomes, io);
    return finished(outcomes, steps, options, io);
  } catch (err) {
    if (err instanceof UserError) {
      const n = recorder.addedThisRun;
      const after =
        n === 0
          ? 'This run changed nothing else.'
          : `This run made ${n} other change${n === 1 ? '' : 's'} before that, listed in ${runner.local(RECORD_PATH)}; \`talos-mac setup --undo\` reverts them.`;
      throw new UserError(`${err.message}\n${after}`, err.exitCode);
    }
    throw err;
  }
}
