import type { ComponentType } from 'preact';
import type { RouteName } from '../router';

// Each page is its own chunk, fetched on first visit, so the first load carries only the shell.
export const PAGE_LOADERS: Record<RouteName, () => Promise<{ default: ComponentType }>> = {
  feedback: () => import('./Feedback'),
  inbox: () => import('./Inbox'),
  dataset: () => import('./Dataset'),
  train: () => import('./Train'),
  traces: () => import('./Traces'),
  checkpoints: () => import('./Checkpoints'),
  sync: () => import('./Sync'),
};
