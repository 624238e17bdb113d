import * as z from 'zod/mini';

const Value = z.nullable(z.union([z.string(), z.number()]));

/**
 * The contract of `talos-mac set NAME … --json`: what changed in the guest's definition (or, with
 * --dry-run, would). Scripts may import it: `import { SetReportSchema } from 'talos-mac/schema'`.
 */
export const SetReportSchema = z.object({
  guest: z.string(),
  /** The definition file. */
  file: z.string(),
  dryRun: z.boolean(),
  /** The file was written (false with --dry-run, or when every value was already so). */
  written: z.boolean(),
  /** Each field whose value changes: from → to (null: not set, the OS's default). */
  changes: z.array(z.object({ field: z.string(), from: Value, to: Value })),
  /** The disc given with --cdrom, as the disc check (media check) judged it. */
  disc: z.nullable(z.object({ path: z.string(), bootable: z.boolean(), verdict: z.string() })),
  warnings: z.array(z.string()),
});

export type SetReport = z.infer<typeof SetReportSchema>;
