/** "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22". */
export function qemuVersion(text: string): string | undefined {
  return /version\s+(\d+\.\d+(?:\.\d+)?)/i.exec(text)?.[1];
}

/** Names in the first column of `-M help` output. */
export function machineNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+\S/.exec(line);
    if (m && !line.startsWith('Supported')) names.add(m[1]!);
  }
  return names;
}

/** Accelerator names from `-accel help` ("Accelerators supported in QEMU binary:" then one per line). */
export function accelNames(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z][a-z0-9-]*$/.test(l)),
  );
}

/** Directories from `-L help`, normalised ("/usr/bin/../share/qemu" -> "/usr/share/qemu"). */
export function dataDirs(text: string): string[] {
  const dirs: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('/')) continue;
    const parts: string[] = [];
    for (const p of t.split('/')) {
      if (p === '' || p === '.') continue;
      if (p === '..') parts.pop();
      else parts.push(p);
    }
    dirs.push('/' + parts.join('/'));
  }
  return dirs;
}

/** Backends that open a window on this desktop (cocoa: macOS hosts only). */
export const WINDOW_BACKENDS: readonly string[] = ['gtk', 'sdl', 'cocoa'];

/**
 * Backend names from `-display help` ("Available display backend types:" then one per line). QEMU
 * lists only the modules it could load; Debian's "module ui-ui-gtk not found" notes go to stderr.
 */
export function displayBackends(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z][a-z0-9-]*$/.test(l));
}

/** Device names from `-device help` (lines `name "usb-audio", bus usb-bus, …`). */
export function deviceNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^name "([^"]+)"/gm)) names.add(m[1]!);
  return names;
}

/** Option names from `-M MACHINE,help` (lines `  usb=<bool>  - …`). */
export function machineOptionNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^\s+([a-z][a-z0-9-]*)=</gm)) names.add(m[1]!);
  return names;
}

/** Audio drivers from `-audiodev help` ("Available audio drivers:" then one per line). */
export function audioDrivers(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z][a-z0-9-]*$/.test(l));
}
