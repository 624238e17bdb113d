import type { Host } from '../host/host.js';
import type { PrivilegedRunner } from '../privileged/runner.js';
import type { Undo } from '../privileged/revert.js';
import type { Prompts } from '../ui/prompts.js';
import type { KernelStepOptions } from '../kernel/options.js';
import type { Facts } from '../host/facts.js';

/**
 * What a step's verify says about the host:
 * - done: nothing to do; todo: the step would change something;
 * - blocked: cannot be done until something else is (the detail says what);
 * - reboot-required: done for the next boot, not yet for the running kernel;
 * - unknown: could not tell (the detail says why); not-applicable: does not concern this host.
 */
export type StepState = 'done' | 'todo' | 'blocked' | 'reboot-required' | 'unknown' | 'not-applicable';

/** How doctor shows a result. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'info' | 'skip';

export interface Fix {
  /** One sentence: what to do. */
  text: string;
  /** Commands to copy and paste, one per line. */
  commands?: string[];
}

export interface StepResult {
  state: StepState;
  /** One line for the report. */
  summary: string;
  /** More lines, shown with -v. */
  detail?: string;
  fix?: Fix;
  /** Overrides the status derived from state and severity (e.g. an old QEMU is a warning). */
  status?: CheckStatus;
  /** Why talos-mac cannot make this change itself (the fix says what the user does instead). */
  manual?: string;
  /** The setup flag this change waits for (e.g. "--build-kernel": hours of work start only when asked). */
  onlyWith?: string;
  /** What applying it costs on this machine (a kernel build's time and disk), for setup's plan. */
  cost?: string;
  /** Lines setup's plan shows under the step: what its apply changes and why, and what it leaves out (with the flag that adds it). */
  notes?: string[];
}

export type KvmHvChoice = 'keep' | 'unload' | 'blacklist';

/** What was chosen for the host being checked or set up; doctor uses the defaults. */
export interface HostOptions {
  /** The user who should get /dev/kvm access (doctor: the user running it). */
  user?: string;
  /** --root: where files are changed ("/" for the running system). */
  root: string;
  /** --build-kernel: a whole kernel build (hours) was asked for. */
  buildKernel: boolean;
  /** --kernel-hook: install the distribution kernel hook that notes new kernels (src/kernel/hook.ts). */
  kernelHook?: boolean;
  /** --kvm-hv: decided up front, or undefined to ask. */
  kvmHv?: KvmHvChoice;
  /** What the kernel pipeline builds with (source, cross compiler, jobs, cache, reduction). */
  kernel: KernelStepOptions;
  /**
   * The kernel work KVM-PR needs was declined: this run does only what TCG guests need, and the
   * KVM-PR steps are set aside (reported, not applied, not counted as left to do).
   */
  tcgOnly?: boolean;
  /** A desktop session exists (DISPLAY or WAYLAND_DISPLAY): QEMU's window module belongs to QEMU here. Undefined (doctor): not asked. */
  desktop?: boolean;
  /** Optional tools setup installs with QEMU, as chosen (--with-files, --without-window, …); undefined: the default (qemu-packages.ts). */
  extras?: Partial<Record<Extra, boolean>>;
}

/** An optional feature whose tool setup installs with QEMU: asked for (or given by its flags), never installed unasked (checks/qemu-packages.ts). */
export type Extra = 'files' | 'window' | 'live-share';

export const DEFAULT_HOST_OPTIONS: HostOptions = { root: '/', buildKernel: false, kernel: {} };

export interface StepContext {
  host: Host;
  facts: Facts;
  options: HostOptions;
}

/** How an apply changes the host: every change goes through the runner, which records it for --undo. */
export interface Changes {
  runner: PrivilegedRunner;
  prompts: Prompts;
}

export interface Step {
  id: string;
  /** Earlier ids of this step, still accepted (docs/checks.md lists the renames). */
  aliases?: readonly string[];
  category: string;
  /** Imperative title, e.g. "Load the kvm_pr module". */
  title: string;
  /** required: a todo fails; advisory: a todo warns; info: the step only reports. */
  severity: 'required' | 'advisory' | 'info';
  verify(ctx: StepContext): Promise<StepResult>;
  /** Changes the host through `changes.runner`, recording each change for the step itself (`this`): setup --undo asks this step to revert it. */
  apply?(this: Step, ctx: StepContext, changes: Changes): Promise<void>;
  /**
   * How each change this step's apply records is reverted (src/privileged/revert.ts has the
   * pieces): `setup --undo` asks the step a record names, and leaves alone what no step claims.
   */
  undo?: Undo;
  /** Names other than its ids that older talos-mac versions wrote into the undo record for this step's changes. */
  recordedAs?: readonly string[];
  /** The step whose apply fixes this one (e.g. the boot configuration fixes the running MMU after a reboot). */
  fixedBy?: Step;
  /** The answer to "apply this?" that a flag already gave (e.g. --kvm-hv), or undefined to ask. */
  preset?(options: HostOptions): boolean | undefined;
  /** apply builds for and installs into the running system, so it never runs under --root. */
  runningSystemOnly?: boolean;
}

export function statusOf(step: Step, r: StepResult): CheckStatus {
  if (r.status) return r.status;
  switch (r.state) {
    case 'done':
      return step.severity === 'info' ? 'info' : 'pass';
    case 'not-applicable':
      return 'skip';
    case 'unknown':
      // A step that only informs is no warning when it cannot tell.
      return step.severity === 'info' ? 'info' : 'warn';
    case 'reboot-required':
      return 'warn';
    case 'todo':
    case 'blocked':
      return step.severity === 'required' ? 'fail' : step.severity === 'advisory' ? 'warn' : 'info';
  }
}

/** Can `talos-mac setup` make this change (perhaps with a flag)? Follows from the step having an apply. */
export function bySetup(step: Step, r: StepResult): boolean {
  return r.state === 'todo' && r.manual === undefined && (step.apply !== undefined || step.fixedBy?.apply !== undefined);
}

/** The steps that matter only for KVM-PR (set aside when the kernel work is declined). */
const KVM_PR_CATEGORIES: ReadonlySet<string> = new Set(['MMU', 'Kernel', 'KVM']);
export const setAside = (step: Step, options: HostOptions): boolean => Boolean(options.tcgOnly) && KVM_PR_CATEGORIES.has(step.category);

/** Will this setup run apply the step now? */
export function appliesNow(step: Step, r: StepResult, options: HostOptions): boolean {
  return bySetup(step, r) && step.apply !== undefined && r.onlyWith === undefined && !(step.runningSystemOnly && options.root !== '/') && !setAside(step, options);
}

/** Why setup leaves a todo alone in this run, in words (undefined when it applies it). */
export function whyNotNow(step: Step, r: StepResult, options: HostOptions): string | undefined {
  if (r.state !== 'todo' || appliesNow(step, r, options)) return undefined;
  if (setAside(step, options)) return 'KVM-PR is set aside in this run (no kernel that can do it): guests run under TCG';
  if (r.manual) return r.manual;
  if (step.runningSystemOnly && options.root !== '/') return 'not under --root: it builds for and installs into the running system';
  if (r.onlyWith) return `setup does it only when asked: add ${r.onlyWith}`;
  if (step.fixedBy) return `setup fixes it through ${step.fixedBy.id}`;
  return 'setup does not make this change: see the fix';
}

/**
 * For a step setup must finish (required) whose open state doctor shows as a warning: the host
 * works now, and another check already fails for what is broken (e.g. the boot configuration, when
 * the running MMU is counted under mmu.active).
 */
export function warnsInDoctor(r: StepResult): StepResult {
  return (r.state === 'todo' || r.state === 'blocked') && r.status === undefined ? { ...r, status: 'warn' } : r;
}
