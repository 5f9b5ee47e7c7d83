import * as Comlink from 'comlink';
import { modelConfigFromHf } from '../../shared/hf/architecture';
import { type FileSource, fileSourceFromFiles } from '../../shared/hf/files';
import { downloadModel, hubCacheFileSource, hubFileKey, readJsonFromCache } from '../../shared/hf/hub';
import { OpfsHubCache } from '../../shared/hf/hub-cache';
import { checkpointFromHfModel } from '../../shared/hf/import';
import { inspectModel } from '../../shared/hf/inspect';
import { checkpointFromFiles, checkpointToFiles } from '../../shared/policy/checkpoint';
import { readTar, writeTar } from '../../worker/lab/tar';
import type { HfProgress, HubTarget, ModelCheck, PickedFile } from './hf-types';

// The Hugging Face work of the lab, off the page's thread: what a Hub model costs (headers only), its
// download into the origin-private file system (shared/hf/hub-cache.ts's OpfsHubCache, resumable), its
// conversion into an edgelight checkpoint (shared/hf/import.ts), and a checkpoint's export as a PEFT adapter
// or a merged Hugging Face folder (shared/hf/peft.ts). Checkpoints travel as the lab's .tar bundles: the
// page hands them to and from the lab worker, which owns the checkpoint store.

const cache = new OpfsHubCache();
const jobs = new Map<number, AbortController>();

function hubOptions(target: HubTarget) {
  return {
    endpoint: target.endpoint,
    revision: target.revision,
    ...(target.token ? { token: target.token } : {}),
  };
}

/** Whether the policy runs the architecture of this config.json, and if not, why. */
function supportOf(config: unknown): ModelCheck['supported'] {
  try {
    modelConfigFromHf(config);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

async function run<T>(job: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  jobs.set(job, controller);
  try {
    return await work(controller.signal);
  } finally {
    jobs.delete(job);
  }
}

/** A model folder's files as a checkpoint bundle (.tar), read with progress. */
async function bundleOf(
  source: FileSource,
  signal: AbortSignal,
  onProgress: (p: HfProgress) => void,
): Promise<Uint8Array> {
  const checkpoint = await checkpointFromHfModel(source, {
    signal,
    onProgress: (p) =>
      onProgress({ phase: 'convert', file: p.file, bytes: p.bytesRead, total: p.bytesTotal }),
  });
  signal.throwIfAborted();
  onProgress({ phase: 'save', file: '', bytes: 0, total: null });
  const { files } = await checkpointToFiles(checkpoint);
  return writeTar(files, Date.now() / 1000);
}

const api = {
  /** What downloading the repo would cost, from config.json and the weight files' headers alone. */
  async inspect(target: HubTarget): Promise<ModelCheck> {
    const hub = hubOptions(target);
    const cost = await inspectModel(target.repo, { ...hub, cache });
    const config = await readJsonFromCache(cache, hubFileKey(target.repo, 'config.json', hub));
    return { cost, supported: supportOf(config) };
  },

  /** Downloads the repo into the Hub cache (what is there already is not fetched again), then converts it. */
  importHub(job: number, target: HubTarget, onProgress: (p: HfProgress) => void): Promise<Uint8Array> {
    return run(job, async (signal) => {
      const hub = hubOptions(target);
      await downloadModel(target.repo, undefined, {
        ...hub,
        cache,
        signal,
        onProgress: (p) =>
          onProgress({ phase: 'download', file: p.file, bytes: p.overallBytes, total: p.overallTotal }),
      });
      const bytes = await bundleOf(hubCacheFileSource(cache, target.repo, hub), signal, onProgress);
      return Comlink.transfer(bytes, [bytes.buffer]);
    });
  },

  /** Converts a model folder the user picked or dropped (names relative to that folder). */
  importFiles(job: number, picked: PickedFile[], onProgress: (p: HfProgress) => void): Promise<Uint8Array> {
    return run(job, async (signal) => {
      const source = fileSourceFromFiles(
        picked.map((p) => new File([p.file], p.name)),
        'the chosen folder',
      );
      const bytes = await bundleOf(source, signal, onProgress);
      return Comlink.transfer(bytes, [bytes.buffer]);
    });
  },

  cancel(job: number): void {
    jobs.get(job)?.abort(new DOMException('cancelled', 'AbortError'));
  },

  /** What a checkpoint bundle can be exported as: a PEFT adapter only when it carries one. */
  async describeBundle(bundle: Uint8Array): Promise<{ lora: boolean }> {
    const { checkpoint } = await checkpointFromFiles(readTar(bundle));
    return { lora: checkpoint.config.lora !== undefined };
  },

  /**
   * A checkpoint bundle as Hugging Face files: `adapter` (adapter_config.json + adapter_model.safetensors)
   * or `merged` (config.json + model.safetensors, adapter folded in, + the checkpoint's tokenizer files),
   * as `edgelight export --peft / --merged` writes them (server/commands/export.ts).
   */
  async exportBundle(
    bundle: Uint8Array,
    kind: 'adapter' | 'merged',
    baseModel?: string,
  ): Promise<Record<string, Uint8Array>> {
    const tarFiles = readTar(bundle);
    const { checkpoint } = await checkpointFromFiles(tarFiles);
    const [{ selectBackend }, peft, { policyFromCheckpoint, readNamedTensors }] = await Promise.all([
      import('../../shared/train/backend'),
      import('../../shared/hf/peft'),
      import('../../shared/policy/checkpoint-policy'),
    ]);
    await selectBackend({ prefer: 'cpu' }); // export only reads and adds weights
    const { policy, lora } = policyFromCheckpoint(checkpoint, { adapter: 'separate' });
    try {
      if (kind === 'adapter') {
        if (!lora)
          throw new Error('this checkpoint carries no LoRA adapter: export the merged model instead');
        return (await peft.exportPeftAdapter(lora, baseModel ? { baseModel } : {})).files;
      }
      const files = lora
        ? (await peft.exportMergedHf(policy, lora)).files
        : peft.hfModelFiles(policy.config, await readNamedTensors(policy.weights)).files;
      // The tokenizer as the checkpoint keeps it (an imported model's own tokenizer_config.json included).
      for (const name of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'])
        if (tarFiles[name]) files[name] = tarFiles[name];
      return files;
    } finally {
      lora?.dispose();
      policy.dispose();
    }
  },
};

export type HfApi = typeof api;

Comlink.expose(api);
