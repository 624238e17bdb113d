import type { Host } from '../host/host.js';
import type { Facts } from './facts.js';

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
  /** `talos-mac setup` can do it for you. */
  bySetup?: boolean;
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
}

export interface StepContext {
  host: Host;
  facts: Facts;
}

export interface Step {
  id: string;
  category: string;
  /** Imperative title, e.g. "Load the kvm_pr module". */
  title: string;
  /** required: a todo fails; advisory: a todo warns; info: the step only reports. */
  severity: 'required' | 'advisory' | 'info';
  verify(ctx: StepContext): Promise<StepResult>;
  apply?(ctx: StepContext): Promise<void>;
}

export function statusOf(step: Step, r: StepResult): CheckStatus {
  if (r.status) return r.status;
  switch (r.state) {
    case 'done':
      return step.severity === 'info' ? 'info' : 'pass';
    case 'not-applicable':
      return 'skip';
    case 'unknown':
    case 'reboot-required':
      return 'warn';
    case 'todo':
    case 'blocked':
      return step.severity === 'required' ? 'fail' : step.severity === 'advisory' ? 'warn' : 'info';
  }
}
