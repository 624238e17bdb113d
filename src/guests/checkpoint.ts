/**
 * Checkpoints: a qcow2 image's internal snapshots (`qemu-img snapshot`, QEMU docs/interop/qcow2.txt
 * "Snapshots"). A snapshot shares unchanged clusters with the live image (refcounts), so saving
 * one costs metadata, and what changes afterwards costs its own clusters.
 */
import { UserError } from '../errors.js';
import { describeCommandFailure, type Host } from '../host/host.js';
import { optValue } from './argv.js';
import type { Guest } from './definition.js';

export interface Checkpoint {
  /** qemu-img's numeric id. */
  readonly id: string;
  readonly tag: string;
  /** ISO 8601, from date-sec. */
  readonly date: string;
  /** Bytes of saved RAM (0: a disk-only checkpoint, the only kind talos-mac makes). */
  readonly vmStateSize: number;
}

/**
 * Tags: letters, digits, ".", "_", "-", starting with a letter or digit, at most 64. Never digits
 * alone: `qemu-img snapshot -a/-d` matches its argument against ids as well as names
 * (bdrv_snapshot_find(), block/snapshot.c), so a tag "2" could pick snapshot id 2.
 */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkTag(tag: string): string {
  if (!TAG.test(tag)) {
    throw new UserError(`invalid checkpoint name ${JSON.stringify(tag)}: letters, digits, ".", "_", "-", starting with a letter or digit, at most 64 characters (e.g. before-update)`);
  }
  if (/^\d+$/.test(tag)) throw new UserError(`invalid checkpoint name ${JSON.stringify(tag)}: digits alone could be taken for a snapshot id; add a letter (e.g. v${tag})`);
  return tag;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The default tag: local time, e.g. 2026-12-02-045501 (sorts by time, never digits alone). */
export function defaultTag(prefix = '', now = new Date()): string {
  const t = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return prefix + t;
}

/** Why a guest's disk cannot hold checkpoints, or undefined when it can. */
export function checkpointProblem(g: Guest): string | undefined {
  if (g.disk_format === 'qcow2') return undefined;
  return (
    `the disk of ${g.name} is ${g.disk_format}, and only a qcow2 image can hold checkpoints (internal snapshots; a ${g.disk_format} image has no place for them). ` +
    `To use checkpoints, make a qcow2 copy while the guest is off, e.g. qemu-img convert -p -O qcow2 ${JSON.stringify(g.disk)} NEW.qcow2, ` +
    `check that the guest boots from it (set disk = "NEW.qcow2" and disk_format = "qcow2" in its definition), and keep the old image until then`
  );
}

function mustQcow2(g: Guest): void {
  const why = checkpointProblem(g);
  if (why) throw new UserError(`${why}.`, 1);
}

interface InfoSnapshot {
  id?: string;
  name?: string;
  'date-sec'?: number;
  'vm-state-size'?: number;
}

/** The checkpoints of the guest's disk, oldest first. `shared`: read while a QEMU may have it open (-U). */
export async function listCheckpoints(host: Host, g: Guest, shared = false): Promise<Checkpoint[]> {
  mustQcow2(g);
  const r = await host.run(['qemu-img', 'info', ...(shared ? ['-U'] : []), '--output=json', '-f', 'qcow2', g.disk], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new UserError(`cannot read the checkpoints of ${JSON.stringify(g.disk)}: ${describeCommandFailure(r)}`, 1);
  let info: { snapshots?: InfoSnapshot[] };
  try {
    info = JSON.parse(r.stdout) as { snapshots?: InfoSnapshot[] };
  } catch {
    throw new UserError(`qemu-img info gave no JSON for ${JSON.stringify(g.disk)}`, 1);
  }
  return (info.snapshots ?? []).map((s) => ({
    id: String(s.id ?? ''),
    tag: String(s.name ?? ''),
    date: new Date((s['date-sec'] ?? 0) * 1000).toISOString(),
    vmStateSize: s['vm-state-size'] ?? 0,
  }));
}

async function snapshot(host: Host, g: Guest, op: '-c' | '-a' | '-d', tag: string, what: string): Promise<void> {
  // `qemu-img snapshot` has no -f (qemu-img 7.2 --help): --image-opts names the format, so a file is never probed.
  const image = `driver=qcow2,file.driver=file,file.filename=${optValue(g.disk)}`;
  const r = await host.run(['qemu-img', 'snapshot', '--image-opts', op, tag, image], { timeoutMs: 10 * 60_000 });
  if (r.exitCode !== 0) throw new UserError(`could not ${what}: ${describeCommandFailure(r)}`, 1);
}

const find = (list: readonly Checkpoint[], tag: string): Checkpoint | undefined => list.find((c) => c.tag === tag);

/** The one checkpoint named `tag`; two of one name (made outside talos-mac) are for qemu-img by id. */
function only(g: Guest, list: readonly Checkpoint[], tag: string): Checkpoint {
  const hits = list.filter((c) => c.tag === tag);
  if (hits.length === 0) throw unknown(g, tag, list);
  if (hits.length > 1) {
    throw new UserError(`${g.disk} has ${hits.length} checkpoints named ${JSON.stringify(tag)} (made outside talos-mac): qemu-img would pick one of them. Use qemu-img snapshot with an id (ids: ${hits.map((c) => c.id).join(', ')}).`, 1);
  }
  return hits[0]!;
}

function unknown(g: Guest, tag: string, list: readonly Checkpoint[]): UserError {
  const known = list.length ? `its checkpoints: ${list.map((c) => c.tag).join(', ')}` : 'it has none yet';
  return new UserError(`${g.name} has no checkpoint ${JSON.stringify(tag)} (${known}). See talos-mac checkpoint ${g.name} list.`);
}

/** Saves the disk's current state as `tag` (refused when the tag exists: qemu-img would add a second one). */
export async function saveCheckpoint(host: Host, g: Guest, tag: string): Promise<Checkpoint> {
  checkTag(tag);
  const before = await listCheckpoints(host, g);
  if (find(before, tag)) throw new UserError(`${g.name} already has a checkpoint ${JSON.stringify(tag)}: pick another name, or delete that one first.`);
  await snapshot(host, g, '-c', tag, `save checkpoint ${JSON.stringify(tag)} of ${g.disk}`);
  const made = find(await listCheckpoints(host, g), tag);
  if (!made) throw new UserError(`qemu-img reported success but ${JSON.stringify(tag)} is not among the checkpoints of ${g.disk}`, 1);
  return made;
}

/**
 * Turns the disk back to `tag`. The state it had is saved first as an automatic checkpoint (its
 * tag returned), so a restore never loses anything: restoring that one undoes the restore.
 */
export async function restoreCheckpoint(host: Host, g: Guest, tag: string, now = new Date()): Promise<{ restored: Checkpoint; saved: Checkpoint }> {
  checkTag(tag);
  const list = await listCheckpoints(host, g);
  const target = only(g, list, tag);
  let autoTag = defaultTag('before-restore-', now);
  for (let i = 2; find(list, autoTag); i++) autoTag = `${defaultTag('before-restore-', now)}-${i}`;
  const saved = await saveCheckpoint(host, g, autoTag);
  await snapshot(host, g, '-a', tag, `restore checkpoint ${JSON.stringify(tag)} (the state before it is kept as ${JSON.stringify(autoTag)})`);
  return { restored: target, saved };
}

export async function deleteCheckpoint(host: Host, g: Guest, tag: string): Promise<Checkpoint> {
  checkTag(tag);
  const list = await listCheckpoints(host, g);
  const target = only(g, list, tag);
  await snapshot(host, g, '-d', tag, `delete checkpoint ${JSON.stringify(tag)}`);
  return target;
}
