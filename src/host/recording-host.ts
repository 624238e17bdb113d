import { lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CommandResult, DirResult, Host, PathInfo, ReadResult, RunOptions } from './host.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_MANIFEST, SNAPSHOT_VERSION, type SnapshotManifest } from './snapshot-format.js';
import { pathInSnapshot } from './snapshot-path.js';
import { UserError } from '../errors.js';

const q = JSON.stringify;

/** Wraps a host and remembers every answer it gives, so that `doctor --collect` can write them as a snapshot. */
export class RecordingHost implements Host {
  readonly description: string;
  private readonly files = new Map<string, ReadResult>();
  private readonly dirs = new Map<string, DirResult>();
  private readonly paths = new Map<string, PathInfo>();
  private readonly commands = new Map<string, CommandResult>();

  constructor(private readonly inner: Host) {
    this.description = inner.description;
  }

  async readFile(path: string): Promise<ReadResult> {
    const r = await this.inner.readFile(path);
    this.files.set(path, r);
    return r;
  }

  async readDir(path: string): Promise<DirResult> {
    const r = await this.inner.readDir(path);
    this.dirs.set(path, r);
    return r;
  }

  async pathInfo(path: string): Promise<PathInfo> {
    const r = await this.inner.pathInfo(path);
    this.paths.set(path, r);
    return r;
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const r = await this.inner.run(argv, options);
    this.commands.set(JSON.stringify(argv), r);
    return r;
  }

  /**
   * Refuses a target that already holds anything, or is not a real directory: collecting never
   * overwrites and never writes through a link. Checked before doctor runs, so a refusal is quick;
   * `save` does not rely on it (see there).
   */
  static async prepareTarget(dir: string): Promise<void> {
    const target = resolve(dir);
    try {
      const s = await lstat(target);
      if (s.isSymbolicLink()) throw new UserError(`${q(dir)} is a symbolic link; choose a new directory for the snapshot (nothing was written).`);
      if (!s.isDirectory()) throw new UserError(`${q(dir)} exists and is not a directory; choose a new directory for the snapshot (nothing was written).`);
      if ((await readdir(target)).length > 0) throw new UserError(`${q(dir)} is not empty; choose a new directory for the snapshot (nothing was written).`);
    } catch (err) {
      if (err instanceof UserError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError(`cannot use ${q(dir)}: ${(err as Error).message}`);
      await mkdir(dirname(target), { recursive: true }).catch((e: Error) => {
        throw new UserError(`cannot create ${q(dirname(dir))}: ${e.message}`);
      });
    }
  }

  /**
   * Writes the snapshot into a fresh private directory next to the target (mkdtemp: mode 0700,
   * a name nobody else can predict, so nothing can be planted in it), then renames that onto the
   * target. rename(2) replaces only an absent or empty directory, atomically, so a target that was
   * filled or replaced by a link while doctor ran is refused with nothing written to it.
   */
  async save(dir: string, tool: string, session?: SnapshotManifest['session']): Promise<void> {
    const target = resolve(dir);
    const stage = await mkdtemp(join(dirname(target), `.${basename(target)}.talos-mac-`));
    try {
      await this.writeInto(stage, tool, session);
      await rename(stage, target).catch((err: NodeJS.ErrnoException) => {
        throw new UserError(`${q(dir)} was filled or replaced while doctor ran (${err.code ?? err.message}); the snapshot was not written.`);
      });
    } catch (err) {
      await rm(stage, { recursive: true, force: true });
      throw err;
    }
  }

  private async writeInto(dir: string, tool: string, session: SnapshotManifest['session']): Promise<void> {
    const manifest: Required<Pick<SnapshotManifest, 'files' | 'dirs' | 'paths' | 'commands'>> & SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      created: new Date().toISOString(),
      tool,
      origin: 'collected by talos-mac doctor --collect',
      files: {},
      dirs: {},
      paths: {},
      commands: [],
      ...(session ? { session } : {}),
    };
    for (const [path, r] of [...this.files].sort(([a], [b]) => a.localeCompare(b))) {
      if (r.ok) {
        const local = pathInSnapshot(dir, path);
        await mkdir(dirname(local), { recursive: true });
        await writeFile(local, r.data, { flag: 'wx' });
        manifest.files[path] = 'ok';
      } else {
        manifest.files[path] = r.reason === 'not-recorded' ? 'missing' : r.reason;
      }
    }
    for (const [path, r] of this.dirs) {
      manifest.dirs[path] = r.ok ? r.entries : r.reason === 'denied' ? 'denied' : 'missing';
    }
    for (const [path, info] of this.paths) {
      const { notRecorded: _ignored, ...rest } = info;
      manifest.paths[path] = rest;
    }
    for (const r of this.commands.values()) {
      manifest.commands.push({
        argv: r.argv,
        exitCode: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        notFound: r.notFound,
        timedOut: r.timedOut,
      });
    }
    await writeFile(join(dir, SNAPSHOT_MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' });
  }
}
