export function App() {
  return (
    <main>
      <h1>edgelight</h1>
      <p>A browser-first lab for training governed feedback-response agents.</p>
    </main>
  );
}
