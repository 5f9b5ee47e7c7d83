// `edgelight hf inspect|download REPO`: a Hugging Face model repository, before and after downloading it.
// inspect reads config.json, the shard index and each weight file's header only (range requests:
// shared/hf/inspect.ts) and says what the model costs and whether the policy can run its architecture
// (shared/hf/architecture.ts); download fetches config, weights and tokenizer files into the Hub cache
// (resumable, SHA-256-checked: shared/hf/hub.ts) with a progress line, and prints where they are.
import { dirname } from 'node:path';
import { modelConfigFromHf } from '../../shared/hf/architecture';
import {
  DEFAULT_REVISION,
  downloadModel,
  HubHttpError,
  HubIntegrityError,
  hubFileKey,
} from '../../shared/hf/hub';
import { inspectModel } from '../../shared/hf/inspect';
import { FolderHubCache, defaultHubCacheFolder, hubEndpointFromEnv } from '../hf/folder-cache';
import { CliUsageError, parseCommandArgs } from './args';
import { createProgress } from './progress';

export const HELP = `usage: edgelight hf inspect REPO [options]
       edgelight hf download REPO [options]

inspect   what REPO costs before downloading it (config.json and the weight files' headers only):
          parameters, stored dtypes, bytes to download, memory as float32, and whether edgelight's policy
          runs its architecture (GPT-2, Llama, Qwen2)
download  config.json, the weights (model.safetensors or its shards) and the tokenizer files into the Hub
          cache; resumes a partial download, checks each weight file's SHA-256; prints the folder
  --revision  branch, tag or commit (default ${DEFAULT_REVISION})
  --endpoint  the Hub's URL (default: HF_ENDPOINT, else https://huggingface.co)
  --cache     the cache folder (default: EDGELIGHT_HUB_CACHE, else ~/.cache/edgelight/hub)
  --token     an access token for gated or private repos (default: HF_TOKEN)`;

export async function run(argv: string[]): Promise<number> {
  const [action, repo, ...rest] = argv;
  if (!action || action === '--help' || action === '-h') {
    console.log(HELP);
    return 0;
  }
  if (action !== 'inspect' && action !== 'download')
    throw new CliUsageError(`hf: unknown action '${action}' (inspect or download)`);
  if (!repo || repo.startsWith('-'))
    throw new CliUsageError(`hf ${action}: give the repo id, e.g. HuggingFaceTB/SmolLM2-135M`);
  const { values } = parseCommandArgs(rest, {
    revision: { type: 'string' },
    endpoint: { type: 'string' },
    cache: { type: 'string' },
    token: { type: 'string' },
  });
  const { hub, cache } = hubSettings(values);
  try {
    if (action === 'inspect') {
      const cost = await inspectModel(repo, { ...hub, cache });
      const config = await readConfig(cache, repo, hub);
      console.log(JSON.stringify({ ...cost, supported: supportOf(config) }));
      return 0;
    }
    const { folder, downloaded } = await downloadToCache(repo, hub, cache);
    const config = await readConfig(cache, repo, hub);
    console.log(
      JSON.stringify({
        repo,
        revision: hub.revision,
        folder,
        files: downloaded.files.map((f) => f.key.file),
        missing: downloaded.missing,
        supported: supportOf(config),
      }),
    );
    return 0;
  } catch (error) {
    if (error instanceof HubHttpError || error instanceof HubIntegrityError)
      throw new CliUsageError(`hf ${action} ${repo}: ${error.message}`);
    throw error;
  }
}

export type HubFlags = { revision?: string; endpoint?: string; cache?: string; token?: string };
export type HubSettings = { endpoint: string; revision: string; token: string | undefined };

/** The Hub and cache the flags (or HF_ENDPOINT, HF_TOKEN, EDGELIGHT_HUB_CACHE) name. */
export function hubSettings(flags: HubFlags): { hub: HubSettings; cache: FolderHubCache } {
  let endpoint: string;
  try {
    endpoint = flags.endpoint ?? hubEndpointFromEnv();
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  return {
    hub: {
      endpoint,
      revision: flags.revision ?? DEFAULT_REVISION,
      token: flags.token ?? process.env.HF_TOKEN ?? undefined,
    },
    cache: new FolderHubCache(flags.cache ?? defaultHubCacheFolder()),
  };
}

/**
 * Downloads `repo`'s model files into the cache (nothing is fetched for files already there) with a
 * progress line on stderr; gives the folder that holds them.
 */
export async function downloadToCache(
  repo: string,
  hub: HubSettings,
  cache: FolderHubCache,
): Promise<{ folder: string; downloaded: Awaited<ReturnType<typeof downloadModel>> }> {
  let progress: ReturnType<typeof createProgress> | null = null;
  const downloaded = await downloadModel(repo, undefined, {
    ...hub,
    cache,
    onProgress: (p) => {
      progress ??= createProgress({
        total: Math.max(1, p.overallTotal),
        label: `hf download ${repo}`,
        unit: 'bytes',
      });
      progress.update(p.overallBytes);
    },
  });
  (progress as ReturnType<typeof createProgress> | null)?.done();
  return { folder: dirname(cache.pathOf(hubFileKey(repo, 'config.json', hub))), downloaded };
}

async function readConfig(cache: FolderHubCache, repo: string, hub: { endpoint: string; revision: string }) {
  const bytes = await cache.readComplete(hubFileKey(repo, 'config.json', hub));
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
}

/** Whether the policy runs this architecture, and if not, why (the architecture module's own message). */
function supportOf(config: unknown): { ok: true } | { ok: false; reason: string } {
  try {
    modelConfigFromHf(config);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
