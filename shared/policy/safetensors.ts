// The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, ...,
// "__metadata__": {string: string}}`, then the raw little-endian tensor bytes. Offsets are relative to
// the end of the header; the header is padded with spaces to a multiple of 8 bytes so tensor data
// stays aligned, as the reference writer does.
//
// Dtypes: F32, I32 and U8 are kept as they are (Float32Array, Int32Array, Uint8Array). Hugging Face
// checkpoints are mostly F16 or BF16; those (and F64) are widened to Float32Array on reading and
// narrowed from a Float32Array on writing, so `dtype` says how the values are stored in the file and
// `data` is what the project computes with. I64 is read into an Int32Array (an error if a value does not
// fit) and written back as 64-bit.
// - F16 is IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits, bias 15). Every F16 value is exact
//   in F32, subnormals (exponent 0: mantissa · 2^-24) included; exponent 31 is ±Infinity (mantissa 0)
//   or NaN. Writing rounds to nearest, ties to even; values past the largest finite F16 (65504) round to
//   ±Infinity, values below half the smallest subnormal (2^-25) to ±0, and NaN stays a (quiet) NaN.
// - BF16 is the top 16 bits of an F32 (1 sign, 8 exponent, 7 mantissa bits): reading shifts them back up,
//   exactly; writing rounds the low 16 bits away to nearest, ties to even, keeping NaN a NaN.
// - F64 is read rounded to the nearest F32 (Math.fround semantics, as Float32Array assignment does).
import { z } from 'zod';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64' | 'U8';
type TypedData = Float32Array | Int32Array | Uint8Array;

export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TypedData;
}
export type NamedTensors = Record<string, NamedTensor>;

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I32: 4,
  I64: 8,
  U8: 1,
};
export const SAFETENSORS_DTYPES = Object.keys(BYTES_PER_ELEMENT) as SafetensorsDtype[];
/** The array type `data` has for each dtype: floats widen to Float32Array, I64 narrows to Int32Array. */
const DATA_KIND: Record<SafetensorsDtype, 'f32' | 'i32' | 'u8'> = {
  F32: 'f32',
  F16: 'f32',
  BF16: 'f32',
  F64: 'f32',
  I32: 'i32',
  I64: 'i32',
  U8: 'u8',
};
// The reference reader refuses headers above 100 MB; so do we, before allocating anything.
const MAX_HEADER_BYTES = 100_000_000;

/** Raised for any file that is not a well-formed safetensors file; the message names the defect. */
export class SafetensorsFormatError extends Error {
  override name = 'SafetensorsFormatError';
}

const tensorEntrySchema = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

// Scratch views to reinterpret one F32's bits (little- or big-endian host alike: both views share it).
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The binary16 bits of the F16 nearest to `x` (round to nearest, ties to even). */
export function f16BitsFromFloat(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // ±Inf, or a quiet NaN
  const e = exponent - 127 + 15; // the F16 biased exponent
  if (e >= 31) return sign | 0x7c00; // too large even before rounding: ±Inf
  if (e >= 1) {
    // Normal: keep the top 10 of 23 mantissa bits, round on the other 13. A carry out of the mantissa
    // correctly bumps the exponent (and 65504 + more than half an ulp becomes Infinity, 0x7c00).
    let half = sign | (e << 10) | (mantissa >>> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
    return half;
  }
  if (e < -10) return sign; // below 2^-25 (half the smallest subnormal): ±0
  // Subnormal: the 24-bit significand (implicit 1 included) in units of 2^-24, rounded.
  const significand = mantissa | 0x800000;
  const shift = 14 - e; // 14..24
  let half = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++; // may carry into the smallest normal
  return sign | half;
}

let f16Table: Float32Array | null = null;
/** All 65536 F16 values as F32, built once (256 KiB): decoding is then one lookup per element. */
function f16ToFloatTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    let magnitude: number;
    if (exponent === 0)
      magnitude = mantissa * 2 ** -24; // ±0 and subnormals
    else if (exponent === 31) magnitude = mantissa === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    else magnitude = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    table[h] = h & 0x8000 ? -magnitude : magnitude; // -(0) is -0, so the sign of zero survives
  }
  f16Table = table;
  return table;
}

/** The F32 value of binary16 bits `h`. */
export function floatFromF16Bits(h: number): number {
  return f16ToFloatTable()[h & 0xffff];
}

/** The BF16 bits of the BF16 nearest to `x` (round to nearest, ties to even). */
export function bf16BitsFromFloat(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40; // quiet NaN
  // Adding 0x7fff plus the lowest kept bit rounds half to even; a carry may reach the exponent (→ Inf).
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function checkDataKind(name: string, tensor: NamedTensor): void {
  const kind = DATA_KIND[tensor.dtype];
  if (kind === undefined) throw new Error(`tensor ${name}: dtype ${tensor.dtype} is not supported`);
  const ok =
    kind === 'f32'
      ? tensor.data instanceof Float32Array
      : kind === 'i32'
        ? tensor.data instanceof Int32Array
        : tensor.data instanceof Uint8Array;
  if (!ok)
    throw new Error(
      `tensor ${name}: dtype ${tensor.dtype} is written from a ${kind === 'f32' ? 'Float32Array' : kind === 'i32' ? 'Int32Array' : 'Uint8Array'}`,
    );
}

function toLittleEndianBytes(tensor: NamedTensor): Uint8Array {
  const { dtype, data } = tensor;
  if (dtype === 'U8' || ((dtype === 'F32' || dtype === 'I32') && littleEndianHost))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * BYTES_PER_ELEMENT[dtype]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (dtype === 'F32') dv.setFloat32(4 * i, v, true);
    else if (dtype === 'I32') dv.setInt32(4 * i, v, true);
    else if (dtype === 'F16') dv.setUint16(2 * i, f16BitsFromFloat(v), true);
    else if (dtype === 'BF16') dv.setUint16(2 * i, bf16BitsFromFloat(v), true);
    else if (dtype === 'F64') dv.setFloat64(8 * i, v, true);
    else dv.setBigInt64(8 * i, BigInt(v), true); // I64
  }
  return out;
}

/** Serialises tensors (written in name order, so equal inputs give equal bytes) and string metadata. */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (name === '__metadata__') throw new Error('a tensor cannot be named __metadata__');
    if (t.data.length !== elementCount(t.shape))
      throw new Error(
        `tensor ${name}: shape [${t.shape}] needs ${elementCount(t.shape)} values, got ${t.data.length}`,
      );
    checkDataKind(name, t);
    const bytes = t.data.length * BYTES_PER_ELEMENT[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  const headerBytesUnpadded = new TextEncoder().encode(headerText).length;
  headerText += ' '.repeat((8 - (headerBytesUnpadded % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const name of names) {
    const bytes = toLittleEndianBytes(tensors[name]);
    out.set(bytes, cursor);
    cursor += bytes.length;
  }
  return out;
}

function readTensor(name: string, dtype: SafetensorsDtype, bytes: Uint8Array): TypedData {
  // Copy into a fresh, aligned buffer: the source slice may sit at any byte offset. Not `bytes.slice()`:
  // on a Node Buffer (readFile's result) that is a view, and `.buffer` would be the whole file.
  if (dtype === 'U8') return new Uint8Array(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32' || dtype === 'I32') {
    const copy = new Uint8Array(bytes);
    if (littleEndianHost)
      return dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    const n = copy.length / 4;
    const out = dtype === 'F32' ? new Float32Array(n) : new Int32Array(n);
    for (let i = 0; i < n; i++)
      out[i] = dtype === 'F32' ? dv.getFloat32(4 * i, true) : dv.getInt32(4 * i, true);
    return out;
  }
  const n = bytes.length / BYTES_PER_ELEMENT[dtype];
  if (dtype === 'F16' || dtype === 'BF16') {
    // On a little-endian host an aligned Uint16Array copy reads ~4× faster than DataView.getUint16.
    let halves: Uint16Array;
    if (littleEndianHost) halves = new Uint16Array(new Uint8Array(bytes).buffer);
    else {
      halves = new Uint16Array(n);
      for (let i = 0; i < n; i++) halves[i] = dv.getUint16(2 * i, true);
    }
    const out = new Float32Array(n);
    if (dtype === 'F16') {
      const table = f16ToFloatTable();
      for (let i = 0; i < n; i++) out[i] = table[halves[i]];
    } else {
      const outBits = new Uint32Array(out.buffer); // same host endianness as `out`, so bits land in place
      for (let i = 0; i < n; i++) outBits[i] = halves[i] << 16;
    }
    return out;
  }
  if (dtype === 'F64') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
    return out;
  }
  // I64: the project has no 64-bit integer tensors; values beyond int32 would silently wrap, so refuse.
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = dv.getBigInt64(8 * i, true);
    if (v < -2147483648n || v > 2147483647n)
      throw new SafetensorsFormatError(`tensor ${name}: I64 value ${v} at index ${i} does not fit in int32`);
    out[i] = Number(v);
  }
  return out;
}

/** Parses a safetensors file; every inconsistency (sizes, offsets, dtypes, overlaps) is a SafetensorsFormatError. */
export function decodeSafetensors(bytes: Uint8Array): {
  tensors: NamedTensors;
  metadata: Record<string, string>;
} {
  if (bytes.length < 8)
    throw new SafetensorsFormatError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8)))
    throw new SafetensorsFormatError(
      `header length ${headerLength} exceeds the file (${bytes.length} bytes)`,
    );
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw new SafetensorsFormatError(`header is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new SafetensorsFormatError('header must be a JSON object');

  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: NamedTensors = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      const parsed = z.record(z.string(), z.string()).safeParse(raw);
      if (!parsed.success) throw new SafetensorsFormatError('__metadata__ must map strings to strings');
      Object.assign(metadata, parsed.data);
      continue;
    }
    const entry = tensorEntrySchema.safeParse(raw);
    if (!entry.success)
      throw new SafetensorsFormatError(`tensor ${name}: entry needs dtype, shape and data_offsets`);
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry.data;
    if (!Object.hasOwn(BYTES_PER_ELEMENT, dtype))
      throw new SafetensorsFormatError(
        `tensor ${name}: dtype ${dtype} is not supported (${SAFETENSORS_DTYPES.join(', ')})`,
      );
    const width = BYTES_PER_ELEMENT[dtype as SafetensorsDtype];
    if (end < begin || end > dataLength)
      throw new SafetensorsFormatError(
        `tensor ${name}: data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data`,
      );
    if (end - begin !== elementCount(shape) * width)
      throw new SafetensorsFormatError(
        `tensor ${name}: shape [${shape}] of ${dtype} needs ${elementCount(shape) * width} bytes, offsets give ${end - begin}`,
      );
    spans.push([begin, end, name]);
    tensors[name] = {
      dtype: dtype as SafetensorsDtype,
      shape,
      data: readTensor(name, dtype as SafetensorsDtype, bytes.subarray(dataStart + begin, dataStart + end)),
    };
  }
  // The format requires the tensors to tile the data exactly: no overlap, no hole, nothing trailing.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected)
      throw new SafetensorsFormatError(`tensor ${name}: data starts at ${begin}, expected ${expected}`);
    expected = end;
  }
  if (expected !== dataLength)
    throw new SafetensorsFormatError(`${dataLength - expected} trailing bytes after the last tensor`);
  return { tensors, metadata };
}
