// Worker threads do not inherit the tsx loader the CLI registered; register it, then run the
// TypeScript entry named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
