import { readdir, readFile, realpath, unlink } from 'node:fs/promises';
import { parse } from 'smol-toml';
import { UserError } from '../errors.js';
import { editDefinition, parseDefinition, renderDefinition } from './definition-file.js';
import type { Guest } from './definition.js';
import { isErrno, writeNewFile } from './files.js';
import { checkName } from './names.js';
import { definitionFile, guestPaths, type GuestPaths } from './paths.js';

/** Guest definitions on disk: one TOML file per guest, validated on every read. */
export class GuestStore {
  readonly paths: GuestPaths;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.paths = guestPaths(env);
  }

  file(name: string): string {
    return definitionFile(this.paths, name);
  }

  async exists(name: string): Promise<boolean> {
    try {
      await readFile(this.file(name));
      return true;
    } catch {
      return false;
    }
  }

  async read(name: string): Promise<Guest> {
    checkName(name);
    const file = this.file(name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        const known = await this.names();
        throw new UserError(`no guest named "${name}" (${known.length ? `guests: ${known.join(', ')}` : 'none defined yet: talos-mac create NAME --os OS'})`);
      }
      throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
    }
    return parseDefinition(text, file, name);
  }

  /**
   * The guest for `rm`: its definition if it parses, else whatever `disk` line can still be read
   * from it (a definition that no longer parses can still be removed).
   */
  async readForRemoval(name: string): Promise<{ guest: Guest } | { problem: string; disk?: string }> {
    try {
      return { guest: await this.read(name) };
    } catch (err) {
      if (!(err instanceof UserError) || !(await this.exists(name))) throw err;
      const disk = await this.rawDisk(name);
      return { problem: err.message, ...(disk !== undefined ? { disk } : {}) };
    }
  }

  /** The `disk` value of a definition, read without validating the rest. */
  private async rawDisk(name: string): Promise<string | undefined> {
    return (await this.rawFiles(name)).disk;
  }

  /** The image paths (disk, cdrom, share) a definition names, read without validating the rest. */
  async rawFiles(name: string): Promise<Partial<Record<'disk' | 'cdrom' | 'share', string>>> {
    let raw: Record<string, unknown>;
    try {
      raw = parse(await readFile(this.file(name), 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
    const out: Partial<Record<'disk' | 'cdrom' | 'share', string>> = {};
    for (const key of ['disk', 'cdrom', 'share'] as const) {
      const v = raw[key];
      if (typeof v === 'string' && v.startsWith('/')) out[key] = v;
    }
    return out;
  }

  /** The other guests whose disk is `path` (compared after realpath), valid definitions or not. */
  async guestsUsingDisk(path: string, except?: string): Promise<string[]> {
    const real = await realpath(path).catch(() => path);
    const users: string[] = [];
    for (const name of await this.names()) {
      if (name === except) continue;
      const disk = await this.rawDisk(name);
      if (disk !== undefined && (await realpath(disk).catch(() => disk)) === real) users.push(name);
    }
    return users;
  }

  async names(): Promise<string[]> {
    try {
      return (await readdir(this.paths.definitions)).filter((f) => f.endsWith('.toml') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw new UserError(`cannot list ${this.paths.definitions}: ${(err as Error).message}`);
    }
  }

  /** Every definition; an invalid one is reported, not thrown, so one bad edit does not hide the rest. */
  async list(): Promise<Array<{ name: string; guest?: Guest; problem?: string }>> {
    const out: Array<{ name: string; guest?: Guest; problem?: string }> = [];
    for (const name of await this.names()) {
      try {
        out.push({ name, guest: await this.read(name) });
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        out.push({ name, problem: err.message });
      }
    }
    return out;
  }

  async create(g: Guest): Promise<string> {
    const file = this.file(g.name);
    try {
      await writeNewFile(file, renderDefinition(g));
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new UserError(`a guest named "${g.name}" already exists (${file}); pick another name or talos-mac rm ${g.name}`);
      throw err;
    }
    return file;
  }

  /**
   * Sets (or, with undefined, removes) top-level fields of an existing definition, keeping every
   * other line and comment a person wrote; atomically: the old file or the new, never half.
   */
  async setFields(name: string, changes: Readonly<Record<string, string | number | undefined>>): Promise<void> {
    const file = this.file(name);
    const text = await readFile(file, 'utf8');
    const { writeFileAtomic } = await import('../privileged/atomic-file.js');
    await writeFileAtomic(file, Buffer.from(editDefinition(text, file, changes)));
  }

  async remove(name: string): Promise<void> {
    await unlink(this.file(name));
  }
}
