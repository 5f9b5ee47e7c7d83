// A minimal POSIX ustar archive: a checkpoint bundle is its files (config.json, model.safetensors,
// tokenizer.json, ...) in one .tar, which Python's tarfile, `tar -x` and any archive tool open.
// Only regular files with short names are written or read; that is all a checkpoint holds.

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new Error(`tar: '${value}' is longer than ${length} bytes`);
  header.set(bytes, offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  writeString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

export function writeTar(files: Record<string, Uint8Array>, mtimeSeconds = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of Object.entries(files)) {
    const header = new Uint8Array(BLOCK);
    writeString(header, 0, 100, name);
    writeOctal(header, 100, 8, 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, data.length);
    writeOctal(header, 136, 12, Math.floor(mtimeSeconds));
    header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
    header[156] = 0x30; // '0': a regular file
    writeString(header, 257, 6, 'ustar');
    writeString(header, 263, 2, '00');
    const checksum = header.reduce((sum, b) => sum + b, 0);
    writeString(header, 148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
    parts.push(header, data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function readString(bytes: Uint8Array, offset: number, length: number): string {
  const field = bytes.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}

export function readTar(bytes: Uint8Array): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  let offset = 0;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    const stored = Number.parseInt(readString(header, 148, 8).trim() || 'x', 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    if (stored !== sum) throw new Error(`not a tar archive (bad header checksum at byte ${offset})`);
    const name = readString(header, 0, 100).replace(/^\.\//, '');
    const size = Number.parseInt(readString(header, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0 || offset + BLOCK + size > bytes.length)
      throw new Error(`tar entry '${name}' is truncated`);
    const type = header[156];
    // Regular files only ('0' or NUL); directories and links carry nothing a checkpoint needs.
    if ((type === 0x30 || type === 0) && name && !name.endsWith('/')) {
      const base = name.split('/').at(-1)!;
      files[base] = bytes.slice(offset + BLOCK, offset + BLOCK + size);
    }
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (Object.keys(files).length === 0) throw new Error('the archive holds no files');
  return files;
}
