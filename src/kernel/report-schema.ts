import * as z from 'zod/mini';

/**
 * The `--json` contracts of `talos-mac kernel …` (docs/kernel.md). Progress and warnings go to
 * standard error; standard output holds the one document, validated before it is printed.
 */
export const KernelModuleReportSchema = z.object({
  schema: z.literal('talos-mac/kernel-module@1'),
  release: z.string(),
  modules: z.object({ kvm: z.string(), kvmPr: z.string() }),
  vermagic: z.string(),
  log: z.string(),
  loaded: z.boolean(),
  installed: z.boolean(),
  /** --dry-run: loading and installing were printed, not done. */
  dryRun: z.boolean(),
  warnings: z.array(z.string()),
});

export const KernelBuildReportSchema = z.object({
  schema: z.literal('talos-mac/kernel-build@1'),
  release: z.string(),
  log: z.string(),
  /** --image-only: vmlinux and the modules under the build directory, nothing installed. */
  imageOnly: z.boolean(),
  installed: z.boolean(),
  dryRun: z.boolean(),
  vmlinux: z.nullable(z.string()),
  modules: z.nullable(z.string()),
  /** --image-only found the same build in its cache. */
  cached: z.boolean(),
});

export const KernelSourceReportSchema = z.object({
  schema: z.literal('talos-mac/kernel-source@1'),
  version: z.string(),
  file: z.string(),
});

/** One option that differs after olddefconfig ("n" for absent). */
const ConfigChangeSchema = z.object({ key: z.string(), before: z.string(), after: z.string() });

/** configure-kernel --json (its shape predates the schema field; more fields may follow). */
export const KernelConfigureReportSchema = z.looseObject({
  tree: z.string(),
  newRelease: z.string(),
  edits: z.array(z.looseObject({ op: z.string(), key: z.string() })),
  /** The differences by cause (src/kernel/config-groups.ts GroupedDiff). */
  groups: z.object({
    kvmPr: z.array(ConfigChangeSchema),
    forced: z.array(ConfigChangeSchema),
    ours: z.array(ConfigChangeSchema),
    source: z.array(ConfigChangeSchema),
    toolchain: z.array(ConfigChangeSchema),
    buildMachine: z.array(ConfigChangeSchema),
    reduced: z.array(ConfigChangeSchema),
  }),
  /** Build tools this host lacks, with the package that provides each here (null: none known). */
  missingTools: z.array(z.object({ what: z.string(), package: z.nullable(z.string()) })),
  signing: z.object({ sign: z.boolean(), key: z.nullable(z.string()), lines: z.array(z.string()) }),
  cost: z.looseObject({ text: z.string() }),
});

export type KernelModuleReport = z.infer<typeof KernelModuleReportSchema>;
export type KernelBuildReport = z.infer<typeof KernelBuildReportSchema>;
