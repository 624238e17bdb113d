import { readFileSync } from 'node:fs';

/** Read once from package.json, which ships beside dist/ in every install. */
function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'talos-mac' && pkg.version) return pkg.version;
    } catch {
      // try the next level up: the same code runs from src/ (tests) and from the bundle in dist/
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
