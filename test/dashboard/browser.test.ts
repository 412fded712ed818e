import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DashboardHandle,
  type DriftView,
  type PipelineStatus,
  startDashboard,
} from '../../src/dashboard/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { findChromium, skipWithoutChromium } from '../helpers/chromium.js';
import { record } from './fixtures.js';

const HOSTILE_ID = '<img src=x onerror="window.__pwned=1">';
const HOSTILE_REASON = '<script>window.__pwned=2</script>';

describe.skipIf(skipWithoutChromium())('dashboard page in headless Chromium', () => {
  const store = new MemoryStore();
  let dashboard: DashboardHandle;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let drift: DriftView | null = null;

  /** Waits until the element `selector` shows exactly `text` (the page redraws on each snapshot). */
  const shows = (selector: string, text: string): Promise<void> =>
    page
      .locator(selector, { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
      .waitFor();

  let status: PipelineStatus | undefined;

  beforeAll(async () => {
    const now = Date.now();
    await store.persistBatch([
      record(1, now - 2_000, 'approve', 0.1),
      record(2, now - 1_500, 'approve', 0.2),
      record(3, now - 1_000, 'review', 0.72),
    ]);
    dashboard = await startDashboard({
      store,
      port: 0,
      pushIntervalMs: 200,
      title: 'fraudstream browser test',
      info: { source: 'test fixtures' },
      drift: () => drift,
      pipeline: () => status,
    });
    browser = await chromium.launch({ executablePath: findChromium()! });
    page = await browser.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error')
        problems.push(`console error: ${message.text()} (${message.location().url})`);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it('shows the store, then follows new records, alerts and dead letters live', async () => {
    await page.goto(dashboard.url);
    expect(await page.title()).toBe('fraudstream browser test');
    await shows('#status', 'live');
    await shows('#total-transactions', '3');
    await shows('#latest-score', '0.720');
    await shows('#decision-review', '1 (33.3%)');
    await shows('#alerts tr:first-child td:nth-child(3)', 'tx-3');
    expect(await page.locator('.uplot').count()).toBe(4);
    expect(await page.locator('#series tr').allTextContents()).toEqual([
      expect.stringMatching(/^fraud-tstype=fraud_score3/),
      expect.stringMatching(/^fraudulent_tstype=fraud_score1/),
      expect.stringMatching(/^non-fraudulent_tstype=fraud_score2/),
    ]);
    expect(await page.locator('#info').textContent()).toBe('sourcetest fixtures');

    const now = Date.now();
    await store.persistBatch([
      record(4, now, 'approve', 0.05),
      record(5, now, 'approve', 0.15),
      record(6, now, 'decline', 0.98, { transactionId: HOSTILE_ID, reason: HOSTILE_REASON }),
    ]);
    await store.deadLetter([
      {
        position: '42',
        payload: '<b>not json',
        reason: 'payload: not JSON',
        errorName: 'ParseError',
        atMs: now,
      },
    ]);
    await shows('#total-transactions', '6');
    await shows('#latest-score', '0.980');
    await shows('#dead-letters', '1');
    await shows('#decision-decline', '1 (16.7%)');
    await shows('#window-flagged', '2');

    // Text from the data is shown as text, never parsed as markup.
    const newest = page.locator('#alerts tr:first-child td');
    expect(await newest.nth(1).textContent()).toBe('decline');
    expect(await newest.nth(2).textContent()).toBe(HOSTILE_ID);
    expect(await newest.nth(7).textContent()).toBe(`${HOSTILE_REASON} (rule)`);
    expect(await page.locator('#latest-detail').textContent()).toContain(HOSTILE_ID);
    expect(await page.locator('#dead td.payload').textContent()).toBe('<b>not json');
    expect(await page.locator('main img, main script, #dead b').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();

    expect(await page.locator('#stall').isVisible()).toBe(false);

    // The consumer stalls on a failing store; the transport has dead-lettered records too.
    status = {
      stalledSinceMs: Date.now() - 30_000,
      lastStoreError: 'StoreError: OOM command not allowed',
      storeRetries: 12,
      deadLetters: { store: { ParseError: 1 }, transport: { 'max-deliveries': 10 } },
    };
    await page.locator('#stall').waitFor({ state: 'visible' });
    expect(await page.locator('#stall').textContent()).toMatch(
      /^stalled: the store has been failing for \d+ s \(StoreError, 12 retries\)/,
    );
    await shows('#dead-letters', '11');
    expect(await page.locator('#dead-letter-detail').textContent()).toBe(
      'transport max-deliveries: 10 · store ParseError: 1',
    );
    status = { ...status, stalledSinceMs: undefined };
    await page.locator('#stall').waitFor({ state: 'hidden' });

    expect(problems).toEqual([]);
  });

  it('opens a transaction’s detail when an alert row is clicked', async () => {
    await shows('#alerts tr:first-child td:nth-child(2)', 'decline');
    expect(await page.locator('#detail').isVisible()).toBe(false);
    await page.locator('#alerts tr:first-child td:nth-child(7)').click();
    await page.locator('#detail-features tr').first().waitFor();
    expect(await page.locator('#detail').isVisible()).toBe(true);
    // The newest alert is record 6 (decline, score 0.98, the hostile id): its stored document.
    expect(await page.locator('#detail-title').textContent()).toBe(`tx-6@6`);
    const fact = (name: string) => page.locator(`#detail-facts dd[data-fact="${name}"]`).textContent();
    expect(await fact('decision')).toBe('decline');
    expect(await fact('transaction')).toBe(HOSTILE_ID);
    expect(await fact('fraud score')).toBe('0.9800');
    expect(await fact('classifier probability')).toBe('0.9800');
    expect(await fact('anomaly score (raw)')).toBe('1.0000');
    expect(await fact('anomaly score (normalised)')).toBe('0.5000');
    expect(await fact('card')).toBe('card-6');
    expect(await fact('event time')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await fact('decided')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.locator('#detail-reasons tr').allTextContents()).toEqual([
      `${HOSTILE_REASON}rule0.4000`,
    ]);
    expect(await page.locator('#detail-features tr').allTextContents()).toEqual(['TX_AMOUNT16.0000']);
    // Clicking the second alert (review, record 3) replaces the detail.
    await page.locator('#alerts tr:nth-child(2) td:nth-child(3)').click();
    await shows('#detail-title', 'tx-3@3');
    await shows('#detail-facts dd[data-fact="decision"]', 'review');
    await page.locator('#detail-close').click();
    expect(await page.locator('#detail').isVisible()).toBe(false);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('shows drift, with a warning above 0.2', async () => {
    await shows('#drift-detail', 'not measured by this process');
    drift = { score: 0.05, features: { TX_AMOUNT: 0.08 }, max: 0.08, samples: 5_000, warnAbove: 0.2 };
    await shows('#drift-max', '0.080');
    expect(await page.locator('#drift-panel').getAttribute('data-state')).toBe('ok');
    drift = { score: 0.05, features: { TX_AMOUNT: 0.31 }, max: 0.31, samples: 5_000, warnAbove: 0.2 };
    await shows('#drift-max', '0.310');
    expect(await page.locator('#drift-panel').getAttribute('data-state')).toBe('warn');
    expect(await page.locator('#drift-detail').textContent()).toMatch(
      /^warning: above 0.2; highest: TX_AMOUNT/,
    );
  });
});
