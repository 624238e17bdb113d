import type { StepContext, StepResult } from '../step.js';

export function isPowerArch(arch: string): boolean {
  return /^(ppc64le|ppc64|ppc)$/.test(arch);
}

/** For checks that only mean something on a POWER host: the not-applicable result elsewhere. */
export async function unlessPower(ctx: StepContext): Promise<StepResult | undefined> {
  const arch = await ctx.facts.arch();
  if (!arch.ok) return { state: 'unknown', summary: `cannot tell the architecture: ${arch.reason}` };
  if (isPowerArch(arch.value)) return undefined;
  return { state: 'not-applicable', summary: `not a POWER host (${arch.value})` };
}
