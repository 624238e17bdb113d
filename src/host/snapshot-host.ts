import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileType } from './live-host.js';
import type { CommandResult, DirResult, Host, PathInfo, ReadResult } from './host.js';
import { formatIssues, SNAPSHOT_MANIFEST, SnapshotManifestSchema, type SnapshotManifest } from './snapshot-format.js';
import { pathInSnapshot } from './snapshot-path.js';
import { UserError } from '../errors.js';

const argvKey = (argv: readonly string[]): string => JSON.stringify(argv);

/** A host captured earlier (by `doctor --collect` or by hand): answers from a directory, runs nothing. */
export class SnapshotHost implements Host {
  readonly description: string;
  private readonly commands: Map<string, NonNullable<SnapshotManifest['commands']>[number]>;

  private constructor(private readonly dir: string, private readonly manifest: SnapshotManifest) {
    this.description = `snapshot ${dir}`;
    this.commands = new Map((manifest.commands ?? []).map((c) => [argvKey(c.argv), c]));
  }

  static async open(dir: string): Promise<SnapshotHost> {
    const manifestPath = join(dir, SNAPSHOT_MANIFEST);
    let raw: string;
    try {
      raw = await readFile(manifestPath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError(
        code === 'ENOENT'
          ? `${dir} is not a talos-mac host snapshot: ${SNAPSHOT_MANIFEST} is missing (see docs/host-snapshot.md).`
          : `cannot read ${manifestPath}: ${(err as Error).message}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new UserError(`${manifestPath} is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = SnapshotManifestSchema.safeParse(json);
    if (!parsed.success) throw new UserError(`${manifestPath} is not a valid snapshot manifest:\n${formatIssues(parsed.error)}`);
    return new SnapshotHost(dir, parsed.data);
  }

  private local(path: string): string {
    return pathInSnapshot(this.dir, path);
  }

  async readFile(path: string): Promise<ReadResult> {
    try {
      return { ok: true, data: await readFile(this.local(path)) };
    } catch {
      const status = this.manifest.files?.[path];
      if (status === 'denied') return { ok: false, reason: 'denied', message: 'permission denied (when the snapshot was taken)' };
      if (status === 'error') return { ok: false, reason: 'error', message: 'could not be read (when the snapshot was taken)' };
      return { ok: false, reason: 'missing', message: 'does not exist' };
    }
  }

  async readDir(path: string): Promise<DirResult> {
    const recorded = this.manifest.dirs?.[path];
    if (Array.isArray(recorded)) return { ok: true, entries: [...recorded].sort() };
    if (recorded === 'denied') return { ok: false, reason: 'denied', message: 'permission denied (when the snapshot was taken)' };
    try {
      return { ok: true, entries: (await readdir(this.local(path))).sort() };
    } catch {
      return { ok: false, reason: 'missing', message: 'does not exist' };
    }
  }

  async pathInfo(path: string): Promise<PathInfo> {
    const recorded = this.manifest.paths?.[path];
    if (recorded) return { ...recorded };
    try {
      const s = await stat(this.local(path));
      return { exists: true, type: fileType(s), readable: true, writable: false };
    } catch {
      // Absent either way; `notRecorded` lets a check that needs a real answer say "unknown".
      const status = this.manifest.files?.[path];
      return status === undefined ? { exists: false, notRecorded: true } : { exists: false };
    }
  }

  async run(argv: readonly string[]): Promise<CommandResult> {
    const rec = this.commands.get(argvKey(argv));
    if (!rec) return { argv: [...argv], exitCode: null, stdout: '', stderr: '', notFound: false, timedOut: false, notRecorded: true };
    let stdout = rec.stdout ?? '';
    if (rec.stdoutFile !== undefined) {
      const file = join(this.dir, rec.stdoutFile);
      if (!file.startsWith(this.dir)) throw new UserError(`snapshot command output file escapes the snapshot: ${rec.stdoutFile}`);
      stdout = await readFile(file, 'utf8').catch(() => {
        throw new UserError(`snapshot names ${rec.stdoutFile} as the output of \`${argv.join(' ')}\`, but it is missing`);
      });
    }
    return {
      argv: [...argv],
      exitCode: rec.notFound ? null : (rec.exitCode ?? 0),
      stdout,
      stderr: rec.stderr ?? '',
      notFound: rec.notFound ?? false,
      timedOut: rec.timedOut ?? false,
    };
  }
}
