import { UserError } from '../errors.js';
import type { Changes, Step, StepContext, StepResult } from './step.js';

export interface Outcome {
  step: Step;
  result: StepResult;
  /** The result before apply, when apply ran. */
  before?: StepResult;
  applied?: boolean;
  /** Dry run: why the apply would stop (a refusal it would raise). */
  wouldStop?: string;
}

/** A verify that throws is a bug somewhere below; the report says so instead of crashing. */
async function safeVerify(step: Step, ctx: StepContext): Promise<StepResult> {
  try {
    return await step.verify(ctx);
  } catch (err) {
    return { state: 'unknown', summary: `could not check: ${(err as Error).message}` };
  }
}

/** doctor: every verify, concurrently; results in the steps' order. */
export function verifyAll(steps: readonly Step[], ctx: StepContext): Promise<Outcome[]> {
  return Promise.all(steps.map(async (step) => ({ step, result: await safeVerify(step, ctx) })));
}

export interface ApplyHooks {
  /** Asked before each apply of a todo step; false skips it. */
  confirm(step: Step, before: StepResult): Promise<boolean>;
  onResult?(outcome: Outcome): void;
  /** Runs each (real) apply, e.g. inside a progress display. */
  around?(step: Step, apply: () => Promise<void>): Promise<void>;
}

/**
 * setup: in order, verify → (confirm) → apply → verify again. Stops after a step still not done
 * after apply, because later steps build on earlier ones. A step waiting for a reboot does not
 * stop the rest: whatever else can be done before that reboot is done, so that the boot
 * configuration and a new kernel share one reboot (the steps that need the reboot say so).
 *
 * With a dry-run runner this is the plan: apply only prints what it would do, nothing changes, so
 * the state after is the state before, a refusal is reported instead of raised, and every step is shown.
 */
export async function applyInOrder(steps: readonly Step[], newContext: () => StepContext, changes: Changes, hooks: ApplyHooks): Promise<Outcome[]> {
  const dryRun = changes.runner.dryRun;
  const outcomes: Outcome[] = [];
  // Facts are memoised per context: after an apply changed the host, read it afresh.
  let ctx = newContext();
  for (const step of steps) {
    const before = await safeVerify(step, ctx);
    let outcome: Outcome = { step, result: before };
    if (before.state === 'todo' && step.apply && (await hooks.confirm(step, before))) {
      if (dryRun) {
        outcome = { step, before, result: before, applied: true };
        try {
          await step.apply(ctx, changes);
        } catch (err) {
          if (!(err instanceof UserError)) throw err;
          outcome.wouldStop = err.message;
        }
      } else {
        const apply = step.apply.bind(step, ctx, changes);
        await (hooks.around ? hooks.around(step, apply) : apply());
        ctx = newContext();
        outcome = { step, before, result: await safeVerify(step, ctx), applied: true };
      }
    }
    outcomes.push(outcome);
    hooks.onResult?.(outcome);
    if (dryRun) continue;
    const s = outcome.result.state;
    // A todo that setup cannot do (a new login, say) does not hold back the steps after it.
    const leftToUser = s === 'todo' && outcome.result.manual !== undefined;
    if (outcome.applied && s !== 'done' && s !== 'reboot-required' && !leftToUser) break;
  }
  return outcomes;
}
