import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import { UserError } from '../errors.js';
import type { Undo } from './revert.js';
import type { PrivilegedRunner } from './runner.js';

/**
 * Where talos-mac keeps what it changed (under --root when given), whichever command changed it
 * (setup, kernel build-module --install, kernel build-kernel): read by `setup --undo`.
 */
export const STATE_DIR = '/var/lib/talos-mac';
export const RECORD_PATH = `${STATE_DIR}/setup-record.json`;
export const BACKUP_DIR = `${STATE_DIR}/backups`;

/** A kernel release as uname -r prints it: no "/", so it is one path component. */
export const KERNEL_RELEASE = /^[0-9][A-Za-z0-9.+_~-]*$/;
/** Package names as Debian policy and RPM allow them, never starting with "-" (not an option). */
export const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]{0,199}$/;

/** Where talos-mac installs its modules: updates/ wins over the distro's kernel/ in depmod's search order (depmod.d(5)). */
export function moduleInstallDir(release: string): string {
  return `/lib/modules/${release}/updates/talos-mac`;
}

/**
 * What a change is recorded for: the step object itself (src/steps/step.ts), never its id retyped,
 * so that the record names the step `setup --undo` asks to revert it, and a renamed id stays a
 * rename (the step's aliases).
 */
export interface RecordedBy {
  readonly id: string;
  /** How the step reverts what it records: a step without one may record nothing (`setup --undo` could not revert it). */
  readonly undo?: Undo;
}

const Base = {
  step: z.string(),
  at: z.string(),
  /**
   * "started": recorded before the change was made (intent first, so that a run killed at any
   * instant leaves a record of what it may have done); "finished" once it was made and checked.
   * Records without it come from runs that wrote the record after the change.
   */
  state: z.optional(z.enum(['started', 'finished'])),
};

export const ChangeSchema = z.discriminatedUnion('kind', [
  z.object({
    ...Base,
    kind: z.literal('grub-argument'),
    path: z.string(),
    token: z.string(),
    backup: z.optional(z.string()),
    /** The file as it was before: a backup is restored only when it still holds these bytes. */
    sha256Before: z.optional(z.string()),
    sha256Written: z.string(),
    /** The command that regenerates the boot configuration after the file changes. */
    regenerate: z.optional(z.array(z.string())),
  }),
  z.object({ ...Base, kind: z.literal('file-created'), path: z.string(), sha256Written: z.string() }),
  z.object({
    ...Base,
    kind: z.literal('packages-installed'),
    /** Only the packages this change installed (those already installed before are left out). */
    packages: z.array(z.string()),
    /** The package manager's command that removes exactly them. */
    remove: z.array(z.string()),
  }),
  z.object({
    ...Base,
    kind: z.literal('modules-installed'),
    release: z.string(),
    /** Each module file written under /lib/modules/<release>/updates/talos-mac/, with the bytes written. */
    files: z.array(z.object({ path: z.string(), sha256Written: z.string() })),
  }),
  z.object({
    ...Base,
    kind: z.literal('kernel-installed'),
    /** The installed kernel's release (uname -r once booted). */
    release: z.string(),
    packages: z.array(z.string()),
    remove: z.array(z.string()),
  }),
  z.object({
    ...Base,
    kind: z.literal('command'),
    argv: z.array(z.string()),
    /** The command that reverts it; absent when there is nothing to revert. */
    undo: z.optional(z.array(z.string())),
  }),
]);

export type Change = z.infer<typeof ChangeSchema>;
/** A change as its maker describes it: the recorder adds the step's id and the time. */
export type NewChange = Change extends infer C ? (C extends Change ? Omit<C, 'at' | 'step'> : never) : never;

const RecordSchema = z.object({
  format: z.literal('talos-mac-setup-record'),
  version: z.literal(1),
  changes: z.array(ChangeSchema),
  undone: z._default(z.array(z.intersection(ChangeSchema, z.object({ undoneAt: z.string() }))), []),
});

export type SetupRecord = z.infer<typeof RecordSchema>;

const empty = (): SetupRecord => ({ format: 'talos-mac-setup-record', version: 1, changes: [], undone: [] });

export async function readRecord(runner: PrivilegedRunner): Promise<SetupRecord> {
  const path = runner.local(RECORD_PATH);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty();
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`, 1);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}): it was not written by this talos-mac, or was edited by hand.`, 1);
  }
  const parsed = RecordSchema.safeParse(json);
  if (!parsed.success) throw new UserError(`${path} is not a talos-mac setup record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 1);
  return parsed.data;
}

/**
 * Writes each change into the record before it is made (state "started") and marks it "finished"
 * after: a run killed at any instant leaves the record of everything it may have touched.
 */
export class ChangeRecorder {
  private record: SetupRecord | undefined;
  /** Changes recorded (and not retracted) by this run. */
  addedThisRun = 0;

  constructor(private readonly runner: PrivilegedRunner) {}

  async current(): Promise<SetupRecord> {
    return (this.record ??= await readRecord(this.runner));
  }

  /** Records the intent to make a change; returns the entry, for finish() or retract(). */
  async start(by: RecordedBy, change: NewChange): Promise<Change> {
    const entry = { ...change, step: by.id, state: 'started', at: new Date().toISOString() } as Change;
    // Checked before anything changes, dry run too: a step that records with no undo at all is a bug.
    if (!by.undo) throw new Error(`${by.id} records a change but has no undo: setup --undo could not revert it`);
    if (this.runner.dryRun) return entry;
    (await this.current()).changes.push(entry);
    this.addedThisRun++;
    await this.save();
    return entry;
  }

  async finish(entry: Change): Promise<void> {
    if (this.runner.dryRun) return;
    entry.state = 'finished';
    await this.save();
  }

  /**
   * Records the change, makes it, marks it finished; when making it fails, the record forgets it.
   * (A kill in between leaves it "started": --undo then reverts what may have happened.)
   */
  async around<T>(by: RecordedBy, change: NewChange, make: () => Promise<T>): Promise<T> {
    const entry = await this.start(by, change);
    let result: T;
    try {
      result = await make();
    } catch (err) {
      await this.retract(entry);
      throw err;
    }
    await this.finish(entry);
    return result;
  }

  /** Forgets a change that did not happen or was reverted on the spot (a failed write or regeneration). */
  async retract(entry: Change): Promise<void> {
    if (this.runner.dryRun || !this.record) return;
    const i = this.record.changes.indexOf(entry);
    if (i < 0) return;
    this.record.changes.splice(i, 1);
    this.addedThisRun--;
    await this.save();
  }

  async markUndone(remaining: Change[], undone: Change[]): Promise<void> {
    if (this.runner.dryRun) return;
    const record = await this.current();
    const at = new Date().toISOString();
    record.changes = remaining;
    record.undone.push(...undone.map((c) => ({ ...c, undoneAt: at })));
    await this.save();
  }

  async save(): Promise<void> {
    if (this.runner.dryRun || !this.record) return;
    // Readable by all (0644, as /var/lib/dpkg/status): the next run, or `setup --undo`, may be
    // started by a user who reads it before sudo is needed; it holds paths and names only.
    await this.runner.writeQuietly(RECORD_PATH, Buffer.from(JSON.stringify(this.record, null, 2) + '\n'), 0o644);
  }
}
