import { randomBytes } from 'node:crypto';
import { copyFile, link, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { isErrno } from '../guests/files.js';
import { GuestStore } from '../guests/store.js';
import { writeGuard } from '../guests/write-guard.js';
import { writeOut, writeText } from '../ui/output.js';
import { jsonText } from '../ui/escape.js';
import { ScreenshotReportSchema, type ScreenshotReport } from '../guests/report-schema.js';
import { runningGuest } from './control.js';
import { QmpClient } from './qmp.js';
import type { Host } from '../host/host.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk (the first one, PNG spec 11.2.2), or undefined if it is not a PNG. */
export function pngSize(data: Buffer): { width: number; height: number } | undefined {
  if (data.length < 24 || !data.subarray(0, 8).equals(PNG_SIGNATURE) || data.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** NAME-YYYYmmdd-HHMMSS.png, local time. */
export function defaultScreenshotName(name: string, now: Date): string {
  return `${name}-${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}.png`;
}

/**
 * QMP screendump with format png (qapi/ui.json; the format argument is QEMU 7.1+). QEMU writes the
 * file itself, so it writes into the guest's private runtime folder; the result is copied beside
 * the target and put in place with link(2) (never replacing a file) or, with --force, rename(2).
 */
export async function screenshotCommand(name: string, file: string | undefined, o: { force?: boolean; json?: boolean }, host: Host, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const target = resolve(file ?? defaultScreenshotName(name, new Date()));
  if (!target.toLowerCase().endsWith('.png')) throw new UserError(`${file}: a screenshot is saved as PNG: give a FILE ending in .png`);
  const dirInfo = await stat(dirname(target)).catch(() => undefined);
  if (!dirInfo?.isDirectory()) throw new UserError(`${dirname(target)} is not a folder: cannot save ${basename(target)} there.`);
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isFile()) throw new UserError(`${target} exists and is not a file: give another FILE.`);
  if (existing && !o.force) throw new UserError(`${target} already exists: give another FILE, or --force to replace it.`);
  // Any guest's disk or CD is never written over, --force included.
  await (await writeGuard(new GuestStore(env), 'write over')).check(target);
  const { f, pid } = await runningGuest(name, host, env);
  const token = randomBytes(6).toString('hex');
  const dumped = join(f.dir, `screendump-${token}.png`);
  const staged = join(dirname(target), `.${basename(target)}.${token}.tmp`);
  try {
    const q = await QmpClient.connect(f.control, 3000).catch(() => undefined);
    if (!q) throw new UserError(`${name} (pid ${pid}) does not answer on QMP (${f.control}): is another client connected? Try again.`, 1);
    try {
      await q.execute('screendump', { filename: dumped, format: 'png' });
    } catch (err) {
      const msg = (err as Error).message;
      if (/format/i.test(msg)) throw new UserError(`this QEMU cannot save PNG screenshots (QMP screendump: ${msg}); QEMU 7.1 or newer can.`, 1);
      throw new UserError(`QEMU could not save the screen of ${name}: ${msg}`, 1);
    } finally {
      q.close();
    }
    const data = await readFile(dumped);
    const size = pngSize(data);
    if (!size) throw new UserError(`QEMU's screendump of ${name} is not a PNG file (${data.length} bytes); nothing was saved.`, 1);
    await copyFile(dumped, staged);
    if (o.force) await rename(staged, target);
    else {
      try {
        await link(staged, target);
      } catch (err) {
        if (isErrno(err, 'EEXIST')) throw new UserError(`${target} already exists: give another FILE, or --force to replace it.`);
        throw err;
      }
    }
    const doc: ScreenshotReport = { schema: 'talos-mac/screenshot@1', name, file: target, ...size };
    if (o.json) writeOut(jsonText(ScreenshotReportSchema.parse(doc)) + '\n');
    else writeText(`${target} (${size.width}×${size.height})\n`);
    return 0;
  } finally {
    await rm(dumped, { force: true });
    await rm(staged, { force: true });
  }
}
