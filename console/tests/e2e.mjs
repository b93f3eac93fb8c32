// End-to-end tests of the console in headless Chromium (Debian's package,
// driven by playwright-core), against a running server. Run by the server's
// integration tests (console.rs), which start the server and pass:
//   CONSOLE_URL  …/console/           CREDS  path of demo-credentials.json
//   VIEWER       {"username","password"} of a ReportViewer user of the demo tenant
//   ARTIFACTS    directory for screenshots and e2e-report.json
//   CHROMIUM     the browser (default /usr/bin/chromium)
// Every page is checked with axe-core (no serious or critical violation)
// and screenshotted; any console error or uncaught exception fails the run.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const consoleUrl = process.env.CONSOLE_URL;
const creds = JSON.parse(readFileSync(process.env.CREDS, 'utf8'));
const viewer = JSON.parse(process.env.VIEWER);
const artifacts = process.env.ARTIFACTS || 'e2e-artifacts';
mkdirSync(artifacts, { recursive: true });

const report = { pages: {}, timings: {}, axe: {}, weights: {} };
const problems = [];
const fail = (what) => { problems.push(what); console.error(`FAIL: ${what}`); };
const check = (ok, what) => { if (!ok) fail(what); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  headless: true,
});
const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(30_000);
// A refused call is logged by the browser as a failed resource load; the
// steps that provoke one on purpose say so.
let expectRefusals = false;
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (expectRefusals && m.text().startsWith('Failed to load resource')) return;
  fail(`console error: ${m.text()}`);
});
page.on('pageerror', (e) => fail(`uncaught exception: ${e.message}`));

// Bytes per page: encoded (transferred) body sizes of every response.
let bucket = null;
page.on('requestfinished', async (req) => {
  if (!bucket) return;
  const b = bucket;
  try {
    const sizes = await req.sizes();
    if (!(sizes.responseBodySize > 0)) return; // answered from the cache
    const kind = req.url().includes('/console/assets/') || req.resourceType() === 'document' ? 'assets' : 'api';
    b[kind] = (b[kind] || 0) + sizes.responseBodySize;
    b.requests = (b.requests || 0) + 1;
  } catch { /* the page went away */ }
});
const measure = (name) => { bucket = {}; report.weights[name] = bucket; };

async function audit(name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  report.axe[name] = result.violations.map((v) => `${v.impact}: ${v.id} (${v.nodes.length})`);
  for (const v of bad) fail(`axe on ${name}: ${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  report.pages[name] = page.url();
}

/** Data points of the chart drawn in `selector` (waits for a live chart). */
async function chartPoints(selector) {
  const handle = await page.waitForFunction((sel) => {
    const c = document.querySelector(`${sel} canvas`);
    const chart = c && window.Chart.getChart(c);
    return chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : false;
  }, selector);
  return handle.jsonValue();
}

async function signIn(mode, user) {
  await page.getByLabel('Tenant').fill(creds.tenantId);
  await page.getByLabel('Client id').fill(creds.clientId);
  await page.getByLabel('Client secret').fill(creds.clientSecret);
  if (mode === 'user') {
    await page.getByLabel('User name').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
  }
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
}

/** RENEWAL=1: only sign in and watch the tokens renew (a server whose
 * tokens live 60 s, so the console renews them after 10 s). */
async function renewalOnly() {
  const grants = [];
  page.on('request', (req) => {
    if (req.method() === 'POST' && /\/oauth2\/token$/.test(new URL(req.url()).pathname)) {
      grants.push(new URLSearchParams(req.postData() || '').get('grant_type'));
    }
  });
  await page.goto(consoleUrl);
  await signIn('user', { username: creds.username, password: creds.password });
  const t0 = Date.now();
  while (grants.filter((g) => g === 'refresh_token').length < 2 && Date.now() - t0 < 30_000) {
    await page.waitForTimeout(500);
  }
  report.renewal = { grants, afterMs: Date.now() - t0 };
  check(grants.filter((g) => g === 'password').length === 2, `one password grant per API (${grants})`);
  check(grants.filter((g) => g === 'refresh_token').length >= 2, `both tokens renewed with the refresh token (${grants})`);
  // The renewed tokens work: a page of each API loads.
  await page.getByRole('link', { name: 'Reports', exact: true }).click();
  await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Store analytics' }).click();
  await page.locator('.card').first().waitFor();
  check(await page.getByRole('button', { name: 'Sign out' }).count() === 1, 'still signed in');
}

try {
  if (process.env.RENEWAL) await renewalOnly();
  else await everyPage();
} catch (e) {
  fail(`${e.message}`);
  await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}

async function everyPage() {
  // 1. Sign-in page, then the demo user.
  measure('signin');
  const t0 = Date.now();
  await page.goto(consoleUrl);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  report.timings.firstLoadMs = Date.now() - t0;
  await audit('signin');
  await page.getByLabel('Tenant').fill(creds.tenantId);
  await page.getByLabel('Client id').fill(creds.clientId);
  expectRefusals = true;
  await page.getByLabel('Client secret').fill('wrong secret');
  await page.getByLabel('User name').fill(creds.username);
  await page.getByLabel('Password').fill(creds.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /secret/i }).waitFor();
  expectRefusals = false;
  measure('datasets');
  await signIn('user', { username: creds.username, password: creds.password });
  await page.locator('.card').nth(19).waitFor();
  await audit('datasets');

  // 2. A dataset.
  measure('dataset');
  await page.getByRole('link', { name: /CustomersAndTenants/ }).click();
  await page.getByRole('heading', { name: 'CustomersAndTenants', level: 1 }).waitFor();
  check(await page.getByRole('cell', { name: 'BilledRevenueUSD', exact: true }).count() === 1, 'the metrics table names BilledRevenueUSD');
  check(await page.locator('.badge.restricted').count() >= 1, 'restricted metrics are marked');
  await audit('dataset');

  // 3. The editor: completion, a misspelt column underlined with its suggestion, accepted.
  measure('editor');
  await page.getByRole('link', { name: 'Query editor' }).click();
  const editor = page.getByLabel('Query', { exact: true });
  await editor.fill('');
  await editor.pressSequentially('SELECT Month, CustomerMar', { delay: 20 });
  const option = page.getByRole('option', { name: /CustomerMarket/ });
  await option.waitFor();
  await editor.press('Enter');
  check((await editor.inputValue()) === 'SELECT Month, CustomerMarket', `completion accepted: ${await editor.inputValue()}`);
  await editor.fill('');
  await editor.pressSequentially('SELECT Month, CustomerMarkt, AvailableSeats FROM CustomersAndTenants TIMESPAN LAST_6_MONTHS', { delay: 5 });
  await page.locator('.diagnostics li', { hasText: "Did you mean 'CustomerMarket'?" }).waitFor();
  const mark = page.locator('.layer mark');
  check((await mark.textContent()) === 'CustomerMarkt', `the underline covers the misspelt name: ${await mark.textContent()}`);
  const diag = page.locator('.diagnostics li').first();
  check(/Did you mean 'CustomerMarket'\?/.test(await diag.textContent()), `the suggestion is shown: ${await diag.textContent()}`);
  await page.getByRole('button', { name: "Use 'CustomerMarket'" }).click();
  await page.locator('.diagnostics li.ok').waitFor();
  check(await mark.count() === 0, 'no underline once the suggestion is accepted');
  check((await editor.inputValue()).includes('CustomerMarket,'), 'the suggestion replaced the name');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('heading', { name: /Preview: \d+ rows/ }).waitFor();
  const rows = await page.locator('[role=tabpanel] tbody tr').count();
  check(rows > 0, 'the preview shows rows');
  await page.getByRole('columnheader', { name: 'AvailableSeats' }).getByRole('button').click();
  check(await page.locator('th[aria-sort]').count() === 1, 'a column sorts');
  await page.getByRole('tab', { name: 'Chart' }).click();
  const tChart = Date.now();
  const points = await chartPoints('[role=tabpanel]:not([hidden])');
  report.timings.previewChartMs = Date.now() - tChart;
  check(points > 0, `the preview chart has data points (${points})`);
  report.previewChartPoints = points;
  await audit('editor');

  // 4. Save it, run it now as a report, watch it complete, download the file.
  await page.getByLabel('Name', { exact: true }).fill('Console e2e query');
  await page.getByRole('button', { name: 'Save query' }).click();
  await page.getByRole('link', { name: 'Schedule it as a report' }).click();
  await page.getByRole('heading', { name: 'New report' }).waitFor();
  measure('new-report');
  await page.getByLabel('Report name').fill('Console e2e report');
  await page.getByRole('radio', { name: 'On a schedule' }).check();
  await page.getByLabel('Every (hours)').fill('2');
  expectRefusals = true;
  await page.getByRole('button', { name: 'Create report' }).click();
  const inline = page.locator('#' + (await page.getByLabel('Every (hours)').getAttribute('id')) + '-error');
  await inline.filter({ hasText: /Recurrence interval should be between 4 and 2160/ }).waitFor();
  expectRefusals = false;
  await audit('new-report');
  await page.getByRole('radio', { name: 'Run now, once' }).check();
  await page.getByRole('button', { name: 'Create report' }).click();
  measure('report');
  await page.getByRole('heading', { name: 'Console e2e report', level: 1 }).waitFor();
  await page.locator('.timeline li.Completed').waitFor({ timeout: 60_000 });
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download' }).click();
  const download = await downloadPromise;
  const fromConsole = readFileSync(await download.path());
  const shaShown = (await page.locator('.timeline code.sha').first().textContent()).trim();
  const reportId = (await page.locator('dt:has-text("Report id") + dd code').textContent()).trim();
  // The same file through the API, with a token of our own.
  const api = new URL('..', consoleUrl).href;
  const tokenRes = await fetch(`${api}${creds.tenantId}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret, resource: creds.insightsResource }),
  });
  const token = (await tokenRes.json()).access_token;
  const ex = await (await fetch(`${api}insights/v1/mpn/ScheduledReport/execution/${reportId}`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const fromApi = Buffer.from(await (await fetch(ex.value[0].reportAccessSecureLink)).arrayBuffer());
  check(fromConsole.equals(fromApi), `the console's download equals the API's (${fromConsole.length} vs ${fromApi.length} bytes)`);
  const sha = createHash('sha256').update(fromConsole).digest('hex');
  check(sha === ex.value[0].sha256 && sha === shaShown, `the file's SHA-256 matches the execution (${sha})`);
  report.download = { bytes: fromConsole.length, sha256: sha };
  await audit('report');

  measure('reports');
  await page.getByRole('link', { name: 'Reports', exact: true }).click();
  await page.getByRole('link', { name: 'Console e2e report' }).first().waitFor();
  check(await page.locator('.badge.Completed').count() >= 1, 'the list shows the latest result');
  await audit('reports');

  // A recurring report: create, pause, resume, edit, delete.
  await page.getByRole('link', { name: 'New report' }).click();
  await page.getByLabel('Report name').fill('Console e2e schedule');
  await page.getByLabel('Query', { exact: true }).selectOption({ label: 'Console e2e query' });
  await page.getByRole('radio', { name: 'On a schedule' }).check();
  await page.getByLabel('Every (hours)').fill('24');
  await page.getByRole('button', { name: 'Create report' }).click();
  await page.getByRole('heading', { name: 'Console e2e schedule', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('dd .badge.Paused').waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('dd .badge.Active').waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Every (hours)').fill('48');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('dd', { hasText: 'Every 48 h' }).waitFor();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Confirm: delete' }).click();
  await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
  check(await page.getByRole('link', { name: 'Console e2e schedule' }).count() === 0, 'the deleted report is gone');

  measure('queries');
  await page.getByRole('link', { name: 'Saved queries' }).click();
  await page.getByRole('cell', { name: 'Console e2e query' }).first().waitFor();
  await audit('queries');
  const saved = page.getByRole('row', { name: /Console e2e query/ });
  const before = await saved.count();
  await saved.first().getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Confirm: delete' }).click();
  await page.locator('#toast', { hasText: "Deleted query 'Console e2e query'" }).waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('tbody tr').length === n - 1
    || document.querySelector('.empty'), before);

  // 5. Store dashboards of a demo app.
  measure('store');
  await page.getByRole('link', { name: 'Store analytics' }).click();
  await page.locator('.card').first().waitFor();
  check(await page.locator('.card').count() >= 2, 'the demo publisher has several apps');
  await audit('store');
  measure('store-acquisitions');
  const tAcq = Date.now();
  await page.locator('.card').first().click();
  const acq = await chartPoints('#acq-time');
  report.timings.acquisitionsFirstChartMs = Date.now() - tAcq;
  check(acq > 0, `acquisitions over time has points (${acq})`);
  check(await chartPoints('#acq-market') > 0, 'acquisitions by market has bars');
  check(await chartPoints('#acq-device') > 0, 'acquisitions by device has bars');
  check(await chartPoints('#acq-funnel') > 0, 'the funnel has bars');
  await audit('store-acquisitions');
  await page.getByLabel('Market', { exact: true }).fill('US');
  await page.getByLabel('Aggregation', { exact: true }).selectOption('week');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/market=US/);
  check(await chartPoints('#acq-time') > 0, 'acquisitions for one market by week has points');
  measure('store-usage');
  await page.getByRole('link', { name: 'Usage' }).click();
  check(await chartPoints('#use-daily') > 0, 'daily usage has points');
  await audit('store-usage');
  measure('store-health');
  const tHealth = Date.now();
  await page.getByRole('link', { name: 'Health' }).click();
  const hits = await chartPoints('#health-time');
  report.timings.healthFirstChartMs = Date.now() - tHealth;
  check(hits > 0, `failure hits over time has points (${hits})`);
  await page.getByRole('button', { name: 'Details' }).first().click();
  await page.getByRole('heading', { name: 'Failure details' }).waitFor();
  await page.getByRole('button', { name: 'Stack trace' }).first().click();
  await page.getByRole('heading', { name: /Stack trace of CAB/ }).waitFor();
  check(await page.locator('table:has(caption:text("Stack trace")) tbody tr').count() > 0, 'the stack trace has frames');
  const cabButton = page.getByRole('button', { name: 'Download CAB' }).first();
  if (await cabButton.count()) {
    const cabPromise = page.waitForEvent('download');
    await cabButton.click();
    const cab = readFileSync(await (await cabPromise).path());
    check(cab.subarray(0, 4).toString('latin1') === 'MSCF', 'the CAB download is a cabinet file');
  } else fail('no downloadable CAB in the demo data');
  await audit('store-health');
  measure('store-ratings');
  await page.getByRole('link', { name: 'Ratings and reviews' }).click();
  check(await chartPoints('#ratings-dist') > 0, 'the ratings distribution has bars');
  await audit('store-ratings');

  // 6. Dark theme.
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await page.getByRole('link', { name: 'Acquisitions' }).click();
  await chartPoints('#acq-time');
  await audit('store-acquisitions-dark');
  await page.getByRole('link', { name: 'Datasets' }).click();
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
  await audit('datasets-dark');
  await page.getByRole('button', { name: 'Dark theme' }).click();

  // 7. A ReportViewer sees restricted values redacted, and may not filter on them.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await signIn('user', viewer);
  measure('redacted');
  await page.getByRole('link', { name: 'Query editor' }).click();
  const ed = page.getByLabel('Query', { exact: true });
  await ed.fill('SELECT CustomerName, BilledRevenueUSD FROM CustomersAndTenants WHERE BilledRevenueUSD > 10 TIMESPAN LAST_6_MONTHS');
  await ed.press('End');
  await page.locator('.diagnostics li', { hasText: /restricted/ }).waitFor();
  await ed.fill('SELECT CustomerName, BilledRevenueUSD FROM CustomersAndTenants TIMESPAN LAST_6_MONTHS');
  await ed.press('End');
  await page.locator('.diagnostics li.ok').waitFor();
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('[data-redacted]').waitFor();
  const revenue = await page.$$eval('[role=tabpanel] tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  check(revenue.length > 0 && revenue.every((v) => v === ''), `restricted values are empty for a ReportViewer (${revenue.slice(0, 3)})`);
  await audit('redacted');

  // 8. An app signs in with its client credentials alone; a phone-sized screen.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('radio', { name: /An app/ }).check();
  await signIn('app');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'Store analytics' }).click();
  await page.locator('.card').first().click();
  check(await chartPoints('#acq-time') > 0, 'the app sees the Store dashboards');
  await audit('store-acquisitions-narrow');
}

report.problems = problems;
writeFileSync(join(artifacts, 'e2e-report.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
process.exit(problems.length ? 1 : 0);
