import { realpath, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileType } from './live-host.js';
import type { CommandResult, DirResult, Host, PathInfo, ReadResult } from './host.js';
import { formatIssues, manifestPathProblems, SNAPSHOT_MANIFEST, SnapshotManifestSchema, type SnapshotManifest } from './snapshot-format.js';
import { checkTree, invalidSnapshot, listInside, readInside, statInside } from './snapshot-files.js';
import { pathInSnapshot } from './snapshot-path.js';
import { UserError } from '../errors.js';

const argvKey = (argv: readonly string[]): string => JSON.stringify(argv);
const q = JSON.stringify;

/** A host captured earlier (by `doctor --collect` or by hand): answers from a directory, runs nothing, reads nothing outside it. */
export class SnapshotHost implements Host {
  readonly description: string;
  /** Whether the collecting session had a desktop; undefined when the snapshot does not say. */
  readonly desktop: boolean | undefined;
  private readonly commands: Map<string, NonNullable<SnapshotManifest['commands']>[number]>;

  private constructor(private readonly root: string, private readonly manifest: SnapshotManifest, private readonly outputs: Map<string, string>) {
    this.description = `snapshot ${root}`;
    this.desktop = manifest.session?.desktop;
    this.commands = new Map((manifest.commands ?? []).map((c) => [argvKey(c.argv), c]));
  }

  /** Validates the whole snapshot up front, so that a bad one is a usage error (exit 2), not a check that "could not check". */
  static async open(dir: string): Promise<SnapshotHost> {
    const notSnapshot = `${q(dir)} is not a talos-mac host snapshot: ${SNAPSHOT_MANIFEST} is missing (see docs/host-snapshot.md).`;
    let root: string;
    try {
      // The directory named by the user may itself be reached through links; nothing inside it may be one.
      root = await realpath(resolve(dir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(notSnapshot);
      throw new UserError(`cannot use ${q(dir)} as a snapshot: ${(err as Error).message}`);
    }
    if (!(await stat(root)).isDirectory()) throw new UserError(`${q(dir)} is not a directory: --snapshot takes a snapshot directory (see docs/host-snapshot.md).`);
    const raw = readInside(root, SNAPSHOT_MANIFEST);
    if (raw === undefined) throw new UserError(notSnapshot);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new UserError(`${q(`${root}/${SNAPSHOT_MANIFEST}`)} is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = SnapshotManifestSchema.safeParse(json);
    if (!parsed.success) throw new UserError(`${q(`${root}/${SNAPSHOT_MANIFEST}`)} is not a valid snapshot manifest:\n${formatIssues(parsed.error)}`);
    const problems = manifestPathProblems(parsed.data);
    if (problems.length) throw invalidSnapshot(root, problems.join('; '));
    checkTree(root);
    const outputs = new Map<string, string>();
    for (const c of parsed.data.commands ?? []) {
      if (c.stdoutFile === undefined) continue;
      const data = readInside(root, c.stdoutFile);
      if (data === undefined) throw invalidSnapshot(root, `it names ${q(c.stdoutFile)} as the output of ${q(c.argv)}, but there is no such file`);
      outputs.set(c.stdoutFile, data.toString('utf8'));
    }
    return new SnapshotHost(root, parsed.data, outputs);
  }

  /** The snapshot-relative path of a host path ("" for "/"). */
  private local(path: string): string {
    const rel = relative(this.root, pathInSnapshot(this.root, path));
    if (rel === '..' || rel.startsWith('../')) throw invalidSnapshot(this.root, `${q(path)} is outside it`);
    return rel;
  }

  async readFile(path: string): Promise<ReadResult> {
    const data = readInside(this.root, this.local(path));
    if (data !== undefined) return { ok: true, data };
    const status = this.manifest.files?.[path];
    if (status === 'denied') return { ok: false, reason: 'denied', message: 'permission denied (when the snapshot was taken)' };
    if (status === 'error') return { ok: false, reason: 'error', message: 'could not be read (when the snapshot was taken)' };
    return { ok: false, reason: 'missing', message: 'does not exist' };
  }

  async readDir(path: string): Promise<DirResult> {
    const recorded = this.manifest.dirs?.[path];
    if (Array.isArray(recorded)) return { ok: true, entries: [...recorded].sort() };
    if (recorded === 'denied') return { ok: false, reason: 'denied', message: 'permission denied (when the snapshot was taken)' };
    const entries = listInside(this.root, this.local(path));
    return entries ? { ok: true, entries: entries.sort() } : { ok: false, reason: 'missing', message: 'does not exist' };
  }

  async pathInfo(path: string): Promise<PathInfo> {
    const recorded = this.manifest.paths?.[path];
    if (recorded) return { ...recorded };
    const s = statInside(this.root, this.local(path));
    if (s) return { exists: true, type: fileType(s), readable: true, writable: false };
    // Absent either way; `notRecorded` lets a check that needs a real answer say "unknown".
    const status = this.manifest.files?.[path];
    return status === undefined ? { exists: false, notRecorded: true } : { exists: false };
  }

  async run(argv: readonly string[]): Promise<CommandResult> {
    const rec = this.commands.get(argvKey(argv));
    if (!rec) return { argv: [...argv], exitCode: null, stdout: '', stderr: '', notFound: false, timedOut: false, notRecorded: true };
    return {
      argv: [...argv],
      exitCode: rec.notFound ? null : (rec.exitCode ?? 0),
      stdout: rec.stdoutFile !== undefined ? (this.outputs.get(rec.stdoutFile) ?? '') : (rec.stdout ?? ''),
      stderr: rec.stderr ?? '',
      notFound: rec.notFound ?? false,
      timedOut: rec.timedOut ?? false,
    };
  }
}
