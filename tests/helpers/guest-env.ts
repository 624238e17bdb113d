import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/tests/helpers/guest-env.js → the repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'talos-mac.js');
export const FIXTURES = join(ROOT, 'tests', 'fixtures');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A private world for one test: its own XDG directories (with a space, to prove paths with spaces work). */
export interface TestWorld {
  dir: string;
  env: NodeJS.ProcessEnv;
  run(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  /** Puts an executable script called `name` first on PATH. */
  fakeProgram(name: string, script: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeWorld(prefix = 'talos-guests-'): Promise<TestWorld> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const bin = join(dir, 'fake bin');
  await mkdir(bin);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(dir, 'my config'),
    XDG_DATA_HOME: join(dir, 'my data'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    NO_COLOR: '1',
  };
  delete env['FORCE_COLOR'];
  return {
    dir,
    env,
    run: (args, opts = {}) => runCli(args, { ...env, ...(opts.env ?? {}) }, opts.timeoutMs ?? 60_000),
    async fakeProgram(name, script) {
      const p = join(bin, name);
      await writeFile(p, `#!/bin/sh\n${script}\n`);
      await chmod(p, 0o755);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`talos-mac ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
