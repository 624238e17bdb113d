import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandResult, DirResult, Host, PathInfo, ReadResult, RunOptions } from './host.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_MANIFEST, SNAPSHOT_VERSION, type SnapshotManifest } from './snapshot-format.js';
import { pathInSnapshot } from './snapshot-path.js';
import { UserError } from '../errors.js';

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

  /** Refuses a directory that already holds anything: collecting never overwrites. */
  static async prepareTarget(dir: string): Promise<void> {
    try {
      const entries = await readdir(dir);
      if (entries.length > 0) throw new UserError(`${dir} is not empty; choose a new directory for the snapshot (nothing was written).`);
    } catch (err) {
      if (err instanceof UserError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError(`cannot use ${dir}: ${(err as Error).message}`);
    }
    await mkdir(dir, { recursive: true });
  }

  async save(dir: string, tool: string): Promise<void> {
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
