import * as z from 'zod/mini';

/** The manifest of a host snapshot: see docs/host-snapshot.md. */
export const SNAPSHOT_MANIFEST = 'talos-mac-snapshot.json';
export const SNAPSHOT_FORMAT = 'talos-mac-host-snapshot';
export const SNAPSHOT_VERSION = 1;

const FileStatus = z.enum(['ok', 'missing', 'denied', 'error']);

const PathInfoSchema = z.object({
  exists: z.boolean(),
  type: z.optional(z.enum(['file', 'dir', 'char', 'block', 'link', 'other'])),
  mode: z.optional(z.string().check(z.regex(/^0[0-7]{3,4}$/))),
  uid: z.optional(z.number()),
  gid: z.optional(z.number()),
  readable: z.optional(z.boolean()),
  writable: z.optional(z.boolean()),
});

const CommandRecord = z.object({
  argv: z.array(z.string()).check(z.minLength(1)),
  exitCode: z.optional(z.nullable(z.number())),
  stdout: z.optional(z.string()),
  stdoutFile: z.optional(z.string()),
  stderr: z.optional(z.string()),
  notFound: z.optional(z.boolean()),
  timedOut: z.optional(z.boolean()),
});

export const SnapshotManifestSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  created: z.optional(z.string()),
  tool: z.optional(z.string()),
  origin: z.optional(z.string()),
  files: z.optional(z.record(z.string(), FileStatus)),
  dirs: z.optional(z.record(z.string(), z.union([z.literal('missing'), z.literal('denied'), z.array(z.string())]))),
  paths: z.optional(z.record(z.string(), PathInfoSchema)),
  commands: z.optional(z.array(CommandRecord)),
  /** The collecting session, where a check's verdict depends on it (a window needs a desktop session). */
  session: z.optional(z.object({ desktop: z.optional(z.boolean()) })),
});

export type SnapshotManifest = z.infer<typeof SnapshotManifestSchema>;
export type CommandRecord = z.infer<typeof CommandRecord>;

/** "field.path: message" lines for a zod error, for people reading a terminal. */
export function formatIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`)
    .join('\n');
}

const q = JSON.stringify;
const badParts = (parts: string[]): boolean => parts.some((p) => p === '' || p === '.' || p === '..');

/** A host path a manifest may name: absolute, with no empty, "." or ".." component. */
function hostPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path === '/') return undefined;
  if (!path.startsWith('/') || badParts(path.slice(1).split('/'))) return 'is not an absolute path without "." or ".." components';
  return undefined;
}

/**
 * Every path a manifest names stays inside the snapshot: host paths are absolute without "..",
 * listed names are single names, and `stdoutFile` is relative without "..". The schema checks the
 * shapes; this checks where they point, so that each problem quotes the path.
 */
export function manifestPathProblems(m: SnapshotManifest): string[] {
  const problems: string[] = [];
  for (const field of ['files', 'dirs', 'paths'] as const) {
    for (const key of Object.keys(m[field] ?? {})) {
      const p = hostPathProblem(key);
      if (p) problems.push(`${field} names ${q(key)}, which ${p}`);
    }
  }
  for (const [key, listing] of Object.entries(m.dirs ?? {})) {
    if (!Array.isArray(listing)) continue;
    for (const name of listing) {
      if (name.includes('/') || name.includes('\0') || badParts([name])) problems.push(`dirs lists ${q(name)} in ${q(key)}, which is not a single file name`);
    }
  }
  for (const c of m.commands ?? []) {
    const f = c.stdoutFile;
    if (f === undefined) continue;
    if (f.includes('\0') || f.startsWith('/') || badParts(f.split('/'))) {
      problems.push(`the output of ${q(c.argv)} is stdoutFile ${q(f)}, which is not a path inside the snapshot (relative, without "." or "..")`);
    }
  }
  return problems;
}
