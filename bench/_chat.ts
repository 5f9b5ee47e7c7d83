// The server process of `npm run bench -- chat`: /v1/chat/completions over a SQLite store and a blob
// folder in DATA_DIR, on a loopback port, so the benchmark's clients and the server use separate cores.
// Usage: _chat.ts DATA_DIR tiny|small
//   tiny   the shipped starter policy (model "served")
//   small  a RANDOMLY INITIALISED small-preset policy with the starter's tokenizer (speed figures only:
//          its replies are noise and rarely end before max_tokens)
// Prints `listening <url> <model>` once ready; answers `cpu` on stdin with its CPU time in microseconds.
import { join } from 'node:path';
import { createApp } from '../server/app';
import { DirectoryBlobStorage } from '../server/checkpoints/directory';
import { listen } from '../server/listen';
import { runChildServer } from './_child-server';
import { openChatServing } from '../server/serving/chat';
import { readServed } from '../server/serving/served';
import { openSqliteStore } from '../server/store/sqlite';
import { loadCheckpoint, saveCheckpoint } from '../shared/policy/checkpoint';
import { checkpointFromPolicy, policyFromCheckpoint } from '../shared/policy/checkpoint-policy';
import { createPolicy, presetConfig } from '../shared/policy/model';

const [dataDir, preset = 'tiny'] = process.argv.slice(2);
if (!dataDir || (preset !== 'tiny' && preset !== 'small')) {
  console.error('usage: _chat.ts DATA_DIR tiny|small');
  process.exit(2);
}
const store = openSqliteStore(join(dataDir, 'store.sqlite'));
const blobsDir = join(dataDir, 'blobs');
const serving = await openChatServing(store, blobsDir, () => undefined);
let model = 'served';
if (preset === 'small') {
  const storage = new DirectoryBlobStorage(blobsDir);
  const served = (await readServed(store))!;
  const { tokenizer, policy: starter } = policyFromCheckpoint(
    await loadCheckpoint(storage, served.checkpointId),
  );
  starter.dispose();
  const small = createPolicy(
    presetConfig('small', { vocabSize: tokenizer.vocabSize, padId: tokenizer.padId }),
    {
      seed: 1,
    },
  );
  model = await saveCheckpoint(storage, await checkpointFromPolicy(small, tokenizer));
  small.dispose();
}
// Load (and warm) the policy before the clients start: the first load is not what is measured.
await serving.policies.get(model === 'served' ? (await readServed(store))!.checkpointId : model);
const server = await listen(createApp({ store, serving, rateLimitPerSecond: 0 }));
runChildServer({ url: server.url, extra: model, shutdown: () => server.close().then(() => store.close()) });
