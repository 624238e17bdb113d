import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';

/**
 * The key=value strings of a kernel module's `.modinfo` ELF section, read without modinfo(8)
 * (not on PATH for non-root users on Debian, and it cannot read foreign-architecture modules on
 * some kmod builds). Handles ELF32/ELF64, little and big endian.
 */
export function readModinfo(elf: Buffer): Map<string, string> {
  if (elf.length < 52 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  const u16 = (o: number) => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number) => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const addr = (o: number) => (is64 ? Number(le ? elf.readBigUInt64LE(o) : elf.readBigUInt64BE(o)) : u32(o));
  const shoff = addr(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shoff === 0 || shoff + shnum * shentsize > elf.length) throw new Error('ELF section table out of range');
  const section = (i: number) => {
    const base = shoff + i * shentsize;
    return { name: u32(base), offset: addr(base + (is64 ? 0x18 : 0x10)), size: addr(base + (is64 ? 0x20 : 0x14)) };
  };
  const strtab = section(shstrndx);
  const nameAt = (off: number) => {
    const start = strtab.offset + off;
    const end = elf.indexOf(0, start);
    return elf.toString('latin1', start, end < 0 ? start : end);
  };
  const out = new Map<string, string>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameAt(s.name) !== '.modinfo') continue;
    for (const entry of elf.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0 && !out.has(entry.slice(0, eq))) out.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  }
  return out;
}

/** "6.1.0-50-powerpc64le SMP mod_unload modversions " -> "6.1.0-50-powerpc64le". */
export function vermagicRelease(vermagic: string): string {
  return vermagic.trim().split(/\s+/)[0] ?? '';
}

export async function moduleVermagic(file: string): Promise<string> {
  const info = readModinfo(await readFile(file));
  const v = info.get('vermagic');
  if (v === undefined) throw new UserError(`${file} has no vermagic in its .modinfo section: is it a kernel module?`);
  return v;
}

/**
 * Refuse a module whose vermagic names another kernel. Without MODVERSIONS the kernel refuses it
 * too ("version magic '…' should be '…'"); with MODVERSIONS it compares vermagic only after the
 * release and trusts the symbol CRCs, so it loads a module built for another release (seen
 * booting one, tests/kernel/e2e): this check is what keeps such a module out.
 */
export async function assertVermagic(file: string, release: string): Promise<string> {
  const v = await moduleVermagic(file);
  const got = vermagicRelease(v);
  if (got !== release) {
    throw new UserError(
      `refusing to load ${file}: it was built for another kernel.\n  module vermagic: ${v.trim()}\n  target release:  ${release}\nRebuild it against the source and configuration of ${release}.`,
      1,
    );
  }
  return v;
}
