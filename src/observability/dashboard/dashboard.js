// The gateway dashboard: one EventSource on /api/stream, redrawn on every tick. Everything from
// the gateway (client ids, topics) goes into the page as text, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const HISTORY = 300;
const state = { history: [], overview: null, sort: { key: 'clientId', asc: true }, selected: null };

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function sum(record) {
  let n = 0;
  for (const v of Object.values(record || {})) n += v;
  return n;
}

function fmt(n) {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.?0+$/, '') || '0';
}

function ago(iso) {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  return Math.floor(s / 3600) + ' h ago';
}

function figures(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v, cls] of pairs) {
    dl.append(el('dt', k), el('dd', v, cls));
  }
}

function drawChart() {
  const h = state.history;
  const ins = h.map((s) => sum(s.inByQos));
  const outs = h.map((s) => sum(s.outByQos));
  const max = Math.max(1, ...ins, ...outs);
  // The time axis spans at least the last minute and grows to five, so a fresh page shows a line.
  const span = Math.max(60, Math.min(HISTORY, h.length));
  const pts = (vals) => vals.map((v, i) => `${(((span - vals.length + i) * 300) / (span - 1)).toFixed(1)},${(60 - (v / max) * 56).toFixed(1)}`).join(' ');
  $('line-in').setAttribute('points', pts(ins));
  $('line-out').setAttribute('points', pts(outs));
  $('rate-chart').dataset.samples = String(h.length);
  $('chart-max').textContent = `max ${fmt(max)}/s`;
  const last = h[h.length - 1];
  if (!last) return;
  const qos = (r) => ['-1', '0', '1', '2'].map((q) => `QoS ${q}: ${fmt(r[q] || 0)}`).join(' · ');
  const drops = Object.entries(last.dropsByReason).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
  figures($('rate-figures'), [
    ['in', qos(last.inByQos)],
    ['out', qos(last.outByQos)],
    ['CONNECT', fmt(last.connects)],
    ['drops', drops || '0'],
    ['decode errors', fmt(last.decodeErrors)],
  ]);
}

function drawUpstream(u) {
  if (!u) return figures($('upstream-figures'), [['upstream', 'none (local broker only)']]);
  const pairs = [];
  if (u.mode) pairs.push(['mode', u.mode]);
  if (u.profile) pairs.push(['profile', u.profile]);
  pairs.push(['state', u.connected ? 'connected' : u.state || 'disconnected', 'state-' + (u.connected ? 'connected' : u.state || 'disconnected')]);
  if (u.since) pairs.push(['since', `${new Date(u.since).toLocaleString()} (${ago(u.since)})`]);
  pairs.push(['queue', String(u.queue ? u.queue.messages : u.queueDepth)]);
  if (u.lastError) pairs.push(['last error', `${u.lastError.message} (${ago(u.lastError.at)})`]);
  figures($('upstream-figures'), pairs);
}

function drawTransports(list) {
  $('transport-rows').replaceChildren(
    ...list.map((t) => {
      const tr = el('tr');
      tr.dataset.transport = t.name;
      // A serial dongle unplugged is 'reopening' here until it is back.
      tr.append(el('td', t.name), el('td', t.state === 'reopening' ? 'reopening (device gone?)' : t.state, 'state-' + t.state), el('td', t.framesIn), el('td', t.framesOut));
      return tr;
    }),
  );
}

function sortValue(s, key) {
  const v = s[key];
  if (Array.isArray(v)) return v.length;
  if (key === 'lastSeen') return v ? Date.parse(v) : 0;
  return v == null ? '' : v;
}

function visibleSessions() {
  const text = $('filter').value.trim().toLowerCase();
  const only = $('state-filter').value;
  const { key, asc } = state.sort;
  return state.overview.sessions.shown
    .filter((s) => (!only || s.state === only) && (!text || [s.clientId, s.peer || '', ...s.subscriptions.map((x) => x.filter), ...s.registeredTopics.map((x) => x.name)].some((f) => f.toLowerCase().includes(text))))
    .sort((a, b) => {
      const x = sortValue(a, key), y = sortValue(b, key);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
}

function drawSessions() {
  const o = state.overview;
  const rows = visibleSessions();
  $('session-count').textContent = `${rows.length} shown of ${o.sessions.total}`;
  $('session-rows').replaceChildren(
    ...rows.map((s) => {
      const tr = el('tr');
      tr.dataset.clientId = s.clientId;
      const st = el('td', s.state, 'state-' + s.state);
      st.dataset.field = 'state';
      const queued = s.reachable ? `${s.queued} queued` : `${s.queued} buffered`;
      tr.append(
        el('td', s.clientId),
        st,
        el('td', s.peer || '—'),
        el('td', s.sleepSec !== null ? `${s.keepAliveSec} s (sleep ${s.sleepSec} s)` : `${s.keepAliveSec} s`),
        el('td', ago(s.lastSeen)),
        el('td', s.subscriptions.length),
        el('td', s.registeredTopics.length),
        el('td', queued),
      );
      tr.addEventListener('click', () => select(s.clientId));
      return tr;
    }),
  );
  for (const th of document.querySelectorAll('th[data-sort]')) {
    th.classList.toggle('sorted', th.dataset.sort === state.sort.key);
    th.classList.toggle('asc', th.dataset.sort === state.sort.key && state.sort.asc);
  }
}

function drawDetail() {
  const id = state.selected;
  const box = $('detail');
  if (id === null) return void (box.hidden = true);
  box.hidden = false;
  $('detail-id').textContent = id;
  const s = state.overview.sessions.shown.find((x) => x.clientId === id);
  if (!s) return figures($('detail-figures'), [['state', 'gone (no session)', 'state-lost']]);
  figures($('detail-figures'), [
    ['protocol', `MQTT-SN ${s.version}`],
    ['state', s.state, 'state-' + s.state],
    ['transport', s.transport || '—'],
    ['peer', s.peer || '—'],
    ['clean session', String(s.cleanSession)],
    ['session expiry', s.sessionExpirySec === null ? '—' : s.sessionExpirySec === 4294967295 ? 'never' : `${s.sessionExpirySec} s`],
    ['keep-alive', `${s.keepAliveSec} s`],
    ['sleep', s.sleepSec === null ? '—' : `${s.sleepSec} s`],
    ['last seen', s.lastSeen ? `${s.lastSeen} (${ago(s.lastSeen)})` : '—'],
    ['will', s.will ? `${s.will.topic} (QoS ${s.will.qos}${s.will.retain ? ', retained' : ''})` : '—'],
    ['subscriptions', s.subscriptions.map((x) => `${x.filter} (QoS ${x.qos})`).join(', ') || '—'],
    ['registered topics', s.registeredTopics.map((x) => `${x.id}: ${x.name}`).join(', ') || '—'],
    [s.reachable ? 'queued' : 'buffered', String(s.queued)],
    ['in flight', s.inFlight ? `${s.inFlight.kind} ${s.inFlight.topic} (msg id ${s.inFlight.msgId}, retries ${s.inFlight.retries})` : '—'],
  ]);
  $('disconnect').disabled = false;
  $('disconnect').title = state.overview.actions ? '' : 'read-only: the gateway has no admin token (http.adminTokenEnv)';
}

function drawTopics(t) {
  $('topic-rows').replaceChildren(...t.mostUsed.map((x) => {
    const tr = el('tr');
    tr.append(el('td', x.name), el('td', x.subscribers), el('td', x.registrations));
    return tr;
  }));
  $('predefined-rows').replaceChildren(...t.predefined.map((x) => {
    const tr = el('tr');
    tr.append(el('td', x.id), el('td', x.name));
    return tr;
  }));
}

function draw() {
  const o = state.overview;
  if (!o) return;
  drawChart();
  drawUpstream(o.upstream);
  drawTransports(o.transports);
  drawSessions();
  drawDetail();
  drawTopics(o.topics);
}

function select(id) {
  state.selected = id;
  $('action-result').textContent = '';
  drawDetail();
  $('detail').scrollIntoView({ block: 'nearest' });
}

async function disconnect() {
  const id = state.selected;
  if (id === null) return;
  const token = $('token').value;
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  const out = $('action-result');
  try {
    const res = await fetch(`/api/sessions/${encodeURIComponent(id)}/disconnect`, { method: 'POST', headers });
    const body = await res.json();
    out.textContent = res.ok ? `disconnected ${id}` : `refused (${res.status}): ${body.error}`;
    out.className = res.ok ? 'done' : 'refused';
    out.dataset.status = String(res.status);
  } catch (err) {
    out.textContent = 'failed: ' + err;
    out.className = 'refused';
  }
}

function connect() {
  const live = $('live');
  const es = new EventSource('/api/stream');
  es.addEventListener('hello', (e) => {
    const d = JSON.parse(e.data);
    state.history = d.history.slice(-HISTORY);
    state.overview = d.overview;
    live.textContent = 'live';
    live.className = 'badge';
    draw();
  });
  es.addEventListener('tick', (e) => {
    const d = JSON.parse(e.data);
    state.history.push(d.sample);
    if (state.history.length > HISTORY) state.history.shift();
    state.overview = d.overview;
    draw();
  });
  // EventSource reconnects by itself (a gateway restart); the badge says meanwhile.
  es.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'badge off';
  });
}

document.addEventListener('DOMContentLoaded', () => {
  for (const th of document.querySelectorAll('th[data-sort]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.sort;
      state.sort = { key, asc: state.sort.key === key ? !state.sort.asc : true };
      drawSessions();
    });
  }
  $('filter').addEventListener('input', drawSessions);
  $('state-filter').addEventListener('change', drawSessions);
  $('detail-close').addEventListener('click', () => select(null));
  $('disconnect').addEventListener('click', disconnect);
  connect();
});
