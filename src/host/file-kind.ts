import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { Host } from './host.js';

type Kind = Pick<Stats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>;

/** What a path is, in words for a message ("a FIFO (named pipe)"), from stat or lstat. */
export function describeFileKind(s: Kind): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'not a file or directory';
}

/** A disk, a CD or a backing file is opened only when it is a regular file or a block device (a drive). */
export function openableKindProblem(s: Kind): string | undefined {
  return s.isFile() || s.isBlockDevice() ? undefined : `is ${describeFileKind(s)}, not an image file`;
}

/** stat(2) of `path` in words: undefined when it may be opened (openableKindProblem), else why not. Never opens it. */
export async function statProblem(path: string): Promise<string | undefined> {
  if (path === '') return 'is empty (no path given)';
  try {
    return openableKindProblem(await stat(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    if (code === 'ELOOP') return 'is a symlink loop';
    return `cannot be read (${code ?? (err as Error).message})`;
  }
}

/** QEMU's test for a protocol prefix (block.c path_has_protocol): a ':' before any '/' or '\'. "json:{…}" is one too. */
const hasProtocol = (name: string): boolean => {
  const i = name.search(/[:/\\]/);
  return i >= 0 && name[i] === ':';
};

/** More backing files than this in one chain is refused (a chain is usually one or two deep). */
const MAX_CHAIN = 16;

/**
 * Why opening `path` as a disk image could block or read something that is no image, or undefined:
 * the one check every command asks before it (or qemu-img, or QEMU) opens a disk, a CD or a share
 * image. The file itself and then each backing file must be a regular file or a block device:
 * open(2) of a FIFO waits for a writer, a character device (/dev/zero, a tty) reads for ever or
 * waits. QEMU opens a backing file like the image (block/file-posix.c raw_open_common: open, then
 * fstat), so `qemu-img dd`/`convert`/`map` and QEMU hang on a FIFO backing file; `qemu-img info`
 * without --backing-chain opens only the image named (qemu-img.c collect_image_info_list:
 * BDRV_O_NO_BACKING), so each level's backing file name is read with it and checked before the
 * next level is opened. A backing file named by a protocol (nbd:, http:, json:…) is refused: it is
 * no local file. `format` (when known) keeps qemu-img from probing; "raw" has no backing file.
 */
export async function imageProblem(path: string, o: { host: Host; format?: string | undefined }): Promise<string | undefined> {
  const top = await statProblem(path);
  if (top) return top;
  const host = o.host;
  const seen = new Set<string>();
  let image = resolve(path);
  let format = o.format;
  for (let depth = 0; format !== 'raw'; depth++) {
    const real = await realpath(image).catch(() => image);
    if (seen.has(real)) return `has a backing file chain that loops back to ${JSON.stringify(image)}`;
    seen.add(real);
    const r = await host.run(['qemu-img', 'info', '-U', '--output=json', ...(format ? ['-f', format] : []), image], { timeoutMs: 30_000 });
    // qemu-img cannot read it (or is missing): the command that opens it says so in its own words.
    if (r.exitCode !== 0) return undefined;
    let info: { 'full-backing-filename'?: string; 'backing-filename'?: string; 'backing-filename-format'?: string };
    try {
      info = JSON.parse(r.stdout) as typeof info;
    } catch {
      return undefined;
    }
    const backing = info['full-backing-filename'] ?? info['backing-filename'];
    if (backing === undefined) return undefined;
    const via = depth === 0 ? 'has a backing file' : `has, ${depth + 1} files down its backing chain, a backing file`;
    if (hasProtocol(backing)) return `${via} that is not a local file (${JSON.stringify(backing)}): refused`;
    if (depth + 1 >= MAX_CHAIN) return `has a backing file chain more than ${MAX_CHAIN} files deep`;
    image = resolve(dirname(image), backing);
    const problem = await statProblem(image);
    if (problem) return `${via} ${JSON.stringify(image)} that ${problem}`;
    format = info['backing-filename-format'];
  }
  return undefined;
}

/** imageProblem as a refusal: `what` names the file for people ("the disk of tiger"). Exit 2: the input is at fault. */
export async function refuseUnsafeImage(what: string, path: string, o: { host: Host; format?: string | undefined }): Promise<void> {
  const problem = await imageProblem(path, o);
  if (problem) throw new UserError(`${what} (${JSON.stringify(path)}) ${problem}. Nothing was opened.`);
}
