import { spawn } from 'node:child_process';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv (no shell) and collects its output; throws with the command's stderr when it fails and `check` is set. */
export function run(argv: readonly string[], options: { cwd?: string; check?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${file}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (options.check !== false && code !== 0) reject(new Error(`${argv.join(' ')} failed (exit ${code}):\n${stderr.trim()}`));
      else resolve({ code, stdout, stderr });
    });
  });
}
