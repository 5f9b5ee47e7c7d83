// F16 / BF16 / F64 / I64 in shared/policy/safetensors.ts: exact decoding of hand-written bit patterns
// (the IEEE 754 binary16 and bfloat16 layouts), and the writer's round-to-nearest-even, checked against
// values whose nearest representable neighbours are known by construction.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  bf16BitsFromFloat,
  decodeSafetensors,
  encodeSafetensors,
  f16BitsFromFloat,
  floatFromF16Bits,
  SafetensorsFormatError,
} from '../../../shared/policy/safetensors';

/** A safetensors file holding one tensor `x` with these raw little-endian bytes. */
function fileWithRawTensor(dtype: string, shape: number[], raw: Uint8Array): Uint8Array {
  let header = JSON.stringify({ x: { dtype, shape, data_offsets: [0, raw.length] } });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + headerBytes.length + raw.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(raw, 8 + headerBytes.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    dv.setUint16(2 * i, v, true);
  });
  return out;
}

describe('safetensors F16', () => {
  // bits → value, from the binary16 layout: sign 1, exponent 5 (bias 15), mantissa 10.
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x8000, -0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125], // 1 + 341/1024, times 2^-2
    [0x7bff, 65504], // largest finite
    [0x0400, 2 ** -14], // smallest normal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x8001, -(2 ** -24)],
    [0x7c00, Number.POSITIVE_INFINITY],
    [0xfc00, Number.NEGATIVE_INFINITY],
  ];

  it('decodes ±0, normals, subnormals and ±Inf exactly, and NaN as NaN', () => {
    const bits = [...cases.map(([b]) => b), 0x7e00, 0xfd01];
    const { tensors } = decodeSafetensors(fileWithRawTensor('F16', [bits.length], u16le(bits)));
    const x = tensors.x;
    expect(x.dtype).toBe('F16');
    expect(x.data).toBeInstanceOf(Float32Array);
    cases.forEach(([, value], i) => {
      expect(Object.is(x.data[i], value), `0x${cases[i][0].toString(16)} → ${x.data[i]}`).toBe(true);
    });
    expect(Number.isNaN(x.data[cases.length])).toBe(true);
    expect(Number.isNaN(x.data[cases.length + 1])).toBe(true);
  });

  it('writes every F16 value back to its own bits (all 63488 non-NaN patterns)', () => {
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaNs
      if (f16BitsFromFloat(floatFromF16Bits(h)) !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('rounds to nearest, ties to even, overflowing to Inf and underflowing to ±0', () => {
    const ulpAt1 = 2 ** -10;
    expect(f16BitsFromFloat(1 + ulpAt1 / 2)).toBe(0x3c00); // tie → even (1.0)
    expect(f16BitsFromFloat(1 + ulpAt1 * 1.5)).toBe(0x3c02); // tie → even (mantissa 2)
    expect(f16BitsFromFloat(1 + ulpAt1 * 0.5001)).toBe(0x3c01); // above the tie → up
    expect(f16BitsFromFloat(1 + ulpAt1 * 0.4999)).toBe(0x3c00);
    expect(f16BitsFromFloat(65504 + 15.9)).toBe(0x7bff); // below the halfway point to 65536
    expect(f16BitsFromFloat(65520)).toBe(0x7c00); // tie with an odd mantissa → rounds up → Inf
    expect(f16BitsFromFloat(-1e6)).toBe(0xfc00);
    expect(f16BitsFromFloat(2 ** -25)).toBe(0x0000); // exactly half the smallest subnormal: tie → 0
    expect(f16BitsFromFloat(2 ** -25 * 1.01)).toBe(0x0001);
    expect(f16BitsFromFloat(-(2 ** -26))).toBe(0x8000); // -0
    expect(f16BitsFromFloat(3 * 2 ** -25)).toBe(0x0002); // 1.5 subnormal ulps: tie → even (2)
    expect(f16BitsFromFloat(2 ** -14 - 2 ** -26)).toBe(0x0400); // largest subnormal rounds into a normal
    expect(f16BitsFromFloat(1e-30)).toBe(0x0000);
    expect(f16BitsFromFloat(Number.NaN) & 0x7e00).toBe(0x7e00); // quiet NaN
  });

  it('round-trips through a file, rounding the written values', () => {
    const data = new Float32Array([0.1, -0.2, 1e5, 3 * 2 ** -25, -0]);
    const file = encodeSafetensors({ w: { dtype: 'F16', shape: [5], data } });
    const back = decodeSafetensors(file).tensors.w;
    expect(back.dtype).toBe('F16');
    expect(file.length % 2).toBe(0);
    expect(Array.from(back.data)).toEqual([
      floatFromF16Bits(0x2e66), // 0.0999755859375, the nearest F16 to 0.1
      floatFromF16Bits(0xb266),
      Number.POSITIVE_INFINITY,
      2 * 2 ** -24,
      -0,
    ]);
    expect(Object.is(back.data[4], -0)).toBe(true);
  });
});

describe('safetensors F16 against numpy', () => {
  it('narrows 200,000 float32 values (mostly in the F16 range) to the same bits as numpy astype(float16)', () => {
    // numpy's float32 → float16 cast rounds to nearest even: an independent implementation of the writer.
    // The script prints the float32 bit patterns and numpy's float16 bits as hex, both little-endian.
    const script = [
      'import numpy as np, sys',
      'rng = np.random.default_rng(22)',
      'bits = rng.integers(0, 2**32, size=200000, dtype=np.uint64).astype(np.uint32)',
      'e = rng.integers(100, 146, size=bits.size).astype(np.uint32)',
      'bits[:150000] = (bits[:150000] & np.uint32(0x807fffff)) | (e[:150000] << np.uint32(23))',
      'with np.errstate(all="ignore"): h = bits.view(np.float32).astype(np.float16).view(np.uint16)',
      'sys.stdout.write(bits.astype("<u4").tobytes().hex() + " " + h.astype("<u2").tobytes().hex())',
    ].join('\n');
    let out: string;
    try {
      out = execFileSync('python3', ['-c', script], { encoding: 'utf8', maxBuffer: 16 << 20 });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT')
        throw new Error('this test needs python3 with numpy (apt-get install python3-numpy)');
      throw new Error(`python3 failed: ${e.stderr ?? e.message}`);
    }
    const [f32Hex, f16Hex] = out.split(' ');
    const f32 = new Float32Array(new Uint8Array(Buffer.from(f32Hex, 'hex')).buffer);
    const f16 = new Uint16Array(new Uint8Array(Buffer.from(f16Hex, 'hex')).buffer);
    expect(f32.length).toBe(200000);
    const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    let mismatches = 0;
    for (let i = 0; i < f32.length; i++) {
      const mine = f16BitsFromFloat(f32[i]);
      // NaN payloads may differ; only NaN-ness must agree.
      if (Number.isNaN(f32[i]) ? !(isNaN16(mine) && isNaN16(f16[i])) : mine !== f16[i]) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});

describe('safetensors BF16', () => {
  it('decodes as the top 16 bits of an F32, exactly', () => {
    const bits = [0x0000, 0x8000, 0x3f80, 0xc049, 0x7f80, 0xff80, 0x0001, 0x7f7f];
    const { tensors } = decodeSafetensors(
      fileWithRawTensor('BF16', [2, 4], u16le([...bits, 0x7fc0]).subarray(0, 16)),
    );
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const expected = bits.map((b) => {
      u32[0] = b << 16;
      return f32[0];
    });
    expect(tensors.x.shape).toEqual([2, 4]);
    expect(tensors.x.data).toBeInstanceOf(Float32Array);
    expected.forEach((v, i) => {
      expect(Object.is(tensors.x.data[i], v)).toBe(true);
    });
    expect(Array.from(tensors.x.data.slice(2, 6))).toEqual([
      1,
      -3.140625,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    expect(decodeSafetensors(fileWithRawTensor('BF16', [1], u16le([0x7fc1]))).tensors.x.data[0]).toBeNaN();
  });

  it('rounds to nearest, ties to even', () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const fromBits = (b: number) => {
      u32[0] = b;
      return f32[0];
    };
    expect(bf16BitsFromFloat(fromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(bf16BitsFromFloat(fromBits(0x3f818000))).toBe(0x3f82); // tie, odd goes up
    expect(bf16BitsFromFloat(fromBits(0x3f808001))).toBe(0x3f81);
    expect(bf16BitsFromFloat(fromBits(0x3f807fff))).toBe(0x3f80);
    expect(bf16BitsFromFloat(fromBits(0x7f7fffff))).toBe(0x7f80); // max F32 rounds to Inf
    expect(bf16BitsFromFloat(-0)).toBe(0x8000);
    expect(bf16BitsFromFloat(Number.NaN) & 0x7fc0).toBe(0x7fc0);
    const file = encodeSafetensors({
      w: { dtype: 'BF16', shape: [2], data: new Float32Array([Math.PI, -1]) },
    });
    expect(Array.from(decodeSafetensors(file).tensors.w.data)).toEqual([3.140625, -1]);
  });
});

describe('safetensors F64 and I64', () => {
  it('reads F64 rounded to F32 and I64 into int32, refusing values that do not fit', () => {
    const tensors = decodeSafetensors(
      encodeSafetensors({
        d: { dtype: 'F64', shape: [2], data: new Float32Array([0.5, -1e-3]) },
        i: { dtype: 'I64', shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
      }),
    ).tensors;
    expect(Array.from(tensors.d.data)).toEqual([0.5, Math.fround(-1e-3)]);
    expect(tensors.i.data).toBeInstanceOf(Int32Array);
    expect(Array.from(tensors.i.data)).toEqual([-1, 0, 2147483647]);
    const big = new Uint8Array(8);
    new DataView(big.buffer).setBigInt64(0, 2n ** 40n, true);
    expect(() => decodeSafetensors(fileWithRawTensor('I64', [1], big))).toThrow(/does not fit in int32/);
  });

  it('refuses unknown dtypes and data of the wrong array type', () => {
    expect(() => decodeSafetensors(fileWithRawTensor('F8_E4M3', [1], new Uint8Array(1)))).toThrow(
      SafetensorsFormatError,
    );
    expect(() => decodeSafetensors(fileWithRawTensor('toString', [1], new Uint8Array(1)))).toThrow(
      /not supported/,
    );
    expect(() => encodeSafetensors({ w: { dtype: 'F16', shape: [1], data: new Int32Array([1]) } })).toThrow(
      /Float32Array/,
    );
  });
});
