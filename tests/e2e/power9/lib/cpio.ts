// A newc ("070701") cpio writer, the format the kernel unpacks an initramfs from
// (Documentation/driver-api/early-userspace/buffer-format.rst). Written here so the x86 side
// needs no cpio package, and so owners and modes are set explicitly instead of taken from
// whoever runs the tests.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number; uid?: number; gid?: number }
  | { path: string; type: 'file'; data: Buffer | string; mode?: number; uid?: number; gid?: number }
  | { path: string; type: 'symlink'; target: string; uid?: number; gid?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function header(ino: number, mode: number, uid: number, gid: number, size: number, name: string): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const fields = ['070701', hex(ino), hex(mode), hex(uid), hex(gid), hex(1), hex(0), hex(size), hex(0), hex(0), hex(0), hex(0), hex(name.length + 1), hex(0)];
  return Buffer.from(fields.join('') + name + '\0', 'latin1');
}

const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

/** The archive's bytes (uncompressed). Paths are relative to / ("etc/passwd"). */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (h: Buffer, data: Buffer) => {
    parts.push(h, pad4(h.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    if (e.type === 'dir') push(header(ino++, S_IFDIR | (e.mode ?? 0o755), uid, gid, 0, name), Buffer.alloc(0));
    else if (e.type === 'symlink') {
      const t = Buffer.from(e.target);
      push(header(ino++, S_IFLNK | 0o777, uid, gid, t.length, name), t);
    } else {
      const d = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
      push(header(ino++, S_IFREG | (e.mode ?? 0o644), uid, gid, d.length, name), d);
    }
  }
  push(header(0, 0, 0, 0, 0, 'TRAILER!!!'), Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Entries for everything under `dir`, placed under `prefix` in the archive, all owned by root. */
export async function treeEntries(dir: string, prefix = ''): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await readdir(abs)).sort();
    for (const n of names) {
      const a = join(abs, n);
      const r = posix.join(rel, n);
      const st = await lstat(a);
      if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', target: await readlink(a) });
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: st.mode & 0o7777 });
        await walk(a, r);
      } else if (st.isFile()) out.push({ path: r, type: 'file', data: await readFile(a), mode: st.mode & 0o7777 });
    }
  };
  await walk(dir, prefix);
  return out;
}

/** The parent directories an entry list needs, so each archive unpacks on its own. */
export function withParents(entries: readonly CpioEntry[]): CpioEntry[] {
  const seen = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path.replace(/^\/+/, '')));
  const dirs: CpioEntry[] = [];
  for (const e of entries) {
    const parts = e.path.replace(/^\/+/, '').split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!seen.has(p)) {
        seen.add(p);
        dirs.push({ path: p, type: 'dir' });
      }
    }
  }
  return [...dirs, ...entries];
}

export const gzipCpio = (entries: readonly CpioEntry[]): Buffer => gzipSync(cpioArchive(withParents(entries)), { level: 1 });
