// The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, ...,
// "__metadata__": {string: string}}`, then the raw little-endian tensor bytes. Offsets are relative to
// the end of the header; the header is padded with spaces to a multiple of 8 bytes so tensor data
// stays aligned, as the reference writer does.
import { z } from 'zod';

export type SafetensorsDtype = 'F32' | 'I32' | 'U8';
type TypedData = Float32Array | Int32Array | Uint8Array;

export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TypedData;
}
export type NamedTensors = Record<string, NamedTensor>;

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, U8: 1 };
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

function toLittleEndianBytes(tensor: NamedTensor): Uint8Array {
  const view = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  if (littleEndianHost || tensor.dtype === 'U8') return view;
  const out = new Uint8Array(view.length);
  const dv = new DataView(out.buffer);
  tensor.data.forEach((v, i) => {
    if (tensor.dtype === 'F32') dv.setFloat32(4 * i, v, true);
    else dv.setInt32(4 * i, v, true);
  });
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

function readTensor(dtype: SafetensorsDtype, bytes: Uint8Array): TypedData {
  // Copy into a fresh, aligned buffer: the source slice may sit at any byte offset. Not `bytes.slice()`:
  // on a Node Buffer (readFile's result) that is a view, and `.buffer` would be the whole file.
  const copy = new Uint8Array(bytes);
  if (dtype === 'U8') return copy;
  if (littleEndianHost) return dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
  const dv = new DataView(copy.buffer);
  const n = copy.length / 4;
  const out = dtype === 'F32' ? new Float32Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = dtype === 'F32' ? dv.getFloat32(4 * i, true) : dv.getInt32(4 * i, true);
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
    if (!(dtype in BYTES_PER_ELEMENT))
      throw new SafetensorsFormatError(`tensor ${name}: dtype ${dtype} is not supported (F32, I32, U8)`);
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
      data: readTensor(dtype as SafetensorsDtype, bytes.subarray(dataStart + begin, dataStart + end)),
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
