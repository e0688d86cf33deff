import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../src/telemetry';
import { type Harness, startHarness } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let h: Harness;
let telemetry: Telemetry;
let browser: Browser;
let url: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  telemetry = startTelemetry({}, 'browser-test');
  h = await startHarness({}, undefined, telemetry);
  url = await h.server.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await telemetry?.shutdown();
});

describe('the web page in headless Chromium', () => {
  it('places two crossing orders through the form and shows the trade and the new book', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${url}/`);
    await expect.poll(() => page.locator('#token').inputValue()).toBe('demo-alice');
    await expect.poll(() => page.locator('#trades').textContent()).toContain('no trades yet');
    await expect.poll(() => page.locator('#balances').textContent()).toContain('1000000');

    // Bob offers 0.5 BTC at 31000.
    await page.fill('#token', 'demo-bob');
    await page.selectOption('#side', 'sell');
    await page.fill('#amount', '0.5');
    await page.fill('#price', '31000');
    await page.click('#submit');
    await expect.poll(() => page.locator('#result').textContent()).toMatch(/: open \(filled 0 of 0\.5\)/);
    await expect.poll(() => page.locator('#asks').textContent()).toContain('31000');
    await expect.poll(() => page.locator('#best-ask').textContent()).toBe('31000');

    // Alice buys 0.2 BTC up to 31500: it trades at Bob's price.
    await page.fill('#token', 'demo-alice');
    await page.selectOption('#side', 'buy');
    await page.fill('#amount', '0.2');
    await page.fill('#price', '31500');
    await page.click('#submit');
    await expect
      .poll(() => page.locator('#result').textContent())
      .toMatch(/: filled \(filled 0\.2 of 0\.2\)/);
    await expect.poll(() => page.locator('#trades').textContent()).toContain('31000');
    await expect.poll(() => page.locator('#trades tr').first().textContent()).toContain('0.2');
    await expect.poll(() => page.locator('#last-price').textContent()).toBe('31000');
    // What is left of Bob's offer.
    await expect.poll(() => page.locator('#asks tr').first().textContent()).toContain('0.3');
    // Alice's own orders, newest first.
    await expect
      .poll(() => page.locator('#orders tr').first().textContent())
      .toMatch(/BTC\/USD.*buy.*filled/);

    // A bad order shows the field error from the API.
    await page.fill('#amount', '0.00001');
    await page.click('#submit');
    await expect.poll(() => page.locator('#result').textContent()).toContain('422');
    await expect.poll(() => page.locator('#result').textContent()).toContain('at least 0.0001 BTC');

    // The monitoring panel shows the guide's five metrics of this process.
    await expect.poll(() => page.locator('#monitoring').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#m-command').textContent()).toMatch(/^[\d.]+ ms \/ [\d.]+ ms$/);
    await expect.poll(() => page.locator('#m-cache').textContent()).toMatch(/^[\d.]+ % \(\d+ of \d+\)$/);
    await expect.poll(() => page.locator('#m-depth').textContent()).toBe('commands 0, events 0');
    await expect
      .poll(() => page.locator('#m-errors').textContent())
      .toMatch(/^[\d.]+ % \(\d+, 0 dead-lettered\)$/);

    await page.screenshot({ path: 'test-results/exchange-page.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
