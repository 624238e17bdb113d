import * as z from 'zod/mini';
import { CheckStatusSchema, StepStateSchema } from '../doctor/report-schema.js';

/**
 * The contract of `talos-mac setup --json` (docs/setup.md): the plan, what each step came to, and
 * how the run ended. Scripts may import it: `import { SetupReportSchema } from 'talos-mac/schema'`.
 */
export const SetupStepSchema = z.object({
  id: z.string(),
  title: z.string(),
  state: StepStateSchema,
  status: CheckStatusSchema,
  summary: z.string(),
  /** Will (plan) or did (results) this run apply it. */
  applies: z.boolean(),
  /** Why this run leaves it alone, when it is to do. */
  notNow: z.nullable(z.string()),
});

export const SetupGuestSchema = z.object({
  name: z.string(),
  os: z.string(),
  ram: z.number(),
  diskSize: z.string(),
  cdrom: z.nullable(z.string()),
  net: z.string(),
  /** How it will run on this host: KVM-PR or TCG, and why. */
  accel: z.string(),
  /** False in a dry run, or when setup stopped before creating it. */
  created: z.boolean(),
  definition: z.nullable(z.string()),
});

export const SetupReportSchema = z.object({
  schema: z.literal('talos-mac/setup@1'),
  /**
   * done: nothing left to do; reboot-needed: reboot, then run setup again; not-finished: steps are
   * left (see the results); planned: a dry run; declined: the plan was not accepted.
   */
  outcome: z.enum(['done', 'reboot-needed', 'not-finished', 'planned', 'declined']),
  exitCode: z.number(),
  host: z.string(),
  dryRun: z.boolean(),
  buildKernel: z.boolean(),
  /** A kernel build's cost on this machine, when the plan has one. */
  kernelCost: z.nullable(z.string()),
  reboots: z.number(),
  /** The steps that need root, which setup runs through sudo when not root. */
  needsRoot: z.array(z.string()),
  plan: z.array(SetupStepSchema),
  results: z.array(SetupStepSchema),
  guest: z.nullable(SetupGuestSchema),
  /** What to run next, in order. */
  next: z.array(z.string()),
});

export type SetupReport = z.infer<typeof SetupReportSchema>;
export type SetupStepReport = z.infer<typeof SetupStepSchema>;
