// The shell: hash routes to pages, the navigation, the signed-in principal
// with sign-out, and the light/dark theme. A page is a function
// (main, params) => void that fills <main>.

import { h, fill, errorBox } from './dom.mjs';
import { current, onSession, signOut } from './api.mjs';
import { clearCharts, retheme } from './charts.mjs';
import { signInPage } from './signin.mjs';
import { datasetsPage, datasetPage } from './datasets.mjs';
import { editorPage } from './editor.mjs';
import { queriesPage } from './queries.mjs';
import { reportsPage, reportPage, newReportPage } from './reports.mjs';
import { storeAppsPage, storeAppPage } from './store.mjs';

const routes = [
  [/^\/datasets$/, datasetsPage, 'Datasets'],
  [/^\/datasets\/([^/]+)$/, datasetPage, 'Dataset'],
  [/^\/query$/, editorPage, 'Query editor'],
  [/^\/queries$/, queriesPage, 'Saved queries'],
  [/^\/reports$/, reportsPage, 'Reports'],
  [/^\/reports\/new$/, newReportPage, 'New report'],
  [/^\/reports\/([^/]+)$/, reportPage, 'Report'],
  [/^\/store$/, storeAppsPage, 'Store analytics'],
  [/^\/store\/([^/]+)(?:\/([a-z]+))?$/, storeAppPage, 'Store app'],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

function path() {
  const hash = location.hash.slice(1);
  const q = hash.indexOf('?');
  return q < 0 ? hash : hash.slice(0, q);
}

let generation = 0;
async function render() {
  const p = path() || '/';
  if (!p.startsWith('/')) return; // the skip link's #main
  clearCharts();
  generation += 1;
  const mine = generation;
  const s = current();
  nav.hidden = !s;
  if (!s) {
    document.title = 'Sign in · openinsights console';
    signInPage(main);
    return;
  }
  const target = p === '/' ? '/datasets' : p;
  for (const a of nav.querySelectorAll('a')) {
    const here = target.startsWith(a.getAttribute('href').slice(1));
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const found = routes.find(([re]) => re.test(target));
  if (!found) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, `No console page at ${p}. `, h('a', { href: '#/datasets' }, 'Go to the datasets')));
    return;
  }
  const [re, page, title] = found;
  const args = target.match(re).slice(1).map((x) => (x === undefined ? x : decodeURIComponent(x)));
  document.title = `${title} · openinsights console`;
  try {
    await page(main, args, () => mine === generation);
  } catch (e) {
    if (mine === generation) fill(main, h('h1', {}, title), errorBox(e));
  }
}

function showWho(s) {
  if (!s) {
    fill(who);
    return;
  }
  fill(who,
    h('span', {}, h('span', { class: 'sr-only' }, 'Signed in as '), s.who,
      s.roles.length ? h('span', { class: 'muted' }, ` (${s.roles.join(', ')})`) : null),
    h('button', { type: 'button', class: 'secondary', onclick: () => { signOut(); location.hash = '#/'; } }, 'Sign out'));
}

onSession((s) => {
  showWho(s);
  render();
});

// Theme: the system's unless the user chose one (a preference, not a secret).
const themeButton = document.getElementById('theme');
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const dark = theme === 'dark';
  themeButton.setAttribute('aria-pressed', String(dark));
  themeButton.title = dark ? 'Dark theme is on' : 'Dark theme is off';
}
const stored = localStorage.getItem('openinsights-theme');
applyTheme(stored || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
themeButton.addEventListener('click', () => {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  localStorage.setItem('openinsights-theme', next);
  applyTheme(next);
  retheme();
});

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', () => {
  render();
  main.focus({ preventScroll: true });
});
render();
