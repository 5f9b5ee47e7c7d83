import { describe, expect, it } from 'vitest';
import { hubFileUrl, shardFilesFromIndex } from '../../../shared/hf/hub';
import { hubKeySegments } from '../../../shared/hf/hub-cache';
import {
  parseSafetensorsHeader,
  SafetensorsHeaderError,
  safetensorsHeaderLength,
} from '../../../shared/hf/inspect';
import { encodeSafetensors } from '../../../shared/policy/safetensors';

describe('safetensors header parsing', () => {
  it('reads the length and entries that encodeSafetensors writes', () => {
    const bytes = encodeSafetensors(
      { w: { dtype: 'F32', shape: [3, 2], data: new Float32Array(6) } },
      { format: 'pt' },
    );
    const length = safetensorsHeaderLength(bytes.subarray(0, 8), 'x');
    const entries = parseSafetensorsHeader(new TextDecoder().decode(bytes.subarray(8, 8 + length)), 'x');
    expect(Object.keys(entries)).toEqual(['w']); // __metadata__ skipped
    expect(entries.w).toEqual({ dtype: 'F32', shape: [3, 2], data_offsets: [0, 24] });
    expect(8 + length + 24).toBe(bytes.byteLength);
  });

  it('knows the half-precision dtypes the Hub stores (2 bytes an element)', () => {
    const header = JSON.stringify({
      a: { dtype: 'BF16', shape: [4, 8], data_offsets: [0, 64] },
      b: { dtype: 'F16', shape: [8], data_offsets: [64, 80] },
    });
    expect(Object.keys(parseSafetensorsHeader(header, 'x'))).toEqual(['a', 'b']);
  });

  it('refuses unknown dtypes, offsets that disagree with the shape, and huge header lengths', () => {
    expect(() =>
      parseSafetensorsHeader('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}', 'f'),
    ).toThrow(/unknown safetensors dtype/);
    expect(() =>
      parseSafetensorsHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 'f'),
    ).toThrow(/data_offsets/);
    expect(() => parseSafetensorsHeader('[1]', 'f')).toThrow(SafetensorsHeaderError);
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => safetensorsHeaderLength(huge, 'f')).toThrow(/over the/);
  });
});

describe('Hub URL layout and cache keys', () => {
  it('builds {endpoint}/{repo}/resolve/{revision}/{file}', () => {
    expect(hubFileUrl('gpt2', 'config.json')).toBe('https://huggingface.co/gpt2/resolve/main/config.json');
    expect(
      hubFileUrl('Qwen/Qwen2-0.5B', 'onnx/model.onnx', { endpoint: 'http://h:1/', revision: 'refs/pr/1' }),
    ).toBe('http://h:1/Qwen/Qwen2-0.5B/resolve/refs%2Fpr%2F1/onnx/model.onnx');
  });

  it('refuses repo ids and paths that could leave the repo', () => {
    expect(() => hubFileUrl('../etc', 'config.json')).toThrow(/repo id/);
    expect(() => hubFileUrl('a/b', '../config.json')).toThrow(/file path/);
    expect(() => hubFileUrl('a/b', 'config.json', { endpoint: 'file:///etc' })).toThrow(
      /not an http\(s\) URL/,
    );
    expect(() =>
      hubKeySegments({ endpoint: 'https://huggingface.co', repo: 'a/b', revision: '..', file: 'x' }),
    ).toThrow();
  });

  it('lists each shard once, from the index weight_map', () => {
    const index = { weight_map: { a: 'm-2.safetensors', b: 'm-1.safetensors', c: 'm-2.safetensors' } };
    expect(shardFilesFromIndex(index, 'i')).toEqual(['m-1.safetensors', 'm-2.safetensors']);
    expect(() => shardFilesFromIndex({ weights: {} }, 'i')).toThrow(/not a safetensors index/);
  });
});
