// The data folder every server-side command shares (`edgelight serve --data DIR`, `edgelight doctor
// --data DIR`): one default and one layout, decided here.
import { join } from 'node:path';

/** `--data`'s default, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.edgelight';

/** Where things live inside a data folder. */
export function dataLayout(dataDir: string) {
  return {
    store: join(dataDir, 'store.sqlite'),
    blobs: join(dataDir, 'blobs'),
    runs: join(dataDir, 'runs'),
    /** The review loop's decisions, feed cursor and webhook outbox (server/review/db.ts). */
    review: join(dataDir, 'review.sqlite'),
  };
}
