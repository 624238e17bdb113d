import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli, type CliResult } from './cli.js';

export const FIXTURES = join(REPO, 'tests', 'fixtures');

/** A private world for one test: its own XDG directories (with a space, to prove paths with spaces work). */
export interface TestWorld {
  dir: string;
  env: NodeJS.ProcessEnv;
  run(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number; node?: string }): Promise<CliResult>;
  /** Puts an executable script called `name` first on PATH. */
  fakeProgram(name: string, script: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeWorld(prefix = 'talos-guests-'): Promise<TestWorld> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const bin = join(dir, 'fake bin');
  await mkdir(bin);
  await mkdir(join(dir, 'tmp'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(dir, 'my config'),
    XDG_DATA_HOME: join(dir, 'my data'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    TMPDIR: join(dir, 'tmp'),
    NO_COLOR: '1',
  };
  delete env['FORCE_COLOR'];
  return {
    dir,
    env,
    run: (args, opts = {}) => runCli([...args], { env: { ...env, ...(opts.env ?? {}) }, timeoutMs: opts.timeoutMs ?? 90_000, ...(opts.node ? { node: opts.node } : {}) }),
    async fakeProgram(name, script) {
      const p = join(bin, name);
      await writeFile(p, `#!/bin/sh\n${script}\n`);
      await chmod(p, 0o755);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

