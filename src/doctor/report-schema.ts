import * as z from 'zod/mini';

/**
 * The contract of `talos-mac doctor --json` (documented in docs/checks.md). Scripts may
 * import it: `import { DoctorReportSchema } from 'talos-mac/schema'`.
 */
export const CheckStatusSchema = z.enum(['pass', 'warn', 'fail', 'info', 'skip']);
export const StepStateSchema = z.enum(['done', 'todo', 'blocked', 'reboot-required', 'unknown', 'not-applicable']);

export const FixSchema = z.object({
  text: z.string(),
  commands: z.array(z.string()),
  bySetup: z.boolean(),
});

export const CheckReportSchema = z.object({
  id: z.string(),
  category: z.string(),
  title: z.string(),
  status: CheckStatusSchema,
  state: StepStateSchema,
  summary: z.string(),
  detail: z.nullable(z.string()),
  fix: z.nullable(FixSchema),
});

export const PrVerdictSchema = z.enum([
  'ready',
  'module-needs-loading',
  'module-must-be-built',
  'new-kernel-needed',
  'not-applicable',
  'unknown',
]);

export const DoctorReportSchema = z.object({
  schema: z.literal('talos-mac/doctor@1'),
  ok: z.boolean(),
  strict: z.boolean(),
  verdict: z.object({
    kind: z.enum(['ready', 'tcg-only', 'problems']),
    text: z.string(),
  }),
  host: z.object({
    source: z.string(),
    arch: z.nullable(z.string()),
    cpu: z.nullable(z.string()),
    platform: z.nullable(z.string()),
    board: z.nullable(z.string()),
    mmu: z.nullable(z.enum(['radix', 'hash'])),
    kernelRelease: z.nullable(z.string()),
    kvmPr: PrVerdictSchema,
    kvmPrReason: z.string(),
    qemuVersion: z.nullable(z.string()),
  }),
  counts: z.object({ pass: z.number(), warn: z.number(), fail: z.number(), info: z.number(), skip: z.number() }),
  checks: z.array(CheckReportSchema),
});

export type DoctorReport = z.infer<typeof DoctorReportSchema>;
export type CheckReport = z.infer<typeof CheckReportSchema>;
