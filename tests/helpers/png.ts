import { inflateSync } from 'node:zlib';

/**
 * The pixels of an 8-bit RGB or RGBA PNG (what QEMU's screendump writes), unfiltered as the PNG
 * specification says (section 9: filter types 0–4, Paeth as in 9.4): enough to tell a screen with
 * something on it from a blank one.
 */
export function decodePng(data: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  if (!data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('not a PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (at < data.length) {
    const len = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    const body = data.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, color] = [body[8], body[9]];
      if (depth !== 8 || (color !== 2 && color !== 6)) throw new Error(`PNG bit depth ${depth}, colour type ${color}: only 8-bit RGB(A) here`);
      channels = color === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (pixels[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (pixels[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (pixels[(y - 1) * stride + x - channels] as number) : 0;
      let p: number;
      switch (filter) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const e = a + b - c;
          const [pa, pb, pc] = [Math.abs(e - a), Math.abs(e - b), Math.abs(e - c)];
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`PNG filter type ${filter}`);
      }
      pixels[y * stride + x] = (v + p) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** How many pixels have each colour, most common first. */
export function colourCounts(png: ReturnType<typeof decodePng>): number[] {
  const n = new Map<number, number>();
  for (let i = 0; i < png.pixels.length; i += png.channels) {
    const key = png.pixels.readUIntBE(i, 3);
    n.set(key, (n.get(key) ?? 0) + 1);
  }
  return [...n.values()].sort((x, y) => y - x);
}
