import { builtin } from '../builtin.js';

/** A kernel .config: CONFIG_X -> "y" | "m" | "<value>", absent or "n" when not set. */
export type KernelConfig = ReadonlyMap<string, string>;

export function parseKernelConfig(text: string): KernelConfig | undefined {
  const map = new Map<string, string>();
  let seen = 0;
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) {
      map.set(set[1]!, set[2]!.replace(/^"(.*)"$/, '$1'));
      seen++;
      continue;
    }
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) {
      map.set(unset[1]!, 'n');
      seen++;
    }
  }
  return seen > 0 ? map : undefined;
}

export function configValue(config: KernelConfig, key: string): string {
  return config.get(key) ?? 'n';
}

export function isEnabled(config: KernelConfig, key: string): boolean {
  const v = configValue(config, key);
  return v === 'y' || v === 'm';
}

/** /proc/config.gz is gzip; /boot/config-* is plain text. */
export function decodeConfigFile(data: Buffer): string {
  return data.length > 2 && data[0] === 0x1f && data[1] === 0x8b ? builtin.zlib().gunzipSync(data).toString('utf8') : data.toString('utf8');
}
