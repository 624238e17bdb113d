// Unpacks .deb files (dpkg-deb's data tarball, optionally only some members) without installing
// them, and builds small ones for the box to install.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** A binary package of these files, built by dpkg-deb --build (deb-control(5)): Architecture all, no dependencies. */
export async function buildDeb(p: { name: string; version: string; description: string; files: Record<string, string>; postinst?: string }): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'talos-mac-deb-'));
  try {
    const tree = join(work, 'tree');
    await mkdir(join(tree, 'DEBIAN'), { recursive: true });
    const control = [`Package: ${p.name}`, `Version: ${p.version}`, 'Architecture: all', 'Maintainer: talos-mac e2e <e2e@talos-mac.invalid>', `Description: ${p.description}`];
    await writeFile(join(tree, 'DEBIAN', 'control'), control.join('\n') + '\n');
    if (p.postinst !== undefined) await writeFile(join(tree, 'DEBIAN', 'postinst'), p.postinst, { mode: 0o755 });
    for (const [path, text] of Object.entries(p.files)) {
      const f = join(tree, path.replace(/^\/+/, ''));
      await mkdir(dirname(f), { recursive: true });
      await writeFile(f, text);
    }
    const deb = join(work, 'out.deb');
    await run(['dpkg-deb', '--root-owner-group', '--build', tree, deb]);
    return await readFile(deb);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
