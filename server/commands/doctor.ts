import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { hashFile, quarantineDirOf, quarantineFile, SHA256_HEX } from '../blobs/blob-store';
import { CliUsageError, parseCommandArgs } from './args';
import { DEFAULT_DATA_DIR, dataLayout } from './data-dir';

const HELP = `usage: edgelight doctor [--data DIR] [--fix] [--quick] [--json]

Checks a data folder of 'edgelight serve': every file under DIR/blobs/ must hash (SHA-256) to its
name, and DIR/store.sqlite must pass SQLite's PRAGMA integrity_check. Prints one line per problem,
then a summary. Safe to run beside a running server (the store is opened read-only).
  --data    data folder (default ./${DEFAULT_DATA_DIR}, as for serve)
  --fix     move corrupt blobs and stray files to DIR/blobs-quarantine/ (nothing is deleted);
            a quarantined blob is missing until uploaded again
  --quick   PRAGMA quick_check instead of integrity_check (skips checking indexes against tables)
  --json    print one JSON object instead of lines
Exit status: 0 all fine; 1 problems found (also when --fix moved them: run again to confirm);
2 usage error.`;

export type DoctorFinding = {
  kind: 'corrupt_blob' | 'stray_file' | 'store';
  /** Relative to the data folder. */
  path: string;
  message: string;
  /** Where --fix moved it, relative to the data folder. */
  quarantined_as?: string;
};

export type DoctorReport = {
  data: string;
  ok: boolean;
  blobs: { checked: number; corrupt: number; stray: number; quarantined: number; present: boolean };
  store: { check: 'integrity_check' | 'quick_check'; present: boolean; ok: boolean; ms: number };
  findings: DoctorFinding[];
};

/** Every file of the blob folder checked against its name; `fix` moves the bad ones to quarantine. */
async function checkBlobs(
  dataDir: string,
  blobRoot: string,
  fix: boolean,
  report: DoctorReport,
): Promise<void> {
  if (!existsSync(blobRoot)) return;
  report.blobs.present = true;
  const quarantineDir = quarantineDirOf(blobRoot);
  const problem = async (kind: DoctorFinding['kind'], path: string, message: string) => {
    const finding: DoctorFinding = { kind, path: relative(dataDir, path), message };
    if (kind === 'corrupt_blob') report.blobs.corrupt++;
    else report.blobs.stray++;
    if (fix) {
      const moved = await quarantineFile(path, quarantineDir);
      if (moved) {
        finding.quarantined_as = relative(dataDir, moved);
        report.blobs.quarantined++;
      }
    }
    report.findings.push(finding);
  };
  const top = await readdir(blobRoot, { withFileTypes: true });
  for (const shard of top.sort((a, b) => a.name.localeCompare(b.name))) {
    const shardPath = join(blobRoot, shard.name);
    // Leftovers of interrupted uploads: never served, and cleared when serve starts.
    if (shard.name === 'tmp' && shard.isDirectory()) continue;
    if (!shard.isDirectory() || !/^[0-9a-f]{2}$/.test(shard.name)) {
      await problem('stray_file', shardPath, 'not a blob shard folder (blobs/ab/<sha256>)');
      continue;
    }
    const files = await readdir(shardPath, { withFileTypes: true });
    for (const file of files.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(shardPath, file.name);
      if (!file.isFile() || !SHA256_HEX.test(file.name) || !file.name.startsWith(shard.name)) {
        await problem('stray_file', path, 'not named by a sha256 in its shard: can never be served');
        continue;
      }
      report.blobs.checked++;
      const actual = await hashFile(path);
      if (actual !== file.name) {
        const size = statSync(path).size;
        await problem('corrupt_blob', path, `its ${size} bytes hash to ${actual}`);
      }
    }
  }
}

function checkStore(dataDir: string, storePath: string, report: DoctorReport): void {
  if (!existsSync(storePath)) return;
  report.store.present = true;
  const started = performance.now();
  const problem = (message: string) =>
    report.findings.push({ kind: 'store', path: relative(dataDir, storePath), message });
  let db: Database.Database | undefined;
  try {
    db = new Database(storePath, { readonly: true, fileMustExist: true });
    const rows = db.pragma(report.store.check, { simple: false }) as Record<string, string>[];
    const messages = rows.map((row) => String(Object.values(row)[0]));
    if (messages.length === 1 && messages[0] === 'ok') report.store.ok = true;
    else for (const message of messages) problem(`${report.store.check}: ${message}`);
  } catch (error) {
    problem(`cannot check: ${(error as Error).message}`);
  } finally {
    db?.close();
    report.store.ms = Math.round(performance.now() - started);
  }
}

export async function doctor(dataDir: string, options: { fix?: boolean; quick?: boolean } = {}) {
  const layout = dataLayout(dataDir);
  const report: DoctorReport = {
    data: dataDir,
    ok: false,
    blobs: { checked: 0, corrupt: 0, stray: 0, quarantined: 0, present: false },
    store: { check: options.quick ? 'quick_check' : 'integrity_check', present: false, ok: false, ms: 0 },
    findings: [],
  };
  await checkBlobs(dataDir, layout.blobs, options.fix ?? false, report);
  checkStore(dataDir, layout.store, report);
  report.ok = report.findings.length === 0;
  return report;
}

function summary(r: DoctorReport): string {
  const blobs = r.blobs.present
    ? `${r.blobs.checked} blobs checked, ${r.blobs.corrupt} corrupt, ${r.blobs.stray} stray` +
      (r.blobs.quarantined ? ` (${r.blobs.quarantined} moved to quarantine)` : '')
    : 'no blobs/ folder';
  const store = r.store.present
    ? `store.sqlite ${r.store.check} ${r.store.ok ? 'ok' : 'FAILED'} (${r.store.ms} ms)`
    : 'no store.sqlite';
  return `doctor ${r.data}: ${blobs}; ${store}: ${r.ok ? 'all fine' : `${r.findings.length} problem(s)`}`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    data: { type: 'string', default: DEFAULT_DATA_DIR },
    fix: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dataDir = resolve(values.data);
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory())
    throw new CliUsageError(`no data folder at ${dataDir} (--data DIR)`);
  const report = await doctor(dataDir, { fix: values.fix, quick: values.quick });
  if (values.json) console.log(JSON.stringify(report));
  else {
    for (const f of report.findings) {
      const moved = f.quarantined_as ? ` → moved to ${f.quarantined_as}` : '';
      console.log(`${f.kind.replace('_', ' ')} ${f.path}: ${f.message}${moved}`);
    }
    console.log(summary(report));
  }
  return report.ok ? 0 : 1;
}
