/**
 * The menu of a generated grub.cfg and which entry it boots by default, as GRUB reads it
 * (grub-core/normal/menu.c: `default` is an index, an entry id or a title, with ">" stepping into a
 * submenu) and as Petitboot does on Talos machines (open-power/petitboot discover/grub2: load_env
 * and `set default=` are honoured, tests test-grub2-saved-default.c, test-grub2-default-id.c).
 */

export interface MenuEntry {
  title: string;
  id?: string;
  /** The kernel release of its `linux` line (/boot/vmlinux-RELEASE or vmlinuz-RELEASE). */
  release?: string;
  /** Entries of a submenu. */
  children?: MenuEntry[];
}

/** The words of a menuentry/submenu line, quotes removed ('\'' is an escaped quote, as grub-mkconfig writes it). */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const e = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, e < 0 ? line.length : e);
      i = e < 0 ? line.length : e;
      inWord = true;
    } else if (c === '"') {
      const e = line.indexOf('"', i + 1);
      cur += line.slice(i + 1, e < 0 ? line.length : e);
      i = e < 0 ? line.length : e;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

export const releaseOfImage = (path: string): string | undefined => /\/vmlinu[xz]-([^/\s]+)$/.exec(path)?.[1];

export function parseGrubMenu(text: string): MenuEntry[] {
  const top: MenuEntry[] = [];
  const stack: { entry: MenuEntry | undefined; list: MenuEntry[] }[] = [{ entry: undefined, list: top }];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^(menuentry|submenu)\s+(.*?)\s*\{$/.exec(line);
    if (m) {
      const w = words(m[2]!);
      const idAt = w.findIndex((x) => x === '$menuentry_id_option' || x === '--id');
      const entry: MenuEntry = { title: w[0] ?? '', ...(idAt >= 0 && w[idAt + 1] ? { id: w[idAt + 1] } : {}) };
      if (m[1] === 'submenu') entry.children = [];
      stack[stack.length - 1]!.list.push(entry);
      stack.push({ entry, list: entry.children ?? [] });
      continue;
    }
    if (line === '}' && stack.length > 1) {
      stack.pop();
      continue;
    }
    const k = /^linux(?:16|efi)?\s+(\S+)/.exec(line);
    const current = stack[stack.length - 1]!.entry;
    if (k && current && !current.children) {
      const rel = releaseOfImage(k[1]!);
      if (rel) current.release = rel;
    }
  }
  return top;
}

/** The `default` grub.cfg sets: a literal, or the saved entry when it sets `${saved_entry}`. */
export function grubCfgDefault(cfg: string, grubenv: string | undefined): { value: string; saved: boolean } {
  let value = '0';
  let saved = false;
  for (const line of cfg.split('\n')) {
    const m = /^\s*set\s+default=(.*)$/.exec(line);
    if (!m) continue;
    const v = words(m[1]!)[0] ?? '';
    if (v === '${next_entry}') continue; // a one-shot choice (grub-reboot), not the default
    if (v === '${saved_entry}') {
      saved = true;
      value = (grubenv ? /^saved_entry=(.*)$/m.exec(grubenv)?.[1]?.trim() : undefined) || '0';
    } else {
      saved = false;
      value = v;
    }
  }
  return { value, saved };
}

/** The entry `default` names, stepping into submenus at ">"; undefined when it names none. */
export function resolveDefault(menu: readonly MenuEntry[], value: string): MenuEntry | undefined {
  let list: readonly MenuEntry[] = menu;
  let found: MenuEntry | undefined;
  for (const part of value.split('>')) {
    found = /^\d+$/.test(part) ? list[Number(part)] : (list.find((e) => e.id === part) ?? list.find((e) => e.title === part));
    if (!found) return undefined;
    list = found.children ?? [];
  }
  // A submenu as the default boots its first entry.
  while (found?.children?.length) found = found.children[0];
  return found;
}

/** The value to give grub-set-default for the first entry that boots `release` (submenu>entry for nested ones). */
export function entryPathFor(menu: readonly MenuEntry[], release: string): string | undefined {
  const key = (e: MenuEntry) => e.id ?? e.title;
  // The submenu's per-kernel entry first: the top "simple" entry boots whichever kernel is newest
  // after the next regeneration, the per-kernel one stays this kernel.
  for (const e of menu) for (const c of e.children ?? []) if (c.release === release && !c.children) return `${key(e)}>${key(c)}`;
  return menu.find((e) => e.release === release && !e.children) ? key(menu.find((e) => e.release === release && !e.children)!) : undefined;
}
