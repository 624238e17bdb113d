import { disableRadixValue } from './cmdline.js';

/** Value of a shell assignment's right-hand side as `sh` would see it (one word: quotes joined). */
export function shellWordValue(raw: string): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '"') {
      i++;
      while (i < raw.length && raw[i] !== '"') {
        if (raw[i] === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1]!)) i++;
        out += raw[i++];
      }
      i++;
    } else if (c === "'") {
      i++;
      while (i < raw.length && raw[i] !== "'") out += raw[i++];
      i++;
    } else if (/\s/.test(c) || c === '#' || c === ';') {
      break;
    } else {
      if (c === '\\' && i + 1 < raw.length) i++;
      out += raw[i++];
    }
  }
  return out;
}

/** The last assignment of each GRUB_CMDLINE_LINUX* variable in /etc/default/grub (comments ignored). */
export function grubDefaultCmdlines(text: string): { linux?: string; linuxDefault?: string } {
  const found: { linux?: string; linuxDefault?: string } = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$/.exec(line);
    if (!m) continue;
    const value = shellWordValue(m[2]!);
    if (m[1] === 'GRUB_CMDLINE_LINUX') found.linux = value;
    else found.linuxDefault = value;
  }
  return found;
}

/** Kernel argument strings of every `linux` line of a generated grub.cfg. */
export function grubCfgKernelArgs(text: string): string[] {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*linux(?:16|efi)?\s+\S+(.*)$/.exec(line);
    if (m) lines.push(m[1]!.trim());
  }
  return lines;
}

/** The `options` line of a BootLoaderSpec entry, with $kernelopts (Fedora ≤ 33 grubenv) resolved. */
export function blsOptions(entry: string, grubenv?: string): string | undefined {
  const m = /^options\s+(.*)$/m.exec(entry);
  if (!m) return undefined;
  const kernelopts = grubenv ? /^kernelopts=(.*)$/m.exec(grubenv)?.[1] ?? '' : '';
  return m[1]!.replace(/\$kernelopts\b/g, kernelopts).trim();
}

export type Coverage = 'all' | 'some' | 'none';

export function coverage(cmdlines: readonly string[]): Coverage {
  const on = cmdlines.filter((c) => disableRadixValue(c) === true).length;
  if (on === 0) return 'none';
  return on === cmdlines.length ? 'all' : 'some';
}
