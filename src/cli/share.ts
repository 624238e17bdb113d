import { ShareReportSchema } from '../guests/report-schema.js';
import { mkdir, realpath, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';
import { shareProblem } from '../guests/definition-paths.js';
import type { GuestPaths } from '../guests/paths.js';
import { guestOs, type Guest } from '../guests/definition.js';
import { formatBytes } from '../ui/bytes.js';
import { buildShareImage, scanShareDir, shareImageFile, shareLabel } from '../guests/share.js';
import { GuestStore } from '../guests/store.js';
import { guestFilesInside, writeGuard } from '../guests/write-guard.js';
import type { Host } from '../host/host.js';
import { thisMachine } from '../host/open.js';
import { holdLock, prepareLockDir } from '../launch/guest-lock.js';
import { findRunning } from '../launch/running.js';
import { writeOut, writeText } from '../ui/output.js';
import { EXIT } from '../exit-codes.js';

export interface ShareFlags {
  off?: boolean;
  refresh?: boolean;
  label?: string;
  json?: boolean;
  live?: boolean;
  /** With --live: afp or webdav (Mac OS X only; Mac OS 9 always gets AFP). */
  protocol?: string;
}

/**
 * Held while `share` changes a guest's CD and share lines, so two of them never interleave build,
 * rename and definition edit. Its own folder: ".share" cannot be a guest name (names start with a
 * letter or digit), so no guest's lock can be this file. A launch does not take it: a running
 * guest keeps the image it opened, and the new one is attached at its next launch.
 */
export const shareLockFile = (paths: GuestPaths, name: string): string => join(paths.state, 'locks', '.share', `${name}.lock`);

async function whileSharing<T>(paths: GuestPaths, name: string, fn: () => Promise<T>): Promise<T> {
  const file = shareLockFile(paths, name);
  await prepareLockDir(file);
  const lock = await holdLock(file).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`cannot change what ${name} shares: could not take the lock ${JSON.stringify(file)} (${e.code ?? e.message}). Is util-linux (flock) installed?`, 1);
  });
  if (!lock) throw new UserError(`another talos-mac share of ${name} is running: try again when it has finished. Nothing was changed.`, 1);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

export async function shareCommand(name: string, dir: string | undefined, f: ShareFlags): Promise<number> {
  const host = thisMachine();
  if (f.live) return liveShareCommand(name, dir, f, host);
  if (f.protocol !== undefined) throw new UserError('--protocol goes with --live (the CD is HFS+, read by every Mac OS)');
  const modes = [dir !== undefined, f.off === true, f.refresh === true].filter(Boolean).length;
  if (modes > 1) throw new UserError('give one of: a folder to share, --refresh, --off');
  if (f.json && modes > 0) throw new UserError('--json goes with share NAME alone (what is shared)');
  if (dir === '') throw new UserError('the folder to share is empty (""): give a folder, e.g. talos-mac share NAME ~/for-the-mac. Nothing was changed.');
  if (f.label !== undefined) shareLabel('', f.label);
  const store = new GuestStore();
  const g0 = await store.read(name);
  if (modes === 0) {
    if (f.json) writeOut(await sharedJson(name, g0));
    else writeText(g0.share ? `${name} shares ${g0.share_from ?? '(a folder)'} as a read-only CD: ${g0.share}\n` : `${name} shares no folder${g0.live_share ? ' as a CD' : ''}. Share one: talos-mac share ${name} DIR\n`);
    if (!f.json && g0.live_share) writeText(await liveLine(name, g0));
    return EXIT.OK;
  }
  return whileSharing(store.paths, name, async () => {
    // Read again under the lock: another share may have changed it meanwhile.
    const g = await store.read(name);
    const own = shareImageFile(store.paths, name);
    if (g.share !== undefined && g.share !== own) {
      throw new UserError(`${store.file(name)}: share: ${JSON.stringify(g.share)} ${await shareProblem(host, store.paths, g)}. talos-mac leaves that file alone: remove the share line by hand, then share again. Nothing was changed.`);
    }
    const running = (await findRunning(host, store.paths, g)) !== undefined;
    const when = running ? `at ${name}'s next launch (it is running now and keeps what it has)` : `at ${name}'s next launch`;
    // The image is this guest's own file; any other guest's disk or CD at that path is not.
    const guard = await writeGuard(store, f.off ? 'delete' : 'replace', { mine: { guest: name, role: 'share' } });
    if (f.off) {
      if (g.share === undefined) {
        writeText(`${name} shares no folder; nothing to do.\n`);
        return EXIT.OK;
      }
      await guard.check(own);
      await store.setFields(name, { share: undefined, share_from: undefined });
      await unlink(own).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw new UserError(`detached the share, but could not delete ${own}: ${e.message}`, 1);
      });
      writeText(`${name} no longer shares ${g.share_from ?? 'a folder'}: the CD is gone ${when}. The folder itself is untouched.\n`);
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
    const size = await buildShareImage(host, scan, own, label, guard);
    if (g.share !== own || g.share_from !== scan.root) await store.setFields(name, { share: own, share_from: scan.root });
    const lines = [
      `Shared ${scan.root} with ${name} as a read-only CD "${label}": ${scan.files} file${scan.files === 1 ? '' : 's'} in ${scan.folders + 1} folder${scan.folders ? 's' : ''}, ${formatBytes(scan.bytes)} (image ${formatBytes(size)}, ${own}).`,
      `It is attached ${when}. Changes to the folder reach the guest after talos-mac share ${name} --refresh.`,
      ...(scan.links ? [`${scan.links} link${scan.links === 1 ? '' : 's'} to files in the folder were copied as the files.`] : []),
      ...(scan.longNames.length ? [`${scan.longNames.length} name${scan.longNames.length === 1 ? ' is' : 's are'} longer than 31 characters, which Mac OS 9 shows shortened: ${scan.longNames.slice(0, 5).join(', ')}${scan.longNames.length > 5 ? ', …' : ''}.`] : []),
    ];
    writeText(lines.join('\n') + '\n');
    return EXIT.OK;
  });
}

/** The live share's protocol (src/launch/live-share.ts liveProtocol), for what share NAME prints. */
async function liveProtocolOf(g: Guest): Promise<'afp' | 'webdav'> {
  return (await import('../launch/live-share.js')).liveProtocol(guestOs(g), g.live_share_protocol);
}

async function sharedJson(name: string, g: Guest): Promise<string> {
  const protocol = g.live_share !== undefined ? await liveProtocolOf(g) : null;
  return JSON.stringify(ShareReportSchema.parse({ guest: name, share: g.share ?? null, from: g.share_from ?? null, live: g.live_share ?? null, live_protocol: protocol }), null, 2) + '\n';
}

async function liveLine(name: string, g: Guest): Promise<string> {
  return `${name} shares ${g.live_share} live over ${(await liveProtocolOf(g)) === 'afp' ? 'AFP' : 'WebDAV'} (read-write while it runs).\n`;
}

/**
 * `share NAME DIR --live`: records the folder (definition field live_share); the launcher serves it
 * from the next launch on (src/launch/live-share.ts): QEMU's user network has no way to add a
 * guestfwd to a running guest.
 */
async function liveShareCommand(name: string, dir: string | undefined, f: ShareFlags, host: Host): Promise<number> {
  if (f.refresh || f.label !== undefined) throw new UserError('--refresh and --label are for the CD; --live serves the folder as it is');
  if (f.json && (dir !== undefined || f.off)) throw new UserError('--json goes with share NAME alone (what is shared)');
  if (dir !== undefined && f.off) throw new UserError('give one of: a folder to share live, --off');
  if (f.protocol !== undefined && f.protocol !== 'afp' && f.protocol !== 'webdav') throw new UserError(`--protocol ${JSON.stringify(f.protocol)}: afp or webdav`);
  if (f.protocol !== undefined && dir === undefined) throw new UserError('--protocol goes with a folder to share: talos-mac share NAME DIR --live --protocol afp');
  const store = new GuestStore();
  const g = await store.read(name);
  const running = (await findRunning(host, store.paths, g)) !== undefined;
  const when = running ? `from ${name}'s next launch (it is running now and keeps what it has)` : `from ${name}'s next launch`;
  if (dir === undefined && !f.off) {
    if (f.json) writeOut(await sharedJson(name, g));
    else writeText(g.live_share ? await liveLine(name, g) : `${name} shares no folder live. Share one: talos-mac share ${name} DIR --live\n`);
    return EXIT.OK;
  }
  if (f.off) {
    if (g.live_share === undefined) {
      writeText(`${name} shares no folder live; nothing to do.\n`);
      return EXIT.OK;
    }
    await store.setFields(name, { live_share: undefined, live_share_protocol: undefined });
    writeText(`${name} no longer shares ${g.live_share} live, ${when}. The folder itself is untouched.\n`);
    return EXIT.OK;
  }
  const root = await realpath(dir!).catch(() => undefined);
  if (root === undefined || !(await stat(root)).isDirectory()) throw new UserError(`${JSON.stringify(dir)} is not a folder`);
  const held = await guestFilesInside(store, root);
  if (held.length > 0) {
    const which = held.slice(0, 3).map((h) => `${JSON.stringify(h.path)} (${h.guest}'s ${h.role})`).join(', ');
    throw new UserError(`will not share ${JSON.stringify(root)} read-write: it holds ${which}${held.length > 3 ? ` and ${held.length - 3} more` : ''}, which a guest could then write while in use. Share a folder that holds no guest's disk or CD. Nothing was changed.`);
  }
  const { afpPathProblem, afpVolumeName, guestAddress, howToConnect, liveClient, liveProtocol, liveShareProblem } = await import('../launch/live-share.js');
  if (g.net !== 'user') throw new UserError(`${name} reaches a live share through QEMU's user network, but its net is ${JSON.stringify(g.net)}: set net = "user" in ${store.file(name)} first. Nothing was changed.`);
  const os = guestOs(g);
  const asked = f.protocol as 'afp' | 'webdav' | undefined;
  if (asked === 'webdav' && os.family !== 'osx') throw new UserError(`${os.title} has no WebDAV client: its live share is AFP (leave out --protocol). Nothing was changed.`);
  const protocol = liveProtocol(os, asked);
  const client = liveClient(os);
  const osr = await host.readFile('/etc/os-release');
  const problem = (protocol === 'afp' ? afpPathProblem(root) : undefined) ?? (await liveShareProblem(protocol, osr.ok ? osr.data.toString('utf8') : undefined));
  if (problem) throw new UserError(`cannot share ${root} live with ${name}: ${problem} Nothing was changed.`, 1);
  const fields = { live_share: root, live_share_protocol: os.family === 'osx' && protocol === 'afp' ? ('afp' as const) : undefined };
  if (g.live_share !== fields.live_share || g.live_share_protocol !== fields.live_share_protocol) await store.setFields(name, fields);
  writeText(
    [
      `${name} shares ${root} live over ${protocol === 'afp' ? 'AFP' : 'WebDAV'}, read-write, ${when}.`,
      `Inside the guest: ${howToConnect(protocol, client)}${protocol === 'afp' ? `, volume "${afpVolumeName(root)}"` : ''} (user and password: shown by talos-mac launch and talos-mac status ${name}).`,
      `Links in the folder are not served. ${guestAddress(protocol, client)} is reached only through ${name}'s user network.`,
    ].join('\n') + '\n',
  );
  return EXIT.OK;
}
