// Store analytics dashboards per app, in the spirit of the Store's own
// reports: acquisitions (over time, by market and device, the funnel),
// usage (daily and monthly active), health (failure hits over time → a
// failure's CABs → a stack trace → the CAB file), and ratings with reviews.
// The date range and filters map to the API's startDate/endDate, filter,
// groupby and aggregationLevel; the hash holds them, so a view is a link.

import { h, fill, loading, table, errorBox, empty, routeParams } from './dom.mjs';
import { store, consoleApi, call, serviceToday } from './api.mjs';
import { drawChart } from './charts.mjs';

const TABS = [['acquisitions', 'Acquisitions'], ['usage', 'Usage'], ['health', 'Health'], ['ratings', 'Ratings and reviews']];
const DEVICES = ['PC', 'Phone', 'Console-Xbox One', 'Console-Xbox Series X', 'IoT', 'Holographic', 'Unknown'];
/** Days each tab's data goes back (the API refuses older dates). */
const RETENTION = { usage: 90, health: 30 };

const addDays = (iso, n) => {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};

export async function storeAppsPage(main, _args, alive) {
  fill(main, h('h1', {}, 'Store analytics'), loading());
  const products = (await consoleApi('store/products', {}, 'store')).value;
  if (!alive()) return;
  const apps = products.filter((p) => p.productType.toLowerCase() === 'app');
  const others = products.filter((p) => p.productType.toLowerCase() !== 'app');
  fill(main,
    h('h1', {}, 'Store analytics'),
    apps.length === 0 ? empty('This account has no Store apps.')
      : h('div', { class: 'cards' }, apps.map((p) => h('a', { class: 'card', href: `#/store/${encodeURIComponent(p.applicationId)}/acquisitions` },
        h('strong', {}, p.productName || p.applicationId), h('span', { class: 'muted' }, p.applicationId)))),
    others.length ? [h('h2', {}, 'Other products'), table([
      { key: 'productName', label: 'Name' },
      { key: 'applicationId', label: 'Id' },
      { key: 'productType', label: 'Type' },
    ], others, { caption: 'Other products' })] : null);
}

/** The view's settings, from the hash (defaults: the last 30 days). */
async function settings(tab) {
  const p = routeParams();
  const today = await serviceToday();
  const keep = RETENTION[tab];
  let start = p.get('start') || addDays(today, -29);
  const end = p.get('end') || today;
  if (keep && start < addDays(today, -(keep - 1))) start = addDays(today, -(keep - 1));
  return { start, end, level: p.get('level') || 'day', market: p.get('market') || '', device: p.get('device') || '', today };
}

function filterOf(s) {
  const parts = [];
  if (s.market) parts.push(`market eq '${s.market.replace(/'/g, "''")}'`);
  if (s.device) parts.push(`deviceType eq '${s.device.replace(/'/g, "''")}'`);
  return parts.join(' and ');
}

function controls(app, tab, s) {
  const start = h('input', { type: 'date', id: 'range-start', value: s.start, max: s.today });
  const end = h('input', { type: 'date', id: 'range-end', value: s.end, max: s.today });
  const level = h('select', { id: 'range-level' }, ['day', 'week', 'month'].map((l) => h('option', { value: l, selected: l === s.level }, l)));
  const market = h('input', { id: 'filter-market', value: s.market, placeholder: 'e.g. US', size: '6', maxlength: '8' });
  const device = h('select', { id: 'filter-device' }, h('option', { value: '' }, 'All devices'), DEVICES.map((d) => h('option', { value: d, selected: d === s.device }, d)));
  const form = h('form', { class: 'panel row', 'aria-label': 'Date range and filters' },
    h('div', { class: 'field' }, h('label', { for: start.id }, 'From'), start),
    h('div', { class: 'field' }, h('label', { for: end.id }, 'To'), end),
    tab === 'health' || tab === 'usage' ? null : h('div', { class: 'field' }, h('label', { for: level.id }, 'Aggregation'), level),
    tab === 'ratings' ? null : h('div', { class: 'field' }, h('label', { for: market.id }, 'Market'), market),
    tab === 'ratings' ? null : h('div', { class: 'field' }, h('label', { for: device.id }, 'Device type'), device),
    h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ start: start.value, end: end.value, level: level.value });
    if (market.value.trim()) q.set('market', market.value.trim());
    if (device.value) q.set('device', device.value);
    location.hash = `#/store/${encodeURIComponent(app)}/${tab}?${q}`;
  });
  return form;
}

export async function storeAppPage(main, [app, tabName], alive) {
  const tab = TABS.some(([t]) => t === tabName) ? tabName : 'acquisitions';
  const s = await settings(tab);
  const query = location.hash.includes('?') ? location.hash.slice(location.hash.indexOf('?')) : '';
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Dashboards' }, TABS.map(([t, label]) => h('a', {
    href: `#/store/${encodeURIComponent(app)}/${t}${query}`, 'aria-current': t === tab ? 'page' : undefined,
  }, label)));
  const body = h('div', {}, loading());
  const products = await consoleApi('store/products', {}, 'store').then((r) => r.value).catch(() => []);
  if (!alive()) return;
  const product = products.find((p) => p.applicationId.toLowerCase() === app.toLowerCase());
  const title = `${product?.productName || app}: ${TABS.find(([t]) => t === tab)[1]}`;
  fill(main, h('h1', {}, title), h('p', { class: 'muted' }, `Store ID ${app}`), nav, controls(app, tab, s), body);
  const common = { applicationId: app, startDate: s.start, endDate: s.end };
  const views = { acquisitions, usage, health, ratings };
  await views[tab](body, common, s, alive);
}

function chartPanel(title, id) {
  const box = h('div', { class: 'chart-box', id });
  return { box, panel: h('section', { class: 'panel', 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, title), box) };
}

/** Loads each part on its own, so one failing call shows its own error. */
async function part(box, load) {
  try {
    await load();
  } catch (e) {
    fill(box, errorBox(e));
  }
}

const byKey = (rows, key, value) => {
  const m = new Map();
  for (const r of rows) m.set(r[key] ?? 'Unknown', (m.get(r[key] ?? 'Unknown') || 0) + (Number(r[value]) || 0));
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
};

async function acquisitions(body, common, s, alive) {
  const over = chartPanel('Acquisitions over time', 'acq-time');
  const markets = chartPanel('By market (top 10)', 'acq-market');
  const devices = chartPanel('By device type', 'acq-device');
  const funnel = chartPanel('Acquisition funnel', 'acq-funnel');
  fill(body, over.panel, h('div', { class: 'grid' }, markets.panel, devices.panel, funnel.panel));
  const filter = filterOf(s);
  await Promise.all([
    part(over.box, async () => {
      const r = await store('appacquisitions', { ...common, groupby: 'date', aggregationLevel: s.level, filter, orderby: 'date' });
      if (!alive()) return;
      const rows = r.Value.filter((x) => x.date);
      if (!rows.length) { fill(over.box, empty('No acquisitions in this range.')); return; }
      drawChart(over.box, { type: 'line', title: 'Acquisitions', labels: rows.map((x) => x.date), xTitle: s.level, yTitle: 'Acquisitions', series: [{ label: 'Acquisitions', data: rows.map((x) => x.acquisitionQuantity) }] });
    }),
    part(markets.box, async () => {
      const r = await store('appacquisitions', { ...common, groupby: 'market', filter });
      if (!alive()) return;
      const top = byKey(r.Value, 'market', 'acquisitionQuantity').slice(0, 10);
      if (!top.length) { fill(markets.box, empty('No acquisitions in this range.')); return; }
      drawChart(markets.box, { type: 'bar', title: 'Acquisitions by market', labels: top.map(([k]) => k), xTitle: 'Market', series: [{ label: 'Acquisitions', data: top.map(([, v]) => v) }] });
    }),
    part(devices.box, async () => {
      const r = await store('appacquisitions', { ...common, groupby: 'deviceType', filter });
      if (!alive()) return;
      const all = byKey(r.Value, 'deviceType', 'acquisitionQuantity');
      if (!all.length) { fill(devices.box, empty('No acquisitions in this range.')); return; }
      drawChart(devices.box, { type: 'bar', horizontal: true, title: 'Acquisitions by device type', labels: all.map(([k]) => k), series: [{ label: 'Acquisitions', data: all.map(([, v]) => v) }] });
    }),
    part(funnel.box, async () => {
      const fFilter = s.market ? `market eq '${s.market.replace(/'/g, "''")}'` : undefined;
      const r = await store('funnel', { ...common, filter: fFilter });
      if (!alive()) return;
      const rows = r.Value;
      if (!rows.length) { fill(funnel.box, empty('No funnel data in this range.')); return; }
      drawChart(funnel.box, { type: 'bar', title: 'Funnel', labels: rows.map((x) => x.MetricType), series: [{ label: 'Users', data: rows.map((x) => Number(x.UserCount)) }] });
    }),
  ]);
}

async function usage(body, common, s, alive) {
  const daily = chartPanel('Daily active users and devices', 'use-daily');
  const monthly = chartPanel('Monthly active users', 'use-monthly');
  fill(body, daily.panel, monthly.panel);
  const filter = filterOf(s);
  await Promise.all([
    part(daily.box, async () => {
      const r = await store('usagedaily', { ...common, groupby: 'date', filter, orderby: 'date' });
      if (!alive()) return;
      const rows = r.Value.filter((x) => x.date).sort((a, b) => (a.date < b.date ? -1 : 1));
      if (!rows.length) { fill(daily.box, empty('No usage in this range (usage is kept 90 days).')); return; }
      drawChart(daily.box, {
        type: 'line', title: 'Daily active users', labels: rows.map((x) => x.date.slice(0, 10)), xTitle: 'day',
        series: [{ label: 'Daily active users', data: rows.map((x) => x.dailyActiveUsers) }, { label: 'Daily active devices', data: rows.map((x) => x.dailyActiveDevices) }],
      });
    }),
    part(monthly.box, async () => {
      // Months of the whole retention (90 days), whatever the range.
      const r = await store('usagemonthly', { ...common, startDate: addDays(s.today, -89), endDate: s.today, groupby: 'date', filter, orderby: 'date' });
      if (!alive()) return;
      const rows = r.Value.filter((x) => x.date).sort((a, b) => (a.date < b.date ? -1 : 1));
      if (!rows.length) { fill(monthly.box, empty('No monthly usage in this range.')); return; }
      drawChart(monthly.box, { type: 'bar', title: 'Monthly active users', labels: rows.map((x) => x.date.slice(0, 7)), xTitle: 'month', series: [{ label: 'Monthly active users', data: rows.map((x) => x.monthlyActiveUsers) }] });
    }),
  ]);
}

async function health(body, common, s, alive) {
  const over = chartPanel('Failure hits over time', 'health-time');
  const failures = h('section', { class: 'panel', 'aria-labelledby': 'failures-h' }, h('h2', { id: 'failures-h' }, 'Failures'), loading());
  const details = h('section', { 'aria-live': 'polite' });
  fill(body, over.panel, failures, details);
  const filter = filterOf(s);
  await Promise.all([
    part(over.box, async () => {
      // Every failurehits row carries its date bucket: no groupby means one row a day.
      const r = await store('failurehits', { ...common, aggregationLevel: 'day', filter });
      if (!alive()) return;
      const rows = r.Value.filter((x) => x.date).sort((a, b) => (a.date < b.date ? -1 : 1));
      if (!rows.length) { fill(over.box, empty('No failures in this range (failures are kept 30 days).')); return; }
      drawChart(over.box, {
        type: 'line', title: 'Failure hits', labels: rows.map((x) => x.date.slice(0, 10)), xTitle: 'day',
        series: [{ label: 'Events', data: rows.map((x) => x.eventCount) }, { label: 'Devices', data: rows.map((x) => x.deviceCount) }],
      });
    }),
    part(failures, async () => {
      const r = await store('failurehits', { ...common, groupby: 'failureName,failureHash', aggregationLevel: 'month', filter });
      if (!alive()) return;
      // One row per month bucket: summed per failure over the range.
      const merged = new Map();
      for (const x of r.Value.filter((v) => v.failureHash)) {
        const m = merged.get(x.failureHash) || { failureName: x.failureName, failureHash: x.failureHash, eventCount: 0, deviceCount: 0 };
        m.eventCount += Number(x.eventCount) || 0;
        m.deviceCount += Number(x.deviceCount) || 0;
        merged.set(x.failureHash, m);
      }
      const rows = [...merged.values()].sort((a, b) => b.eventCount - a.eventCount).slice(0, 50);
      fill(failures, h('h2', { id: 'failures-h' }, 'Failures'),
        rows.length === 0 ? empty('No failures in this range.') : table([
          { key: 'failureName', label: 'Failure', render: (x) => h('code', {}, x.failureName) },
          { key: 'eventCount', label: 'Events', num: true },
          { key: 'deviceCount', label: 'Devices', num: true },
          { key: 'failureHash', label: 'Reports', render: (x) => h('button', { type: 'button', class: 'secondary', onclick: () => failureDetails(details, common, x, alive) }, 'Details') },
        ], rows, { caption: 'Failures by events' }));
    }),
  ]);
}

async function failureDetails(box, common, failure, alive) {
  fill(box, loading('Loading the failure’s reports…'));
  const trace = h('div', { 'aria-live': 'polite' });
  await part(box, async () => {
    const r = await store('failuredetails', { applicationId: common.applicationId, failureHash: failure.failureHash, startDate: common.startDate, endDate: common.endDate });
    if (!alive()) return;
    fill(box, h('section', { class: 'panel', 'aria-labelledby': 'details-h' },
      h('h2', { id: 'details-h' }, 'Failure details'),
      h('p', {}, h('code', {}, failure.failureName)),
      r.Value.length === 0 ? empty('No reports of this failure in the range.') : table([
        { key: 'date', label: 'Date' },
        { key: 'market', label: 'Market' },
        { key: 'deviceModel', label: 'Device' },
        { key: 'osBuild', label: 'OS build' },
        { key: 'packageVersion', label: 'Version' },
        { key: 'cabId', label: 'CAB', render: (x) => h('div', { class: 'row' },
          h('button', { type: 'button', class: 'secondary', onclick: () => stackTrace(trace, common, x.cabId, alive) }, 'Stack trace'),
          x.cabDownloadable ? h('button', { type: 'button', class: 'secondary', onclick: (e) => downloadCab(e.currentTarget, common, x.cabId) }, 'Download CAB') : null) },
      ], r.Value.slice(0, 100), { caption: 'Failure reports' }),
      trace));
  });
}

async function stackTrace(box, common, cabId, alive) {
  fill(box, loading('Loading the stack trace…'));
  await part(box, async () => {
    const r = await store('stacktrace', { applicationId: common.applicationId, cabId });
    if (!alive()) return;
    fill(box, h('h3', {}, `Stack trace of CAB ${cabId}`), table([
      { key: 'level', label: 'Frame' },
      { key: 'image', label: 'Image' },
      { key: 'function', label: 'Function', render: (x) => h('code', {}, x.function) },
      { key: 'offset', label: 'Offset', render: (x) => h('code', {}, x.offset) },
    ], r.Value, { caption: 'Stack trace', sortable: false }));
  });
}

/** The API answers 302 to a signed link; fetch follows it with the token. */
async function downloadCab(button, common, cabId) {
  button.disabled = true;
  try {
    const q = new URLSearchParams({ applicationId: common.applicationId, cabId });
    const res = await call('store', `v1.0/my/analytics/cabdownload?${q}`, { raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `${cabId}.cab` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    button.after(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

async function ratings(body, common, s, alive) {
  const dist = chartPanel('Ratings distribution', 'ratings-dist');
  const reviews = h('section', { class: 'panel', 'aria-labelledby': 'reviews-h' }, h('h2', { id: 'reviews-h' }, 'Latest reviews'), loading());
  fill(body, h('div', { class: 'grid' }, dist.panel, reviews));
  await Promise.all([
    part(dist.box, async () => {
      const r = await store('ratings', { ...common });
      if (!alive()) return;
      const keys = [['oneStar', '1 star'], ['twoStars', '2 stars'], ['threeStars', '3 stars'], ['fourStars', '4 stars'], ['fiveStars', '5 stars']];
      const totals = keys.map(([k]) => r.Value.reduce((n, x) => n + (Number(x[k]) || 0), 0));
      if (totals.every((v) => v === 0)) { fill(dist.box, empty('No ratings in this range.')); return; }
      drawChart(dist.box, { type: 'bar', title: 'Ratings', labels: keys.map(([, l]) => l), xTitle: 'Rating', series: [{ label: 'Ratings', data: totals }] });
    }),
    part(reviews, async () => {
      const r = await store('reviews', { ...common, orderby: 'date desc', top: 20 });
      if (!alive()) return;
      fill(reviews, h('h2', { id: 'reviews-h' }, 'Latest reviews'),
        r.Value.length === 0 ? empty('No reviews in this range.') : h('ul', {}, r.Value.map((x) => h('li', {},
          h('strong', { 'aria-hidden': 'true' }, `${'★'.repeat(x.rating || 0)}${'☆'.repeat(5 - (x.rating || 0))}`),
          h('span', { class: 'sr-only' }, `${x.rating} of 5`), ' ',
          x.reviewTitle ? h('strong', {}, x.reviewTitle) : null,
          h('div', {}, x.reviewText || ''),
          h('div', { class: 'muted' }, `${x.date} · ${x.market || ''} · ${x.deviceType || ''}`)))));
    }),
  ]);
}
