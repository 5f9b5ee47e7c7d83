// The `edgelight` command line: one module per subcommand under server/commands/, loaded on demand
// so `edgelight govern` never pays for tfjs and `edgelight train` never pays for the web server.
import { CliUsageError } from './commands/args';
import { VERSION } from './version';

type Command = { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<number> }> };

const commands: Record<string, Command> = {
  serve: { summary: 'serve the API and the built web app', load: () => import('./commands/serve') },
  govern: { summary: 'run the governance pipeline over JSON Lines', load: () => import('./commands/govern') },
  rollouts: {
    summary: 'run the feedback agent over tasks, print a reward summary',
    load: () => import('./commands/rollouts'),
  },
  data: {
    summary: 'generate the synthetic feedback dataset and SFT corpus',
    load: () => import('./commands/data'),
  },
  train: {
    summary: 'train the reply policy (sft, grpo, rloo, dpo, kto)',
    load: () => import('./commands/train'),
  },
  'reward-model': {
    summary: "fit a reward model to reviewers' preference pairs",
    load: () => import('./commands/reward-model'),
  },
  eval: { summary: 'evaluate a checkpoint on feedback JSON Lines', load: () => import('./commands/eval') },
  hf: {
    summary: 'a Hugging Face model: what it costs (inspect), or fetch it into the cache (download)',
    load: () => import('./commands/hf'),
  },
  export: {
    summary: 'write a checkpoint for Python: a PEFT adapter, or a Hugging Face model folder',
    load: () => import('./commands/export'),
  },
  promote: {
    summary: "make a checkpoint a server's served policy, through its gate",
    load: () => import('./commands/promote'),
  },
  doctor: {
    summary: "check a data folder: blobs against their hashes, the SQLite store's integrity",
    load: () => import('./commands/doctor'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'usage: edgelight <command> [options]',
    '       edgelight --version',
    '',
    'commands:',
    ...lines,
    '',
    "Run 'edgelight <command> --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`edgelight: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const module = await command.load();
    return await module.run(rest);
  } catch (error) {
    // Usage mistakes are thrown as CliUsageError and reported without a stack trace.
    if (error instanceof CliUsageError) {
      console.error(`edgelight ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
