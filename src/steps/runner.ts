import type { Step, StepContext, StepResult } from './step.js';

export interface Outcome {
  step: Step;
  result: StepResult;
  /** The result before apply, when apply ran. */
  before?: StepResult;
  applied?: boolean;
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
  /** Asked before each apply; false skips the step. */
  confirm(step: Step, before: StepResult): Promise<boolean>;
  onResult?(outcome: Outcome): void;
}

/**
 * setup: in order, verify → (confirm) → apply → verify again. Stops after a step that needs a
 * reboot, or one that is still not done after apply, because later steps build on earlier ones.
 */
export async function applyInOrder(
  steps: readonly Step[],
  newContext: () => StepContext,
  hooks: ApplyHooks,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  // Facts are memoised per context: after an apply changed the host, read it afresh.
  let ctx = newContext();
  for (const step of steps) {
    const before = await safeVerify(step, ctx);
    let outcome: Outcome = { step, result: before };
    if (before.state === 'todo' && step.apply && (await hooks.confirm(step, before))) {
      await step.apply(ctx);
      ctx = newContext();
      outcome = { step, before, result: await safeVerify(step, ctx), applied: true };
    }
    outcomes.push(outcome);
    hooks.onResult?.(outcome);
    const s = outcome.result.state;
    if (s === 'reboot-required' || (outcome.applied && s !== 'done')) break;
  }
  return outcomes;
}
