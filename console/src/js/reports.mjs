// Reports: the list with status, schedule, next run and latest result;
// create (run now or recurring) and update with the API's validation
// messages shown next to the field they name; pause, resume, delete; and
// per report the executions timeline with downloads and the callback
// deliveries.

import { h, fill, loading, table, field, setFieldError, confirmButton, toast, errorBox, routeParams, fmtBytes, fmtNumber } from './dom.mjs';
import { insights, insightsAll, consoleApi, config } from './api.mjs';

const POLL_MS = 1500;

/** The request fields a message may name, longest names first. */
const FIELDS = ['QueryStartTime', 'QueryEndTime', 'RecurrenceInterval', 'Recurrence interval', 'RecurrenceCount',
  'CallbackMethod', 'CallbackUrl', 'Callback', 'ReportName', 'Description', 'QueryId', 'StartTime', 'Format'];

/** The field an API message is about (the one it names first). */
export function fieldOf(message) {
  let best = null;
  let at = Infinity;
  for (const f of FIELDS) {
    const i = message.indexOf(f);
    if (i >= 0 && i < at) { at = i; best = f; }
  }
  const aliases = { 'Recurrence interval': 'RecurrenceInterval', Callback: 'CallbackUrl' };
  return best ? (aliases[best] || best) : null;
}

const badge = (status) => h('span', { class: `badge ${status}` }, status);
const schedule = (r) => (r.executeNow ? 'Run once, now'
  : `Every ${r.recurrenceInterval} h from ${r.startTime}${r.recurrenceCount ? `, ${r.recurrenceCount} times` : ''}`);

async function latestExecutions(reports) {
  const out = new Map();
  for (let i = 0; i < reports.length; i += 20) {
    const ids = reports.slice(i, i + 20).map((r) => r.reportId).join(';');
    try {
      const page = await insightsAll(`ScheduledReport/execution/${ids}?getLatestExecution=true`);
      page.forEach((e) => out.set(e.reportId, e));
    } catch (e) {
      if (e.status !== 404) throw e;
    }
  }
  return out;
}

export async function reportsPage(main, _args, alive) {
  fill(main, h('h1', {}, 'Reports'), loading());
  const reports = await insightsAll('ScheduledReport');
  const latest = await latestExecutions(reports);
  if (!alive()) return;
  const rows = reports.map((r) => {
    const e = latest.get(r.reportId);
    return {
      ...r,
      next: e && ['Pending', 'Running'].includes(e.executionStatus) ? `${e.executionStatus}: due ${e.dueTime}` : (r.reportStatus === 'Active' ? 'planned' : '—'),
      last: e && ['Completed', 'Failed'].includes(e.executionStatus) ? e : null,
    };
  });
  fill(main,
    h('h1', {}, 'Reports'),
    h('div', { class: 'row' }, h('a', { class: 'button', href: '#/reports/new' }, 'New report')),
    rows.length === 0 ? h('p', { class: 'empty' }, 'No reports yet. Save a query, then run it as a report.')
      : table([
        { key: 'reportName', label: 'Name', render: (r) => h('a', { href: `#/reports/${encodeURIComponent(r.reportId)}` }, r.reportName) },
        { key: 'reportStatus', label: 'Status', render: (r) => badge(r.reportStatus) },
        { key: 'startTime', label: 'Schedule', render: schedule },
        { key: 'next', label: 'Next run' },
        { key: 'lastResult', label: 'Latest result', render: (r) => (r.last ? h('span', {}, badge(r.last.executionStatus), ' ', r.last.reportGeneratedTime || r.last.failureReason || '') : '—') },
        { key: 'format', label: 'Format' },
      ], rows, { caption: 'Reports' }));
}

function utcInput(iso) {
  return iso ? iso.replace(/Z$/, '').slice(0, 16) : '';
}
const fromUtcInput = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}Z` : undefined);

/** The create / update form. existing: a report item to update, or null. */
async function reportForm(existing, presetQuery) {
  const [userQueries, cfg] = await Promise.all([insightsAll('ScheduledQueries'), config()]);
  const f = {
    ReportName: field('Report name', h('input', { name: 'ReportName', maxlength: '200', required: true })),
    Description: field('Description', h('input', { name: 'Description', maxlength: '1000' })),
    QueryId: field('Query', h('select', { name: 'QueryId' }, userQueries.map((q) => h('option', { value: q.queryId }, `${q.name}${q.type === 'system' ? ' (system)' : ''}`)))),
    QueryStartTime: field('Data from (UTC, optional)', h('input', { type: 'datetime-local', name: 'QueryStartTime' }), 'With "to", replaces the query\'s TIMESPAN.'),
    QueryEndTime: field('Data to (UTC, optional)', h('input', { type: 'datetime-local', name: 'QueryEndTime' })),
    StartTime: field('First run (UTC)', h('input', { type: 'datetime-local', name: 'StartTime' })),
    RecurrenceInterval: field('Every (hours)', h('input', { type: 'number', name: 'RecurrenceInterval', min: '4', max: '2160', value: '24' })),
    RecurrenceCount: field('Times (optional)', h('input', { type: 'number', name: 'RecurrenceCount', min: '1' }), 'Leave empty for no end.'),
    Format: field('Format', h('select', { name: 'Format' }, h('option', { value: 'CSV' }, 'CSV'), h('option', { value: 'TSV' }, 'TSV'))),
    CallbackUrl: field('Callback URL (optional)', h('input', { type: 'url', name: 'CallbackUrl' })),
    CallbackMethod: field('Callback method', h('select', { name: 'CallbackMethod' }, h('option', { value: 'POST' }, 'POST'), h('option', { value: 'GET' }, 'GET'))),
  };
  const now = new Date(cfg.now);
  now.setUTCHours(now.getUTCHours() + 5, 0, 0, 0);
  f.StartTime.input.value = utcInput(now.toISOString());
  const runNow = h('input', { type: 'radio', name: 'when', value: 'now', checked: !existing });
  const recurring = h('input', { type: 'radio', name: 'when', value: 'schedule', checked: !!existing });
  const nowFields = h('div', { class: 'row' }, f.QueryStartTime.wrap, f.QueryEndTime.wrap);
  const scheduleFields = h('div', { class: 'row' }, f.StartTime.wrap, f.RecurrenceInterval.wrap, f.RecurrenceCount.wrap);
  const sync = () => { nowFields.hidden = !runNow.checked; scheduleFields.hidden = runNow.checked; };
  runNow.addEventListener('change', sync);
  recurring.addEventListener('change', sync);
  if (existing) {
    f.ReportName.input.value = existing.reportName;
    f.Description.input.value = existing.description || '';
    f.QueryId.input.value = existing.queryId;
    f.QueryId.input.disabled = true;
    f.StartTime.input.value = utcInput(existing.startTime);
    f.RecurrenceInterval.input.value = existing.recurrenceInterval;
    f.RecurrenceCount.input.value = existing.recurrenceCount ?? '';
    f.Format.input.value = existing.format.toUpperCase();
    f.CallbackUrl.input.value = existing.callbackUrl || '';
    f.CallbackMethod.input.value = existing.callbackMethod || 'POST';
  } else if (presetQuery) {
    f.QueryId.input.value = presetQuery;
  }
  sync();
  const general = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'panel', novalidate: true },
    h('div', { class: 'row' }, f.ReportName.wrap, f.Description.wrap),
    f.QueryId.wrap,
    existing ? null : h('fieldset', {}, h('legend', {}, 'When'),
      h('label', { class: 'radio' }, runNow, 'Run now, once'),
      h('label', { class: 'radio' }, recurring, 'On a schedule')),
    nowFields, scheduleFields,
    h('div', { class: 'row' }, f.Format.wrap, f.CallbackUrl.wrap, f.CallbackMethod.wrap),
    general,
    h('button', { type: 'submit' }, existing ? 'Save changes' : 'Create report'));
  const body = () => {
    const b = {
      ReportName: f.ReportName.input.value,
      Description: f.Description.input.value,
      Format: f.Format.input.value,
      CallbackMethod: f.CallbackMethod.input.value,
    };
    if (f.CallbackUrl.input.value) b.CallbackUrl = f.CallbackUrl.input.value;
    if (!existing) b.QueryId = f.QueryId.input.value;
    if (!existing && runNow.checked) {
      b.ExecuteNow = true;
      const qs = fromUtcInput(f.QueryStartTime.input.value);
      const qe = fromUtcInput(f.QueryEndTime.input.value);
      if (qs) b.QueryStartTime = qs;
      if (qe) b.QueryEndTime = qe;
    } else {
      b.StartTime = fromUtcInput(f.StartTime.input.value);
      b.RecurrenceInterval = f.RecurrenceInterval.input.value === '' ? undefined : Number(f.RecurrenceInterval.input.value);
      if (f.RecurrenceCount.input.value !== '') b.RecurrenceCount = Number(f.RecurrenceCount.input.value);
    }
    return b;
  };
  /** Shows an API refusal next to the field it names. */
  const refuse = (err) => {
    const name = fieldOf(err.message);
    if (name && f[name] && !f[name].wrap.closest('[hidden]')) {
      setFieldError(f[name], err.message);
      f[name].input.focus();
    } else {
      fill(general, errorBox(err));
    }
  };
  const clear = () => { Object.values(f).forEach((x) => setFieldError(x, '')); fill(general); };
  return { form, body, refuse, clear };
}

export async function newReportPage(main, _args, alive) {
  fill(main, h('h1', {}, 'New report'), loading());
  const { form, body, refuse, clear } = await reportForm(null, routeParams().get('queryId'));
  if (!alive()) return;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    try {
      const r = await insights('ScheduledReport', { method: 'POST', body: body() });
      toast(`Created report '${r.value[0].reportName}'.`);
      location.hash = `#/reports/${encodeURIComponent(r.value[0].reportId)}`;
    } catch (err) {
      refuse(err);
    }
  });
  fill(main, h('h1', {}, 'New report'), form);
}

export async function reportPage(main, [id], alive) {
  fill(main, h('h1', {}, 'Report'), loading());
  const found = await insights(`ScheduledReport?reportId=${encodeURIComponent(id)}`);
  const r = found.value[0];
  if (!r) {
    fill(main, h('h1', {}, 'Report'), errorBox(`No report with id '${id}'.`));
    return;
  }
  const status = h('div', { 'aria-live': 'polite' });
  const act = async (path, message) => {
    try {
      await insights(path, { method: 'PUT' });
      toast(message);
      reportPage(main, [id], alive);
    } catch (e) {
      fill(status, errorBox(e));
    }
  };
  const editArea = h('div');
  const actions = h('div', { class: 'row' },
    r.reportStatus === 'Active' ? h('button', { type: 'button', class: 'secondary', onclick: () => act(`ScheduledReport/pause/${id}`, 'Paused.') }, 'Pause') : null,
    r.reportStatus === 'Paused' ? h('button', { type: 'button', class: 'secondary', onclick: () => act(`ScheduledReport/resume/${id}`, 'Resumed.') }, 'Resume') : null,
    r.executeNow ? null : h('button', {
      type: 'button', class: 'secondary',
      onclick: async () => {
        const { form, body, refuse, clear } = await reportForm(r, null);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          clear();
          try {
            await insights(`ScheduledReport/${id}`, { method: 'PUT', body: body() });
            toast('Saved.');
            reportPage(main, [id], alive);
          } catch (err) {
            refuse(err);
          }
        });
        fill(editArea, h('h2', {}, 'Edit'), form);
        form.querySelector('input')?.focus();
      },
    }, 'Edit'),
    confirmButton('Delete', async () => {
      try {
        await insights(`ScheduledReport/${id}`, { method: 'DELETE' });
        toast(`Deleted report '${r.reportName}'.`);
        location.hash = '#/reports';
      } catch (e) {
        fill(status, errorBox(e));
      }
    }));
  const executions = h('section', { 'aria-labelledby': 'executions-h' });
  const deliveries = h('section', { 'aria-labelledby': 'deliveries-h' });
  fill(main,
    h('h1', {}, r.reportName),
    h('div', { class: 'panel' }, h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', {}, badge(r.reportStatus)),
      h('dt', {}, 'Schedule'), h('dd', {}, schedule(r)),
      h('dt', {}, 'Query'), h('dd', {}, h('code', {}, r.query)),
      h('dt', {}, 'Format'), h('dd', {}, r.format),
      h('dt', {}, 'Callback'), h('dd', {}, r.callbackUrl ? `${r.callbackMethod} ${r.callbackUrl}` : 'none'),
      h('dt', {}, 'Created'), h('dd', {}, `${r.createdTime} by ${r.user}`),
      h('dt', {}, 'Report id'), h('dd', {}, h('code', {}, r.reportId)))),
    actions, status, editArea, executions, deliveries);
  await drawExecutions(executions, deliveries, r, alive);
}

async function drawExecutions(box, deliveriesBox, r, alive) {
  let list = [];
  try {
    list = await insightsAll(`ScheduledReport/execution/${encodeURIComponent(r.reportId)}?getLatestExecution=false`);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  if (!alive()) return;
  fill(box, h('h2', { id: 'executions-h' }, 'Executions'),
    list.length === 0 ? h('p', { class: 'empty' }, 'No executions yet.')
      : h('ol', { class: 'timeline' }, list.map((e) => h('li', { class: e.executionStatus, dataset: { execution: e.executionId } },
        h('div', { class: 'row' }, badge(e.executionStatus), h('span', { class: 'muted' }, `due ${e.dueTime}`),
          e.reportAccessSecureLink ? h('a', { class: 'button', href: e.reportAccessSecureLink, download: '' }, 'Download') : null),
        h('dl', { class: 'facts' },
          e.startedTime ? [h('dt', {}, 'Started'), h('dd', {}, e.startedTime)] : null,
          e.reportGeneratedTime ? [h('dt', {}, 'Generated'), h('dd', {}, e.reportGeneratedTime)] : null,
          e.executionStatus === 'Completed' ? [
            h('dt', {}, 'Rows'), h('dd', {}, fmtNumber(e.rowCount)),
            h('dt', {}, 'Size'), h('dd', {}, fmtBytes(e.byteCount)),
            h('dt', {}, 'SHA-256'), h('dd', {}, h('code', { class: 'sha' }, e.sha256)),
            h('dt', {}, 'Link expires'), h('dd', {}, e.reportExpiryTime)] : null,
          e.failureReason ? [h('dt', {}, 'Failure'), h('dd', {}, e.failureReason)] : null)))));
  const d = await consoleApi(`reports/${encodeURIComponent(r.reportId)}/deliveries`);
  if (!alive()) return;
  fill(deliveriesBox, h('h2', { id: 'deliveries-h' }, 'Callback deliveries'),
    d.value.length === 0 ? h('p', { class: 'empty' }, r.callbackUrl ? 'No callback delivered yet.' : 'This report has no callback.')
      : table([
        { key: 'createdTime', label: 'Queued' },
        { key: 'status', label: 'Outcome', render: (x) => badge(x.status) },
        { key: 'attempts', label: 'Attempts', num: true },
        { key: 'lastError', label: 'Last error' },
        { key: 'nextAttemptTime', label: 'Next attempt', render: (x) => (x.status === 'Pending' ? x.nextAttemptTime : '—') },
        { key: 'url', label: 'Call', render: (x) => h('code', {}, `${x.method} ${x.url}`) },
      ], d.value, { caption: 'Callback deliveries' }));
  if (list.some((e) => ['Pending', 'Running'].includes(e.executionStatus) && r.executeNow)
    || list.some((e) => e.executionStatus === 'Running')) {
    setTimeout(() => { if (alive()) drawExecutions(box, deliveriesBox, r, alive).catch(() => {}); }, POLL_MS);
  }
}
