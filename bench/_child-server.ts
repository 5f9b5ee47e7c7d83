// The protocol of a benchmark's server process (bench/_server.ts, _chat.ts, _intake.ts): it prints
// `listening <url> [extra]` once ready, answers `cpu` on stdin with `cpu <microseconds>` (the CPU it has
// used, so a benchmark reports server CPU per request, which does not depend on how busy the machine
// is), answers its own extra commands, and on SIGTERM runs its shutdown and exits 0.

export function runChildServer(options: {
  url: string;
  /** Printed after the URL on the `listening` line. */
  extra?: string;
  /** Other stdin commands (one per line), e.g. `idle`. */
  commands?: Record<string, () => void>;
  shutdown: () => Promise<unknown>;
}): void {
  console.log(`listening ${options.url}${options.extra ? ` ${options.extra}` : ''}`);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    for (const command of text.split('\n').map((line) => line.trim())) {
      if (command === 'cpu') {
        const { user, system } = process.cpuUsage();
        console.log(`cpu ${user + system}`);
      } else options.commands?.[command]?.();
    }
  });
  process.on('SIGTERM', () => {
    void options.shutdown().then(() => process.exit(0));
  });
}
