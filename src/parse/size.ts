/** Binary units, as qemu-img and QEMU's -m read them (util/cutils.c qemu_strtosz: K, M, G, T are powers of 1024). */
export const SIZE_UNITS = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;
const SIZE = /^(\d+)(?:\.(\d+))?\s*([KMGT])?(?:i?B)?$/i;

/**
 * The one size parser: `20G`, `512M`, `1.5G`, `1GiB`; a bare number is in `bareUnit` (bytes for
 * disks, as qemu-img reads it; MiB for RAM, as QEMU's -m does). Undefined when it is not a size.
 */
export function parseSize(text: string, bareUnit: 1 | (typeof SIZE_UNITS)[keyof typeof SIZE_UNITS]): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const unit = m[3] ? SIZE_UNITS[m[3].toUpperCase() as keyof typeof SIZE_UNITS] : bareUnit;
  return Number(`${m[1]}.${m[2] ?? '0'}`) * unit;
}

/** RAM in whole MiB: `512`, `512M`, `1G`, `1.5G`; undefined when it is not a size or not whole MiB. */
export function parseRamMb(text: string): number | undefined {
  const bytes = parseSize(text, SIZE_UNITS.M);
  if (bytes === undefined || bytes % SIZE_UNITS.M !== 0) return undefined;
  return bytes / SIZE_UNITS.M;
}

export const RAM_SIZE_HINT = 'MiB (512) or with a unit (512M, 1G)';
