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
import { appliesNow, DEFAULT_HOST_OPTIONS, setAside, statusOf, whyNotNow, type Changes, type HostOptions, type KvmHvChoice, type Step, type StepContext } from '../steps/step.js';
import { collectingPrompts, makePrompts, type ChooseQuestion, type Prompts } from '../ui/prompts.js';
import { appliesHere, fixLines, outcomeOf, plainText, printChanges, printSteps, printTimeline, prKernelMissing, rebootsOf, stateLine, stateTag, stepName, timeline, type PlannedChange, type PlanView, type Section } from './plan-view.js';
import { askGuest, type GuestFlags, type GuestPlan } from './guest-phase.js';
import { checkReboot, expectReboot, type RebootExpectation } from './reboot-check.js';
import { SetupReportSchema, type SetupReport, type SetupStepReport } from './report-schema.js';
import { GuestStore } from '../guests/store.js';
import { osById } from '../guests/catalog.js';
import { createGuest } from '../guests/create.js';
import { verifyAll } from '../steps/runner.js';
import { isPowerArch } from '../steps/checks/common.js';
import { kernelPrSupport } from '../steps/checks/kernel.js';
import { distroKernelNewer } from '../steps/checks/kernel-updates.js';
import { mmuActive } from '../steps/checks/mmu.js';
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
  /** --force: a --cdrom that is not a PowerPC Mac boot disc is used anyway. */
  force?: boolean;
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
  /** -v: the plan names each step's id and its checks' detail (Kconfig symbols), and lists every step. */
  verbose?: boolean;
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
  /** The steps setup takes, and asks to undo what they recorded (default: the registry's SETUP_STEPS). */
  steps?: readonly Step[];
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

const notThisRun = (why: string): string => `  (not done by setup in this run: ${why})`;

/** The last line of a dry run: what to run to apply it, where that can be done. */
function dryRunEnding(outcomes: readonly Outcome[], snapshot: boolean): string {
  const pending = outcomes.some((o) => ['todo', 'blocked', 'reboot-required'].includes(o.result.state));
  if (!pending) return nothingToDo(outcomes);
  return snapshot
    ? 'Dry run: nothing was changed. This is the plan for the machine the snapshot was taken on: run `talos-mac setup` there to apply it.'
    : 'Dry run: nothing was changed. Run the same command without --dry-run to apply it.';
}

const optionsKey = (o: HostOptions): string => JSON.stringify([o.buildKernel, o.extras ?? {}, Boolean(o.tcgOnly)]);

/** Two sets of answers that make the same plan. */
const sameAnswers = (a: Answers, b: Answers): boolean => {
  const g = (x: Answers) => (x.guest ? [x.guest.name, x.guest.os.id, x.guest.ram, x.guest.diskSize, x.guest.cdrom ?? '', x.guest.net, Boolean(x.guest.existing)] : x.guestUndecided);
  return a.buildKernel === b.buildKernel && JSON.stringify(a.extras) === JSON.stringify(b.extras) && JSON.stringify(g(a)) === JSON.stringify(g(b));
};

/** The answers the plan shows before the questions: what pressing Enter at each one gives. */
class Undecided extends Error {}
function defaultAnswers(): Prompts {
  const asked = new Set<string>();
  return {
    confirm: async (q) => q.default,
    choose: async <T extends string>(q: ChooseQuestion<T>) => {
      const v = q.default ?? q.choices[0]?.value;
      if (v === undefined) throw new Undecided(q.message);
      return v;
    },
    // A question asked again (a name refused) or one that needs typing: the questions decide.
    text: async (q) => {
      if (asked.has(q.message) || (q.default === undefined && !q.optional)) throw new Undecided(q.message);
      asked.add(q.message);
      const v = (q.default ?? '').trim();
      if (v && q.validate?.(v)) throw new Undecided(q.message);
      return v;
    },
  };
}

function nothingToDo(outcomes: readonly Outcome[]): string {
  // KVM-PR's own steps (not QEMU's, which every host needs) tell a host that can never do it.
  const kvmPr = outcomes.filter((o) => setAside(o.step, { ...DEFAULT_HOST_OPTIONS, tcgOnly: true }));
  return kvmPr.length > 0 && kvmPr.every((o) => o.result.state === 'not-applicable')
    ? `Nothing to do: ${kvmPr[0]!.result.summary}. Guests run under QEMU's TCG here (no KVM-PR).`
    : 'Nothing to do: this host is set up for KVM-PR.';
}

function finished(outcomes: Outcome[], steps: readonly Step[], options: HostOptions, io: SetupIo, verbose: boolean): number {
  const say = (s: string): string => (verbose ? s : plainText(s));
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
    io.out(`Not finished: ${open.map((o) => stepName(o.step, verbose)).join(verbose ? ', ' : '; ') || `${skipped} step(s) not reached`}.`);
    for (const o of open) {
      const why = whyNotNow(o.step, o.result, options);
      io.out(`  ${stepName(o.step, verbose)} (${stateTag(o.result.state)}): ${say(o.result.summary)}${why ? ` — ${say(why)}` : ''}`);
    }
  }
  if (reboot.length > 0) {
    io.out(`Reboot now (for ${reboot.map((o) => stepName(o.step, verbose)).join(verbose ? ', ' : '; ')}), then run \`talos-mac setup\` again to continue with the remaining steps.`);
    return EXIT.REBOOT_NEEDED;
  }
  if (open.length > 0 || skipped > 0) return 1;
  if (options.tcgOnly) io.out('Setup complete for TCG guests: this kernel cannot do KVM-PR, and no kernel is built in this run (`talos-mac setup --build-kernel` builds one: hours).');
  else io.out(outcomes.some((o) => o.applied) ? 'Setup complete.' : nothingToDo(outcomes));
  return 0;
}

interface Answers {
  buildKernel: boolean;
  guest: GuestPlan | undefined;
  /** The guest questions decide (the plan shows it before them): nothing Enter alone would give. */
  guestUndecided: boolean;
  /** The optional tools asked about (a feature not asked keeps its flag or default). */
  extras: NonNullable<HostOptions['extras']>;
}

interface Settled {
  answers: Answers;
  plan: Outcome[];
  /** Each change rehearsed by a dry run of its apply (a dry run's results). */
  rehearsal: Outcome[];
  view: PlanView;
  sections: Section[];
  /** No guest to create: the run ends with the demo guest booted. */
  demo: boolean;
}

interface CreatedGuest {
  name: string;
  file: string | undefined;
  /** It was there already (a second run): left as it is. */
  existed: boolean;
}

const guestFlags = (o: SetupOptions): GuestFlags => ({ os: o.os, name: o.name, ram: o.ram, diskSize: o.diskSize, cdrom: o.cdrom, force: o.force, net: o.net, guest: o.guest });

async function canDoKvmPr(facts: Facts): Promise<boolean> {
  const arch = await facts.arch();
  return arch.ok && isPowerArch(arch.value);
}

/** The new kernel this plan needs, with its cost on this machine. */
function kernelNeeded(plan: Outcome[]): { cost: string; why: string; short: string } | undefined {
  const o = plan.find((p) => p.result.state === 'todo' && p.result.cost !== undefined);
  if (o?.result.cost === undefined) return undefined;
  const cost = o.result.cost;
  const why = o.step === kernelPrSupport ? 'This kernel cannot do KVM-PR: build and install one that can' : o.step.title;
  const download = /; (\S+ is a \d+ MB download)\)$/.exec(outcomeOf(plan, kernelSource)?.result.summary ?? '')?.[1];
  const short = /^About (.+?) \(/.exec(cost)?.[1] ?? 'hours';
  return { why, short, cost: `${cost}${download ? ` The source: ${download}.` : ''}` };
}

/** The guest part of the plan: the guest this run creates, or the demo it ends with. */
function guestLines(guest: GuestPlan | undefined, undecided: boolean, demo: boolean, exact: boolean, snapshot: boolean): string[] {
  const out: string[] = [];
  if (undecided) out.push('Then a guest: the questions after the plan choose it.');
  else if (guest?.existing) out.push(`Then the guest: ${guest.name} (${guest.os.title}) exists already: left as it is.`);
  else if (guest) {
    const there = snapshot ? " (setup on that machine looks at its guests first: a snapshot holds none)" : '';
    out.push(`Then the guest: ${guest.name}, ${guest.os.title}, ${guest.ram} MiB, a new ${guest.diskSize} disk${guest.cdrom ? `, install CD ${guest.cdrom}` : ', no install CD'}, network ${guest.net} — ${guest.accel}.${there}`);
    const m = guest.media;
    if (guest.forced) out.push(`  ! ${guest.forced}`);
    else if (m) {
      const says = m.looksLike ? `it looks like ${osById(m.looksLike).title}` : m.candidates.length > 1 ? `it could be ${m.candidates.map((c) => osById(c).title).join(', ')}` : 'the disc does not say which Mac OS it holds';
      out.push(`  The install CD is a PowerPC Mac boot disc (${m.volumes.map((v) => v.name).filter(Boolean).join(', ') || 'volume name unread'}): ${says}.`);
      if (m.looksLike && m.looksLike !== guest.os.id) out.push(`  ! It does not look like ${guest.os.title}, the OS chosen: check --os or --cdrom.`);
    }
    if (exact) out.push(`  would: create the guest ${guest.name} (${guest.os.title}, ${guest.ram} MiB, a new ${guest.diskSize} disk${guest.cdrom ? `, install CD ${guest.cdrom}` : ''})`);
  }
  if (demo) {
    out.push(`Then: boot the demo guest, no Mac media needed (${DEMO_WHAT}; --no-demo leaves it out).`);
    if (exact) out.push('  would: boot the demo guest (talos-mac demo), once every step is done');
  }
  return out;
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
  const { file, createdDisk, guest } = await createGuest(store, host, g.name, { os: g.os.id, ram: g.ram, diskSize: g.diskSize, cdrom: g.cdrom, force: g.forced !== undefined, net: g.net });
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
  if (name && plan?.cdrom) return [`talos-mac launch ${name} --install`, `talos-mac launch ${name}`];
  // A new disk and no CD: launch would refuse (nothing to boot); the CD comes first.
  if (name && created && !created.existed) return [`talos-mac set ${name} --cdrom FILE`, `talos-mac launch ${name} --install`];
  if (name) return [`talos-mac launch ${name}`];
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
    const { notes } = await undoSetup(runner, io.steps ?? SETUP_STEPS);
    io.out(notes.length ? `Undo finished with ${notes.length} note(s) above.` : 'Undo finished.');
    return 0;
  }

  const recorder = runner.recorder;
  const prompts = io.prompts ?? makePrompts({ yes: opts.yes ?? false, interactive: io.interactive });
  const changes: Changes = { runner, prompts };
  const options: HostOptions = {
    // A snapshot's user is the one who collected it, as doctor saw it (kvm.device's one check), never this machine's.
    ...(opts.user !== undefined ? { user: opts.user } : opts.snapshot ? {} : { user: io.uid === 0 ? io.env['SUDO_USER'] || 'root' : currentUserName(io.env) }),
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
  const steps = io.steps ?? SETUP_STEPS;
  const newContext = (): StepContext => ({ host, facts: new Facts(host), options });
  io.out(`talos-mac setup${where}${dryRun ? ' (dry run: nothing will be changed)' : ''}`);
  if (root !== '/') io.out(`Files are read and changed under ${root}; commands (update-grub, grubby, modprobe) act on the running system (docs/setup.md).`);
  io.out('');
  if (!dryRun) for (const line of await checkReboot(runner, host)) io.out(line);

  // 1. The plan, before anything changes and before any question: every step's state as this
  // invocation would leave it (--yes: its answers; otherwise what Enter gives), as a timeline.
  const firstPlan = await verifyAll(steps, newContext());
  // A snapshot's plan is for its machine: its guests, which a snapshot does not hold (HOME at the
  // snapshot's root finds none there), never this machine's.
  const store = io.store ?? new GuestStore(opts.snapshot ? { HOME: resolve(opts.snapshot) } : io.env);
  const kvmHost = await canDoKvmPr(newContext().facts);
  const flagExtras = { ...options.extras };
  const answer = async (p: Prompts, quiet: boolean): Promise<Answers> => {
    const kernel = kernelNeeded(firstPlan);
    let buildKernel = options.buildKernel;
    // Under --root the kernel steps never run (they build for this machine): nothing to ask.
    if (kernel && !opts.buildKernel && !opts.skipKernel && root === '/') {
      buildKernel = await p.confirm({ message: `${kernel.why}, in this run (about ${kernel.short})?`, default: false, unattended: false, flag: '--build-kernel or --skip-kernel' });
    }
    let guest: GuestPlan | undefined;
    let guestUndecided = false;
    try {
      guest = await askGuest(p, guestFlags(opts), store, kvmHost, io.interactive, quiet ? () => undefined : io.out, host);
    } catch (err) {
      if (!(err instanceof Undecided)) throw err;
      guestUndecided = true;
    }
    return { buildKernel, guest, guestUndecided, extras: await askExtras(p) };
  };
  // An optional tool is asked for only where QEMU's packages are installed in this run and it is missing.
  const askExtras = async (p: Prompts): Promise<Answers['extras']> => {
    const chosen = flagExtras;
    if (root !== '/' || (chosen.files !== undefined && chosen.window !== undefined && chosen['live-share'] !== undefined)) return {};
    const missing = (await qemuPackagePlan({ ...newContext(), options: { ...options, extras: flagExtras } }).catch(() => undefined))?.missingExtras ?? {};
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
  // The answers decide the options; the plan is verified again and its changes rehearsed (a dry
  // run of each apply: the exact commands and files), so the timeline says what sudo will do.
  // Each set of options is verified once (a verify reads the whole host).
  const verified = new Map<string, Outcome[]>([[optionsKey(options), firstPlan]]);
  const verifyFor = async (): Promise<Outcome[]> => {
    const key = optionsKey(options);
    if (!verified.has(key)) verified.set(key, await verifyAll(steps, newContext()));
    return verified.get(key)!;
  };
  const settle = async (a: Answers): Promise<Settled> => {
    options.buildKernel = a.buildKernel;
    options.extras = { ...flagExtras, ...a.extras };
    delete options.tcgOnly;
    let plan = await verifyFor();
    // No kernel that can do KVM-PR in this run (a "no", --skip-kernel, or just no --build-kernel):
    // the MMU switch and the rest would gain nothing, so only what TCG guests need is done.
    if (prKernelMissing(plan, options)) {
      options.tcgOnly = true;
      plan = await verifyFor();
    }
    // KVM-PR set aside in this run: the guest runs under TCG until a kernel that can do it runs.
    if (a.guest && options.tcgOnly && a.guest.accel.startsWith('KVM-PR')) a = { ...a, guest: { ...a.guest, accel: `TCG until this host runs a kernel that can do KVM-PR, then ${a.guest.accel}` } };
    // The rehearsal: each change this run makes, applied by the dry-run runner (prints, changes nothing).
    const changes = new Map<Step, PlannedChange>();
    const quietRunner = new PrivilegedRunner({ dryRun: true, root, out: say, uid: io.uid, interactive: io.interactive, env: io.env, host, ...(io.stateRoot ? { stateRoot: io.stateRoot } : {}) });
    const before = sink;
    let current: PlannedChange | undefined;
    sink = (line) => current?.lines.push(line);
    const rehearsal: Outcome[] = [];
    try {
      const ctx = newContext();
      for (const o of plan) {
        if (o.result.state !== 'todo' || !o.step.apply || !appliesHere(o, options)) {
          rehearsal.push(o);
          continue;
        }
        current = { lines: [] };
        changes.set(o.step, current);
        const done: Outcome = { step: o.step, before: o.result, result: o.result, applied: true };
        try {
          await o.step.apply(ctx, { runner: quietRunner, prompts: preview });
        } catch (err) {
          if (!(err instanceof UserError)) throw err;
          current.wouldStop = err.message;
          done.wouldStop = err.message;
        }
        rehearsal.push(done);
      }
    } finally {
      sink = before;
    }
    const demo = opts.demo !== false && !a.guest && !a.guestUndecided && root === '/' && !opts.json;
    const exact = dryRun || Boolean(opts.verbose);
    const view: PlanView = { plan, options: { ...options }, changes, uid: io.uid, exact, verbose: Boolean(opts.verbose), guest: guestLines(a.guest, a.guestUndecided, demo, exact, opts.snapshot !== undefined) };
    return { answers: a, plan, rehearsal, view, sections: timeline(view), demo };
  };
  // --yes answers as it will; otherwise the plan shows what pressing Enter at every question gives.
  const preview: Prompts = opts.yes ? makePrompts({ yes: true, interactive: false }) : defaultAnswers();
  let settled = await settle(await answer(preview, true));
  // Without a terminal nothing is asked: every missing flag is named at once, before anything runs.
  // A dry run says so instead of stopping (it previews this invocation).
  let wouldStopFirst: string | undefined;
  if (!io.interactive && !io.prompts && !opts.yes) {
    const collect = collectingPrompts({ yes: false });
    await answer(collect, true);
    if (settled.plan.some((o) => appliesHere(o, settled.view.options))) await collect.confirm({ message: 'Proceed?', default: true });
    try {
      collect.finish();
    } catch (err) {
      if (!dryRun || !(err instanceof UserError)) throw err;
      wouldStopFirst = err.message;
    }
  }

  printTimeline(settled.sections, io.out);
  if (opts.verbose) printSteps(settled.view, io.out, io.chalk);
  if (wouldStopFirst && !opts.snapshot) io.out(`Without --dry-run (and without a terminal), this command would stop before changing anything: ${wouldStopFirst}`);
  // 2. The questions, after the plan; then what the answers changed.
  if (!dryRun && (io.prompts || (!opts.yes && io.interactive))) {
    io.out('');
    const answers = await answer(prompts, false);
    if (!sameAnswers(answers, settled.answers)) {
      const before = settled.sections;
      settled = await settle(answers);
      printChanges(before, settled.sections, io.out);
    } else {
      // The same plan: the guest keeps the accelerator this run gives it.
      const accel = settled.answers.guest?.accel;
      settled = { ...settled, answers: { ...answers, guest: answers.guest && accel ? { ...answers.guest, accel } : answers.guest } };
    }
  }
  const { answers, plan, demo } = settled;
  const verbose = Boolean(opts.verbose);
  const reboots = rebootsOf(plan, options);
  const needsRoot = io.uid === 0 ? [] : plan.filter((o) => appliesHere(o, options)).map((o) => o.step.id);
  io.out('');
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
        reboots,
        needsRoot,
        plan: plan.map((o) => stepReport(o, options)),
        results: results.map((o) => stepReport(o, options)),
        guest: answers.guest ? guestReport(answers.guest, guest) : null,
        next,
      });
      (io.json ?? ((t: string) => process.stdout.write(t)))(JSON.stringify(doc, null, 2) + '\n');
    }
    return exitCode;
  };
  if (dryRun) {
    io.out(dryRunEnding(settled.rehearsal, Boolean(opts.snapshot)));
    return report('planned', EXIT.OK, settled.rehearsal, undefined, ['talos-mac setup']);
  }
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
    if (!dryRun) await resumeInterrupted(changes, steps);
    const asked = new Set<Step>();
    const outcomes = await applyInOrder(steps, newContext, changes, {
      async confirm(step, before) {
        if (interrupted) throw new UserError(`interrupted before "${step.title}": the change in progress was finished or rolled back; nothing more was changed. Run talos-mac setup again to continue.`, EXIT.INTERRUPTED);
        if (!appliesNow(step, before, options)) return false;
        const preset = step.preset?.(options);
        if (preset === false) return false;
        asked.add(step);
        // Live, the progress display names the step instead.
        if (!live) io.out(stateLine(step, before, io.chalk, verbose));
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
                    title: verbose ? `${step.id}: ${step.title}` : step.title,
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
        // The plan summed up the steps that do not concern this host in one line.
        if (o.result.state === 'not-applicable' && !o.applied) return;
        if (o.applied) io.out(`  → ${stateLine(o.step, o.result, io.chalk, verbose)}`);
        else if (!asked.has(o.step)) io.out(stateLine(o.step, o.result, io.chalk, verbose));
        // A step another one fixes (the running MMU, after the boot configuration) needs no fix of its own here.
        if (!o.step.fixedBy) fixLines(o.result, verbose).forEach((l) => io.out(l));
        const why = asked.has(o.step) ? undefined : whyNotNow(o.step, o.result, options);
        if (why) io.out(notThisRun(verbose ? why : plainText(why)));
      },
    });
    const stoppedEarly = outcomes.length < steps.length || outcomes.some((o) => o.applied && !['done', 'reboot-required'].includes(o.result.state) && o.result.manual === undefined);
    let created: CreatedGuest | undefined;
    if (answers.guest && !stoppedEarly) created = await createPlanned(store, host, answers.guest, io);
    let code = finished(outcomes, steps, options, io, verbose);
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
