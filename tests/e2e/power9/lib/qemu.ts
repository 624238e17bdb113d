// Boots a kernel + initramfs under qemu-system-ppc64 -M powernv9, always bounded in
// time: killed on timeout, and killed when this process exits or is interrupted. No -nodefaults:
// powernv creates its BMC only with defaults, and skiboot powers off through the BMC.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of live) c.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

export interface BootOptions {
  vmlinux: string;
  initrd: string;
  append: string;
  timeoutMs: number;
  memory?: string;
  /** Seen on the console when the box has finished: QEMU then gets graceMs to power off before it is killed. */
  doneMarker?: string;
  graceMs?: number;
  /** Called with each chunk of console output (e.g. to stream it with TALOS_E2E_VERBOSE). */
  onOutput?: (chunk: string) => void;
}

export interface BootResult {
  console: string;
  code: number | null;
  timedOut: boolean;
  seconds: number;
  /** QEMU's own CPU time (user + system), as sampled from /proc: unlike seconds, not inflated by a busy machine. */
  cpuSeconds: number;
}

export const QEMU = process.env.TALOS_E2E_QEMU ?? 'qemu-system-ppc64';

export function bootPowerNV(o: BootOptions): Promise<BootResult> {
  hookExit();
  const argv = ['-M', 'powernv9', '-m', o.memory ?? '2G', '-smp', '1', '-nographic', '-serial', 'stdio', '-monitor', 'none',
    '-kernel', o.vmlinux, '-initrd', o.initrd, '-append', o.append];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let ticks = 0;
    const sample = () => {
      try {
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks = Number(f[11]) + Number(f[12]);
      } catch {
        // gone already
      }
    };
    const sampler = setInterval(sample, 500);
    const onData = (d: Buffer) => {
      const s = d.toString('latin1');
      out += s;
      o.onOutput?.(s);
      if (o.doneMarker && !graceTimer && out.includes(o.doneMarker)) graceTimer = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? 20_000);
    };
    child.stdout.on('data', (d: Buffer) => {
      onData(d);
      sample();
    });
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(sampler);
      live.delete(child);
      reject(new Error(`${QEMU}: ${e.message} (Debian: apt-get install qemu-system-ppc)`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearInterval(sampler);
      live.delete(child);
      resolve({ console: out, code, timedOut, seconds: (Date.now() - t0) / 1000, cpuSeconds: ticks / 100 });
    });
  });
}
