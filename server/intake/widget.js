/* edgelight feedback widget: served at GET /widget.js by `edgelight serve --intake-key ...`.
 *
 *   <div id="feedback"></div>
 *   <script src="https://EDGELIGHT-HOST/widget.js" data-intake-key="KEY" data-target="#feedback" async></script>
 *
 * Renders a small form into data-target (or right after the script) that posts JSON to the server the
 * script came from (POST /v1/feedback with the X-Edgelight-Intake-Key header). A retry after a network
 * error reuses the submission's Idempotency-Key, so the feedback is filed once. The page's origin must
 * be on the key's list (serve --intake-origin NAME=ORIGIN). No cookies, no storage, no dependencies.
 */
(() => {
  const script = document.currentScript;
  if (!script?.src) return;
  const endpoint = new URL('/v1/feedback', script.src).toString();
  const key = script.getAttribute('data-intake-key') || '';
  const label = script.getAttribute('data-label') || 'Your feedback';
  const selector = script.getAttribute('data-target');
  let host = selector ? document.querySelector(selector) : null;
  if (!host) {
    host = document.createElement('div');
    script.after(host);
  }
  const uid = `edgelight-${Math.random().toString(36).slice(2, 8)}`;
  const categories = [
    ['', 'What is it about? (optional)'],
    ['website-bug', 'Something is broken'],
    ['content-gap', 'Something is missing or unclear'],
    ['feature-request', 'An idea'],
    ['positive', 'Praise'],
  ];
  const form = document.createElement('form');
  form.className = 'edgelight-feedback';
  form.noValidate = false;
  form.innerHTML = `
    <label for="${uid}-text">${label}</label>
    <textarea id="${uid}-text" name="text" required maxlength="5000" rows="4"></textarea>
    <select name="category" aria-label="Category"></select>
    <button type="submit">Send</button>
    <p class="edgelight-feedback-status" role="status" aria-live="polite"></p>`;
  const select = form.querySelector('select');
  for (const [value, text] of categories) select.add(new Option(text, value));
  const status = form.querySelector('.edgelight-feedback-status');
  const button = form.querySelector('button');
  host.append(form);

  // One key per submission: kept until the server has it, so a retry cannot file it twice.
  let idempotencyKey = null;
  form.addEventListener('input', () => {
    idempotencyKey = null;
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = form.elements.text.value.trim();
    if (!text) return;
    idempotencyKey ??= crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
    const body = { text, page: location.origin + location.pathname, locale: navigator.language };
    if (select.value) body.category = select.value;
    button.disabled = true;
    status.textContent = 'Sending…';
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Edgelight-Intake-Key': key,
          'Idempotency-Key': idempotencyKey,
        },
        body: JSON.stringify(body),
        credentials: 'omit',
      });
      if (response.status === 202) {
        form.reset();
        idempotencyKey = null;
        status.textContent = 'Thank you: your feedback was received.';
        return;
      }
      const retry = response.headers.get('Retry-After');
      const error = await response.json().catch(() => null);
      status.textContent =
        response.status === 429
          ? `Busy right now; please try again${retry ? ` in ${retry} s` : ' shortly'}.`
          : `Not sent: ${error?.error?.message ?? `HTTP ${response.status}`}`;
    } catch {
      status.textContent = 'Not sent: the network failed. Try again; it will be filed once.';
    } finally {
      button.disabled = false;
    }
  });
})();
