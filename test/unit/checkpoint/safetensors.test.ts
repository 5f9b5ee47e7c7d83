import { describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsFormatError,
} from '../../../shared/policy/safetensors';

const u64le = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};

describe('safetensors', () => {
  it('writes the exact byte layout: u64 LE header length, space-padded JSON header, LE tensor data', () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: 'I32', shape: [1], data: new Int32Array([-2]) },
        a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -0.5]) },
      },
      { format: 'pt' },
    );
    const header =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
    const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
    const expected = new Uint8Array([
      ...u64le(padded.length),
      ...new TextEncoder().encode(padded),
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
      ...[0x00, 0x00, 0x00, 0xbf], // -0.5f
      ...[0xfe, 0xff, 0xff, 0xff], // -2
    ]);
    expect(padded.length % 8).toBe(0);
    expect(Array.from(bytes)).toEqual(Array.from(expected));
  });

  it('round-trips tensors, shapes, dtypes and metadata', () => {
    const weights = new Float32Array(6 * 5).map((_, i) => Math.sin(i) * 1e3);
    const tensors = {
      'h.0.attn.w': { dtype: 'F32' as const, shape: [6, 5], data: weights },
      scalar: { dtype: 'F32' as const, shape: [], data: new Float32Array([Math.PI]) },
      empty: { dtype: 'F32' as const, shape: [0, 3], data: new Float32Array(0) },
      mask: { dtype: 'U8' as const, shape: [3], data: new Uint8Array([1, 0, 255]) },
    };
    const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, { step: '7' }));
    expect(metadata).toEqual({ step: '7' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back[name].dtype).toBe(t.dtype);
      expect(back[name].shape).toEqual(t.shape);
      expect(Array.from(back[name].data)).toEqual(Array.from(t.data));
    }
  });

  it('reads from an unaligned view of a larger buffer', () => {
    const file = encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    const holder = new Uint8Array(file.length + 3);
    holder.set(file, 3);
    expect(Array.from(decodeSafetensors(holder.subarray(3)).tensors.x.data)).toEqual([1, 2, 3]);
  });

  it('rejects malformed files with a SafetensorsFormatError naming the defect', () => {
    const good = encodeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    const headerOf = (json: string, data = new Uint8Array(8)) => {
      const h = new TextEncoder().encode(json);
      return new Uint8Array([...u64le(h.length), ...h, ...data]);
    };
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 5), /shorter than the 8-byte/],
      [new Uint8Array([...u64le(1e12), 0]), /exceeds the file/],
      [headerOf('{not json'), /not UTF-8 JSON/],
      [headerOf('[1]'), /JSON object/],
      [headerOf('{"x":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}'), /F8_E4M3 is not supported/],
      [headerOf('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}'), /needs 12 bytes/],
      [headerOf('{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'), /outside/],
      [headerOf('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'), /trailing bytes/],
      [headerOf('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'), /expected 0/],
      [headerOf('{"__metadata__":{"a":1}}', new Uint8Array(0)), /__metadata__/],
      [good.subarray(0, good.length - 1), /outside/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsFormatError);
      expect(() => decodeSafetensors(bytes)).toThrow(message);
    }
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /needs 3 values/,
    );
  });
});
