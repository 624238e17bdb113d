import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO } from './cli.js';

/**
 * Classic HFS (Mac OS Standard) volumes made once by hfsutils' `hformat` and kept gzipped
 * (tests/fixtures/README.md, "hfs/"): Debian 13 has no hfsutils, so the tests cannot make them.
 */
export const HFS_FIXTURES = {
  /** `hformat -l 'Mac OS 9.2.2'` on a 4 MiB file. */
  macOs922: 'hformat-mac-os-9.2.2-4m.hfs.gz',
  /** `hformat -l 'OS9 HD'` on an 8 MiB file. */
  os9Hd: 'hformat-os9-hd-8m.img.gz',
} as const;

/** Writes the fixture, unpacked, to `path`. */
export function writeHfsFixture(name: (typeof HFS_FIXTURES)[keyof typeof HFS_FIXTURES], path: string): void {
  writeFileSync(path, gunzipSync(readFileSync(join(REPO, 'tests', 'fixtures', 'hfs', name))));
}
