import { writeFile } from 'node:fs/promises';

/**
 * Test hook: TALOS_MAC_TEST_PAUSE="POINT=MARKER" makes talos-mac create MARKER (holding its pid)
 * when it reaches POINT, then wait up to a minute, so a test can kill -9 it at a known instant.
 * Points: `rename:NAME` (an atomic write of a file named NAME, just before its rename),
 * `record` (setup, just before it records its intent to edit /etc/default/grub), `regenerate`
 * (just after /etc/default/grub was replaced, before update-grub runs).
 */
export const TEST_PAUSE_ENV = 'TALOS_MAC_TEST_PAUSE';

export async function pauseForTest(point: string): Promise<void> {
  const spec = process.env[TEST_PAUSE_ENV];
  const eq = spec?.indexOf('=') ?? -1;
  if (!spec || eq < 0 || spec.slice(0, eq) !== point) return;
  await writeFile(spec.slice(eq + 1), String(process.pid));
  await new Promise((resolve) => setTimeout(resolve, 60_000));
}
