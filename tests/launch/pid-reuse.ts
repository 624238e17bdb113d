import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';

/** /proc/locks' takers of flocks on the file with this inode (the test's own reading, independent of src/). */
export async function flockTakersOf(ino: number): Promise<number[]> {
  const text = await readFile('/proc/locks', 'utf8');
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === 'FLOCK' && f[5]?.endsWith(`:${ino}`))
    .map((f) => Number(f[4]));
}

const gone = (pid: number): Promise<boolean> => readFile(`/proc/${pid}/stat`, 'utf8').then(() => false, () => true);

/**
 * An unrelated process (`sleep`) that has the number `pid` had: real pid reuse. As root, the
 * kernel's next pid is set (/proc/sys/kernel/ns_last_pid, proc(5)) and a process forked until it
 * lands on it (others may fork meanwhile); otherwise a shell forks until the pid space wraps round.
 */
export interface Impostor {
  readonly pid: number;
  end(): void;
}

export async function impostorWithPid(pid: number): Promise<Impostor> {
  for (let i = 0; i < 200 && !(await gone(pid)); i++) await new Promise((r) => setTimeout(r, 10));
  const canSet = await writeFile('/proc/sys/kernel/ns_last_pid', String(pid - 1)).then(() => true, () => false);
  if (canSet) {
    for (let attempt = 0; attempt < 500; attempt++) {
      if (attempt > 0) await writeFile('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const c = spawn('sleep', ['600'], { stdio: 'ignore' });
      if (c.pid === pid) return { pid, end: () => c.kill('SIGKILL') };
      c.kill('SIGKILL');
    }
    throw new Error(`pid ${pid} was never handed out again`);
  }
  // Without root: fork until the number comes round (pid_max is 32768 on many systems).
  const c = spawn('sh', ['-c', `while :; do sleep 600 & p=$!; [ "$p" = ${pid} ] && { wait; exit; }; kill $p; done`], { stdio: 'ignore' });
  for (let i = 0; i < 6000; i++) {
    const children = await readFile(`/proc/${c.pid}/task/${c.pid}/children`, 'utf8').catch(() => '');
    if (children.split(/\s+/).includes(String(pid))) {
      return {
        pid,
        end: () => {
          c.kill('SIGKILL');
          process.kill(pid, 'SIGKILL');
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  c.kill('SIGKILL');
  throw new Error(`pid ${pid} did not come round within 5 minutes of forking`);
}
