/**
 * Every image path in a definition, checked the same way whoever wrote it (create, share, or a
 * person editing the file): at launch, and by `share` before it touches the share line.
 */
import { UserError } from '../errors.js';
import type { Guest } from './definition.js';
import { imageFileProblem } from './image-file.js';
import { inspectMedia } from './media.js';
import type { GuestPaths } from './paths.js';
import { shareImageFile } from './share.js';
import type { Host } from '../host/host.js';

/** Why the definition's `share` line cannot be attached, or undefined when it can. */
export async function shareProblem(host: Host, paths: GuestPaths, g: Guest): Promise<string | undefined> {
  if (g.share === undefined) return undefined;
  const own = shareImageFile(paths, g.name);
  if (g.share !== own) return `is not the image talos-mac makes for ${g.name} (${own}): talos-mac attaches, replaces and deletes only that one`;
  const problem = await imageFileProblem(host, g.share, 'raw');
  if (problem) return problem;
  const m = await inspectMedia(g.share);
  if (m.iso === undefined && m.volumes.length === 0) return `holds no CD volume (no ISO 9660 or HFS+ volume in it: ${m.reason})`;
  return undefined;
}

/** Refuses (exit 2, nothing started) a disk, cdrom or share line that names no usable image. */
export async function checkDefinitionPaths(host: Host, paths: GuestPaths, g: Guest, file: string): Promise<void> {
  const q = JSON.stringify;
  // Checked in the format QEMU is told (argv.ts: the disk's disk_format, a CD format=raw): a raw
  // image has no backing file for QEMU to open, so it needs no qemu-img.
  const diskProblem = await imageFileProblem(host, g.disk, g.disk_format);
  if (diskProblem) throw new UserError(`${file}: disk: ${q(g.disk)} ${diskProblem}. Point disk at an existing image, or create the guest again.`);
  const cdProblem = g.cdrom !== undefined ? await imageFileProblem(host, g.cdrom, 'raw') : undefined;
  if (cdProblem) throw new UserError(`${file}: cdrom: ${q(g.cdrom)} ${cdProblem}. Give another: talos-mac set ${g.name} --cdrom FILE, or eject it: talos-mac set ${g.name} --no-cdrom.`);
  const share = await shareProblem(host, paths, g);
  if (share) throw new UserError(`${file}: share: ${q(g.share)} ${share}. Remove the share and share_from lines, then talos-mac share ${g.name} DIR makes it again.`);
}
