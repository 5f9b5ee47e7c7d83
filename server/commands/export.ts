// `edgelight export --checkpoint RUN_OR_DIR --peft DIR | --merged DIR`: takes a trained policy to Python.
// --peft writes a LoRA run's adapter as a PEFT adapter folder (shared/hf/peft.ts: adapter_config.json +
// adapter_model.safetensors with PEFT's key names), which `PeftModel.from_pretrained(base, DIR)` loads;
// --merged writes the model (base + adapter folded in, or a full fine-tune as it is) as a Hugging Face model
// folder in its family's layout (config.json + model.safetensors + the tokenizer files), which
// `AutoModelForCausalLM.from_pretrained(DIR)` loads. A preset has no Hugging Face family: --merged refuses
// it with what it lacks, --peft still works (the adapter's keys then name the preset's own modules).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exportMergedHf, exportPeftAdapter, hfModelFiles } from '../../shared/hf/peft';
import { policyFromCheckpoint, readNamedTensors } from '../../shared/policy/checkpoint-policy';
import { selectBackend } from '../../shared/train/backend';
import { readCheckpointDirectory, resolveCheckpointDirectory } from '../checkpoints/directory';
import { writeFileAtomic } from '../write-file-atomic';
import { CliUsageError, parseCommandArgs } from './args';

export const HELP = `usage: edgelight export --checkpoint RUN_OR_DIR [--peft DIR] [--merged DIR] [--base-model NAME]

Writes a checkpoint in the formats Python's transformers and PEFT read:
  --checkpoint  a run folder (its latest checkpoint) or a checkpoint folder
  --peft        a LoRA run's adapter: DIR/adapter_config.json + DIR/adapter_model.safetensors
  --merged      the model, adapter folded in, as a Hugging Face model folder: config.json,
                model.safetensors, tokenizer.json, tokenizer_config.json (GPT-2 / Llama configurations only)
  --base-model  the base model's name or path, written into adapter_config.json (default: unset)
At least one of --peft and --merged. Prints what it wrote as JSON.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    checkpoint: { type: 'string' },
    peft: { type: 'string' },
    merged: { type: 'string' },
    'base-model': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.checkpoint) throw new CliUsageError('--checkpoint RUN_OR_DIR is required');
  if (!values.peft && !values.merged) throw new CliUsageError('give --peft DIR, --merged DIR or both');

  let loaded: Awaited<ReturnType<typeof readCheckpointDirectory>>;
  try {
    loaded = await readCheckpointDirectory(await resolveCheckpointDirectory(values.checkpoint));
  } catch (error) {
    throw new CliUsageError(`--checkpoint ${values.checkpoint}: ${(error as Error).message}`);
  }
  await selectBackend({ prefer: 'cpu' }); // export only reads and adds weights
  let opened: ReturnType<typeof policyFromCheckpoint>;
  try {
    opened = policyFromCheckpoint(loaded.checkpoint, { adapter: 'separate' });
  } catch (error) {
    throw new CliUsageError(`--checkpoint ${values.checkpoint}: ${(error as Error).message}`);
  }
  const { policy, tokenizer, lora } = opened;
  const written: Record<string, string[]> = {};
  try {
    if (values.peft) {
      if (!lora)
        throw new CliUsageError(
          `--peft: ${values.checkpoint} carries no LoRA adapter (train with --lora-rank R); --merged exports a full model`,
        );
      const { files } = await exportPeftAdapter(lora, { baseModel: values['base-model'] });
      written.peft = await writeFolder(values.peft, files);
    }
    if (values.merged) {
      let files: Record<string, Uint8Array>;
      try {
        files = lora
          ? (await exportMergedHf(policy, lora)).files
          : hfModelFiles(policy.config, await readNamedTensors(policy.weights)).files;
      } catch (error) {
        if (error instanceof CliUsageError) throw error;
        throw new CliUsageError(`--merged: ${(error as Error).message}`);
      }
      const text = (s: string) => new TextEncoder().encode(s);
      files['tokenizer.json'] = text(tokenizer.toText());
      files['tokenizer_config.json'] = text(
        `${JSON.stringify(tokenizer.configJson(policy.config.blockSize), null, 2)}\n`,
      );
      written.merged = await writeFolder(values.merged, files);
    }
  } finally {
    lora?.dispose();
    policy.dispose();
  }
  console.log(JSON.stringify({ checkpoint: loaded.id, lora: lora !== null, written }));
  return 0;
}

async function writeFolder(dir: string, files: Record<string, Uint8Array>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(dir, name), bytes);
  return Object.keys(files).sort();
}
