// DOM helpers: elements without innerHTML (no markup from data, ever),
// tables with sortable columns, and the loading / empty / error states.

/** An element: h('a', {href: '#/x', class: 'card'}, 'text', child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const loading = (what = 'Loading…') => h('p', { class: 'loading', role: 'status' }, what);
export const empty = (what) => h('p', { class: 'empty' }, what);
export const errorBox = (err) => h('div', { class: 'alert', role: 'alert' }, String(err && err.message ? err.message : err));

let ids = 0;
/** A unique id for label/field pairs. */
export const uid = (prefix = 'f') => `${prefix}-${++ids}`;

/** A labelled form field; returns {wrap, input, error}. */
export function field(label, input, hint) {
  const id = input.id || uid();
  input.id = id;
  const error = h('div', { class: 'error', id: `${id}-error`, role: 'alert' });
  const hintEl = hint ? h('div', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', `${id}-hint`);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, error);
  return { wrap, input, error };
}

/** Shows (or clears) a field's error next to it. */
export function setFieldError(f, message) {
  f.error.textContent = message || '';
  if (message) {
    f.input.setAttribute('aria-invalid', 'true');
    const described = [f.input.getAttribute('aria-describedby'), f.error.id].filter(Boolean);
    f.input.setAttribute('aria-describedby', [...new Set(described.join(' ').split(' '))].join(' '));
  } else {
    f.input.removeAttribute('aria-invalid');
  }
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
export const fmtNumber = (v) => (typeof v === 'number' ? numberFormat.format(v) : v);
export const fmtBytes = (n) => {
  if (typeof n !== 'number') return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
};

/**
 * A table. columns: [{key, label, num?, render?(row)}]; sortable headers
 * are buttons announcing their order through aria-sort.
 */
export function table(columns, rows, { caption, sortable = true } = {}) {
  let sortKey = null;
  let dir = 1;
  const tbody = h('tbody');
  const heads = columns.map((c) => {
    const th = h('th', { scope: 'col' });
    if (sortable) {
      th.append(h('button', { type: 'button', onclick: () => sortBy(c.key, th) }, c.label));
    } else th.append(c.label);
    return th;
  });
  const draw = (list) => {
    fill(tbody, list.map((r) => h('tr', {}, columns.map((c) => {
      const v = c.render ? c.render(r) : r[c.key];
      return h('td', { class: c.num ? 'num' : undefined }, v === null || v === undefined ? '' : (c.num ? fmtNumber(v) : v));
    }))));
  };
  const sortBy = (key, th) => {
    dir = sortKey === key ? -dir : 1;
    sortKey = key;
    heads.forEach((x) => x.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    const sorted = [...rows].sort((a, b) => compare(a[key], b[key]) * dir);
    draw(sorted);
  };
  draw(rows);
  const t = h('table', {}, caption ? h('caption', { class: 'sr-only' }, caption) : null, h('thead', {}, h('tr', {}, heads)), tbody);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || 'Table' }, t);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined || a === '') return 1;
  if (b === null || b === undefined || b === '') return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** A short message in the corner. */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.textContent = ''; }, 5000);
}

/** The hash route's query parameters. */
export function routeParams() {
  const q = location.hash.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : location.hash.slice(q + 1));
}

/** A button that asks once more before it acts. */
export function confirmButton(label, action, { danger = true } = {}) {
  const b = h('button', { type: 'button', class: danger ? 'danger' : 'secondary' }, label);
  let armed = null;
  b.addEventListener('click', async () => {
    if (!armed) {
      b.textContent = `Confirm: ${label.toLowerCase()}`;
      armed = setTimeout(() => { b.textContent = label; armed = null; }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.disabled = true;
    try { await action(); } finally { b.disabled = false; b.textContent = label; }
  });
  return b;
}
