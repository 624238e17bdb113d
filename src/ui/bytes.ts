/** A byte count for people: "1.5 GiB", "12.0 MiB", "3.2 KiB", "512 bytes". */
export const formatBytes = (n: number): string =>
  n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} byte${n === 1 ? '' : 's'}`;
