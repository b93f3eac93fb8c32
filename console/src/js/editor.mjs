// The query editor: live diagnostics underlined at their span with the
// suggestion one click (or Enter) away, completion of datasets, columns,
// metrics, keywords and TIMESPANs, and a preview of the first 100 rows as a
// sortable table and a chart. Checking is the server's parse + resolve
// (POST /console/api/check): nothing runs until Preview.

import { h, fill, loading, errorBox, table, field, setFieldError, toast, routeParams, uid } from './dom.mjs';
import { consoleApi, insights } from './api.mjs';
import { catalog } from './datasets.mjs';
import { drawChart } from './charts.mjs';

const CHECK_DELAY_MS = 120;
const WORD = /[A-Za-z0-9_]/;

/** Characters (code points), as the server counts them. */
const chars = (s) => Array.from(s);
const charIndex = (text, utf16) => chars(text.slice(0, utf16)).length;
const utf16Index = (text, charPos) => chars(text).slice(0, charPos).join('').length;

export async function editorPage(main, _args, alive) {
  const initial = routeParams().get('q') || 'SELECT Month, CustomerMarket, AvailableSeats FROM CustomersAndTenants TIMESPAN LAST_6_MONTHS';
  const listId = uid('completions');
  const textarea = h('textarea', {
    id: uid('query'), spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off', rows: '6',
    'aria-autocomplete': 'list', 'aria-controls': listId, 'aria-describedby': `${listId}-help`,
  });
  textarea.value = initial;
  const layer = h('div', { class: 'layer', 'aria-hidden': 'true' });
  const popup = h('ul', { class: 'completions', id: listId, role: 'listbox', 'aria-label': 'Completions', hidden: true });
  const diagnostics = h('ul', { class: 'diagnostics', 'aria-live': 'polite' });
  const result = h('div');
  const previewButton = h('button', { type: 'button' }, 'Preview');
  const saveName = field('Name', h('input', { name: 'name', maxlength: '200' }));
  const saveDescription = field('Description', h('input', { name: 'description', maxlength: '1000' }));
  const saveStatus = h('div', { 'aria-live': 'polite' });
  const saveForm = h('form', { class: 'panel', 'aria-labelledby': 'save-heading' },
    h('h2', { id: 'save-heading' }, 'Save this query'),
    h('div', { class: 'row' }, saveName.wrap, saveDescription.wrap, h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Save query'))),
    saveStatus);

  let state = { text: '', dataset: null, diagnostics: [], completions: [], replace: [0, 0], active: 0, open: false };
  let wantCompletions = false;
  let timer = null;
  let seq = 0;

  const drawLayer = () => {
    const cs = chars(textarea.value);
    const spans = state.diagnostics.map((d) => [d.start, Math.max(d.end, d.start + 1)]);
    const out = [];
    let at = 0;
    for (const [s, e] of spans.sort((a, b) => a[0] - b[0])) {
      if (s < at) continue;
      out.push(cs.slice(at, s).join(''));
      const marked = cs.slice(s, e).join('') || ' ';
      out.push(h('mark', {}, marked));
      at = Math.min(e, cs.length);
    }
    out.push(cs.slice(at).join(''));
    out.push('\u200b');
    fill(layer, out);
    layer.scrollTop = textarea.scrollTop;
  };

  const closePopup = () => {
    state.open = false;
    popup.hidden = true;
    textarea.removeAttribute('aria-activedescendant');
  };

  const drawPopup = () => {
    const word = chars(textarea.value).slice(state.replace[0], state.replace[1]).join('');
    const items = state.completions.filter((c) => c.label !== word);
    if (!wantCompletions || items.length === 0) {
      closePopup();
      return;
    }
    state.open = true;
    state.items = items;
    state.active = Math.min(state.active, items.length - 1);
    fill(popup, items.map((c, i) => h('li', {
      id: `${listId}-${i}`, role: 'option', 'aria-selected': String(i === state.active),
      onmousedown: (e) => { e.preventDefault(); accept(i); },
    }, h('span', {}, c.label), h('span', { class: 'k' }, c.detail || c.kind))));
    popup.hidden = false;
    textarea.setAttribute('aria-activedescendant', `${listId}-${state.active}`);
    // Under the caret: measure a marker in the mirror layer.
    const marker = h('span', {}, '\u200b');
    const cs = chars(textarea.value);
    fill(layer, cs.slice(0, state.replace[1]).join(''), marker, cs.slice(state.replace[1]).join(''));
    const top = marker.offsetTop - textarea.scrollTop + 24;
    const left = Math.min(marker.offsetLeft, Math.max(0, textarea.clientWidth - 260));
    popup.style.top = `${top}px`;
    popup.style.left = `${left}px`;
    drawLayer();
    popup.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  };

  const replaceChars = (start, end, text) => {
    const cs = chars(textarea.value);
    const next = cs.slice(0, start).join('') + text + cs.slice(end).join('');
    textarea.value = next;
    const caret = utf16Index(next, start + chars(text).length);
    textarea.setSelectionRange(caret, caret);
    textarea.focus();
  };

  const accept = (i) => {
    const c = state.items[i];
    if (!c) return;
    replaceChars(state.replace[0], state.replace[1], c.label);
    wantCompletions = false;
    closePopup();
    check();
  };

  const drawDiagnostics = () => {
    if (state.diagnostics.length === 0) {
      fill(diagnostics, h('li', { class: 'ok' }, state.text.trim() ? `The query is valid${state.dataset ? ` (dataset ${state.dataset})` : ''}.` : 'Type a query.'));
      return;
    }
    fill(diagnostics, state.diagnostics.map((d) => h('li', {},
      h('span', {}, d.message),
      d.suggestion ? h('button', {
        type: 'button', class: 'secondary',
        onclick: () => { replaceChars(d.start, d.end, d.suggestion); check(); },
      }, `Use '${d.suggestion}'`) : null)));
  };

  const check = async () => {
    clearTimeout(timer);
    const text = textarea.value;
    const cursor = charIndex(text, textarea.selectionStart);
    const mine = ++seq;
    let r;
    try {
      r = await consoleApi('check', { method: 'POST', body: { query: text, cursor } });
    } catch (e) {
      if (mine === seq) fill(diagnostics, h('li', {}, `Could not check the query: ${e.message}`));
      return;
    }
    if (mine !== seq || !alive() || textarea.value !== text) return;
    state = { ...state, text, dataset: r.dataset, columns: r.columns, diagnostics: r.diagnostics, completions: r.completions, replace: [r.replaceStart, r.replaceEnd], active: 0 };
    drawLayer();
    drawDiagnostics();
    drawPopup();
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(check, CHECK_DELAY_MS); };

  textarea.addEventListener('input', (e) => {
    wantCompletions = e.inputType === 'insertText' && !!e.data && WORD.test(e.data.slice(-1));
    drawLayer();
    schedule();
  });
  textarea.addEventListener('scroll', () => { layer.scrollTop = textarea.scrollTop; });
  textarea.addEventListener('blur', () => setTimeout(closePopup, 150));
  textarea.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
      e.preventDefault();
      preview();
      return;
    }
    if (e.ctrlKey && e.key === ' ') {
      e.preventDefault();
      wantCompletions = true;
      check();
      return;
    }
    if (!state.open) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = state.items.length;
      state.active = (state.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      drawPopup();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      accept(state.active);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      wantCompletions = false;
      closePopup();
    }
  });

  const preview = async () => {
    previewButton.disabled = true;
    fill(result, loading('Running the query (first 100 rows)…'));
    try {
      const text = textarea.value;
      const r = await insights(`ScheduledQueries/testQueryResult?exportQuery=${encodeURIComponent(text)}`);
      if (!alive()) return;
      const datasets = await catalog();
      const d = datasets.find((x) => x.datasetName === state.dataset) || null;
      fill(result, previewView(r, d, state.text === text ? state.columns : []));
    } catch (e) {
      fill(result, errorBox(e));
    } finally {
      previewButton.disabled = false;
    }
  };
  previewButton.addEventListener('click', preview);

  saveForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    setFieldError(saveName, '');
    setFieldError(saveDescription, '');
    fill(saveStatus);
    try {
      const r = await insights('ScheduledQueries', { method: 'POST', body: { Name: saveName.input.value, Description: saveDescription.input.value, Query: textarea.value } });
      const q = r.value[0];
      toast(`Saved query '${q.name}'.`);
      fill(saveStatus, h('p', { role: 'status' }, `Saved as '${q.name}' (${q.queryId}). `,
        h('a', { href: `#/reports/new?queryId=${encodeURIComponent(q.queryId)}` }, 'Schedule it as a report'), ' · ',
        h('a', { href: '#/queries' }, 'See saved queries')));
    } catch (err) {
      const m = err.message;
      if (/\bname\b/i.test(m) && !/query/i.test(m.split(' ').slice(0, 2).join(' '))) setFieldError(saveName, m);
      else if (/description/i.test(m)) setFieldError(saveDescription, m);
      else fill(saveStatus, errorBox(err));
    }
  });

  fill(main,
    h('h1', {}, 'Query editor'),
    h('div', { class: 'panel' },
      h('label', { for: textarea.id }, 'Query'),
      h('p', { class: 'hint muted', id: `${listId}-help` }, 'Checked as you type. Ctrl+Space lists completions; ↑/↓ and Enter pick one; Ctrl+Enter previews.'),
      h('div', { class: 'editor editor-wrap' }, layer, textarea, popup),
      diagnostics,
      h('div', { class: 'row' }, previewButton)),
    result,
    saveForm);
  drawLayer();
  check();
}

/** The preview: a table and a chart, switchable, and the redaction state. */
function previewView(r, dataset, order) {
  const rows = r.value || [];
  if (rows.length === 0) return h('div', { class: 'panel' }, h('h2', {}, 'Preview'), h('p', { class: 'empty' }, 'The query returned no rows in its time window.'));
  // JSON objects carry no order: the SELECT's order comes from the check.
  const present = Object.keys(rows[0]);
  const keys = [...order.filter((k) => present.includes(k)), ...present.filter((k) => !order.includes(k))];
  const typeOf = (k) => {
    const col = dataset?.columns.find((c) => c.name === k) || dataset?.metrics.find((m) => m.name === k);
    if (col) return col.type;
    return typeof rows[0][k] === 'number' ? 'float' : 'string';
  };
  const numeric = keys.filter((k) => ['int', 'float'].includes(typeOf(k)) && rows.some((row) => typeof row[k] === 'number'));
  const columns = keys.map((k) => ({ key: k, label: k, num: numeric.includes(k) }));
  const tableView = table(columns, rows, { caption: 'Preview rows' });
  const chartBox = h('div', { class: 'chart-box' });
  const tabsId = uid('view');
  const panels = {
    table: h('div', { role: 'tabpanel', id: `${tabsId}-table`, 'aria-labelledby': `${tabsId}-t-table` }, tableView),
    chart: h('div', { role: 'tabpanel', id: `${tabsId}-chart`, 'aria-labelledby': `${tabsId}-t-chart`, hidden: true }, chartBox),
  };
  const tabs = ['table', 'chart'].map((name) => h('button', {
    type: 'button', role: 'tab', id: `${tabsId}-t-${name}`, 'aria-controls': `${tabsId}-${name}`,
    'aria-selected': String(name === 'table'), tabindex: name === 'table' ? '0' : '-1',
  }, name === 'table' ? 'Table' : 'Chart'));
  let drawn = false;
  const select = (name) => {
    tabs.forEach((t) => {
      const on = t.id.endsWith(`-${name}`);
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
    });
    panels.table.hidden = name !== 'table';
    panels.chart.hidden = name !== 'chart';
    if (name === 'chart' && !drawn) {
      drawn = true;
      chartFor(chartBox, rows, keys, typeOf, numeric);
    }
  };
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => select(i === 0 ? 'table' : 'chart'));
    t.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        const next = tabs[(i + 1) % 2];
        next.focus();
        select(i === 0 ? 'chart' : 'table');
      }
    });
  });
  return h('section', { class: 'panel', 'aria-labelledby': `${tabsId}-h` },
    h('h2', { id: `${tabsId}-h` }, `Preview: ${r.totalCount} rows`),
    r.dataRedacted ? h('p', { class: 'note', 'data-redacted': 'true' }, 'Restricted values are redacted for this sign-in (ReportViewer): they come back empty.') : null,
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Preview view' }, tabs),
    panels.table, panels.chart);
}

/** A time series when a date column is selected, else bars by category. */
function chartFor(box, rows, keys, typeOf, numeric) {
  const dateKey = keys.find((k) => typeOf(k) === 'date');
  const series = numeric.filter((k) => k !== dateKey).slice(0, 3);
  if (series.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' }, 'Nothing to chart: select a number (a metric or a numeric column).'));
    return;
  }
  if (dateKey) {
    const byDate = new Map();
    for (const row of rows) {
      const d = row[dateKey];
      if (d === null || d === undefined) continue;
      const acc = byDate.get(d) || series.map(() => 0);
      series.forEach((k, i) => { acc[i] += Number(row[k]) || 0; });
      byDate.set(d, acc);
    }
    const labels = [...byDate.keys()].sort();
    drawChart(box, {
      type: 'line', labels, xTitle: dateKey, title: `${series.join(', ')} by ${dateKey}`,
      series: series.map((k, i) => ({ label: k, data: labels.map((l) => byDate.get(l)[i]) })),
    });
    return;
  }
  const category = keys.find((k) => !numeric.includes(k));
  if (!category) {
    box.replaceChildren(h('p', { class: 'empty' }, 'Nothing to chart: select a category or date column with the number.'));
    return;
  }
  const byCat = new Map();
  for (const row of rows) {
    const c = row[category] ?? '(empty)';
    byCat.set(c, (byCat.get(c) || 0) + (Number(row[series[0]]) || 0));
  }
  const top = [...byCat.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  drawChart(box, {
    type: 'bar', labels: top.map(([c]) => String(c)), xTitle: category, title: `${series[0]} by ${category}`,
    series: [{ label: series[0], data: top.map(([, v]) => v) }],
  });
}
