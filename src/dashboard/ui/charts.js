// SPDX-License-Identifier: Apache-2.0
// CPU and memory usage from the metrics API (metrics.k8s.io/v1beta1
// NodeMetrics and PodMetrics, what `kubectl top` reads): polled every
// PERIOD while a page shows usage, kept as a short history per node and
// pod (the charts), and drawn into cells marked data-mx, which every poll
// refreshes in place.  Without the metrics API (not served, forbidden, no
// sample yet) the cells say so and the pages keep working.
'use strict';

(function () {
const {h} = KD;
const MX = '/apis/metrics.k8s.io/v1beta1';
const PERIOD = 10000; // ms; the node agents sample every 10 s
const KEEP = 30;      // samples kept per series: 5 minutes
const SVG = 'http://www.w3.org/2000/svg';

// Kubernetes quantities -> numbers (cores, bytes).
KD.qty = function (s) {
  if (s === undefined || s === null) return NaN;
  const m = String(s).match(/^([0-9.]+)([a-zA-Z]*)$/);
  if (!m) return NaN;
  const mult = {'': 1, m: 1e-3, n: 1e-9, u: 1e-6, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12,
    Ki: 1024, Mi: 1048576, Gi: 1073741824, Ti: 1099511627776}[m[2]];
  return mult === undefined ? NaN : parseFloat(m[1]) * mult;
};
const qty = KD.qty;
// 0.0123 cores -> "12m", 1.5 -> "1.5"; bytes -> "34 MiB".
KD.fmtCpu = c => isNaN(c) ? '' : c < 1 ? Math.round(c * 1000) + 'm' : c.toFixed(2).replace(/\.?0+$/, '');
KD.fmtMem = b => {
  if (isNaN(b)) return '';
  if (b >= 1073741824) return (b / 1073741824).toFixed(1) + ' GiB';
  if (b >= 1048576) return Math.round(b / 1048576) + ' MiB';
  return Math.round(b / 1024) + ' KiB';
};

// The state every page reads: available null (not asked yet), true or
// false; nodes and pods map a name / "ns/name" to {cpu, mem} (cores,
// bytes); containers map "ns/name" to [{name, cpu, mem}].
const M = {available: null, note: '', polls: 0, nodes: new Map(), pods: new Map(),
  containers: new Map(), scope: undefined};
KD.metrics = M;
const hist = new Map(); // "node/NAME" | "pod/NS/NAME" -> [{ts, cpu, mem}]

function record(key, ts, u) {
  let s = hist.get(key);
  if (!s) hist.set(key, s = []);
  if (s.length && s[s.length - 1].ts === ts) return;
  s.push({ts, cpu: u.cpu, mem: u.mem});
  if (s.length > KEEP) s.shift();
}

const usage = u => ({cpu: qty((u || {}).cpu), mem: qty((u || {}).memory)});

async function poll() {
  const gen = KD.gen;
  const ns = M.scope === undefined ? KD.ns() : M.scope;
  try {
    const [nl, pl] = await Promise.all([KD.api('GET', MX + '/nodes'),
      KD.api('GET', KD.path(MX, 'pods', ns))]);
    M.nodes = new Map();
    for (const n of nl.items || []) {
      const u = usage(n.usage);
      M.nodes.set(n.metadata.name, u);
      record('node/' + n.metadata.name, n.timestamp, u);
    }
    M.pods = new Map();
    M.containers = new Map();
    for (const p of pl.items || []) {
      const key = p.metadata.namespace + '/' + p.metadata.name;
      const cs = (p.containers || []).map(c => Object.assign({name: c.name}, usage(c.usage)));
      const u = cs.reduce((a, c) => ({cpu: a.cpu + (c.cpu || 0), mem: a.mem + (c.mem || 0)}),
        {cpu: 0, mem: 0});
      M.pods.set(key, u);
      M.containers.set(key, cs);
      record('pod/' + key, p.timestamp, u);
    }
    M.available = true;
    M.note = M.nodes.size || M.pods.size ? '' :
      'The metrics API has no samples yet (nodes report usage every 10 s).';
  } catch (e) {
    if (e.status === 401) return;
    M.available = false;
    M.note = 'The metrics API (metrics.k8s.io) is not available: capacity only. (' +
      e.message + ')';
  }
  M.polls++;
  if (gen === KD.gen) refresh();
}

// Start polling for the current page (the router stops it with the page);
// scope: the namespace of the PodMetrics to read (default: the menu's).
KD.watchMetrics = function (scope) {
  M.scope = scope;
  KD.timers.push(setInterval(poll, PERIOD));
  poll();
};

// ---- drawing ----

// A line chart of one series: `which` "cpu" or "mem", scaled to `max`
// (the capacity or limit; 0: the series' own peak).
function chart(key, which, max, w, hgt) {
  const s = hist.get(key) || [];
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + hgt);
  svg.setAttribute('width', w);
  svg.setAttribute('height', hgt);
  svg.setAttribute('class', 'chart' + (w > 100 ? ' big' : ''));
  svg.setAttribute('role', 'img');
  svg.dataset.points = String(s.length);
  const vals = s.map(p => p[which]).filter(v => !isNaN(v));
  const top = max > 0 ? max : Math.max(...vals, 0) * 1.25 || 1;
  const title = document.createElementNS(SVG, 'title');
  title.textContent = (which === 'cpu' ? 'CPU' : 'memory') + ', last ' + s.length + ' samples';
  svg.append(title);
  const base = document.createElementNS(SVG, 'line');
  base.setAttribute('x1', 0); base.setAttribute('x2', w);
  base.setAttribute('y1', hgt - 0.5); base.setAttribute('y2', hgt - 0.5);
  base.setAttribute('class', 'axis');
  svg.append(base);
  if (s.length) {
    const step = w / (KEEP - 1), x0 = w - (s.length - 1) * step;
    const pts = s.map((p, i) => (x0 + i * step).toFixed(1) + ',' +
      (hgt - 1 - Math.min(1, (isNaN(p[which]) ? 0 : p[which]) / top) * (hgt - 2)).toFixed(1));
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', pts.join(' '));
    line.setAttribute('class', 'series ' + which);
    svg.append(line);
  }
  return svg;
}

function bar(used, total, label) {
  const pct = total > 0 ? Math.min(100, used / total * 100) : 0;
  const fill = h('span', {class: 'fill' + (pct > 85 ? ' hot' : '')});
  fill.style.width = pct.toFixed(1) + '%';
  return h('span', {class: 'usage', title: label}, h('span', {class: 'bar'}, fill),
    h('span', {class: 'num'}, label));
}
KD.bar = bar;

const absent = () => M.available === false ? 'n/a' : M.available === null ? '…' : '–';

// Fill one cell from M: data-mx "node|pod", data-key, data-which "cpu|mem",
// data-cap (capacity for bars, optional), data-size "big" for the detail.
function fill(el) {
  const d = el.dataset;
  const u = (d.mx === 'node' ? M.nodes : M.pods).get(d.key);
  const v = u ? u[d.which] : NaN;
  const fmt = d.which === 'cpu' ? KD.fmtCpu : KD.fmtMem;
  const cap = parseFloat(d.cap || '0');
  const kids = [];
  if (isNaN(v)) {
    kids.push(h('span', {class: 'muted', title: M.note || 'no sample yet'}, absent()));
    el.classList.remove('has-usage');
  } else {
    const text = fmt(v) + (cap > 0 ? ' (' + Math.round(v / cap * 100) + '%)' : '');
    kids.push(cap > 0 ? bar(v, cap, text) : h('span', {class: 'num'}, text));
    el.classList.add('has-usage');
  }
  const big = d.size === 'big';
  if (!isNaN(v) || hist.has(d.mx + '/' + d.key))
    kids.push(chart(d.mx + '/' + d.key, d.which, cap, big ? 320 : 90, big ? 64 : 20));
  el.replaceChildren(...kids);
}

// A cell showing usage of a node or pod ("ns/name"), kept up to date.
KD.mxCell = function (kind, key, which, cap, size) {
  const el = h('span', {class: 'mx', dataset: {mx: kind, key, which,
    cap: cap > 0 ? String(cap) : '', size: size || ''}});
  fill(el);
  return el;
};

// The note under a table: why usage is missing.
KD.mxNote = () => h('p', {class: 'muted mx-note', id: 'metrics-note'}, M.note);

function refresh() {
  for (const el of document.querySelectorAll('[data-mx]')) fill(el);
  for (const el of document.querySelectorAll('.mx-note')) el.textContent = M.note;
  for (const el of document.querySelectorAll('[data-mx-containers]')) containers(el);
  const st = document.getElementById('view');
  if (st) {
    st.dataset.metrics = M.available === null ? 'unknown' : M.available ? 'available' : 'unavailable';
    st.dataset.metricsPolls = String(M.polls);
  }
}
KD.refreshMetrics = refresh;

// Per-container usage of one pod ("ns/name") as a table.
function containers(el) {
  const cs = M.containers.get(el.dataset.mxContainers) || [];
  el.replaceChildren(KD.table([
    {title: 'Container', get: c => c.name},
    {title: 'CPU', get: c => KD.fmtCpu(c.cpu)},
    {title: 'Memory', get: c => KD.fmtMem(c.mem)},
  ], cs, {id: 'container-usage', empty: M.available === false ? 'the metrics API is not available'
    : 'no sample yet'}));
}
KD.mxContainers = key => {
  const el = h('div', {dataset: {mxContainers: key}});
  containers(el);
  return el;
};
})();
