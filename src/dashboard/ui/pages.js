// SPDX-License-Identifier: Apache-2.0
// The dashboard's pages: each renders into `view` and keeps itself up to
// date through KD.watch (list + ?watch=1).  Every read and write is a
// normal API call with the user's token, so RBAC decides.
'use strict';

(function () {
const {h, table, section, age, watch, path, api, flash} = KD;

const CORE = '/api/v1', APPS = '/apis/apps/v1';
const nsCol = {title: 'Namespace', cls: 'opt', get: o => o.metadata.namespace};
const ageCol = {title: 'Age', get: o => age(o.metadata.creationTimestamp)};
const byName = (a, b) => KD.key(a).localeCompare(KD.key(b));

// A section whose body is rebuilt from a watched collection.
function live(view, title, url, render) {
  const body = h('div', null, h('p', {class: 'muted'}, 'loading…'));
  view.append(section(title, body));
  return watch(url, (items, w) => {
    const kids = [];
    if (w.error) kids.push(h('p', {class: 'error'}, w.error.message));
    kids.push(render(items.sort(byName)));
    body.replaceChildren(...kids);
  });
}

function podReady(p) {
  const cs = (p.status || {}).containerStatuses || [];
  const n = (p.spec.containers || []).length;
  return cs.filter(c => c.ready).length + '/' + n;
}
const restarts = p => ((p.status || {}).containerStatuses || [])
  .reduce((s, c) => s + (c.restartCount || 0), 0);

// kubectl's STATUS column, roughly: a waiting reason, else the phase.
function podStatus(p) {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  for (const c of (p.status || {}).containerStatuses || []) {
    if (c.state && c.state.waiting && c.state.waiting.reason) return c.state.waiting.reason;
    if (c.state && c.state.terminated && c.state.terminated.reason) return c.state.terminated.reason;
  }
  return (p.status || {}).phase || 'Pending';
}

function nodeReady(n) {
  const c = ((n.status || {}).conditions || []).find(c => c.type === 'Ready');
  let s = c && c.status === 'True' ? 'Ready' : 'NotReady';
  if (n.spec && n.spec.unschedulable) s += ',SchedulingDisabled';
  return s;
}

const badge = s => h('span', {class: 'badge s-' + String(s).replace(/[^A-Za-z]/g, '')}, s);
const podLink = p => h('a', {href: '#/pod/' + encodeURIComponent(p.metadata.namespace) + '/' +
  encodeURIComponent(p.metadata.name)}, p.metadata.name);

const qty = KD.qty;
const gib = b => isNaN(b) ? '' : (b / 1073741824).toFixed(1) + ' GiB';
const cores = c => isNaN(c) ? '' : (c < 10 ? c.toFixed(2).replace(/\.?0+$/, '') : c.toFixed(0));
const podKey = p => p.metadata.namespace + '/' + p.metadata.name;

// Usage of a node against its allocatable (capacity when not reported),
// and its capacity as text.
const nodeCap = (n, r) => qty(((n.status || {}).allocatable || {})[r] ||
  ((n.status || {}).capacity || {})[r]);
function nodeUsage(n, which) {
  const r = which === 'cpu' ? 'cpu' : 'memory';
  const cap = qty(((n.status || {}).capacity || {})[r]);
  return h('span', {class: 'inline'}, KD.mxCell('node', n.metadata.name, which, nodeCap(n, r)),
    h('span', {class: 'cap muted'}, which === 'cpu' ? cores(cap) + ' cores' : gib(cap)));
}

// ---- overview ----

KD.pages.overview = function (view) {
  const nodesBody = h('div');
  const phases = h('div', {class: 'tiles', id: 'phases'});
  view.append(section('Nodes', nodesBody), section('Pods by phase', phases));
  // Usage from the metrics API when it is served (bars and charts that
  // the poll refreshes); capacity only otherwise.
  KD.watchMetrics();
  watch(CORE + '/nodes', items => {
    nodesBody.replaceChildren(table([
      {title: 'Name', get: n => n.metadata.name},
      {title: 'Status', get: n => badge(nodeReady(n))},
      {title: 'CPU', get: n => nodeUsage(n, 'cpu')},
      {title: 'Memory', get: n => nodeUsage(n, 'mem')},
      {title: 'Pods', cls: 'opt', get: n => (n.status.capacity || {}).pods},
    ], items.sort(byName), {id: 'overview-nodes', empty: 'no nodes'}), KD.mxNote());
  });
  watch(path(CORE, 'pods'), pods => {
    const count = {Pending: 0, Running: 0, Succeeded: 0, Failed: 0, Unknown: 0};
    for (const p of pods) count[(p.status || {}).phase || 'Pending']++;
    phases.replaceChildren(...Object.entries(count).map(([k, v]) =>
      h('div', {class: 'tile s-' + k, dataset: {phase: k}}, h('b', null, v), h('span', null, k))));
  });
  live(view, 'Recent events', path(CORE, 'events'), evs => eventsTable(evs, 10));
};

// ---- events ----

const evTime = e => e.lastTimestamp || e.eventTime || (e.series || {}).lastObservedTime ||
  e.metadata.creationTimestamp;

function eventsTable(evs, limit) {
  evs = evs.slice().sort((a, b) => Date.parse(evTime(b)) - Date.parse(evTime(a)));
  if (limit) evs = evs.slice(0, limit);
  return table([
    {title: 'Last seen', get: e => age(evTime(e))},
    {title: 'Type', get: e => badge(e.type || 'Normal')},
    {title: 'Reason', get: e => e.reason},
    {title: 'Object', get: e => (e.involvedObject || {}).kind + '/' + (e.involvedObject || {}).name},
    {title: 'Message', cls: 'wrap', get: e => e.message},
  ], evs, {empty: 'no events', id: 'events'});
}

KD.pages.events = function (view) {
  live(view, 'Events', path(CORE, 'events'), evs => eventsTable(evs, 0));
};

// ---- workloads ----

async function scale(d, n) {
  const p = APPS + '/namespaces/' + encodeURIComponent(d.metadata.namespace) +
    '/deployments/' + encodeURIComponent(d.metadata.name) + '/scale';
  try {
    await api('PATCH', p, {spec: {replicas: n}}, 'application/merge-patch+json');
    flash('deployment.apps/' + d.metadata.name + ' scaled to ' + n);
  } catch (e) {
    flash('scale ' + d.metadata.name + ': ' + e.message, true);
  }
}

function scaleCell(d) {
  const input = h('input', {type: 'number', min: '0', max: '10000', class: 'replicas',
    value: String(d.spec.replicas === undefined ? 1 : d.spec.replicas),
    'aria-label': 'replicas of ' + d.metadata.name});
  const btn = h('button', {type: 'button', class: 'scale', dataset: {name: d.metadata.name},
    onclick: () => {
      const n = parseInt(input.value, 10);
      if (isNaN(n) || n < 0) flash('replicas must be a number ≥ 0', true);
      else scale(d, n);
    }}, 'Scale');
  return h('span', {class: 'inline'}, input, btn);
}

async function deletePod(p, btn) {
  if (btn.dataset.armed !== 'yes') {
    btn.dataset.armed = 'yes';
    btn.textContent = 'Confirm delete';
    setTimeout(() => { btn.dataset.armed = ''; btn.textContent = 'Delete'; }, 5000);
    return;
  }
  try {
    await api('DELETE', CORE + '/namespaces/' + encodeURIComponent(p.metadata.namespace) +
      '/pods/' + encodeURIComponent(p.metadata.name));
    flash('pod "' + p.metadata.name + '" deleted');
  } catch (e) {
    flash('delete ' + p.metadata.name + ': ' + e.message, true);
  }
}

function podsTable(pods, id) {
  return table([
    {title: 'Name', get: podLink},
    nsCol,
    {title: 'Ready', get: podReady},
    {title: 'Status', get: p => badge(podStatus(p))},
    {title: 'Restarts', get: restarts},
    {title: 'CPU', get: p => KD.mxCell('pod', podKey(p), 'cpu')},
    {title: 'Memory', get: p => KD.mxCell('pod', podKey(p), 'mem')},
    ageCol,
    {title: 'Node', cls: 'opt', get: p => p.spec.nodeName || ''},
    {title: '', get: p => {
      const b = h('button', {type: 'button', class: 'danger delete', dataset: {name: p.metadata.name}});
      b.textContent = 'Delete';
      b.addEventListener('click', () => deletePod(p, b));
      return b;
    }},
  ], pods, {id, empty: 'no pods', key: KD.key});
}
KD.podsTable = podsTable;

KD.pages.workloads = function (view) {
  live(view, 'Deployments', path(APPS, 'deployments'), ds => table([
    {title: 'Name', get: d => d.metadata.name},
    nsCol,
    {title: 'Ready', get: d => ((d.status || {}).readyReplicas || 0) + '/' + (d.spec.replicas === undefined ? 1 : d.spec.replicas)},
    {title: 'Up-to-date', cls: 'opt', get: d => (d.status || {}).updatedReplicas || 0},
    {title: 'Available', cls: 'opt', get: d => (d.status || {}).availableReplicas || 0},
    ageCol,
    {title: 'Scale', get: scaleCell},
  ], ds, {id: 'deployments', empty: 'no deployments', key: KD.key}));
  live(view, 'Replica sets', path(APPS, 'replicasets'), rs => table([
    {title: 'Name', get: r => r.metadata.name},
    nsCol,
    {title: 'Desired', get: r => r.spec.replicas === undefined ? 1 : r.spec.replicas},
    {title: 'Current', get: r => (r.status || {}).replicas || 0},
    {title: 'Ready', get: r => (r.status || {}).readyReplicas || 0},
    ageCol,
  ], rs, {id: 'replicasets', empty: 'no replica sets', key: KD.key}));
  KD.watchMetrics();
  live(view, 'Pods', path(CORE, 'pods'), pods => h('div', null, podsTable(pods, 'pods'),
    KD.mxNote()));
};

// ---- services, nodes, namespaces ----

KD.pages.services = function (view) {
  let eps = new Map(), svcs = [];
  const body = h('div');
  view.append(section('Services', body));
  const draw = () => body.replaceChildren(table([
    {title: 'Name', get: s => s.metadata.name},
    nsCol,
    {title: 'Type', get: s => s.spec.type || 'ClusterIP'},
    {title: 'Cluster IP', get: s => s.spec.clusterIP || ''},
    {title: 'External IP', cls: 'opt', get: s => (((s.status || {}).loadBalancer || {}).ingress || [])
      .map(i => i.ip || i.hostname).join(',') || (s.spec.externalIPs || []).join(',') || ''},
    {title: 'Ports', get: s => (s.spec.ports || []).map(p => p.port + (p.nodePort ? ':' + p.nodePort : '') +
      '/' + (p.protocol || 'TCP')).join(',')},
    {title: 'Endpoints', cls: 'wrap', get: s => {
      const e = eps.get(KD.key(s));
      const out = [];
      for (const ss of (e && e.subsets) || [])
        for (const a of ss.addresses || [])
          for (const p of ss.ports || [{}]) out.push(a.ip + (p.port ? ':' + p.port : ''));
      return out.join(', ') || '<none>';
    }},
    ageCol,
  ], svcs, {id: 'services', empty: 'no services', key: KD.key}));
  watch(path(CORE, 'services'), items => { svcs = items.sort(byName); draw(); });
  watch(path(CORE, 'endpoints'), items => { eps = new Map(items.map(e => [KD.key(e), e])); draw(); });
};

KD.pages.nodes = function (view) {
  live(view, 'Nodes', CORE + '/nodes', ns => table([
    {title: 'Name', get: n => n.metadata.name},
    {title: 'Status', get: n => badge(nodeReady(n))},
    {title: 'Roles', cls: 'opt', get: n => Object.keys(n.metadata.labels || {})
      .filter(l => l.startsWith('node-role.kubernetes.io/')).map(l => l.slice(24)).join(',') || '<none>'},
    {title: 'Version', cls: 'opt', get: n => ((n.status.nodeInfo || {}).kubeletVersion) || ''},
    {title: 'Internal IP', get: n => ((n.status.addresses || []).find(a => a.type === 'InternalIP') || {}).address || ''},
    {title: 'CPU', get: n => nodeUsage(n, 'cpu')},
    {title: 'Memory', get: n => nodeUsage(n, 'mem')},
    {title: 'Pods', cls: 'opt', get: n => (n.status.capacity || {}).pods},
    ageCol,
  ], ns, {id: 'nodes', empty: 'no nodes'}));
  KD.watchMetrics();
  view.append(KD.mxNote());
};

KD.pages.namespaces = function (view) {
  live(view, 'Namespaces', CORE + '/namespaces', ns => table([
    {title: 'Name', get: n => h('a', {href: '#/workloads', onclick: () =>
      sessionStorage.setItem('libkube.ns', n.metadata.name)}, n.metadata.name)},
    {title: 'Status', get: n => badge((n.status || {}).phase || 'Active')},
    ageCol,
  ], ns, {id: 'namespaces', empty: 'no namespaces'}));
};

// ---- pod detail ----

// A small YAML writer for the object view (JSON data only).
function yaml(v, ind) {
  ind = ind || '';
  const scalar = x => {
    if (x === null) return 'null';
    if (typeof x !== 'string') return String(x);
    return /^[A-Za-z0-9_./-][A-Za-z0-9_ ./:-]*$/.test(x) && !/^(true|false|null|yes|no|[0-9.+-]+)$/i.test(x) &&
      !/: |:$| $/.test(x) ? x : JSON.stringify(x);
  };
  if (Array.isArray(v)) {
    if (!v.length) return ' []';
    return v.map(x => '\n' + ind + '-' + (typeof x === 'object' && x !== null && !Array.isArray(x) &&
      Object.keys(x).length ? yaml(x, ind + '  ').replace(/^\n\s*/, ' ') : yaml(x, ind + '  '))).join('');
  }
  if (typeof v === 'object' && v !== null) {
    const ks = Object.keys(v);
    if (!ks.length) return ' {}';
    return ks.map(k => '\n' + ind + scalar(k) + ':' + yaml(v[k], ind + '  ')).join('');
  }
  return ' ' + scalar(v);
}
KD.yaml = o => yaml(o, '').replace(/^\n/, '') + '\n';

function containerState(s) {
  if (!s || !s.state) return 'Waiting';
  const [k, v] = Object.entries(s.state)[0] || ['waiting', {}];
  return k[0].toUpperCase() + k.slice(1) + (v && v.reason ? ' (' + v.reason + ')' : '');
}

function logsPanel(ns, name, pod) {
  const names = (pod.spec.containers || []).map(c => c.name);
  const sel = h('select', {id: 'log-container'}, names.map(n => h('option', {value: n}, n)));
  const out = h('pre', {id: 'logs', class: 'logs'});
  const note = h('p', {id: 'log-note', class: 'muted'});
  let cur = null;
  const stop = () => { if (cur) cur.abort(); cur = null; };
  const start = () => {
    stop();
    out.textContent = '';
    note.textContent = 'following…';
    const url = CORE + '/namespaces/' + encodeURIComponent(ns) + '/pods/' + encodeURIComponent(name) +
      '/log?follow=true&tailLines=500&container=' + encodeURIComponent(sel.value);
    const s = cur = KD.stream(url, chunk => {
      const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.append(chunk);
      if (out.textContent.length > 400000) out.textContent = out.textContent.slice(-300000);
      if (atEnd) out.scrollTop = out.scrollHeight;
    });
    s.done.then(() => { if (cur === s) note.textContent = 'the log stream ended'; },
      e => {
        if (cur !== s) return;
        note.textContent = '';
        out.replaceChildren(h('span', {class: 'error'},
          'No logs from this pod: ' + e.message + (e.status === 400 || e.status === 404 || e.status >= 500
            ? ' (no node serves its containers yet, or the node is unreachable)' : '')));
      });
  };
  sel.addEventListener('change', start);
  KD.onLeave = stop;
  start();
  return section('Logs', h('div', {class: 'inline'}, h('label', {for: 'log-container'}, 'Container '), sel,
    h('button', {type: 'button', onclick: start}, 'Reload')), note, out);
}

KD.pages.pod = function (view, args) {
  const [ns, name] = args;
  if (!ns || !name) {
    view.append(h('p', {class: 'error'}, 'no pod given'));
    return;
  }
  const head = h('div');
  const conts = h('div');
  const raw = h('pre', {id: 'object', class: 'code'});
  let fmt = 'yaml', cur = null, logs = null;
  const fmtBtn = f => h('button', {type: 'button', class: 'fmt', dataset: {fmt: f},
    onclick: () => { fmt = f; drawRaw(); }}, f.toUpperCase());
  const drawRaw = () => {
    if (cur) raw.textContent = fmt === 'json' ? JSON.stringify(cur, null, 2) : KD.yaml(cur);
  };
  view.append(h('h1', {class: 'title'}, h('a', {href: '#/workloads'}, 'Pods'), ' / ', ns, ' / ', name), head,
    section('Containers', conts));
  const evBody = h('div');
  view.append(section('Events', evBody));
  // CPU and memory of the pod (the metrics API, refreshed by the poll),
  // charted against the sum of its limits when every container has one.
  const usageBody = h('div', {id: 'pod-usage'});
  view.append(section('Usage', usageBody));
  KD.watchMetrics(ns);
  const key = ns + '/' + name;
  let usageFor = null;
  const drawUsage = p => {
    const lim = r => {
      const cs = p.spec.containers || [];
      const v = cs.map(c => qty(((c.resources || {}).limits || {})[r]));
      return v.length && v.every(x => !isNaN(x)) ? v.reduce((a, b) => a + b, 0) : 0;
    };
    usageBody.replaceChildren(
      h('div', {class: 'charts'},
        h('figure', null, h('figcaption', null, 'CPU'), KD.mxCell('pod', key, 'cpu', lim('cpu'), 'big')),
        h('figure', null, h('figcaption', null, 'Memory'), KD.mxCell('pod', key, 'mem', lim('memory'), 'big'))),
      KD.mxContainers(key), KD.mxNote());
  };
  const logSlot = h('div');
  view.append(logSlot, section('Object', h('div', {class: 'inline'}, fmtBtn('yaml'), fmtBtn('json')), raw));
  watch(CORE + '/namespaces/' + encodeURIComponent(ns) + '/pods?fieldSelector=' +
    encodeURIComponent('metadata.name=' + name), (items, w) => {
    const p = items[0];
    if (!p) {
      head.replaceChildren(h('p', {class: 'error'}, w.error ? w.error.message : 'pod "' + name + '" not found'));
      return;
    }
    cur = p;
    if (usageFor !== p.metadata.resourceVersion) {
      usageFor = p.metadata.resourceVersion;
      drawUsage(p);
    }
    const st = p.status || {};
    head.replaceChildren(h('dl', {class: 'facts'},
      h('dt', null, 'Status'), h('dd', {id: 'pod-status'}, badge(podStatus(p))),
      h('dt', null, 'Node'), h('dd', null, p.spec.nodeName || '<none>'),
      h('dt', null, 'Pod IP'), h('dd', null, st.podIP || '<none>'),
      h('dt', null, 'Age'), h('dd', null, age(p.metadata.creationTimestamp)),
      h('dt', null, 'Labels'), h('dd', null, Object.entries(p.metadata.labels || {}).map(([k, v]) => k + '=' + v).join(', ') || '<none>')));
    const byName = new Map((st.containerStatuses || []).map(c => [c.name, c]));
    conts.replaceChildren(table([
      {title: 'Name', get: c => c.name},
      {title: 'Image', cls: 'wrap', get: c => c.image},
      {title: 'State', get: c => containerState(byName.get(c.name))},
      {title: 'Ready', get: c => (byName.get(c.name) || {}).ready ? 'true' : 'false'},
      {title: 'Restarts', get: c => (byName.get(c.name) || {}).restartCount || 0},
      {title: 'Ports', cls: 'opt', get: c => (c.ports || []).map(x => x.containerPort + '/' + (x.protocol || 'TCP')).join(',')},
    ], p.spec.containers || [], {id: 'containers'}));
    drawRaw();
    if (!logs) {
      logs = logsPanel(ns, name, p);
      logSlot.replaceChildren(logs);
    }
  });
  watch(CORE + '/namespaces/' + encodeURIComponent(ns) + '/events', evs =>
    evBody.replaceChildren(eventsTable(evs.filter(e => (e.involvedObject || {}).kind === 'Pod' &&
      (e.involvedObject || {}).name === name), 0)));
};
})();
