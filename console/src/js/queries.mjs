// Saved queries: the tenant's own (and, on request, the system ones), with
// open, schedule and delete.

import { h, fill, loading, table, confirmButton, toast, errorBox } from './dom.mjs';
import { insightsAll, insights } from './api.mjs';

export async function queriesPage(main, _args, alive) {
  const system = new URLSearchParams(location.hash.split('?')[1] || '').get('system') === 'true';
  fill(main, h('h1', {}, 'Saved queries'), loading());
  const list = await insightsAll(`ScheduledQueries?includeSystemQueries=${system}`);
  if (!alive()) return;
  const status = h('div', { 'aria-live': 'polite' });
  const toggle = h('a', { href: system ? '#/queries' : '#/queries?system=true' }, system ? 'Hide system queries' : 'Show system queries too');
  const actions = (q) => h('div', { class: 'row' },
    h('a', { class: 'button secondary', href: `#/query?q=${encodeURIComponent(q.query)}` }, 'Open'),
    h('a', { class: 'button secondary', href: `#/reports/new?queryId=${encodeURIComponent(q.queryId)}` }, 'Run as report'),
    q.type === 'userDefined' ? confirmButton('Delete', async () => {
      try {
        await insights(`ScheduledQueries/${encodeURIComponent(q.queryId)}`, { method: 'DELETE' });
        toast(`Deleted query '${q.name}'.`);
        queriesPage(main, [], alive);
      } catch (e) {
        fill(status, errorBox(e));
      }
    }) : null);
  fill(main,
    h('h1', {}, 'Saved queries'),
    h('div', { class: 'row' }, h('a', { class: 'button', href: '#/query' }, 'New query'), toggle),
    status,
    list.length === 0
      ? h('p', { class: 'empty' }, 'No saved queries yet. Write one in the query editor and save it.')
      : table([
        { key: 'name', label: 'Name' },
        { key: 'query', label: 'Query', render: (q) => h('code', {}, q.query) },
        { key: 'type', label: 'Type' },
        { key: 'createdTime', label: 'Created' },
        { key: 'queryId', label: 'Actions', render: actions },
      ], list, { caption: 'Saved queries' }));
}
