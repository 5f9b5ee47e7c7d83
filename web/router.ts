import { signal } from '@preact/signals';

// A hash router: the app is served as static files and works offline, so routes live in
// location.hash ("#/train") and survive a reload without server help.

export const ROUTES = ['feedback', 'inbox', 'dataset', 'train', 'traces', 'checkpoints', 'sync'] as const;
export type RouteName = (typeof ROUTES)[number];

export const ROUTE_TITLES: Record<RouteName, string> = {
  feedback: 'Feedback',
  inbox: 'Inbox',
  dataset: 'Dataset',
  train: 'Train',
  traces: 'Traces',
  checkpoints: 'Checkpoints',
  sync: 'Sync',
};

export type Route = { name: RouteName; params: URLSearchParams };

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const name = (ROUTES as readonly string[]).includes(path) ? (path as RouteName) : 'feedback';
  return { name, params: new URLSearchParams(query) };
}

export function hrefFor(name: RouteName, params?: Record<string, string>): string {
  const query = params ? `?${new URLSearchParams(params)}` : '';
  return `#/${name}${query}`;
}

export const route = signal<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    route.value = parseHash(location.hash);
  });
}

export function navigate(name: RouteName, params?: Record<string, string>): void {
  location.hash = hrefFor(name, params);
}
