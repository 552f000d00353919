/**
 * Driving the portal in a real browser (Debian's Chromium through playwright-core): launching it,
 * signing in through the form, reading what a page shows. Used by portal.browser.test.ts and by the
 * end-to-end tests that take a real gateway's output to the portal's screens.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

/** The browser the tests drive (no browser download). */
export const CHROMIUM = '/usr/bin/chromium';

/** Launch headless Chromium; fails with a clear message rather than a launch stack trace when it is missing. */
export async function launchChromium(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/**
 * Sign in to the portal at `url` through the form; unless `expectRefusal`, wait until the page
 * shows the signed-in shell.
 */
export async function signIn(
  page: Page,
  url: string,
  email: string,
  password: string,
  expectRefusal = false,
): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // A sign-in that silently failed would let later asserts pass for the wrong reason.
  if (!expectRefusal) await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 10_000 });
}

/** The rendered text of everything a locator matches. */
export async function text(locator: Locator): Promise<string> {
  return (await locator.allInnerTexts()).join('\n');
}
