import * as z from 'zod/mini';

/**
 * The `--json` contracts of the guest commands (docs/guests.md "JSON"). Scripts may import them:
 * `import { CreateReportSchema } from 'talos-mac/schema'`. Every document is validated against its
 * schema before it is printed.
 */
export const CreateReportSchema = z.object({
  schema: z.literal('talos-mac/create@1'),
  name: z.string(),
  os: z.string(),
  osTitle: z.string(),
  ramMb: z.number(),
  disk: z.string(),
  diskFormat: z.string(),
  /** A new disk was made (false: --disk adopted an existing image). */
  createdDisk: z.boolean(),
  cdrom: z.nullable(z.string()),
  /** The definition file. */
  file: z.string(),
  /** The command to run next. */
  next: z.string(),
});

export const RmReportSchema = z.object({
  schema: z.literal('talos-mac/rm@1'),
  name: z.string(),
  /** False only when the question was answered no. */
  removed: z.boolean(),
  /** The definition did not parse (it was removed all the same). */
  definitionInvalid: z.boolean(),
  disk: z.nullable(z.string()),
  diskDeleted: z.boolean(),
});

/** stop and kill. */
export const GuestStopReportSchema = z.object({
  schema: z.literal('talos-mac/stop@1'),
  name: z.string(),
  /** The QEMU process that ended. */
  pid: z.number(),
  how: z.enum(['quit', 'killed']),
});

export const ScreenshotReportSchema = z.object({
  schema: z.literal('talos-mac/screenshot@1'),
  name: z.string(),
  file: z.string(),
  width: z.number(),
  height: z.number(),
});

/** list --json: each guest's definition (its fields as in NAME.toml), or why it does not parse. */
export const GuestListSchema = z.array(
  z.union([
    z.looseObject({ name: z.string(), os: z.string(), ram: z.number(), disk: z.string(), file: z.string(), running: z.boolean(), valid: z.literal(true) }),
    z.object({ name: z.string(), file: z.string(), valid: z.literal(false), problem: z.optional(z.string()) }),
  ]),
);

/** show --json: the definition's fields (as in NAME.toml) and what the catalog says of its OS. */
export const ShowReportSchema = z.looseObject({
  name: z.string(),
  os: z.string(),
  ram: z.number(),
  disk: z.string(),
  file: z.string(),
  osTitle: z.string(),
  installMedia: z.string(),
});

/** media check --json: what the file is, and the disc check's verdict (src/guests/media-check.ts). */
export const MediaCheckReportSchema = z.looseObject({
  path: z.string(),
  verdict: z.string(),
  reason: z.string(),
  bootable: z.boolean(),
  looksLike: z.nullable(z.string()),
  why: z.string(),
  exit: z.number(),
});

/** checkpoint NAME list --json. */
export const CheckpointListSchema = z.object({
  guest: z.string(),
  disk: z.string(),
  running: z.boolean(),
  checkpoints: z.array(z.object({ id: z.string(), tag: z.string(), date: z.string(), vmStateSize: z.number() })),
});

/** files NAME ls --json: one folder of the guest's Mac volume. */
export const FilesListingSchema = z.object({
  guest: z.string(),
  volume: z.string(),
  format: z.string(),
  path: z.string(),
  entries: z.array(z.looseObject({ path: z.string() })),
});

/** share NAME --json: what is shared (null: nothing). */
export const ShareReportSchema = z.object({
  guest: z.string(),
  share: z.nullable(z.string()),
  from: z.nullable(z.string()),
  live: z.nullable(z.string()),
  live_protocol: z.nullable(z.enum(['webdav', 'afp'])),
});

export type CreateReport = z.infer<typeof CreateReportSchema>;
export type RmReport = z.infer<typeof RmReportSchema>;
export type GuestStopReport = z.infer<typeof GuestStopReportSchema>;
export type ScreenshotReport = z.infer<typeof ScreenshotReportSchema>;
