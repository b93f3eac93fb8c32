// Datasets: every Insights dataset with its columns (types, restricted
// marks), metrics and what they aggregate, date ranges, minimum recurrence
// interval and system queries.

import { h, fill, loading, table } from './dom.mjs';
import { consoleApi } from './api.mjs';

let cache = null;
/** The catalog (it is compiled into the server, so one read per session). */
export async function catalog() {
  cache ||= consoleApi('datasets').then((r) => r.value).catch((e) => { cache = null; throw e; });
  return cache;
}

export async function datasetsPage(main) {
  fill(main, h('h1', {}, 'Datasets'), loading());
  const list = await catalog();
  fill(main,
    h('h1', {}, 'Datasets'),
    h('p', { class: 'muted' }, `${list.length} Insights datasets. Open one to see its columns and metrics, or write a query about it.`),
    h('div', { class: 'cards' }, list.map((d) => h('a', { class: 'card', href: `#/datasets/${encodeURIComponent(d.datasetName)}` },
      h('strong', {}, d.datasetName),
      h('span', { class: 'muted' }, `${d.columns.length} columns · ${d.metrics.length} metrics`),
      h('br'),
      h('span', { class: 'muted' }, d.dateColumn ? `dated by ${d.dateColumn}` : 'no date column')))));
}

export async function datasetPage(main, [name]) {
  fill(main, h('h1', {}, name), loading());
  const list = await catalog();
  const d = list.find((x) => x.datasetName.toLowerCase() === name.toLowerCase());
  if (!d) {
    fill(main, h('h1', {}, name), h('p', { role: 'alert' }, `There is no dataset named '${name}'. `, h('a', { href: '#/datasets' }, 'See every dataset')));
    return;
  }
  const firstColumns = d.columns.filter((c) => !c.restricted).slice(0, 3).map((c) => c.name);
  const starter = `SELECT ${firstColumns.join(', ')} FROM ${d.datasetName}${d.dateColumn ? ' TIMESPAN LAST_MONTH' : ''}`;
  const restrictedMark = (x) => (x.restricted ? h('span', { class: 'badge restricted', title: 'Redacted for ReportViewer' }, 'restricted') : '');
  fill(main,
    h('h1', {}, d.datasetName),
    h('div', { class: 'row' },
      h('a', { class: 'button', href: `#/query?q=${encodeURIComponent(starter)}` }, 'Write a query'),
    ),
    h('div', { class: 'panel' }, h('dl', { class: 'facts' },
      h('dt', {}, 'Date column'), h('dd', {}, d.dateColumn || 'none (no TIMESPAN)'),
      h('dt', {}, 'Date ranges'), h('dd', {}, d.availableDateRanges.length ? d.availableDateRanges.join(', ') : '—'),
      h('dt', {}, 'Minimum recurrence'), h('dd', {}, `${d.minimumRecurrenceInterval} hours`))),
    h('h2', {}, `Columns (${d.columns.length})`),
    table([
      { key: 'name', label: 'Column' },
      { key: 'type', label: 'Type' },
      { key: 'restricted', label: 'Restricted', render: restrictedMark },
    ], d.columns, { caption: `Columns of ${d.datasetName}` }),
    h('h2', {}, `Metrics (${d.metrics.length})`),
    d.metrics.length ? table([
      { key: 'name', label: 'Metric' },
      { key: 'definition', label: 'Aggregates', render: (m) => h('code', {}, m.definition) },
      { key: 'type', label: 'Type' },
      { key: 'restricted', label: 'Restricted', render: restrictedMark },
    ], d.metrics, { caption: `Metrics of ${d.datasetName}` }) : h('p', { class: 'empty' }, 'This dataset has no metrics.'),
    h('h2', {}, 'System queries'),
    d.systemQueries.length ? h('ul', {}, d.systemQueries.map((q) => h('li', {},
      h('code', {}, q.queryId), ' ',
      h('a', { href: `#/query?q=${encodeURIComponent(q.query)}` }, 'Open in the editor'),
      ' · ',
      h('a', { href: `#/reports/new?queryId=${encodeURIComponent(q.queryId)}` }, 'Schedule as a report')))) : h('p', { class: 'empty' }, 'No system query reads this dataset.'));
}
