import { stat } from 'node:fs/promises';
import { currentUserName } from '../host/user.js';
import { resolve } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Host } from '../host/host.js';
import { PrivilegedRunner } from '../privileged/runner.js';
import { Facts } from '../host/facts.js';
import { SETUP_STEPS } from '../steps/registry.js';
import { applyInOrder, type Outcome } from '../steps/runner.js';
import { appliesNow, DEFAULT_HOST_OPTIONS, setAside, statusOf, whyNotNow, type Changes, type HostOptions, type KvmHvChoice, type Step, type StepContext, type StepResult, type StepState } from '../steps/step.js';
import { collectingPrompts, makePrompts, type Prompts } from '../ui/prompts.js';
import { askGuest, type GuestFlags, type GuestPlan } from './guest-phase.js';
import { checkReboot, expectReboot, type RebootExpectation } from './reboot-check.js';
import { SetupReportSchema, type SetupReport, type SetupStepReport } from './report-schema.js';
import { GuestStore } from '../guests/store.js';
import { osById } from '../guests/catalog.js';
import { createGuest } from '../guests/create.js';
import { verifyAll } from '../steps/runner.js';
import { isPowerArch } from '../steps/checks/common.js';
import { MARK } from '../doctor/render.js';
import { kernelPrSupport } from '../steps/checks/kernel.js';
import { distroKernelNewer } from '../steps/checks/kernel-updates.js';
import { mmuActive } from '../steps/checks/mmu.js';
import { nextBoot } from '../steps/host-changes/mmu-hash.js';
import { kernelSource } from '../steps/checks/kernel-build.js';
import { plainEvents } from '../kernel/stages.js';
import { readRecord, RECORD_PATH } from '../privileged/record.js';
import { resumeInterrupted } from './resume.js';
import { openHost } from '../host/open.js';
import { describe as describeChange, undoSetup } from './undo.js';
import { hasDesktop } from '../launch/plan.js';
import { qemuPackagePlan } from '../steps/checks/qemu-packages.js';

export interface SetupOptions {
  yes?: boolean;
  dryRun?: boolean;
  undo?: boolean;
  root?: string;
  snapshot?: string;
  user?: string;
  kvmHv?: string;
  buildKernel?: boolean;
  /** --kernel-hook: install the kernel post-install hook that notes new kernels (off by default). */
  kernelHook?: boolean;
  /** --skip-kernel: leave the kernel as it is (TCG guests until it can do KVM-PR). */
  skipKernel?: boolean;
  json?: boolean;
  os?: string;
  name?: string;
  ram?: string;
  diskSize?: string;
  cdrom?: string;
  net?: string;
  /** --no-guest: false. */
  guest?: boolean;
  /** --with-files / --without-files: 7-Zip for `files` and `media check` (default: asked; --yes: yes). */
  withFiles?: boolean;
  withoutFiles?: boolean;
  /** --with-window / --without-window: QEMU's window module (default: where a desktop session exists). */
  withWindow?: boolean;
  withoutWindow?: boolean;
  /** --with-live-share / --without-live-share: rclone for `share --live` (default: asked; --yes: yes). */
  withLiveShare?: boolean;
  withoutLiveShare?: boolean;
  /** --no-demo: false. Without a guest to create, setup ends by booting the demo guest. */
  demo?: boolean;
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
  /** Where guests are created (tests: a sandbox's XDG directories). */
  store?: GuestStore;
  /** Where the --json document goes (default: standard output). */
  json?: (text: string) => void;
  /** Standard output is a terminal: each change is shown live (listr2) while it runs. */
  live?: boolean;
}

const KVM_HV_CHOICES: readonly KvmHvChoice[] = ['keep', 'unload', 'blacklist'];

function validate(opts: SetupOptions): void {
  if (opts.buildKernel && opts.skipKernel) throw new UserError('--build-kernel and --skip-kernel are opposites: give one.');
  if (opts.guest === false && (opts.os || opts.name || opts.cdrom)) throw new UserError('--no-guest cannot be combined with --os, --name or --cdrom.');
  if (opts.withFiles && opts.withoutFiles) throw new UserError('--with-files and --without-files are opposites: give one.');
  if (opts.withWindow && opts.withoutWindow) throw new UserError('--with-window and --without-window are opposites: give one.');
  if (opts.withLiveShare && opts.withoutLiveShare) throw new UserError('--with-live-share and --without-live-share are opposites: give one.');
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

/** One step: doctor's mark for its status, then its state, as doctor and setup both show it. */
function stateLine(step: Step, r: StepResult, c?: ChalkInstance): string {
  const tag = `${MARK[statusOf(step, r)]} [${TAG[r.state]}]`.padEnd(12);
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
  io.out(pending === 0 ? nothingToDo(outcomes) : 'Dry run: nothing was changed. Run without --dry-run to apply.');
  return 0;
}

function nothingToDo(outcomes: readonly Outcome[]): string {
  // KVM-PR's own steps (not QEMU's, which every host needs) tell a host that can never do it.
  const kvmPr = outcomes.filter((o) => setAside(o.step, { ...DEFAULT_HOST_OPTIONS, tcgOnly: true }));
  return kvmPr.length > 0 && kvmPr.every((o) => o.result.state === 'not-applicable')
    ? `Nothing to do: ${kvmPr[0]!.result.summary}. Guests run under QEMU's TCG here (no KVM-PR).`
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
      (o.step.severity === 'required' &&
        !setAside(o.step, options) &&
        !['done', 'not-applicable', 'reboot-required'].includes(o.result.state) &&
        ['fail', 'warn'].includes(statusOf(o.step, o.result)) &&
        !(reboot.length && o.result.state === 'blocked')),
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
  if (options.tcgOnly) io.out('Setup complete for TCG guests: this kernel cannot do KVM-PR, and building one was declined (talos-mac setup --build-kernel builds it).');
  else io.out(outcomes.some((o) => o.applied) ? 'Setup complete.' : nothingToDo(outcomes));
  return 0;
}

interface Answers {
  buildKernel: boolean;
  guest: GuestPlan | undefined;
  /** The optional tools asked about (a feature not asked keeps its flag or default). */
  extras: NonNullable<HostOptions['extras']>;
}

interface CreatedGuest {
  name: string;
  file: string | undefined;
  /** It was there already (a second run): left as it is. */
  existed: boolean;
}

const guestFlags = (o: SetupOptions): GuestFlags => ({ os: o.os, name: o.name, ram: o.ram, diskSize: o.diskSize, cdrom: o.cdrom, net: o.net, guest: o.guest });

async function canDoKvmPr(facts: Facts): Promise<boolean> {
  const arch = await facts.arch();
  return arch.ok && isPowerArch(arch.value);
}

const outcomeOf = (plan: readonly Outcome[], step: Step): Outcome | undefined => plan.find((o) => o.step === step);

/** Will this run apply it: setup can, and no flag (--kvm-hv keep) said no. */
const appliesHere = (o: Outcome, options: HostOptions): boolean => appliesNow(o.step, o.result, options) && o.step.preset?.(options) !== false;

/**
 * Takes effect only after the next boot: a new kernel, and the boot configuration while the
 * running MMU is not yet hash. They share that boot.
 */
const atNextBoot = (o: Outcome, plan: readonly Outcome[]): boolean =>
  o.step === kernelPrSupport || (o.step === nextBoot && outcomeOf(plan, mmuActive)?.result.state !== 'done');

/** Another step of this run fixes it before the run ends (QEMU's packages: not a change that waits for a reboot). */
function fixedNow(o: Outcome, plan: readonly Outcome[], options: HostOptions): boolean {
  const fixer = o.step.fixedBy && outcomeOf(plan, o.step.fixedBy);
  return (o.result.state === 'todo' || o.result.state === 'blocked') && o.result.onlyWith === undefined && fixer !== undefined && appliesHere(fixer, options) && !atNextBoot(fixer, plan);
}

/** The new kernel this plan needs, with its cost on this machine. */
function kernelNeeded(plan: Outcome[]): { cost: string; why: string } | undefined {
  const o = plan.find((p) => p.result.state === 'todo' && p.result.cost !== undefined);
  if (o?.result.cost === undefined) return undefined;
  const cost = o.result.cost;
  const why = o.step === kernelPrSupport ? 'This kernel cannot do KVM-PR' : `${o.step.title} (${o.step.id})`;
  const download = /; (\S+ is a \d+ MB download)\)$/.exec(outcomeOf(plan, kernelSource)?.result.summary ?? '')?.[1];
  return { why, cost: `${cost}${download ? ` The source: ${download}.` : ''}` };
}

interface PlanSummary {
  needsRoot: string[];
  reboots: number;
}

function planSummary(plan: Outcome[], options: HostOptions, uid: number): PlanSummary {
  const applies = plan.filter((o) => appliesHere(o, options));
  // Everything that waits for a boot shares the next one: one reboot at most.
  const reboot = plan.some((o) => o.result.state === 'reboot-required') || applies.some((o) => atNextBoot(o, plan));
  return { needsRoot: uid === 0 ? [] : applies.map((o) => o.step.id), reboots: reboot ? 1 : 0 };
}

function showPlan(summary: PlanSummary, plan: Outcome[], options: HostOptions, guest: GuestPlan | undefined, demo: boolean, io: SetupIo): void {
  io.out('The plan:');
  const notHere = plan.filter((o) => o.result.state === 'not-applicable');
  // A step done with something to say (an optional tool left out, and the flag that adds it) gets its own line.
  const done = plan.filter((o) => o.result.state === 'done' && !o.result.notes?.length);
  if (done.length) io.out(`  ${MARK.pass} done already: ${done.map((o) => o.step.id).join(', ')}`);
  for (const o of plan.filter((x) => x.result.state !== 'not-applicable' && !done.includes(x))) {
    const applies = appliesHere(o, options);
    const why = applies || fixedNow(o, plan, options) ? undefined : whyNotNow(o.step, o.result, options);
    const atBoot = applies && atNextBoot(o, plan);
    io.out(`  ${applies ? '→' : MARK[statusOf(o.step, o.result)]} ${o.step.id}: ${applies ? o.step.title : o.result.summary}${atBoot ? ' (takes effect after the reboot)' : ''}${why ? ` (not in this run: ${why})` : ''}${!applies && o.step.fixedBy && fixedNow(o, plan, options) ? ` (${o.step.fixedBy.id} does it in this run)` : ''}`);
    for (const note of o.result.notes ?? []) io.out(`      ${note}`);
  }
  // The steps that do not concern this host, in one line: grouped by reason.
  const reasons = new Map<string, string[]>();
  for (const o of notHere) reasons.set(o.result.summary, [...(reasons.get(o.result.summary) ?? []), o.step.id]);
  if (reasons.size) io.out(`  ${MARK.skip} do not concern this host: ${[...reasons].map(([why, ids]) => `${ids.join(', ')} (${why})`).join('; ')}`);
  if (summary.needsRoot.length) io.out(`Root: ${summary.needsRoot.join(', ')} run through sudo (it may ask for your password once).`);
  io.out(summary.reboots ? 'Reboots: 1 (the boot configuration and a new kernel share it).' : 'Reboots: none.');
  if (guest?.existing) io.out(`Guest: ${guest.name} (${guest.os.title}) exists already: left as it is.`);
  else if (guest) {
    io.out(`Guest: ${guest.name}, ${guest.os.title}, ${guest.ram} MiB, a new ${guest.diskSize} disk${guest.cdrom ? `, install CD ${guest.cdrom}` : ', no install CD'}, network ${guest.net} — ${guest.accel}.`);
    const m = guest.media;
    if (m) {
      const says = m.looksLike ? `it looks like ${osById(m.looksLike).title}` : m.candidates.length > 1 ? `it could be ${m.candidates.map((c) => osById(c).title).join(', ')}` : 'the disc does not say which Mac OS it holds';
      io.out(`  The install CD is a PowerPC Mac boot disc (${m.volumes.map((v) => v.name).filter(Boolean).join(', ') || 'volume name unread'}): ${says}.`);
      if (m.looksLike && m.looksLike !== guest.os.id) io.out(`  ! It does not look like ${guest.os.title}, the OS chosen: check --os or --cdrom.`);
    }
  }
  if (demo) io.out(`Then: boot the demo guest, no Mac media needed (${DEMO_WHAT}; --no-demo leaves it out).`);
  io.out('');
}

const DEMO_WHAT = 'talos-mac demo: a tiny self-made Mac disk, booted under TCG on the serial console, no display needed';

/** The end of a setup that creates no guest: the demo guest boots, proving QEMU and talos-mac work here. */
async function bootDemo(io: SetupIo, host: Host): Promise<boolean> {
  io.out('');
  io.out(`Booting the demo guest (${DEMO_WHAT}).`);
  const { demoCommand } = await import('../demo/demo.js');
  try {
    await demoCommand({ accel: 'tcg', timeoutSeconds: 60, printCmd: false, json: false }, host, io.env);
    io.out('The demo guest booted: QEMU and talos-mac work on this host.');
    return true;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.out(`The demo guest did not boot: ${err.message}`);
    return false;
  }
}

function stepReport(o: Outcome, options: HostOptions): SetupStepReport {
  return {
    id: o.step.id,
    title: o.step.title,
    state: o.result.state,
    status: statusOf(o.step, o.result),
    summary: o.result.summary,
    applies: o.applied ?? appliesHere(o, options),
    notNow: whyNotNow(o.step, o.result, options) ?? null,
  };
}

function guestReport(g: GuestPlan, created: CreatedGuest | undefined): NonNullable<SetupReport['guest']> {
  return {
    name: g.name,
    os: g.os.id,
    ram: Number(g.ram),
    diskSize: g.diskSize,
    cdrom: g.cdrom ?? null,
    net: g.net,
    accel: g.accel,
    created: created !== undefined && !created.existed,
    definition: created?.file ?? null,
  };
}

async function createPlanned(store: GuestStore, host: Host, g: GuestPlan, io: SetupIo): Promise<CreatedGuest> {
  if (g.existing) {
    io.out(`The guest ${g.name} exists already (${store.file(g.name)}): left as it is.`);
    return { name: g.name, file: store.file(g.name), existed: true };
  }
  const { file, createdDisk, guest } = await createGuest(store, host, g.name, { os: g.os.id, ram: g.ram, diskSize: g.diskSize, cdrom: g.cdrom, net: g.net });
  io.out(`Created the guest ${guest.name}: ${g.os.title}, ${guest.ram} MiB, ${createdDisk ? 'a new' : 'an existing'} disk ${guest.disk}${guest.cdrom ? `, install CD ${guest.cdrom}` : ''} (${file}); ${g.accel}.`);
  return { name: guest.name, file, existed: false };
}

/** What the next boot should show, for the run after it. */
function rebootExpectation(outcomes: Outcome[]): Omit<RebootExpectation, 'bootId' | 'at'> {
  const waiting = (step: Step) => (outcomeOf(outcomes, step)?.result.state === 'reboot-required' ? outcomeOf(outcomes, step) : undefined);
  const kernel = waiting(kernelPrSupport) ?? waiting(distroKernelNewer);
  const release = kernel ? /^(\S+) is installed/.exec(kernel.result.summary)?.[1] : undefined;
  return { ...(waiting(mmuActive) ? { mmu: 'hash' as const } : {}), ...(release ? { release } : {}) };
}

/** The exact commands that come next: never a dead end. */
function nextCommands(code: number, plan: GuestPlan | undefined, created: CreatedGuest | undefined, demoFailed = false): string[] {
  if (code === EXIT.REBOOT_NEEDED) return ['sudo reboot', 'talos-mac setup'];
  if (demoFailed) return ['talos-mac doctor', 'talos-mac demo'];
  if (code !== EXIT.OK) return ['talos-mac doctor', 'talos-mac setup'];
  const name = created?.name ?? plan?.name;
  if (name) return plan?.cdrom ? [`talos-mac launch ${name} --install`, `talos-mac launch ${name}`] : [`talos-mac launch ${name}`];
  return ['talos-mac create tiger --os tiger --cdrom TIGER.iso', 'talos-mac launch tiger --install'];
}

export async function runSetup(opts: SetupOptions, io: SetupIo): Promise<number> {
  validate(opts);
  const root = opts.root ? await rootDir(opts.root) : '/';
  const host: Host = !opts.snapshot && root === '/' && io.host ? io.host : await openHost({ ...(opts.snapshot ? { snapshot: opts.snapshot } : {}), root, env: io.env });
  const dryRun = Boolean(opts.dryRun || opts.snapshot);
  // What the runner and the kernel build print goes to `sink`: the terminal, or the progress
  // display of the step being applied.
  let sink = io.out;
  const say = (line: string): void => sink(line);
  const runner = new PrivilegedRunner({ dryRun, root, out: say, uid: io.uid, interactive: io.interactive, env: io.env, host, ...(io.stateRoot ? { stateRoot: io.stateRoot } : {}) });
  const where = opts.snapshot ? ` for ${host.description}` : root !== '/' ? ` inside ${root}` : '';

  if (opts.undo) {
    io.out(`talos-mac setup --undo${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
    const { changes: recorded } = await readRecord(runner);
    if (recorded.length > 0 && !dryRun) {
      io.out(`It will revert, newest first (${runner.local(RECORD_PATH)}):`);
      for (const c of [...recorded].reverse()) io.out(`  ${c.step}: ${describeChange(c)}`);
      const prompts = io.prompts ?? makePrompts({ yes: opts.yes ?? false, interactive: io.interactive });
      if (!(await prompts.confirm({ message: `Revert ${recorded.length === 1 ? 'this change' : `these ${recorded.length} changes`}?`, default: true }))) {
        io.out('Nothing was changed.');
        return EXIT.OK;
      }
    }
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
    ...(opts.kernelHook ? { kernelHook: true } : {}),
    // The kernel build's stages: live (listr2) on a terminal, one line each otherwise.
    kernel: { ui: plainEvents(say), log: say },
    desktop: hasDesktop(io.env),
    extras: {
      ...(opts.withFiles ? { files: true } : opts.withoutFiles ? { files: false } : {}),
      ...(opts.withWindow ? { window: true } : opts.withoutWindow ? { window: false } : {}),
      ...(opts.withLiveShare ? { 'live-share': true } : opts.withoutLiveShare ? { 'live-share': false } : {}),
    },
  };
  if (opts.user !== undefined) await checkUser(host, opts.user, opts.snapshot !== undefined, where);
  const steps = SETUP_STEPS;
  const newContext = (): StepContext => ({ host, facts: new Facts(host), options });
  io.out(`talos-mac setup${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
  if (root !== '/') io.out(`Files are read and changed under ${root}; commands (update-grub, grubby, modprobe) act on the running system (docs/setup.md).`);
  io.out('');
  if (!dryRun) for (const line of await checkReboot(runner, host)) io.out(line);

  // 1. The plan, before anything changes: every step's state, the kernel's cost, the reboots.
  let plan = await verifyAll(steps, newContext());
  const store = io.store ?? new GuestStore(io.env);
  const kvmHost = await canDoKvmPr(newContext().facts);
  const answer = async (p: Prompts): Promise<Answers> => {
    const kernel = kernelNeeded(plan);
    let buildKernel = options.buildKernel;
    if (kernel) io.out(`${kernel.why}: ${kernel.cost}`);
    // Under --root the kernel steps never run (they build for this machine): nothing to ask.
    if (kernel && !opts.buildKernel && !opts.skipKernel && root === '/') {
      buildKernel = await p.confirm({ message: 'Build and install a kernel that can, in this run?', default: false, unattended: false, flag: '--build-kernel or --skip-kernel' });
    }
    const guest = await askGuest(p, guestFlags(opts), store, kvmHost, io.interactive, io.out);
    return { buildKernel, guest, extras: await askExtras(p) };
  };
  // An optional tool is asked for only where QEMU's packages are installed in this run and it is missing.
  const askExtras = async (p: Prompts): Promise<Answers['extras']> => {
    const chosen = options.extras ?? {};
    if (root !== '/' || (chosen.files !== undefined && chosen.window !== undefined && chosen['live-share'] !== undefined)) return {};
    const missing = (await qemuPackagePlan(newContext()).catch(() => undefined))?.missingExtras ?? {};
    const files =
      missing.files && chosen.files === undefined
        ? await p.confirm({ message: `Also install 7-Zip (${missing.files}), for \`talos-mac files\` and \`media check\` (copying files out of Mac OS X disks)?`, default: true, flag: '--with-files or --without-files' })
        : undefined;
    const liveShare =
      missing['live-share'] && chosen['live-share'] === undefined
        ? await p.confirm({ message: `Also install rclone (${missing['live-share']}), for \`talos-mac share NAME DIR --live\` (a folder Mac OS X guests read and write over WebDAV while they run)?`, default: true, flag: '--with-live-share or --without-live-share' })
        : undefined;
    // Where a desktop session exists the window module comes with QEMU; elsewhere it is offered in a terminal (no by default), never demanded as a flag.
    const window =
      missing.window && chosen.window === undefined && !options.desktop && io.interactive && !dryRun
        ? await p.confirm({ message: `Also install QEMU's window module (${missing.window})? There is no desktop session here (DISPLAY and WAYLAND_DISPLAY are unset): without it guests show over VNC or the serial console.`, default: false, unattended: false, flag: '--with-window or --without-window' })
        : undefined;
    return { ...(files !== undefined ? { files } : {}), ...(window !== undefined ? { window } : {}), ...(liveShare !== undefined ? { 'live-share': liveShare } : {}) };
  };
  // Without a terminal nothing is asked: every missing flag is named at once, before anything runs.
  if (!io.interactive && !io.prompts && !dryRun) {
    const collect = collectingPrompts({ yes: opts.yes ?? false });
    await answer(collect);
    if (plan.some((o) => appliesHere(o, options))) await collect.confirm({ message: 'Proceed?', default: true });
    collect.finish();
  }
  const answers = await answer(dryRun ? collectingPrompts({ yes: true }) : prompts);
  // Declined by a person (a "no", or --skip-kernel): --yes and a dry run only leave the build for later.
  const declined = kernelNeeded(plan) !== undefined && !answers.buildKernel && root === '/' && (Boolean(opts.skipKernel) || (!opts.yes && !dryRun));
  const askedExtras = Object.keys(answers.extras).length > 0;
  if (askedExtras) options.extras = { ...options.extras, ...answers.extras };
  if (answers.buildKernel !== options.buildKernel || declined || askedExtras) {
    options.buildKernel = answers.buildKernel;
    // Without the kernel, the MMU switch and the rest gain nothing: only what TCG guests need.
    if (declined) {
      options.tcgOnly = true;
      io.out('No new kernel in this run: the KVM-PR steps are set aside, and guests run under TCG until `talos-mac setup --build-kernel`.');
    }
    plan = await verifyAll(steps, newContext());
  }
  const summary = planSummary(plan, options, io.uid);
  // No guest to create: the run ends with the demo guest booted (not under --root: another system; not with --json: its console would mix into the document).
  const demo = opts.demo !== false && !answers.guest && root === '/' && !opts.json;
  showPlan(summary, plan, options, answers.guest, demo, io);
  const report = (outcome: SetupReport['outcome'], exitCode: number, results: Outcome[], guest: CreatedGuest | undefined, next: string[]): number => {
    if (opts.json) {
      const doc = SetupReportSchema.parse({
        schema: 'talos-mac/setup@1',
        outcome,
        exitCode,
        host: host.description,
        dryRun,
        buildKernel: options.buildKernel,
        kernelCost: kernelNeeded(plan)?.cost ?? null,
        reboots: summary.reboots,
        needsRoot: summary.needsRoot,
        plan: plan.map((o) => stepReport(o, options)),
        results: results.map((o) => stepReport(o, options)),
        guest: answers.guest ? guestReport(answers.guest, guest) : null,
        next,
      });
      (io.json ?? ((t: string) => process.stdout.write(t)))(JSON.stringify(doc, null, 2) + '\n');
    }
    return exitCode;
  };
  // Nothing on the host to change: the guest questions were the confirmation.
  const anything = plan.some((o) => appliesHere(o, options));
  if (!dryRun && anything) {
    const go = await prompts.confirm({ message: 'Proceed?', default: true });
    if (!go) {
      io.out('Nothing was changed.');
      return report('declined', EXIT.OK, [], undefined, ['talos-mac setup']);
    }
  }

  const live = Boolean(io.live) && !dryRun && !opts.json;
  // Ctrl-C during the run: the change in progress is finished or, when its command was
  // interrupted too, rolled back by its own failure path; then setup stops before the next step.
  let interrupted = false;
  const onInterrupt = (): void => {
    if (!interrupted) say('Interrupted: finishing (or rolling back) the change in progress, then stopping.');
    interrupted = true;
  };
  // The CLI's own handler (exit at once) steps aside while changes run, and comes back after.
  const exitAtOnce = process.listeners('SIGINT');
  let stepAside = !dryRun;
  if (stepAside) {
    process.removeAllListeners('SIGINT');
    process.on('SIGINT', onInterrupt);
  }
  const restoreSigint = (): void => {
    if (!stepAside) return;
    stepAside = false;
    process.off('SIGINT', onInterrupt);
    for (const l of exitAtOnce) process.on('SIGINT', l);
  };
  try {
    if (!dryRun) await resumeInterrupted(changes);
    const asked = new Set<Step>();
    const outcomes = await applyInOrder(steps, newContext, changes, {
      async confirm(step, before) {
        if (interrupted) throw new UserError(`interrupted before ${step.id}: the change in progress was finished or rolled back; nothing more was changed. Run talos-mac setup again to continue.`, EXIT.INTERRUPTED);
        if (!appliesNow(step, before, options)) return false;
        const preset = step.preset?.(options);
        if (preset === false) return false;
        asked.add(step);
        // Live, the progress display names the step instead.
        if (!live) io.out(stateLine(step, before, io.chalk));
        if (dryRun) fixLines(before).forEach((l) => io.out(l));
        return true;
      },
      ...(live
        ? {
            async around(step, apply) {
              const { Listr } = await import('listr2');
              let failure: unknown;
              const list = new Listr(
                [
                  {
                    title: `${step.id}: ${step.title}`,
                    task: async (_ctx: unknown, task: { output: string }) => {
                      sink = (line) => {
                        task.output = line.trim();
                      };
                      try {
                        await apply();
                      } catch (err) {
                        failure = err;
                        throw err;
                      } finally {
                        sink = io.out;
                      }
                    },
                    rendererOptions: { outputBar: 5, persistentOutput: true },
                  },
                ],
                { exitOnError: true, rendererOptions: { collapseErrors: false }, fallbackRenderer: 'simple' },
              );
              await list.run().catch((err: unknown) => {
                throw failure ?? err;
              });
            },
          }
        : {}),
      onResult(o) {
        if (o.wouldStop) io.out(`  would stop: ${o.wouldStop}`);
        if (dryRun && asked.has(o.step)) return;
        // The plan summed up the steps that do not concern this host in one line.
        if (o.result.state === 'not-applicable' && !o.applied) return;
        if (o.applied) io.out(`  → ${stateLine(o.step, o.result, io.chalk)}`);
        else if (!asked.has(o.step)) io.out(stateLine(o.step, o.result, io.chalk));
        // A step another one fixes (the running MMU, after the boot configuration) needs no fix of its own here.
        if (!o.step.fixedBy) fixLines(o.result).forEach((l) => io.out(l));
        const why = asked.has(o.step) || (dryRun && fixedNow(o, plan, options)) ? undefined : whyNotNow(o.step, o.result, options);
        if (why) io.out(notThisRun(why));
      },
    });
    const stoppedEarly = outcomes.length < steps.length || outcomes.some((o) => o.applied && !['done', 'reboot-required'].includes(o.result.state) && o.result.manual === undefined);
    let created: CreatedGuest | undefined;
    if (answers.guest && !dryRun && !stoppedEarly) created = await createPlanned(store, host, answers.guest, io);
    if (answers.guest && dryRun) io.out(`  would: create the guest ${answers.guest.name} (${answers.guest.os.title}, ${answers.guest.ram} MiB, a new ${answers.guest.diskSize} disk${answers.guest.cdrom ? `, install CD ${answers.guest.cdrom}` : ''})`);
    if (demo && dryRun) io.out('  would: boot the demo guest (talos-mac demo), once every step is done');
    if (dryRun) {
      planned(outcomes, io);
      return report('planned', EXIT.OK, outcomes, undefined, ['talos-mac setup']);
    }
    let code = finished(outcomes, steps, options, io);
    let demoFailed = false;
    if (code === EXIT.OK && demo) {
      // No change runs any more: Ctrl-C ends the demo as it ends `talos-mac demo`.
      restoreSigint();
      demoFailed = !(await bootDemo(io, host));
      if (demoFailed) code = 1;
    }
    if (code === EXIT.REBOOT_NEEDED) {
      const expect = rebootExpectation(outcomes);
      await expectReboot(runner, host, expect);
      io.out(
        expect.release
          ? `In Petitboot, pick the entry that names Linux ${expect.release} (the previous kernel stays as a fallback entry).`
          : "In Petitboot, boot this system's usual entry: its boot configuration now passes disable_radix.",
      );
    }
    const next = nextCommands(code, answers.guest, created, demoFailed);
    const withDisc = code === EXIT.OK && !answers.guest ? ', a guest from your Mac OS install disc' : '';
    io.out(next.length ? `Next${withDisc}: ${next.join('  then  ')}` : '');
    return report(code === EXIT.OK ? 'done' : code === EXIT.REBOOT_NEEDED ? 'reboot-needed' : 'not-finished', code, outcomes, created, next);
  } catch (err) {
    if (err instanceof UserError) {
      const n = recorder.addedThisRun;
      const after =
        n === 0
          ? 'This run changed nothing else.'
          : `This run made ${n} other change${n === 1 ? '' : 's'} before that, listed in ${runner.local(RECORD_PATH)}; \`talos-mac setup --undo\` reverts them.`;
      throw new UserError(`${err.message}\n${after}`, interrupted ? EXIT.INTERRUPTED : err.exitCode);
    }
    throw err;
  } finally {
    restoreSigint();
  }
}
