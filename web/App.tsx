import { signal } from '@preact/signals';
import type { ComponentType } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { workerFailure } from './lab/client';
import { isActive, training, watchTraining } from './lab/training';
import { PAGE_LOADERS } from './pages';
import { ROUTE_TITLES, ROUTES, type RouteName, hrefFor, route } from './router';

const loadedPages = signal<Partial<Record<RouteName, ComponentType>>>({});
const loadError = signal('');

function loadPage(name: RouteName): void {
  if (loadedPages.value[name]) return;
  PAGE_LOADERS[name]()
    .then((module) => {
      loadedPages.value = { ...loadedPages.value, [name]: module.default };
    })
    .catch((error: unknown) => {
      loadError.value = `Could not load the ${ROUTE_TITLES[name]} page: ${String(error)}`;
    });
}

function Nav() {
  const current = route.value.name;
  return (
    <nav aria-label="Pages">
      <a class="brand" href={hrefFor('feedback')}>
        edgelight
      </a>
      <ul>
        {ROUTES.map((name) => (
          <li key={name}>
            <a href={hrefFor(name)} aria-current={name === current ? 'page' : undefined}>
              {ROUTE_TITLES[name]}
            </a>
          </li>
        ))}
      </ul>
      <TrainingIndicator />
    </nav>
  );
}

/** The worker's run, visible from every page: training continues while you browse. */
function TrainingIndicator() {
  const s = training.value;
  if (!isActive(s) && s.status !== 'failed') return null;
  return (
    <a class="nav-status" href={hrefFor('train')} data-testid="nav-training">
      {s.status === 'failed' ? 'training failed' : `${s.status} · step ${s.step}/${s.totalSteps}`}
    </a>
  );
}

export function App() {
  const name = route.value.name;
  const Page = loadedPages.value[name];
  const main = useRef<HTMLElement>(null);
  useEffect(watchTraining, []);
  useEffect(() => {
    loadPage(name);
    document.title = `${ROUTE_TITLES[name]} · edgelight`;
  }, [name]);
  return (
    <>
      {/* The hash belongs to the router, so skipping moves focus instead of following a fragment. */}
      <button type="button" class="skip-link" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header>
        <Nav />
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {workerFailure.value && (
          <p role="alert" class="error">
            The lab worker failed: {workerFailure.value}. Reload the page to start it again.
          </p>
        )}
        {loadError.value && (
          <p role="alert" class="error">
            {loadError.value}
          </p>
        )}
        {Page ? <Page /> : <p class="muted">Loading…</p>}
      </main>
    </>
  );
}
