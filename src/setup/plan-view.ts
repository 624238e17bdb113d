import { isPackageTool } from '../distro/package-manager.js';
// setup's plan as a timeline in plain words: what this run does now (and what of it goes through
// sudo), the reboot, what the run after the reboot does, the guest, and what waits for later. Step
// ids and Kconfig detail appear only with -v (and in --json).
import type { ChalkInstance } from 'chalk';
import { STEPS } from '../steps/registry.js';
import type { Outcome } from '../steps/runner.js';
import { appliesNow, setAside, statusOf, whyNotNow, type HostOptions, type Step, type StepResult, type StepState } from '../steps/step.js';
import { MARK } from '../doctor/render.js';
import { kernelPrSupport } from '../steps/checks/kernel.js';
import { mmuActive } from '../steps/checks/mmu.js';
import { nextBoot } from '../steps/host-changes/mmu-hash.js';

export const outcomeOf = (plan: readonly Outcome[], step: Step): Outcome | undefined => plan.find((o) => o.step === step);

/** Will this run apply it: setup can, and no flag (--kvm-hv keep) said no. */
export const appliesHere = (o: Outcome, options: HostOptions): boolean => appliesNow(o.step, o.result, options) && o.step.preset?.(options) !== false;

/**
 * Takes effect only after the next boot: a new kernel, and the boot configuration while the
 * running MMU is not yet hash. They share that boot.
 */
export const atNextBoot = (o: Outcome, plan: readonly Outcome[]): boolean =>
  o.step === kernelPrSupport || (o.step === nextBoot && outcomeOf(plan, mmuActive)?.result.state !== 'done');

/** Another step of this run fixes it before the run ends (QEMU's packages: not a change that waits for a reboot). */
export function fixedNow(o: Outcome, plan: readonly Outcome[], options: HostOptions): boolean {
  const fixer = o.step.fixedBy && outcomeOf(plan, o.step.fixedBy);
  return (o.result.state === 'todo' || o.result.state === 'blocked') && o.result.onlyWith === undefined && fixer !== undefined && appliesHere(fixer, options) && !atNextBoot(fixer, plan);
}

/** The running kernel cannot do KVM-PR and no kernel is built in this run: the MMU switch and the rest would gain nothing. */
export function prKernelMissing(plan: readonly Outcome[], options: HostOptions): boolean {
  return outcomeOf(plan, kernelPrSupport)?.result.state === 'todo' && !(options.buildKernel && options.root === '/');
}

/** Every reboot this run leads to: a change it makes for the next boot, or one made before that still waits for it. */
export function rebootsOf(plan: readonly Outcome[], options: HostOptions): number {
  const waiting = plan.some((o) => o.result.state === 'reboot-required' && !setAside(o.step, options));
  return waiting || plan.some((o) => appliesHere(o, options) && atNextBoot(o, plan)) ? 1 : 0;
}

/** What the dry run of one step's apply printed. */
export interface PlannedChange {
  /** The runner's lines ("  would: $ update-grub", "  would: replace /etc/default/grub atomically …"). */
  lines: string[];
  /** Why the apply would stop (a refusal it would raise). */
  wouldStop?: string;
}

export interface PlanView {
  plan: readonly Outcome[];
  options: HostOptions;
  /** The steps this run applies, in order, with what their dry run printed. */
  changes: ReadonlyMap<Step, PlannedChange>;
  uid: number;
  /** Show the exact commands and file changes (a dry run, or -v). */
  exact: boolean;
  verbose: boolean;
  /** The guest section's lines (or the demo's), decided by the caller. */
  guest: string[];
}

/** One part of the timeline; parts are compared to show what an answer changed. */
export interface Section {
  key: 'now' | 'reboot' | 'after' | 'guest' | 'later' | 'unsure' | 'done';
  lines: string[];
}


/** A runner line in plain words ("edit /etc/default/grub", "install 8 packages"), or undefined for a line that describes rather than changes. */
export function plainAction(line: string): string | undefined {
  const m = /^\s*would: (.*)$/.exec(line);
  if (!m) return undefined;
  const t = m[1]!;
  const cmd = /^\$ (.*)$/.exec(t);
  if (cmd) {
    const words = cmd[1]!.split(' ');
    while (words[0] === 'sudo' || words[0] === '-n' || words[0] === '--') words.shift();
    const program = words[0] ?? '';
    if (isPackageTool(program) && words.includes('install')) {
      const names = words.slice(words.indexOf('install') + 1).filter((w) => !w.startsWith('-'));
      return `install ${names.length} package${names.length === 1 ? '' : 's'} (${program})`;
    }
    const whole = words.join(' ');
    return `run ${whole.length <= 48 ? whole : program}`;
  }
  const file = /^(replace|create|remove) (\S+)/.exec(t);
  if (file) return `${file[1] === 'replace' ? 'edit' : file[1]} ${file[2]}`;
  return undefined;
}

const ID_WORDS = [...new Set(STEPS.flatMap((s) => [s.id, ...(s.aliases ?? [])]))].sort((a, b) => b.length - a.length);
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ID_ALT = ID_WORDS.map(escape).join('|');
const ID_IN_PARENS = new RegExp(`\\s*\\((?:see |counted under )?(?:${ID_ALT})\\)`, 'g');
const BARE_ID = new RegExp(`\\b(?:${ID_ALT})(?![\\w-])`, 'g');
const TITLE_OF = new Map(STEPS.flatMap((s) => [s.id, ...(s.aliases ?? [])].map((id) => [id, s.title] as const)));
/** A parenthesis holding Kconfig symbols ("(CONFIG_KVM_BOOK3S_64_PR=m, NO_HZ_FULL off)"), shown only with -v. */
const KCONFIG_IN_PARENS = /\s*\((?:[^()]|\([^()]*\))*\b(?:CONFIG_)?[A-Z][A-Z0-9_]{3,}(?:=\S|\s+off\b|\s+on\b)(?:[^()]|\([^()]*\))*\)/g;

/** Text for a person: step ids and Kconfig detail out (-v shows them). */
export function plainText(text: string): string {
  return text
    .replace(ID_IN_PARENS, '')
    .replace(KCONFIG_IN_PARENS, '')
    .replace(BARE_ID, (id) => `"${lowerFirst(TITLE_OF.get(id) ?? id)}"`);
}

const lowerFirst = (s: string): string => (/^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);

const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** The timeline, section by section. */
export function timeline(v: PlanView): Section[] {
  const say = (s: string): string => (v.verbose ? s : plainText(s));
  const { plan, options } = v;
  const sections: Section[] = [];
  const applied = plan.filter((o) => v.changes.has(o.step));
  const sudo = v.uid !== 0;

  // Now.
  const now: string[] = [];
  let sudoUsed = false;
  applied.forEach((o, i) => {
    const change = v.changes.get(o.step)!;
    const actions = unique(change.lines.map(plainAction).filter((a): a is string => a !== undefined));
    if (actions.length) sudoUsed = true;
    // kernel.pr-support's title says what the host needs; what this run does for it is a build.
    const title = o.step === kernelPrSupport ? 'Build and install a kernel that can do KVM-PR' : o.step.title;
    const label = `${title}${atNextBoot(o, plan) ? ', for the next boot' : ''}${v.verbose ? ` [${o.step.id}]` : ''}`;
    const how = actions.length ? ` — ${sudo ? 'with sudo: ' : ''}${actions.join(', ')}` : '';
    now.push(`  ${i + 1}. ${label}${how}`);
    if (o.result.cost) now.push(`     Building it: ${lowerFirst(say(o.result.cost))}`);
    for (const note of o.result.notes ?? []) now.push(`     ${say(note)}`);
    if (v.exact) for (const l of change.lines) now.push(`     ${say(l.trim())}`);
    if (change.wouldStop) now.push(`     would stop: ${say(change.wouldStop)}`);
  });
  sections.push({
    key: 'now',
    lines: now.length ? [`Now${sudo && sudoUsed ? ' (through sudo, which may ask for your password once)' : ''}:`, ...now] : ['Now: nothing on the host to change.'],
  });

  // The reboot, and what the run after it does.
  const reboots = rebootsOf(plan, options);
  const kernelNow = applied.some((o) => o.step === kernelPrSupport);
  const mmuNow = applied.some((o) => o.step === nextBoot);
  if (reboots) {
    const share = kernelNow && mmuNow ? ' (the boot configuration and the new kernel share it)' : '';
    const entry = kernelNow
      ? 'in Petitboot, pick the entry of the new kernel (its release ends in -talosmac; the previous kernel stays as a fallback entry)'
      : "in Petitboot, boot this system's usual entry";
    sections.push({ key: 'reboot', lines: [`Then one reboot${share}: ${entry}.`] });
    const next = plan.filter((o) => !setAside(o.step, options) && o.result.state === 'blocked' && o.step.category === 'KVM').map((o) => lowerFirst(o.step.title));
    sections.push({
      key: 'after',
      lines: [`After the reboot, run \`talos-mac setup\` again: it checks that the reboot did what it should${next.length ? `, then: ${next.join('; ')}` : ''}.`],
    });
  } else sections.push({ key: 'reboot', lines: ['Reboots: none.'] });

  if (v.guest.length) sections.push({ key: 'guest', lines: v.guest });

  // What waits: the kernel this run does not build, and every other change it leaves.
  const later: string[] = [];
  const kernel = outcomeOf(plan, kernelPrSupport);
  if (prKernelMissing(plan, options) && kernel) {
    const short = /^About (.+?) \(/.exec(kernel.result.cost ?? '')?.[1];
    const cost = v.verbose && kernel.result.cost ? ` (${lowerFirst(kernel.result.cost).replace(/\.$/, '')})` : short ? ` (about ${short})` : '';
    const how = options.root === '/' ? `\`talos-mac setup --build-kernel\` builds and installs one${cost}, then switches to the hash MMU: one reboot for both` : `run setup on that system itself (never under --root) with --build-kernel to build one${cost}`;
    later.push(`  - KVM-PR: this kernel cannot do it, and the hash MMU alone gains nothing without a kernel that can, so the MMU, kernel and KVM steps wait. ${how}. Until then guests run under TCG.`);
  } else if (options.tcgOnly) {
    later.push('  - KVM-PR: set aside in this run (no kernel that can do it): guests run under TCG until `talos-mac setup --build-kernel`.');
  }
  for (const o of plan) {
    if (v.changes.has(o.step) || setAside(o.step, options) || fixedNow(o, plan, options)) continue;
    if (o.result.state === 'done' && o.result.notes?.length) {
      for (const note of o.result.notes) later.push(`  - ${say(note)}`);
      continue;
    }
    const why = whyNotNow(o.step, o.result, options);
    if (!why) continue;
    // A step another one fixes (the running MMU, a QEMU file) is told by that one.
    if (o.step.fixedBy) continue;
    later.push(`  - ${o.step.title}${v.verbose ? ` [${o.step.id}]` : ''}: ${say(o.result.summary)} (${say(why)})`);
  }
  if (later.length) sections.push({ key: 'later', lines: ['Not in this run:', ...later] });

  // What setup cannot tell, or waits on something this plan does not do.
  const unsure: string[] = [];
  for (const o of plan) {
    if (v.changes.has(o.step) || setAside(o.step, options)) continue;
    // A QEMU file waiting for the packages this run installs: the packages' notes tell it.
    const byFixer = o.step.fixedBy !== undefined && v.changes.has(o.step.fixedBy);
    const waits = o.result.state === 'blocked' && !(reboots && o.step.category === 'KVM') && !fixedNow(o, plan, options) && !byFixer;
    if (o.result.state !== 'unknown' && !waits) continue;
    const fix = o.result.fix && statusOf(o.step, o.result) !== 'info' ? ` ${say(o.result.fix.text)}` : '';
    unsure.push(`  - ${o.step.title}${v.verbose ? ` [${o.step.id}]` : ''}: ${say(o.result.summary)}.${fix}`.replace(/\.\./g, '.'));
  }
  if (unsure.length) sections.push({ key: 'unsure', lines: ['Cannot tell, or waiting on something else:', ...unsure] });

  // Done already, and what does not concern this host (whole categories; -v lists every step).
  const done = plan.filter((o) => o.result.state === 'done' && !o.result.notes?.length);
  const notHere = plan.filter((o) => o.result.state === 'not-applicable');
  const tail: string[] = [];
  if (done.length) tail.push(v.verbose ? `Done already: ${done.map((o) => o.step.id).join(', ')}.` : `Done already: ${done.length} of the ${plan.length} things setup checks (-v names them).`);
  const categories = unique(plan.map((o) => o.step.category));
  const whole = categories.filter((c) => plan.filter((o) => o.step.category === c).every((o) => o.result.state === 'not-applicable'));
  if (v.verbose && notHere.length) {
    const reasons = new Map<string, string[]>();
    for (const o of notHere) reasons.set(o.result.summary, [...(reasons.get(o.result.summary) ?? []), o.step.id]);
    tail.push(`Not for this host: ${[...reasons].map(([why, ids]) => `${ids.join(', ')} (${why})`).join('; ')}.`);
  } else if (whole.length) {
    const why = plan.find((o) => o.step.category === whole[0])!.result.summary;
    tail.push(`Not for this host: ${whole.join(', ')} (${say(why)}).`);
  }
  if (tail.length) sections.push({ key: 'done', lines: tail });
  return sections;
}

export function printTimeline(sections: readonly Section[], out: (line: string) => void): void {
  out('The plan:');
  for (const s of sections) for (const l of s.lines) out(l);
}

/** After the questions: the parts of the plan an answer changed, in full. */
export function printChanges(before: readonly Section[], after: readonly Section[], out: (line: string) => void): boolean {
  const text = (ss: readonly Section[], key: Section['key']): string => ss.filter((s) => s.key === key).flatMap((s) => s.lines).join('\n');
  const keys = unique([...after, ...before].map((s) => s.key));
  const changed = keys.filter((k) => text(before, k) !== text(after, k));
  if (!changed.length) return false;
  out('');
  out('Your answers change the plan:');
  for (const s of after.filter((x) => changed.includes(x.key))) for (const l of s.lines) out(l);
  for (const k of changed.filter((k) => !after.some((s) => s.key === k))) if (k === 'reboot') out('Reboots: none.');
  return true;
}

const TAG: Record<StepState, string> = {
  done: 'done',
  todo: 'todo',
  blocked: 'blocked',
  'reboot-required': 'reboot',
  unknown: 'unknown',
  'not-applicable': 'n/a',
};
export const stateTag = (s: StepState): string => TAG[s];

/** A step as a person reads it: its title; with -v its id (what --json, docs/checks.md and doctor's arguments use). */
export const stepName = (step: Step, verbose: boolean): string => (verbose ? step.id : step.title);

/** One step: doctor's mark for its status, then its state, as doctor and setup both show it. */
export function stateLine(step: Step, r: StepResult, c?: ChalkInstance, verbose = false): string {
  const tag = `${MARK[statusOf(step, r)]} [${TAG[r.state]}]`.padEnd(12);
  const colour = !c ? (s: string) => s : r.state === 'done' ? c.green : r.state === 'not-applicable' ? c.dim : r.state === 'todo' || r.state === 'reboot-required' ? c.yellow : c.red;
  return `${colour(tag)}${stepName(step, verbose)}: ${verbose ? r.summary : plainText(r.summary)}`;
}

export function fixLines(r: StepResult, verbose = false): string[] {
  if (!r.fix || r.state === 'done') return [];
  return [`          → ${verbose ? r.fix.text : plainText(r.fix.text)}`, ...(r.fix.commands ?? []).map((cmd) => `            $ ${cmd}`)];
}

/** -v: every step by id with its state, its fix and why this run leaves it (the checks behind the timeline). */
export function printSteps(v: PlanView, out: (line: string) => void, c?: ChalkInstance): void {
  out('');
  out('Step by step (-v):');
  for (const o of v.plan) {
    if (o.result.state === 'not-applicable') continue;
    out(stateLine(o.step, o.result, c, true));
    if (!o.step.fixedBy) fixLines(o.result, true).forEach((l) => out(l));
    const why = v.changes.has(o.step) || fixedNow(o, v.plan, v.options) ? undefined : whyNotNow(o.step, o.result, v.options);
    if (why) out(`  (not done by setup in this run: ${why})`);
  }
}
