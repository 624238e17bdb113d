// Unpacks .deb files (dpkg-deb's data tarball, optionally only some members) without installing them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { run } from './run.js';

export async function unpackDeb(deb: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await run(['dpkg-deb', '-x', deb, dest]);
}

/** dpkg-deb --fsys-tarfile DEB | tar -x -C dest --wildcards PATTERNS (two processes, a pipe, no shell). */
export async function unpackDebMembers(deb: string, dest: string, patterns: readonly string[]): Promise<void> {
  await mkdir(dest, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const src = spawn('dpkg-deb', ['--fsys-tarfile', deb], { stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', dest, '--wildcards', '--no-same-owner', '-f', '-', ...patterns], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    src.stderr.on('data', (d: Buffer) => (err += d.toString()));
    tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
    src.stdout.pipe(tar.stdin);
    src.on('error', reject);
    tar.on('error', reject);
    const closed = (c: ChildProcess) => new Promise<number | null>((r) => c.on('close', r));
    Promise.all([closed(src), closed(tar)]).then(([a, b]) => {
      if (a === 0 && b === 0) resolve();
      else reject(new Error(`unpacking ${deb} (${patterns.join(' ')}) failed: ${err.trim()}`));
    }, reject);
  });
}
