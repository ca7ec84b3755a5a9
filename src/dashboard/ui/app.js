// SPDX-License-Identifier: Apache-2.0
// The dashboard's core: sign-in (token or one-time code), API calls with
// the bearer token, list+watch collections, the router and DOM helpers.
// pages.js registers the pages.  No framework: the DOM is built with
// textContent only (never innerHTML), so API data cannot inject markup.
'use strict';

const KD = {pages: {}, watchers: [], timers: [], gen: 0};
window.KD = KD;

// ---- DOM helpers ----

// h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child, ...)
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}
KD.h = h;

KD.table = function (cols, rows, opts) {
  opts = opts || {};
  const head = h('tr', null, cols.map(c => h('th', {class: c.cls}, c.title)));
  const body = rows.length
    ? rows.map(r => h('tr', {dataset: opts.key ? {key: opts.key(r)} : undefined},
      cols.map(c => h('td', {class: c.cls, 'data-label': c.title}, c.get(r)))))
    : [h('tr', null, h('td', {colspan: cols.length, class: 'empty'},
      opts.empty || 'none'))];
  return h('div', {class: 'scroll'},
    h('table', {id: opts.id, class: 'grid'}, h('thead', null, head),
      h('tbody', null, body)));
};

KD.section = (title, ...kids) => h('section', {class: 'card'}, h('h2', null, title), kids);

KD.age = function (ts) {
  if (!ts) return '';
  let s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return s + 's';
  let m = Math.floor(s / 60);
  if (m < 120) return m + 'm';
  let hr = Math.floor(m / 60);
  if (hr < 48) return hr + 'h';
  return Math.floor(hr / 24) + 'd';
};

KD.flash = function (msg, bad) {
  const f = document.getElementById('flash');
  f.textContent = msg;
  f.className = 'flash' + (bad ? ' bad' : '');
  f.hidden = !msg;
};

// ---- the token ----

const TOKEN_KEY = 'libkube.token';
KD.token = () => sessionStorage.getItem(TOKEN_KEY);

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}
KD.ApiError = ApiError;

function headers(extra) {
  const hd = Object.assign({Accept: 'application/json'}, extra || {});
  const t = KD.token();
  if (t) hd.Authorization = 'Bearer ' + t;
  return hd;
}

async function errorOf(r) {
  const text = await r.text();
  let msg = text, body = null;
  try {
    body = JSON.parse(text);
    if (body && body.message) msg = body.message;
  } catch (e) { /* not JSON */ }
  return new ApiError(r.status, r.status + ' ' + (msg || r.statusText), body);
}

// One API call; a 401 signs out (the token is gone or revoked).
KD.api = async function (method, path, body, ctype) {
  const init = {method, headers: headers(), cache: 'no-store', credentials: 'omit'};
  if (body !== undefined) {
    init.headers['Content-Type'] = ctype || 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) {
    signOut('The API refused the token (401 Unauthorized): sign in again.');
    throw await errorOf(r);
  }
  if (!r.ok) throw await errorOf(r);
  const ct = r.headers.get('Content-Type') || '';
  return ct.includes('json') ? r.json() : r.text();
};

// A streamed GET (watch, log follow): onLine per line, resolves when the
// stream ends.  Returns {done: Promise, abort()}.
KD.stream = function (path, onChunk) {
  const ctl = new AbortController();
  const done = (async () => {
    const r = await fetch(path, {headers: headers(), cache: 'no-store',
      credentials: 'omit', signal: ctl.signal});
    if (r.status === 401) {
      signOut('The API refused the token (401 Unauthorized): sign in again.');
      throw await errorOf(r);
    }
    if (!r.ok) throw await errorOf(r);
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      onChunk(dec.decode(value, {stream: true}));
    }
  })();
  done.catch(() => {});
  return {done, abort: () => ctl.abort()};
};

// ---- collections: list, then watch (?watch=1), re-listing when the
// revision is gone; onChange(items) after each batch of changes. ----

KD.key = o => (o.metadata.namespace || '') + '/' + o.metadata.name;

class Watcher {
  constructor(path, onChange) {
    this.path = path;
    this.onChange = onChange;
    this.items = new Map();
    this.stopped = false;
    this.rv = '';
    this.pending = null;
    this.error = null;
  }
  list() { return [...this.items.values()]; }
  notify() {
    if (this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      if (!this.stopped) this.onChange(this.list(), this);
    }, 50);
  }
  async relist() {
    const l = await KD.api('GET', this.path);
    this.items = new Map(l.items.map(o => [KD.key(o), o]));
    this.rv = l.metadata.resourceVersion;
    this.error = null;
    this.notify();
  }
  async run() {
    while (!this.stopped) {
      try {
        if (!this.rv) await this.relist();
        const sep = this.path.includes('?') ? '&' : '?';
        let buf = '';
        let gone = false;
        this.cur = KD.stream(this.path + sep + 'watch=1&allowWatchBookmarks=true&resourceVersion=' +
          encodeURIComponent(this.rv), chunk => {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === 'ERROR') {
              gone = true;
              continue;
            }
            const o = ev.object;
            if (o.metadata && o.metadata.resourceVersion) this.rv = o.metadata.resourceVersion;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') this.items.delete(KD.key(o));
            else this.items.set(KD.key(o), o);
            this.notify();
          }
        });
        await this.cur.done;
        if (gone) this.rv = '';
      } catch (e) {
        if (this.stopped) return;
        this.error = e;
        this.rv = '';
        this.notify();
        if (e.status === 401) return;
        if (e.status === 403 || e.status === 404) {
          this.onChange([], this);
          return;
        }
      }
      if (!this.stopped) await new Promise(r => setTimeout(r, 1000));
    }
  }
  stop() {
    this.stopped = true;
    if (this.cur) this.cur.abort();
    clearTimeout(this.pending);
  }
}

// Watch a collection for the current page; stopped when the page changes.
KD.watch = function (path, onChange) {
  const w = new Watcher(path, onChange);
  KD.watchers.push(w);
  w.run();
  return w;
};

// /api/v1/[namespaces/NS/]pods for the namespace chosen at the top.
KD.ns = () => sessionStorage.getItem('libkube.ns') || '';
KD.path = function (prefix, resource, ns) {
  ns = ns === undefined ? KD.ns() : ns;
  return prefix + (ns ? '/namespaces/' + encodeURIComponent(ns) : '') + '/' + resource;
};

// ---- router ----

function stopPage() {
  KD.gen++;
  for (const w of KD.watchers) w.stop();
  KD.watchers = [];
  for (const t of KD.timers) clearInterval(t);
  KD.timers = [];
  if (KD.onLeave) KD.onLeave();
  KD.onLeave = null;
}

function route() {
  if (!KD.token()) return;
  stopPage();
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const page = KD.pages[parts[0]] || KD.pages.overview;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.getAttribute('href') === '#/' + parts[0]);
  syncNamespace();
  const view = document.getElementById('view');
  view.replaceChildren();
  view.dataset.page = parts[0];
  KD.flash('');
  try {
    page(view, parts.slice(1));
  } catch (e) {
    view.append(h('p', {class: 'error'}, String(e)));
  }
}
KD.route = route;

// ---- sign-in ----

function showLogin(msg) {
  stopPage();
  document.getElementById('app').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = msg || '';
  document.getElementById('login-token').focus();
}

function signOut(msg) {
  sessionStorage.clear(); // the token and the chosen namespace
  showLogin(msg);
}

// Who the token is (SelfSubjectReview); throws ApiError (401: refused).
async function whoami() {
  const r = await KD.api('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    {apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview'});
  return ((r.status || {}).userInfo || {}).username || '';
}

// The menu shows the namespace the pages use (also one it does not list).
function syncNamespace() {
  const sel = document.getElementById('ns'), cur = KD.ns();
  if (![...sel.options].some(o => o.value === cur))
    sel.append(h('option', {value: cur}, cur));
  sel.value = cur;
}

async function fillNamespaces() {
  const sel = document.getElementById('ns');
  try {
    const l = await KD.api('GET', '/api/v1/namespaces');
    sel.replaceChildren(h('option', {value: ''}, 'all namespaces'),
      l.items.map(n => h('option', {value: n.metadata.name}, n.metadata.name)));
  } catch (e) { /* may not list namespaces: keep "all" */ }
  syncNamespace();
}

async function enter() {
  let user = '';
  try {
    user = await whoami();
  } catch (e) {
    if (e.status === 401) return; // signOut already showed the login page
    // An API without SelfSubjectReview still lets the token through.
  }
  document.getElementById('login').hidden = true;
  document.getElementById('app').hidden = false;
  document.getElementById('user').textContent = user;
  fillNamespaces();
  route();
}

async function signInWith(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  await enter();
}

// #code=CODE from `kube dashboard`: exchange it once, then drop it from
// the address bar and the history.
async function exchangeCode(code) {
  history.replaceState(null, '', location.pathname + '#/overview');
  const r = await fetch('login/exchange', {method: 'POST', credentials: 'omit',
    cache: 'no-store', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({code})});
  if (!r.ok) {
    showLogin((await errorOf(r)).message);
    return;
  }
  await signInWith((await r.json()).token);
}

function start() {
  document.getElementById('login-form').addEventListener('submit', ev => {
    ev.preventDefault();
    const t = document.getElementById('login-token').value.trim();
    document.getElementById('login-token').value = '';
    if (!t) {
      document.getElementById('login-error').textContent = 'Paste a token first.';
      return;
    }
    signInWith(t);
  });
  document.getElementById('logout').addEventListener('click', () => signOut('Signed out.'));
  document.getElementById('ns').addEventListener('change', ev => {
    sessionStorage.setItem('libkube.ns', ev.target.value);
    route();
  });
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#code=')) exchangeCode(location.hash.slice(6));
    else route();
  });
  const m = location.hash.match(/^#code=([0-9a-f]+)/);
  if (m) exchangeCode(m[1]);
  else if (KD.token()) enter();
  else showLogin('');
}

document.addEventListener('DOMContentLoaded', start);
