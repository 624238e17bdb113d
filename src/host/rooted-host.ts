import type { DirResult, Host, PathInfo, ReadResult } from './host.js';
import { LiveHost } from './live-host.js';
import { pathInSnapshot } from './snapshot-path.js';

/**
 * `setup --root DIR`: every file is read under DIR (a mounted system or a test sandbox), with its
 * symbolic links resolved inside DIR (never out of it); commands run on this machine unchanged,
 * exactly as LiveHost runs them.
 */
export class RootedHost implements Host {
  readonly description: string;
  private readonly live: LiveHost;

  constructor(private readonly root: string, env: NodeJS.ProcessEnv = process.env) {
    this.description = `root ${root}`;
    this.live = new LiveHost(env);
  }

  readFile(path: string): Promise<ReadResult> {
    const local = this.inside(path);
    return typeof local === 'string' ? this.live.readFile(local) : Promise.resolve(local);
  }

  readDir(path: string): Promise<DirResult> {
    const local = this.inside(path);
    return typeof local === 'string' ? this.live.readDir(local) : Promise.resolve(local);
  }

  async pathInfo(path: string): Promise<PathInfo> {
    const local = this.inside(path);
    return typeof local === 'string' ? this.live.pathInfo(local) : { exists: false };
  }

  /** The path inside the root (symbolic links followed inside it), or why it cannot be looked up. */
  private inside(path: string): string | { ok: false; reason: 'error'; message: string } {
    try {
      return pathInSnapshot(this.root, path);
    } catch (err) {
      return { ok: false, reason: 'error', message: (err as Error).message };
    }
  }

  run(argv: readonly string[], options?: Parameters<Host['run']>[1]) {
    return this.live.run(argv, options);
  }
}
