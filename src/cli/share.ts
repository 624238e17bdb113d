import { mkdir, realpath, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';
import { guestOs, type Guest } from '../guests/definition.js';
import { formatBytes } from '../ui/bytes.js';
import { buildShareImage, scanShareDir, shareImageFile, shareLabel } from '../guests/share.js';
import { GuestStore } from '../guests/store.js';
import { LiveHost } from '../host/live-host.js';
import { findRunning } from '../launch/running.js';
import { writeOut } from '../ui/output.js';
import { EXIT } from './exit-codes.js';

export interface ShareFlags {
  off?: boolean;
  refresh?: boolean;
  label?: string;
  json?: boolean;
  live?: boolean;
}

export async function shareCommand(name: string, dir: string | undefined, f: ShareFlags): Promise<number> {
  if (f.live) return liveShareCommand(name, dir, f);
  const modes = [dir !== undefined, f.off === true, f.refresh === true].filter(Boolean).length;
  if (modes > 1) throw new UserError('give one of: a folder to share, --refresh, --off');
  if (f.json && modes > 0) throw new UserError('--json goes with share NAME alone (what is shared)');
  const store = new GuestStore();
  const g = await store.read(name);
  const own = shareImageFile(store.paths, name);
  if (g.share !== undefined && g.share !== own) {
    throw new UserError(`${store.file(name)}: share: ${JSON.stringify(g.share)} is not the image talos-mac makes (${own}): talos-mac leaves that file alone. Remove the share line by hand, then share again.`);
  }
  const running = (await findRunning(new LiveHost(), store.paths, g)) !== undefined;
  const when = running ? `at ${name}'s next launch (it is running now and keeps what it has)` : `at ${name}'s next launch`;

  if (modes === 0) {
    if (f.json) writeOut(JSON.stringify({ guest: name, share: g.share ?? null, from: g.share_from ?? null, live: g.live_share ?? null }, null, 2) + '\n');
    else writeOut(g.share ? `${name} shares ${g.share_from ?? '(a folder)'} as a read-only CD: ${g.share}\n` : `${name} shares no folder${g.live_share ? ' as a CD' : ''}. Share one: talos-mac share ${name} DIR\n`);
    if (!f.json && g.live_share) writeOut(`${name} shares ${g.live_share} live (read-write while it runs).\n`);
    return EXIT.OK;
  }
  if (f.off) {
    if (g.share === undefined) {
      writeOut(`${name} shares no folder; nothing to do.\n`);
      return EXIT.OK;
    }
    await store.setFields(name, { share: undefined, share_from: undefined });
    await unlink(own).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new UserError(`detached the share, but could not delete ${own}: ${e.message}`, 1);
    });
    writeOut(`${name} no longer shares ${g.share_from ?? 'a folder'}: the CD is gone ${when}. The folder itself is untouched.\n`);
    return EXIT.OK;
  }
  const from = f.refresh ? g.share_from : resolve(dir!);
  if (from === undefined) throw new UserError(`${name} shares no folder to refresh: talos-mac share ${name} DIR`);
  const scan = await scanShareDir(from);
  const label = shareLabel(scan.root, f.label);
  if (own.startsWith(scan.root + sep)) throw new UserError(`cannot share ${JSON.stringify(scan.root)}: the CD image (${own}) would be written inside the folder it is made of. Share a folder that does not hold talos-mac's data folder.`);
  // The image holds every byte of the folder, plus file-system overhead (a few percent for small files).
  const need = Math.ceil(scan.bytes * 1.05) + scan.files * 4096 + (16 << 20);
  await mkdir(dirname(own), { recursive: true });
  const fs = await statfs(dirname(own));
  if (fs.bavail * fs.bsize < need) {
    throw new UserError(`the CD image of ${JSON.stringify(scan.root)} needs about ${formatBytes(need)}, but ${dirname(own)} has ${formatBytes(fs.bavail * fs.bsize)} free. Nothing was changed.`, 1);
  }
  if (scan.bytes > 64 << 20) process.stderr.write(`Building the CD image (${formatBytes(scan.bytes)}) with xorriso…\n`);
  const host = new LiveHost();
  const size = await buildShareImage(host, scan.root, own, label);
  if (g.share !== own || g.share_from !== scan.root) await store.setFields(name, { share: own, share_from: scan.root });
  const lines = [
    `Shared ${scan.root} with ${name} as a read-only CD "${label}": ${scan.files} file${scan.files === 1 ? '' : 's'} in ${scan.folders + 1} folder${scan.folders ? 's' : ''}, ${formatBytes(scan.bytes)} (image ${formatBytes(size)}, ${own}).`,
    `It is attached ${when}. Changes to the folder reach the guest after talos-mac share ${name} --refresh.`,
    ...(scan.links ? [`${scan.links} link${scan.links === 1 ? '' : 's'} to files in the folder were copied as the files.`] : []),
    ...(scan.longNames.length ? [`${scan.longNames.length} name${scan.longNames.length === 1 ? ' is' : 's are'} longer than 31 characters, which Mac OS 9 shows shortened: ${scan.longNames.slice(0, 5).join(', ')}${scan.longNames.length > 5 ? ', …' : ''}.`] : []),
  ];
  writeOut(lines.join('\n') + '\n');
  return EXIT.OK;
}

/**
 * `share NAME DIR --live`: records the folder (definition field live_share); the launcher serves it
 * from the next launch on (src/launch/live-share.ts): QEMU's user network has no way to add a
 * guestfwd to a running guest.
 */
async function liveShareCommand(name: string, dir: string | undefined, f: ShareFlags): Promise<number> {
  if (f.refresh || f.label !== undefined) throw new UserError('--refresh and --label are for the CD; --live serves the folder as it is');
  if (f.json && (dir !== undefined || f.off)) throw new UserError('--json goes with share NAME alone (what is shared)');
  if (dir !== undefined && f.off) throw new UserError('give one of: a folder to share live, --off');
  const store = new GuestStore();
  const g = await store.read(name);
  const running = (await findRunning(new LiveHost(), store.paths, g)) !== undefined;
  const when = running ? `from ${name}'s next launch (it is running now and keeps what it has)` : `from ${name}'s next launch`;
  if (dir === undefined && !f.off) {
    if (f.json) writeOut(JSON.stringify({ guest: name, share: g.share ?? null, from: g.share_from ?? null, live: g.live_share ?? null }, null, 2) + '\n');
    else writeOut(g.live_share ? `${name} shares ${g.live_share} live (read-write while it runs).\n` : `${name} shares no folder live. Share one: talos-mac share ${name} DIR --live\n`);
    return EXIT.OK;
  }
  if (f.off) {
    if (g.live_share === undefined) {
      writeOut(`${name} shares no folder live; nothing to do.\n`);
      return EXIT.OK;
    }
    await store.setFields(name, { live_share: undefined });
    writeOut(`${name} no longer shares ${g.live_share} live, ${when}. The folder itself is untouched.\n`);
    return EXIT.OK;
  }
  const root = await realpath(dir!).catch(() => undefined);
  if (root === undefined || !(await stat(root)).isDirectory()) throw new UserError(`${JSON.stringify(dir)} is not a folder`);
  // TODO(write-guard): ask src/guests/write-guard.ts here (once merged) that root holds no guest's
  // disk or data: the guest would write them through the share while they are in use.
  const { guestAddress, howToConnect, liveProtocol, liveShareProblem } = await import('../launch/live-share.js');
  if (g.net !== 'user') throw new UserError(`${name} reaches a live share through QEMU's user network, but its net is ${JSON.stringify(g.net)}: set net = "user" in ${store.file(name)} first. Nothing was changed.`);
  const protocol = liveProtocol(guestOs(g));
  const osr = await new LiveHost().readFile('/etc/os-release');
  const problem = await liveShareProblem(protocol, osr.ok ? osr.data.toString('utf8') : undefined);
  if (problem) throw new UserError(`cannot share ${root} live with ${name}: ${problem} Nothing was changed.`, 1);
  if (g.live_share !== root) await store.setFields(name, { live_share: root });
  writeOut(
    [
      `${name} shares ${root} live, read-write, ${when}.`,
      `Inside the guest: ${howToConnect(protocol)} (user and password: shown by talos-mac launch and talos-mac status ${name}).`,
      `Links in the folder are not served. ${guestAddress(protocol)} is reached only through ${name}'s user network.`,
    ].join('\n') + '\n',
  );
  return EXIT.OK;
}
