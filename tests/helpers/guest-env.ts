import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
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
  /**
   * A fake qemu-system-ppc that answers the queries talos-mac makes before starting QEMU with the
   * real QEMU's answers (so its checks pass as on this machine), and runs `script` for a launch.
   */
  fakeQemu(script: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** One shell word (for the fake programs' scripts). */
const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

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
  const fakeProgram = async (name: string, script: string): Promise<void> => {
    const p = join(bin, name);
    await writeFile(p, `#!/bin/sh\n${script}\n`);
    await chmod(p, 0o755);
  };
  return {
    dir,
    env,
    run: (args, opts = {}) => runCli([...args], { env: { ...env, ...(opts.env ?? {}) }, timeoutMs: opts.timeoutMs ?? 90_000, ...(opts.node ? { node: opts.node } : {}) }),
    fakeProgram,
    async fakeQemu(script) {
      const real = process.env['PATH'] ?? '';
      // The queries go to the real qemu-system-ppc (found on the PATH this test started with).
      await fakeProgram(
        'qemu-system-ppc',
        `case "$1 $2" in\n"--version "|"-M help"|"-L help"|"-display help"|"-accel help") PATH=${shq(real)} exec qemu-system-ppc "$@";;\nesac\n${script}`,
      );
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}


/**
 * The argv of guest `name`'s running QEMU, by the pid `status --json` reports. A guest that resets
 * (its boot command's `reset-all` when OpenBIOS fails to boot, seen once on a loaded CI machine) is
 * restarted by its launcher as a new QEMU with a new pid: a pid gone before it is read is asked again.
 */
export async function runningQemuArgv(w: TestWorld, name: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const end = Date.now() + 20_000;
  for (;;) {
    const st = await w.run(['status', name, '--json'], env ? { env } : {});
    const pid = (JSON.parse(st.stdout || '{}') as { pid?: number }).pid;
    const argv = pid === undefined ? undefined : await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
    if (argv) return argv.split('\0');
    if (Date.now() > end) throw new Error(`guest ${name} has no running QEMU: status said ${st.stdout}${st.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Live processes whose command line has a word containing `needle` (e.g. a guest's pid file path). */
export async function processesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
    if (cmd.split('\0').some((w) => w.includes(needle))) pids.push(Number(e));
  }
  return pids;
}

/**
 * A real qemu-system-ppc started by hand, outside talos-mac, with `disk` open (paused, headless):
 * resolves once QEMU holds the disk's lock.
 */
export async function handStartedQemu(disk: string): Promise<ChildProcess> {
  const q = spawn('qemu-system-ppc', ['-M', 'mac99', '-display', 'none', '-S', '-nic', 'none', '-drive', `file=${disk},format=qcow2,if=none,id=hd0`, '-device', 'ide-hd,drive=hd0,bus=ide.0'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 200; i++) {
    if ((await processesWithOpenFile(q.pid!, disk)) || q.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (q.exitCode !== null) throw new Error(`hand-started QEMU exited ${q.exitCode}`);
  return q;
}

async function processesWithOpenFile(pid: number, path: string): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === path) return true;
  return false;
}

/**
 * A VNC display (port 5900 + N) nobody listens on, from the upper range: launch without an address
 * takes the first free one from 0, so tests that run at the same time do not race for it.
 */
export async function freeDisplay(): Promise<number> {
  const { createServer } = await import('node:net');
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
    });
  const start = 40 + Math.floor(Math.random() * 50);
  for (let i = 0; i < 50; i++) {
    const n = 40 + ((start - 40 + i) % 50);
    if (await free(5900 + n)) return n;
  }
  throw new Error('no free VNC display from :40 to :89');
}
