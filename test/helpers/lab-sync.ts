// Driving the lab's Sync page from a test: one pass, waited for until it is over and the outbox empty.
import type { Page } from 'playwright-core';

/**
 * Opens the Sync page, presses "Sync now" and waits until the last-sync time changes and nothing is
 * pending. Locator waits (not expect.poll), so it also works in beforeAll.
 */
export async function syncNow(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Sync', exact: true }).click();
  const last = await page.getByTestId('sync-last').textContent();
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page
    .getByTestId('sync-last')
    .filter({ hasNotText: last ?? '' })
    .waitFor({ timeout: 60_000 });
  await page.getByTestId('sync-pending').filter({ hasText: /^0$/ }).waitFor({ timeout: 60_000 });
}
