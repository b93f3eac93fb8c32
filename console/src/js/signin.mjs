// Sign-in: a tenant user (password grant) or an app (client credentials),
// against the built-in token service. Nothing is stored.

import { h, fill, field, errorBox } from './dom.mjs';
import { signIn, signOut } from './api.mjs';

export function signInPage(main) {
  const tenant = field('Tenant', h('input', { name: 'tenant', autocomplete: 'organization', required: true }),
    'The tenant id or one of its domains (demo: demo-credentials.json, tenantId).');
  const clientId = field('Client id', h('input', { name: 'clientId', autocomplete: 'username', required: true, spellcheck: 'false' }));
  const secret = field('Client secret', h('input', { name: 'clientSecret', type: 'password', autocomplete: 'off' }),
    'Needed for a confidential app (the demo app is one).');
  const username = field('User name', h('input', { name: 'username', autocomplete: 'username', spellcheck: 'false' }));
  const password = field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password' }));
  const userFields = h('div', {}, username.wrap, password.wrap);
  const modeUser = h('input', { type: 'radio', name: 'mode', value: 'user', checked: true });
  const modeApp = h('input', { type: 'radio', name: 'mode', value: 'app' });
  const sync = () => { userFields.hidden = modeApp.checked; };
  modeUser.addEventListener('change', sync);
  modeApp.addEventListener('change', sync);
  const status = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'panel', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Sign in as'),
      h('label', { class: 'radio' }, modeUser, 'A user'),
      h('label', { class: 'radio' }, modeApp, 'An app (client credentials)')),
    tenant.wrap, clientId.wrap, secret.wrap, userFields, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const creds = {
      tenant: tenant.input.value.trim(),
      clientId: clientId.input.value.trim(),
      clientSecret: secret.input.value,
      mode: modeApp.checked ? 'app' : 'user',
      username: username.input.value.trim(),
      password: password.input.value,
    };
    const missing = [];
    if (!creds.tenant) missing.push('tenant');
    if (!creds.clientId) missing.push('client id');
    if (creds.mode === 'user' && !creds.username) missing.push('user name');
    if (creds.mode === 'user' && !creds.password) missing.push('password');
    if (missing.length) {
      fill(status, errorBox(`Fill in the ${missing.join(', ')}.`));
      return;
    }
    submit.disabled = true;
    fill(status, h('p', { class: 'loading', role: 'status' }, 'Signing in…'));
    try {
      await signIn(creds);
      if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/datasets';
    } catch (err) {
      fill(status, errorBox(err));
      submit.disabled = false;
    }
  });
  fill(main,
    h('div', { class: 'signin' },
      h('h1', {}, 'Sign in to the console'),
      h('p', { class: 'muted' }, 'The console calls the Insights and Store analytics APIs with your token, so it shows what this user or app may see.'),
      signOut.reason ? errorBox(signOut.reason) : null,
      form));
  tenant.input.focus();
}
