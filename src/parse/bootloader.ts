import { disableRadixValue } from './cmdline.js';

/**
 * Value of a shell assignment's right-hand side as `sh` would see it: one word, quotes joined,
 * `$NAME` / `${NAME}` expanded from `vars` outside single quotes (unknown names are empty).
 */
export function shellWordValue(raw: string, vars: Readonly<Record<string, string | undefined>> = {}): string {
  let out = '';
  let i = 0;
  const expand = (): void => {
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(raw.slice(i));
    if (!m) {
      out += raw[i++];
      return;
    }
    out += vars[m[1] ?? m[2]!] ?? '';
    i += m[0].length;
  };
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '"') {
      i++;
      while (i < raw.length && raw[i] !== '"') {
        if (raw[i] === '$') {
          expand();
          continue;
        }
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
    } else if (c === '$') {
      expand();
    } else {
      if (c === '\\' && i + 1 < raw.length) i++;
      out += raw[i++];
    }
  }
  return out;
}

export interface GrubCmdlines {
  linux?: string;
  linuxDefault?: string;
}

/**
 * GRUB_CMDLINE_LINUX and _DEFAULT after sourcing each text in order, as grub-mkconfig does with
 * /etc/default/grub then /etc/default/grub.d/*.cfg; "$GRUB_CMDLINE_LINUX …" extends the earlier value.
 */
export function grubDefaultCmdlines(...texts: string[]): GrubCmdlines {
  const found: GrubCmdlines = {};
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = /^\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$/.exec(line);
      if (!m) continue;
      const value = shellWordValue(m[2]!, { GRUB_CMDLINE_LINUX: found.linux, GRUB_CMDLINE_LINUX_DEFAULT: found.linuxDefault });
      if (m[1] === 'GRUB_CMDLINE_LINUX') found.linux = value;
      else found.linuxDefault = value;
    }
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
