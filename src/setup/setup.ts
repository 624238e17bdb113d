import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import { PrivilegedRunner } from '../privileged/runner.js';
import { Facts } from '../steps/facts.js';
import { applyInOrder, type Outcome } from '../steps/runner.js';
import type { Step, StepContext, StepResult, StepState } from '../steps/step.js';
import type { KvmHvChoice, SetupDeps } from './deps.js';
import { buildPlan } from './plan.js';
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

function onPath(env: NodeJS.ProcessEnv): (name: string) => Promise<boolean> {
  const dirs = (env['PATH'] ?? '').split(delimiter).filter(Boolean);
  return async (name) => {
    for (const d of dirs) {
      if (await access(join(d, name), constants.X_OK).then(() => true, () => false)) return true;
    }
    return false;
  };
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

/** Will setup apply this step now? Not when its fix says setup does not do it in this run (bySetup: false). */
function setupApplies(step: Step, r: StepResult): boolean {
  return r.state === 'todo' && step.apply !== undefined && r.fix?.bySetup !== false;
}

const NOT_THIS_RUN = '  (not done by setup in this run: see the fix above)';

/** Dry run: every step's state, and the commands and file changes apply would make. */
async function planOnly(steps: Step[], ctx: StepContext, io: SetupIo): Promise<number> {
  let pending = 0;
  const results: StepResult[] = [];
  for (const step of steps) {
    let r: StepResult;
    try {
      r = await step.verify(ctx);
    } catch (err) {
      r = { state: 'unknown', summary: `could not check: ${(err as Error).message}` };
    }
    results.push(r);
    io.out(stateLine(step, r, io.chalk));
    fixLines(r).forEach((l) => io.out(l));
    if (r.state === 'todo' || r.state === 'blocked' || r.state === 'reboot-required') pending++;
    if (setupApplies(step, r)) {
      try {
        await step.apply!(ctx);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        io.out(`  would stop: ${err.message}`);
      }
    } else if (r.state === 'todo') {
      io.out(NOT_THIS_RUN);
    }
  }
  io.out('');
  io.out(pending === 0 ? nothingToDo(results) : 'Dry run: nothing was changed. Run without --dry-run to apply.');
  return 0;
}

function nothingToDo(results: StepResult[]): string {
  return results.every((r) => r.state === 'not-applicable')
    ? `Nothing to do: ${results[0]?.summary ?? 'no steps'}. Guests run under QEMU's TCG here (no KVM-PR).`
    : 'Nothing to do: this host is set up for KVM-PR.';
}

function finished(outcomes: Outcome[], steps: Step[], io: SetupIo): number {
  const last = outcomes[outcomes.length - 1];
  if (last?.result.state === 'reboot-required') {
    io.out('');
    io.out('Reboot now, then run `talos-mac setup` again to continue with the remaining steps.');
    return 0;
  }
  const open = outcomes.filter((o) => o.step.severity === 'required' && !['done', 'not-applicable'].includes(o.result.state));
  const skipped = steps.length - outcomes.length;
  io.out('');
  if (open.length === 0 && skipped === 0) {
    io.out(outcomes.some((o) => o.applied) ? 'Setup complete.' : nothingToDo(outcomes.map((o) => o.result)));
    return 0;
  }
  // Each open step with its state and why, so the last line is never just "not finished".
  io.out(`Not finished: ${open.map((o) => o.step.id).join(', ') || `${skipped} step(s) not reached`}.`);
  for (const o of open) io.out(`  ${o.step.id} (${TAG[o.result.state]}): ${o.result.summary}`);
  return 1;
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
  const runner = new PrivilegedRunner({ dryRun, root, out: io.out, uid: io.uid, interactive: io.interactive, env: io.env, host });
  const where = opts.snapshot ? ` for ${host.description}` : root !== '/' ? ` inside ${root}` : '';

  if (opts.undo) {
    io.out(`talos-mac setup --undo${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
    const { notes } = await undoSetup(runner);
    io.out(notes.length ? `Undo finished with ${notes.length} note(s) above.` : 'Undo finished.');
    return 0;
  }

  const recorder = runner.recorder;
  const prompts = io.prompts ?? makePrompts({ yes: opts.yes ?? false, interactive: io.interactive });
  const deps: SetupDeps = {
    runner,
    recorder,
    prompts,
    targetUser: opts.user ?? (io.uid === 0 ? io.env['SUDO_USER'] || 'root' : userInfo().username),
    ...(opts.kvmHv ? { kvmHv: opts.kvmHv as KvmHvChoice } : {}),
    root,
    buildKernel: opts.buildKernel ?? false,
    hasCommand: opts.snapshot ? async () => true : onPath(io.env),
  };
  if (opts.user !== undefined) await checkUser(host, opts.user, opts.snapshot !== undefined, where);
  const steps = buildPlan(deps);
  const newContext = (): StepContext => ({ host, facts: new Facts(host) });
  io.out(`talos-mac setup${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
  if (root !== '/') io.out(`Files are read and changed under ${root}; commands (update-grub, grubby, modprobe) act on the running system (docs/setup.md).`);
  io.out('');
  if (dryRun) return planOnly(steps, newContext(), io);

  try {
    await resumeInterrupted(deps);
    const asked = new Set<Step>();
    const outcomes = await applyInOrder(steps, newContext, {
      async confirm(step, before) {
        if (!setupApplies(step, before)) return false;
        asked.add(step);
        io.out(stateLine(step, before, io.chalk));
        if (step.id === 'kvm.hv-unload' && deps.kvmHv) return deps.kvmHv !== 'keep';
        const yes = await prompts.confirm({ message: `${step.title}?`, default: step.severity !== 'advisory' });
        if (!yes) io.out('  skipped');
        return yes;
      },
      onResult(o) {
        if (o.applied) io.out(`  → ${stateLine(o.step, o.result, io.chalk)}`);
        else if (!asked.has(o.step)) io.out(stateLine(o.step, o.result, io.chalk));
        fixLines(o.result).forEach((l) => io.out(l));
        if (o.result.state === 'todo' && !asked.has(o.step)) io.out(NOT_THIS_RUN);
      },
    });
    return finished(outcomes, steps, io);
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
