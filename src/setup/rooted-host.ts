import type { Host } from '../host/host.js';
import { LiveHost } from '../host/live-host.js';
import { pathInSnapshot } from '../host/snapshot-path.js';

/**
 * `setup --root DIR`: every file is read under DIR (a mounted system or a test sandbox); commands
 * run on this machine unchanged, exactly as LiveHost runs them.
 */
export class RootedHost implements Host {
  readonly description: string;
  private readonly live: LiveHost;

  constructor(private readonly root: string, env: NodeJS.ProcessEnv = process.env) {
    this.description = `root ${root}`;
    this.live = new LiveHost(env);
  }

  readFile(path: string) {
    return this.live.readFile(pathInSnapshot(this.root, path));
  }

  readDir(path: string) {
    return this.live.readDir(pathInSnapshot(this.root, path));
  }

  pathInfo(path: string) {
    return this.live.pathInfo(pathInSnapshot(this.root, path));
  }

  run(argv: readonly string[], options?: Parameters<Host['run']>[1]) {
    return this.live.run(argv, options);
  }
}
