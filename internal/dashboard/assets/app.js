// provider-sandbox dashboard. Hand-written, no dependencies, no build step.
//
// Everything here talks to the public admin API of the page's namespace
// (fetch and EventSource on data-admin), so a script can do whatever the
// dashboard does. Safety rule: data is only ever put into the page with
// textContent or as attribute values (the h() helper); nothing received is
// parsed as HTML. Provider-specific rendering is the `renderers` table below,
// keyed by provider name; a provider without one is shown as JSON.
'use strict';

(function () {
  const B = document.body;
  const ADMIN = B.dataset.admin;
  const UI = B.dataset.ui;
  const NS = B.dataset.namespace;
  const VIEW = B.dataset.view;
  const PROVIDERS = (B.dataset.providers || '').split(',').filter(Boolean);

  // ---- small helpers -------------------------------------------------------

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }
  function byTestId(id, root) { return $('[data-testid="' + id + '"]', root); }

  // h builds an element. props: text, class, testid, data (dataset object),
  // on<event> listeners; anything else is an attribute. Children are nodes or
  // strings (strings become text nodes, never markup).
  function h(tag, props) {
    const e = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v === null || v === undefined || v === false) continue;
        if (k === 'text') e.textContent = String(v);
        else if (k === 'class') e.className = v;
        else if (k === 'testid') e.dataset.testid = v;
        else if (k === 'data') { for (const dk of Object.keys(v)) if (v[dk] !== undefined && v[dk] !== null) e.dataset[dk] = String(v[dk]); }
        else if (k.slice(0, 2) === 'on' && typeof v === 'function') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(e, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(e, x); }); return; }
    e.append(c instanceof Node ? c : String(c));
  }

  // fill replaces an element's children with nodes, strings and (nested)
  // arrays of them; null and undefined are skipped.
  function fill(e, kids) {
    e.replaceChildren();
    append(e, kids);
  }

  // api calls the namespace's admin API and never throws for an HTTP status:
  // the caller looks at ok/status. A network failure is status 0.
  async function api(method, path, body, contentType) {
    const opt = { method: method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opt.body = typeof body === 'string' ? body : JSON.stringify(body);
      opt.headers['Content-Type'] = contentType || 'application/json';
    }
    let res;
    try {
      res = await fetch(ADMIN + path, opt);
    } catch (err) {
      return { ok: false, status: 0, data: null, text: String(err), headers: new Headers() };
    }
    const text = await res.text();
    let data = null;
    if (/json/.test(res.headers.get('Content-Type') || '') && text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    return { ok: res.ok, status: res.status, data: data, text: text, headers: res.headers };
  }

  function problemText(r) {
    if (r.status === 0) return 'the sandbox cannot be reached (' + r.text + ')';
    const p = r.data;
    if (p && p.title) return r.status + ' ' + p.title + (p.detail ? ': ' + p.detail : '');
    return 'HTTP ' + r.status;
  }

  let noticeTimer = 0;
  function notice(msg, kind) {
    const n = byTestId('notice');
    if (!n) return;
    n.textContent = msg;
    n.className = 'notice show ' + (kind || 'info');
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { n.className = 'notice'; }, kind === 'error' ? 10000 : 4000);
  }

  function isoSeconds(ms) {
    if (ms === null || ms === undefined || isNaN(ms)) return '—';
    return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  }
  function shortTime(t) {
    const ms = Date.parse(t);
    if (isNaN(ms)) return t || '—';
    return new Date(ms).toISOString().slice(11, 19);
  }
  function fullTime(t) {
    const ms = Date.parse(t);
    return isNaN(ms) ? (t || '—') : isoSeconds(ms);
  }
  function statusClass(s) { return s >= 100 && s < 600 ? Math.floor(s / 100) + 'xx' : 'none'; }
  function ms(micros) { return micros === undefined || micros === null ? '—' : (micros / 1000).toFixed(micros < 10000 ? 2 : 0); }
  function debounce(fn, wait) {
    let t = 0;
    return function () { clearTimeout(t); t = setTimeout(fn, wait); };
  }
  // throttle runs fn wait ms after the first call of a burst, then again
  // after the next call: unlike debounce it still runs while calls keep
  // coming (live events arrive every 100 ms under steady traffic, which
  // would postpone a debounced refresh for as long as the traffic lasts).
  function throttle(fn, wait) {
    let t = 0;
    return function () { if (!t) t = setTimeout(function () { t = 0; fn(); }, wait); };
  }
  function badge(status) {
    return h('span', { class: 'badge s' + statusClass(status), text: status ? String(status) : 'no answer' });
  }
  function table(cols, rows, props) {
    return h('div', { class: 'tablewrap' },
      h('table', props || null,
        h('thead', null, h('tr', null, cols.map(function (c) { return h('th', { scope: 'col', text: c }); }))),
        h('tbody', null, rows)));
  }
  function td(v, cls) { return h('td', { class: cls || null, text: v === undefined || v === null || v === '' ? '—' : String(v) }); }

  // ---- copy to clipboard ---------------------------------------------------

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall back */ }
    }
    const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }
  document.addEventListener('click', async function (ev) {
    const b = ev.target.closest('button[data-copy]');
    if (!b) return;
    const ok = await copyText(b.dataset.copy);
    const old = b.dataset.label || b.textContent;
    b.dataset.label = old;
    b.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(function () { b.textContent = old; }, 1500);
  });

  // ---- live updates --------------------------------------------------------
  // Server-Sent Events from GET /events; when the stream is unavailable the
  // views are refreshed by polling ('poll' events every 3 s) instead.

  const live = {
    handlers: {},
    mode: '',
    opened: false, // the stream has been open once (a later open is a reconnect)
    pollTimer: 0,
    on: function (type, fn) { (this.handlers[type] = this.handlers[type] || []).push(fn); },
    emit: function (type, data) {
      (this.handlers[type] || []).forEach(function (fn) {
        try { fn(data); } catch (e) { notice('dashboard error: ' + e.message, 'error'); }
      });
    },
    setMode: function (m, text) {
      this.mode = m;
      const c = byTestId('connection');
      if (c) { c.textContent = text; c.dataset.mode = m; }
    },
    start: function () {
      const self = this;
      if (!window.EventSource) { self.poll(); return; }
      const es = new EventSource(ADMIN + '/events');
      ['request', 'callback', 'clock', 'faults', 'scenario', 'dropped'].forEach(function (t) {
        es.addEventListener(t, function (ev) {
          let d = null;
          try { d = JSON.parse(ev.data); } catch (e) { return; }
          self.emit(t, d);
        });
      });
      es.onopen = function () {
        self.stopPoll();
        self.setMode('live', 'live');
        // The stream replays nothing after a reconnect (it sends no id:
        // lines), so whatever happened while it was down is refetched.
        // (Not on the first open: a refetch re-renders the view, and the
        // small gap between a view's first fetch and its subscription is
        // left open; see docs/dashboard.md.)
        if (self.opened) self.refetch();
        self.opened = true;
      };
      es.onerror = function () {
        if (es.readyState === EventSource.CLOSED) { self.poll(); } else { self.setMode('reconnecting', 'reconnecting…'); }
      };
    },
    poll: function () {
      const self = this;
      self.setMode('polling', 'polling (no event stream)');
      if (self.pollTimer) return;
      self.pollTimer = setInterval(function () { self.emit('poll', null); }, 3000);
    },
    stopPoll: function () { clearInterval(this.pollTimer); this.pollTimer = 0; },
    // refetch reloads what the views show ('poll'), at most once every
    // 2 s: under sustained load every paced write of the stream carries a
    // 'dropped' event, and reloading the whole journal on each would
    // cost the sandbox far more than the events did.
    refetchAt: 0,
    refetchTimer: 0,
    refetch: function () {
      const self = this;
      if (self.refetchTimer) return;
      const wait = Math.max(0, self.refetchAt + 2000 - Date.now());
      self.refetchTimer = setTimeout(function () {
        self.refetchTimer = 0;
        self.refetchAt = Date.now();
        self.emit('poll', null);
      }, wait);
    },
  };
  // A subscriber that fell behind lost events: refetch what is shown.
  live.on('dropped', function (d) {
    notice((d && d.count) + ' live events were dropped; the view is reloaded', 'info');
    live.refetch();
  });
  live.on('scenario', function (d) {
    if (d && d.name) $all('[data-testid=scenario-name],[data-testid=home-scenario],[data-testid=controls-scenario]').forEach(function (e) { e.textContent = d.name; });
    clock.load();
  });

  // ---- clock bar -----------------------------------------------------------

  const clock = {
    now: NaN, frozen: false, at: 0,
    set: function (d) {
      if (!d || !d.now) return;
      this.now = Date.parse(d.now);
      this.frozen = !!d.frozen;
      this.at = Date.now();
      this.paint();
    },
    current: function () { return this.frozen ? this.now : this.now + (Date.now() - this.at); },
    paint: function () {
      const t = byTestId('clock-now');
      if (t) {
        const v = isoSeconds(this.current());
        t.textContent = v;
        t.setAttribute('datetime', v);
        t.dataset.frozen = String(this.frozen);
      }
      const f = byTestId('clock-freeze');
      if (f) {
        f.setAttribute('aria-pressed', String(this.frozen));
        f.textContent = this.frozen ? 'Unfreeze' : 'Freeze';
      }
    },
    load: async function () {
      const r = await api('GET', '/clock');
      if (r.ok) this.set(r.data);
    },
    post: async function (body) {
      const r = await api('POST', '/clock', body);
      if (!r.ok) { notice('clock: ' + problemText(r), 'error'); return false; }
      this.set(r.data);
      return true;
    },
  };
  live.on('clock', function (d) { clock.set(d); });
  live.on('poll', function () { clock.load(); });
  setInterval(function () { if (!clock.frozen) clock.paint(); }, 1000);

  function initBar() {
    clock.load();
    const f = byTestId('clock-freeze');
    if (f) f.addEventListener('click', function () { clock.post({ frozen: !clock.frozen }); });
    const adv = byTestId('clock-advance');
    if (adv) adv.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      const v = adv.elements.advance.value.trim();
      if (await clock.post({ advance: v })) notice('advanced by ' + v + '; now ' + isoSeconds(clock.current()));
    });
    initNamespacePicker();
  }

  function nsURL(name, view) {
    const base = name === 'default' ? '/__sandbox/ui/' : '/ns/' + encodeURIComponent(name) + '/__sandbox/ui/';
    return base + (view && view !== 'home' ? view : '');
  }

  async function initNamespacePicker() {
    const sel = byTestId('namespace-picker');
    if (!sel) return;
    sel.addEventListener('change', function () { if (sel.value && sel.value !== NS) location.assign(nsURL(sel.value, VIEW)); });
    const r = await api('GET', '/namespaces');
    const names = new Set(['default', NS]);
    if (r.ok && r.data && Array.isArray(r.data.namespaces)) r.data.namespaces.forEach(function (n) { names.add(n); });
    fill(sel, Array.from(names).sort().map(function (n) {
      return h('option', { value: n, selected: n === NS, text: n });
    }));
  }

  // ---- home ----------------------------------------------------------------

  function initHome() {
    async function stats() {
      const r = await api('GET', '/stats');
      if (!r.ok || !r.data || !r.data.providers) return;
      $all('[data-testid=provider-stats]').forEach(function (dl) {
        const s = r.data.providers[dl.dataset.provider] || {};
        $all('[data-stat]', dl).forEach(function (dd) {
          const v = s[dd.dataset.stat];
          dd.textContent = v === undefined ? '—' : String(v);
        });
      });
    }
    stats();
    setInterval(stats, 2000);
    const soon = throttle(stats, 300);
    live.on('request', soon);
    live.on('callback', soon);
    live.on('scenario', soon);
  }

  // ---- live journal --------------------------------------------------------

  function summary(e) {
    if (e.request) {
      return {
        id: e.id, time: e.time, provider: e.provider || '', operation: e.operation || '',
        method: e.request.method || '', path: (e.request.path || '') + (e.request.query ? '?' + e.request.query : ''),
        status: e.response ? e.response.status : 0, latency: e.latencyMicros, faults: e.faults || [],
      };
    }
    return {
      id: e.id, time: e.time, provider: e.provider || '', operation: e.operation || '', method: e.method || '',
      path: e.path || '', status: e.status || 0, latency: e.latencyMicros, faults: e.faults || [],
    };
  }

  function initJournal() {
    const MAX = 1000;
    const tbody = byTestId('journal-body');
    const detail = byTestId('journal-detail');
    const fp = byTestId('filter-provider'), fo = byTestId('filter-operation');
    const fs = byTestId('filter-status'), ft = byTestId('filter-text');
    const countEl = byTestId('journal-count');
    let entries = [];
    const byId = new Map();
    const ops = new Set();
    let selected = '';
    let loading = true;
    let pending = [];

    function matches(s) {
      if (fp.value && s.provider !== fp.value) return false;
      if (fo.value && s.operation !== fo.value) return false;
      if (fs.value) {
        const c = statusClass(s.status);
        if (fs.value === 'errors' ? (c !== '4xx' && c !== '5xx') : c !== fs.value) return false;
      }
      const q = ft.value.trim().toLowerCase();
      if (q) {
        const hay = [s.id, s.provider, s.operation, s.method, s.path, String(s.status)].concat(s.faults).join(' ').toLowerCase();
        if (hay.indexOf(q) < 0) return false;
      }
      return true;
    }
    function row(s) {
      const tr = h('tr', {
        testid: 'journal-row', data: { requestId: s.id, provider: s.provider, status: s.status },
        class: 'st' + statusClass(s.status) + (s.id === selected ? ' selected' : ''),
      },
      h('td', null, h('button', { type: 'button', class: 'link', 'aria-label': 'Open exchange ' + s.id, text: s.id })),
      h('td', null, h('time', { datetime: s.time, title: fullTime(s.time), text: shortTime(s.time) })),
      td(s.provider), td(s.operation),
      h('td', { class: 'path' }, h('span', { class: 'method', text: s.method }), ' ', breakable(s.path)),
      h('td', null, badge(s.status)),
      td(ms(s.latency), 'num'),
      td(s.faults.join(', ')));
      tr.addEventListener('click', function () { open(s.id); });
      return tr;
    }
    function count() {
      const shown = tbody.children.length;
      countEl.textContent = shown + ' of ' + entries.length + ' exchanges shown (the newest ' + MAX + ' are kept here; GET /requests has the whole journal)';
    }
    function render() {
      fill(tbody, entries.filter(matches).map(row));
      count();
    }
    function noteOperation(s) {
      if (!s.operation || ops.has(s.operation)) return;
      ops.add(s.operation);
      const cur = fo.value;
      fill(fo, [h('option', { value: '', text: 'all' })].concat(Array.from(ops).sort().map(function (o) {
        return h('option', { value: o, selected: o === cur, text: o });
      })));
    }
    function add(s) {
      if (byId.has(s.id)) return;
      byId.set(s.id, s);
      entries.unshift(s);
      noteOperation(s);
      if (entries.length > MAX) {
        const old = entries.pop();
        byId.delete(old.id);
        const tr = $('tr[data-request-id="' + CSS.escape(old.id) + '"]', tbody);
        if (tr) tr.remove();
      }
      if (matches(s)) tbody.prepend(row(s));
      count();
    }
    async function load() {
      loading = true;
      const r = await api('GET', '/requests?limit=' + MAX);
      if (!r.ok) { notice('journal: ' + problemText(r), 'error'); loading = false; return; }
      entries = [];
      byId.clear();
      (r.data || []).forEach(function (e) {
        const s = summary(e);
        byId.set(s.id, s);
        entries.push(s);
        noteOperation(s);
      });
      loading = false;
      render();
      const queued = pending;
      pending = [];
      queued.forEach(add);
    }
    live.on('request', function (d) {
      if (!d || !d.id) return;
      const s = summary(d);
      if (loading) pending.push(s); else add(s);
    });
    live.on('scenario', load);
    live.on('poll', load);
    [fp, fo, fs].forEach(function (e) { e.addEventListener('change', render); });
    ft.addEventListener('input', debounce(render, 120));
    byTestId('journal-filters').addEventListener('submit', function (ev) { ev.preventDefault(); render(); });
    byTestId('journal-clear').addEventListener('click', async function () {
      const r = await api('DELETE', '/requests');
      if (!r.ok) { notice('clear: ' + problemText(r), 'error'); return; }
      entries = [];
      byId.clear();
      render();
      notice('journal cleared');
    });

    async function open(id) {
      selected = id;
      $all('tr.selected', tbody).forEach(function (tr) { tr.classList.remove('selected'); });
      const tr = $('tr[data-request-id="' + CSS.escape(id) + '"]', tbody);
      if (tr) tr.classList.add('selected');
      if (location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
      detail.dataset.requestId = id;
      detail.replaceChildren(h('p', { class: 'muted', text: 'Loading ' + id + '…' }));
      const r = await api('GET', '/requests/' + encodeURIComponent(id));
      if (selected !== id) return;
      if (!r.ok) {
        detail.replaceChildren(h('p', { class: 'error', text: problemText(r) }));
        return;
      }
      fill(detail, renderEntry(r.data));
      detail.focus({ preventScroll: true });
    }
    load().then(function () {
      const id = decodeURIComponent(location.hash.slice(1));
      if (id) open(id);
    });
  }

  // breakable lets a long path wrap after / ? & (a <wbr> between text nodes).
  function breakable(text) {
    const out = [];
    String(text).split(/(?<=[/?&])/).forEach(function (part, i) { if (i) out.push(h('wbr')); out.push(part); });
    return out;
  }

  function headerValue(headers, name) {
    if (!headers) return '';
    const k = Object.keys(headers).find(function (x) { return x.toLowerCase() === name; });
    return k ? (headers[k] || []).join(', ') : '';
  }

  // pretty shows a body the way a person reads it: JSON indented, a form one
  // field a line, anything else as it was sent.
  function pretty(msg) {
    const body = msg.body || '';
    if (!body) return '';
    const ct = headerValue(msg.headers, 'content-type');
    if (/json/i.test(ct) || /^\s*[[{]/.test(body)) {
      try { return JSON.stringify(JSON.parse(body), null, 2); } catch (e) { /* not JSON after all */ }
    }
    if (/x-www-form-urlencoded/i.test(ct)) {
      try {
        return Array.from(new URLSearchParams(body)).map(function (kv) { return kv[0] + ' = ' + kv[1]; }).join('\n');
      } catch (e) { /* as sent */ }
    }
    return body;
  }

  function headersTable(headers) {
    const names = Object.keys(headers || {}).sort();
    if (!names.length) return h('p', { class: 'muted', text: 'no headers' });
    const rows = [];
    names.forEach(function (n) { (headers[n] || []).forEach(function (v) { rows.push(h('tr', null, h('th', { scope: 'row', text: n }), h('td', null, h('code', { text: v })))); }); });
    return h('table', { class: 'headers' }, h('tbody', null, rows));
  }

  function bodyBlock(msg, testid) {
    const text = pretty(msg);
    const parts = [];
    if (!text) parts.push(h('p', { class: 'muted', text: 'no body' }));
    else parts.push(h('pre', { class: 'body', testid: testid, text: text }));
    if (msg.truncated) parts.push(h('p', { class: 'muted', text: 'The journal kept the first ' + (msg.body || '').length + ' characters of ' + msg.bodyBytes + ' bytes.' }));
    return parts;
  }

  // Headers a replay must not copy: they describe the old connection.
  const SKIP_HEADERS = new Set(['content-length', 'host', 'connection', 'accept-encoding', 'user-agent', 'x-forwarded-for']);

  function shq(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

  function curlFor(e) {
    const req = e.request;
    const parts = ['curl', '-i'];
    if (req.method === 'HEAD') parts.push('-I');
    else if (req.method !== 'GET' || req.body) parts.push('-X', req.method);
    parts.push(shq(location.origin + req.path + (req.query ? '?' + req.query : '')));
    // A request routed by its Host (docs/hosts.md) is replayed to the same host.
    if (req.host) parts.push('-H', shq('Host: ' + req.host));
    Object.keys(req.headers || {}).sort().forEach(function (k) {
      if (SKIP_HEADERS.has(k.toLowerCase())) return;
      (req.headers[k] || []).forEach(function (v) { parts.push('-H', shq(k + ': ' + v)); });
    });
    if (req.body) parts.push('--data-binary', shq(req.body));
    return parts.join(' ');
  }

  function renderEntry(e) {
    const req = e.request || {}, res = e.response || {};
    const curl = curlFor(e);
    const faults = e.faults && e.faults.length ? e.faults.join(', ') : 'none';
    return [
      h('div', { class: 'detail-head' },
        h('h2', null, h('span', { class: 'method', text: req.method }), ' ', req.path + (req.query ? '?' + req.query : ''), ' ', badge(res.status)),
        h('button', { type: 'button', class: 'small', text: 'Close', onclick: function () { const d = byTestId('journal-detail'); d.replaceChildren(h('p', { class: 'muted', text: 'Choose an exchange to see its request and response.' })); } })),
      h('dl', { class: 'kv', testid: 'detail-summary' },
        h('dt', { text: 'id' }), h('dd', null, h('code', { text: e.id })),
        h('dt', { text: 'time' }), h('dd', { text: fullTime(e.time) + ' (sandbox time)' }),
        h('dt', { text: 'namespace' }), h('dd', { text: e.namespace }),
        h('dt', { text: 'provider' }), h('dd', { text: e.provider || '—' }),
        h('dt', { text: 'matched operation' }), h('dd', { testid: 'detail-operation', text: e.operation || 'none (the path or method matched no operation of the spec)' }),
        h('dt', { text: 'validation' }), h('dd', { testid: 'detail-validation', class: e.validation ? 'error' : null, text: e.validation || (e.operation ? 'the request matched its spec' : '—') }),
        h('dt', { text: 'faults applied' }), h('dd', { testid: 'detail-faults', text: faults }),
        h('dt', { text: 'time taken' }), h('dd', { text: ms(e.latencyMicros) + ' ms' })),
      h('h3', { text: 'Request' }), headersTable(req.headers), bodyBlock(req, 'detail-request-body'),
      h('h3', null, 'Response ', badge(res.status)), headersTable(res.headers), bodyBlock(res, 'detail-response-body'),
      h('h3', { text: 'Replay with curl' }),
      h('pre', { class: 'curl', testid: 'detail-curl', text: curl }),
      h('button', { type: 'button', class: 'copy', data: { copy: curl }, testid: 'detail-curl-copy', text: 'Copy curl' }),
      req.truncated ? h('p', { class: 'muted', text: 'The request body was truncated in the journal, so the replay sends only what was kept.' }) : null,
      req.redacted && req.redacted.length ? h('p', { class: 'muted', testid: 'detail-curl-redacted',
        text: 'The journal keeps ' + req.redacted.join(', ') + ' only as marks ("…(N bytes, sha256:…)"), so the replay sends the marks: put in the real values (or a fresh token) before running it.' }) : null,
    ];
  }

  // ---- provider state ------------------------------------------------------

  function json(v) { return h('pre', { class: 'body', text: JSON.stringify(v, null, 2) }); }
  function none(text) { return h('p', { class: 'muted', text: text }); }
  function money(v) { return v === undefined || v === null ? '' : String(v); }

  async function journalFor(provider, extra) {
    const r = await api('GET', '/requests?provider=' + encodeURIComponent(provider) + (extra || ''));
    return r.ok && Array.isArray(r.data) ? r.data : [];
  }

  function journalLink(id) {
    return h('a', { href: UI + 'journal#' + encodeURIComponent(id), text: id });
  }

  const renderers = {
    netrefer: async function (box, st) {
      const batches = await journalFor('netrefer', '&path=' + encodeURIComponent('/di/v1/') + '&limit=50');
      const out = [];
      (st.clients || []).forEach(function (cl) {
        out.push(h('h3', null, 'Client ', h('code', { text: cl.clientId }), ' · ' + cl.processedEvents + ' events processed'));
        out.push(h('h4', { text: 'Customers (' + cl.customers.length + ')' }));
        out.push(cl.customers.length ? table(['customer', 'brand', 'country', 'currency', 'status', 'registered', 'updates', 'totals'],
          cl.customers.map(function (c) {
            const tot = c.totals ? Object.keys(c.totals).map(function (k) { return k + ' ' + c.totals[k]; }).join(', ') : '';
            return h('tr', { testid: 'netrefer-customer', data: { customerId: c.customerId } },
              td(c.customerId), td(c.brandId), td(c.countryCode), td(c.currency), td(c.status), td(fullTime(c.registrationDate)),
              td((c.updates || []).length), td(tot));
          })) : none('no customer registered yet'));
        out.push(h('h4', { text: 'Transactions (' + cl.transactions.length + ')' }));
        out.push(cl.transactions.length ? table(['transaction', 'type', 'customer', 'amount', 'currency', 'reversed', 'events'],
          cl.transactions.map(function (t) {
            return h('tr', null, td(t.transactionId), td(t.type), td(t.customerId),
              td(t.amount !== undefined ? money(t.amount) : 'turnover ' + money(t.turnover)), td(t.currency), td(t.reversed ? 'yes' : 'no'),
              td((t.history || []).map(function (x) { return x.type + ' ' + x.eventId; }).join(', ')));
          })) : none('no transaction yet'));
      });
      out.push(h('h3', { text: 'Batches (the last ' + batches.length + ' Data Ingestion calls)' }));
      if (!batches.length) out.push(none('no batch sent yet'));
      batches.forEach(function (e) {
        let parsed = null;
        try { parsed = JSON.parse(e.response.body); } catch (err) { parsed = null; }
        const head = h('div', { class: 'batch-head' }, badge(e.response.status), ' ', e.operation || e.request.path, ' · ', journalLink(e.id), ' · ', fullTime(e.time));
        const items = [];
        if (parsed && Array.isArray(parsed.results)) {
          head.append(' · received ' + parsed.received + ', accepted ' + parsed.accepted + ', rejected ' + parsed.rejected);
          parsed.results.forEach(function (r) {
            const errs = (r.errors || []).map(function (x) { return h('li', null, h('code', { text: x.code }), ' ' + (x.field ? x.field + ': ' : '') + x.message); });
            items.push(h('li', { testid: 'batch-event', class: r.status === 'Accepted' ? 'ok' : 'bad', data: { eventId: r.eventId, status: r.status } },
              '#' + r.index + ' ' + (r.eventId || '(no eventId)') + ': ' + r.status, errs.length ? h('ul', null, errs) : null));
          });
        } else {
          const msg = parsed && (parsed.message || parsed.error_description || parsed.error || (parsed.errors && JSON.stringify(parsed.errors)));
          items.push(h('li', { class: 'bad', text: msg ? String(msg) : (e.response.body || 'no body').slice(0, 300) }));
        }
        out.push(h('div', { class: 'batch', testid: 'netrefer-batch', data: { requestId: e.id, status: e.response.status } }, head, h('ul', { class: 'events' }, items)));
      });
      fill(box, out);
    },

    centili: async function (box, st) {
      const out = [h('p', { class: 'muted', text: 'Centili time ' + st.now + ' (UTC) · ' + (st.sessions || []).length + ' Keycloak sessions' })];
      (st.services || []).forEach(function (sv) {
        out.push(h('h3', null, sv.name + ' ', h('code', { text: sv.serviceKey }), sv.active ? '' : ' (inactive)', ' · merchant ' + sv.merchantId));
        const g = h('div', { class: 'gauges' });
        (sv.pools || []).forEach(function (p, i) {
          const id = 'pool-' + sv.serviceKey + '-' + p.operator + '-' + i;
          g.append(h('div', {
            class: 'gauge' + (p.expired ? ' expired' : ''), testid: 'pool-gauge',
            data: { service: sv.serviceKey, operator: p.operator, assigned: p.assignedAmount, total: p.totalAmount, balance: p.balance, expired: p.expired },
          },
          h('label', { for: id, text: p.operator }),
          h('meter', { id: id, min: 0, max: Math.max(p.totalAmount, 1), value: p.assignedAmount, low: p.totalAmount * 0.7, high: p.totalAmount * 0.9, optimum: 0 }),
          h('span', { class: 'gauge-text', text: p.assignedAmount + ' / ' + p.totalAmount + ' MB assigned · ' + p.balance + ' left · expires ' + p.expirationDate + (p.expired ? ' (expired)' : '') })));
        });
        if (!(sv.pools || []).length) g.append(none('no pool'));
        out.push(g);
      });
      const txs = (st.transactions || []).slice().reverse();
      out.push(h('h3', { text: 'Transactions (' + txs.length + ', newest first)' }));
      out.push(txs.length ? table(['transaction', 'time', 'msisdn', 'clientId', 'MB', 'operator', 'status', 'error'],
        txs.map(function (t) {
          return h('tr', { testid: 'centili-transaction', data: { transactionId: t.transactionId, status: t.status } },
            td(t.transactionId), td(t.timeCreated), td(t.msisdn), td(t.clientId), td(t.amount, 'num'), td(t.operator), td(t.status),
            td(t.errorType ? t.errorType + ': ' + (t.errorMessage || '') : ''));
        })) : none('no gift yet'));
      fill(box, out);
    },

    netfinity: async function (box, st) {
      const cr = await api('GET', '/callbacks?provider=netfinity');
      const deliveries = cr.ok && Array.isArray(cr.data) ? cr.data : [];
      const byMessage = {};
      deliveries.forEach(function (d) { (byMessage[d.key] = byMessage[d.key] || []).push(d); });
      const msgs = (st.messages || []).slice().reverse();
      const out = [h('h3', { text: 'Messages (' + msgs.length + ', newest first)' })];
      if (!msgs.length) out.push(none('no message sent yet'));
      msgs.forEach(function (m) {
        const mine = byMessage[m.uuid] || [];
        const steps = (m.history || []).map(function (ev) {
          const dl = mine.filter(function (d) { return d.meta && d.meta.status === ev.code; });
          return h('li', { class: 'step', data: { code: ev.code } },
            h('span', { class: 'code', text: String(ev.code) }), ' ' + ev.description + ' ', h('time', { datetime: ev.at, text: fullTime(ev.at) }),
            dl.map(pingback));
        });
        const shown = new Set((m.history || []).map(function (ev) { return ev.code; }));
        mine.filter(function (d) { return !(d.meta && shown.has(d.meta.status)); }).forEach(function (d) { steps.push(h('li', { class: 'step' }, pingback(d))); });
        out.push(h('article', { class: 'message', testid: 'message-timeline', data: { messageId: m.uuid, clientId: m.id, final: m.final } },
          h('h4', null, 'id ', h('code', { text: m.id || '—' }), ' → ' + m.msisdn + ' (' + (m.network || 'unknown network') + ') · path ' + m.path + (m.final ? ' · final' : '')),
          h('p', { class: 'muted' }, 'uuid ', h('code', { text: m.uuid }), ' · “' + m.sentText + '”', m.truncated ? ' (truncated)' : '',
            ' · pingbacks ', m.callbackUrl ? h('code', { text: m.callbackUrl }) : 'none (the token has no callback URL)'),
          h('ol', { class: 'timeline' }, steps)));
      });
      const rl = st.rateLimits || [];
      out.push(h('h3', { text: 'Rate limits' }));
      out.push(rl.length ? table(['token', 'service', 'used', 'limit', 'window ends'], rl.map(function (l) {
        return h('tr', null, td(l.token), td(l.service), td(l.used, 'num'), td(l.limit, 'num'), td(fullTime(l.windowEnds)));
      })) : none('no window open'));
      fill(box, out);
    },

    intarget: async function (box, st) {
      let vol = $('.volumes', box), ver = $('.verifier', box);
      if (!vol) {
        vol = h('div', { class: 'volumes' });
        ver = verifier();
        box.replaceChildren(vol, ver);
      }
      const entries = await journalFor('intarget', '&limit=1000');
      const feeds = {};
      entries.forEach(function (e) {
        const f = feeds[e.operation || '(unrouted)'] = feeds[e.operation || '(unrouted)'] || { requests: 0, rows: 0, partial: false, errors: 0 };
        f.requests++;
        if (e.response.status >= 400) { f.errors++; return; }
        const n = rowCount(e.response);
        if (n === null) f.partial = true; else f.rows += n;
      });
      const world = st.world || {};
      const on = Object.keys(st.faults || {}).filter(function (k) { return st.faults[k]; });
      vol.replaceChildren(
        h('p', { class: 'muted' }, 'World from ', h('code', { text: st.worldStart }), ' · max window ' + st.maxWindow + ' · auth ' + st.auth +
          ' · contract faults on: ' + (on.length ? on.map(function (k) { return k + '=' + st.faults[k]; }).join(', ') : 'none')),
        h('h3', { text: 'Generated per hour' }),
        table(['setting', 'value'], Object.keys(world).filter(function (k) { return /PerHour|EveryHours/.test(k); }).map(function (k) {
          return h('tr', null, td(k), td(world[k], 'num'));
        })),
        h('h3', { text: 'Served per feed' }),
        Object.keys(feeds).length ? table(['feed (operation)', 'requests', 'rows served', 'errors'], Object.keys(feeds).sort().map(function (k) {
          const f = feeds[k];
          return h('tr', { testid: 'intarget-feed', data: { operation: k, requests: f.requests, rows: f.rows } },
            td(k), td(f.requests, 'num'), td((f.partial ? 'at least ' : '') + f.rows, 'num'), td(f.errors, 'num'));
        })) : none('no feed pulled yet'));
    },
  };

  // pingback shows one delivery of a message status: its state, the retry
  // schedule (next attempt, attempts used of the maximum) and every attempt.
  function pingback(d) {
    const atts = (d.attempts || []).map(function (a) {
      return h('li', { testid: 'pingback-attempt', class: a.error ? 'att-bad' : 'att-ok', data: { n: a.n, status: a.status || 0, deliveryId: d.id } },
        '#' + a.n + ' at ' + fullTime(a.at) + ' → ' + (a.status ? String(a.status) : 'no answer') + ' in ' + a.latencyMs + ' ms' + (a.error ? ': ' + a.error : ''));
    });
    const used = (d.attempts || []).length;
    const parts = ['pingback ' + d.state, used + ' of ' + d.maxAttempts + ' attempts'];
    if (d.nextAttemptAt) parts.push('next attempt at ' + fullTime(d.nextAttemptAt));
    if (d.finishedAt) parts.push('finished ' + fullTime(d.finishedAt));
    return h('div', { class: 'pingback', testid: 'pingback', data: { deliveryId: d.id, state: d.state } },
      parts.join(' · '), atts.length ? h('ol', null, atts) : null);
  }

  // rowCount counts the rows of a CSV or JSON feed answer, or null when the
  // journal kept only part of the body.
  function rowCount(msg) {
    if (msg.truncated || !msg.body) return msg.body ? null : 0;
    const b = msg.body;
    if (/^\s*\[/.test(b)) {
      try { return JSON.parse(b).length; } catch (e) { return null; }
    }
    const lines = b.split(/\r?\n/).filter(function (l) { return l !== ''; });
    return Math.max(lines.length - 1, 0);
  }

  // verifier is the InTarget verifier form: POST /intarget/verify, the report
  // as HTML, and the same report as JSON or JUnit XML to download.
  function verifier() {
    const field = function (name, label, placeholder) {
      const id = 'verify-' + name;
      return h('div', null, h('label', { for: id, text: label }), h('input', { id: id, name: name, placeholder: placeholder || '', autocomplete: 'off', spellcheck: 'false' }));
    };
    const form = h('form', { class: 'verify-form', testid: 'verify-form' },
      field('baseUrl', 'Base URL', 'empty: this namespace\'s reference API'),
      field('auth', 'Basic auth USER:PASS', 'intarget:sandbox-password'),
      field('header', 'Header', 'X-Api-Key: secret'),
      field('from', 'From', 'YYYY-MM-DD HH:MM:SS'),
      field('to', 'To', 'YYYY-MM-DD HH:MM:SS'),
      field('window', 'Window', '1h'),
      field('now', 'API time (now)', 'default: the sandbox clock for its own API'),
      h('div', null, h('label', { for: 'verify-format', text: 'Format' }),
        h('select', { id: 'verify-format', name: 'format' }, h('option', { value: '', text: 'csv (default)' }), h('option', { value: 'json', text: 'json' }))),
      h('div', { class: 'actions' }, h('button', { type: 'submit', testid: 'verify-run', text: 'Run the verifier' })));
    const progress = h('div', { class: 'progress', testid: 'verify-progress', hidden: true },
      h('progress', { 'aria-label': 'verifier running' }), h('span', { class: 'elapsed' }));
    const report = h('div', { class: 'report', testid: 'verify-report' });
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      const body = {};
      Array.from(form.elements).forEach(function (el) { if (el.name && el.value.trim()) body[el.name] = el.value.trim(); });
      const run = form.querySelector('button[type=submit]');
      run.disabled = true;
      progress.hidden = false;
      const started = Date.now();
      const tick = setInterval(function () { $('.elapsed', progress).textContent = ' running… ' + Math.round((Date.now() - started) / 1000) + ' s'; }, 250);
      report.replaceChildren();
      const r = await api('POST', '/intarget/verify', body);
      clearInterval(tick);
      progress.hidden = true;
      run.disabled = false;
      if (!r.ok || !r.data) { report.replaceChildren(h('p', { class: 'error', testid: 'verify-error', text: problemText(r) })); return; }
      fill(report, renderReport(r.data, r.text));
    });
    return h('div', { class: 'verifier' }, h('h3', { text: 'Verifier' }),
      h('p', { class: 'muted', text: 'Pulls a product API the way InTarget does (POST /intarget/verify, at most 48 windows) and reports every deviation.' }),
      form, progress, report);
  }

  function download(name, type, text, testid, label) {
    const url = URL.createObjectURL(new Blob([text], { type: type }));
    return h('a', { href: url, download: name, testid: testid, class: 'button', text: label });
  }

  function renderReport(rep, raw) {
    const counts = { pass: 0, fail: 0, warn: 0, skip: 0 };
    (rep.results || []).forEach(function (r) { counts[r.status] = (counts[r.status] || 0) + 1; });
    const rows = (rep.results || []).map(function (r) {
      const findings = (r.findings || []).map(function (f) {
        return h('li', null, '[' + f.severity + '] ' + f.message, f.request ? h('div', { class: 'muted' }, 'request: ', h('code', { text: f.request })) : null,
          (f.rows || []).map(function (row) { return h('div', { class: 'muted' }, 'row: ', h('code', { text: row })); }));
      });
      if (r.omittedFindings) findings.push(h('li', { class: 'muted', text: '… and ' + r.omittedFindings + ' more findings' }));
      return h('tr', { class: 'r-' + r.status, testid: 'verify-result', data: { check: r.check, entity: r.entity, status: r.status } },
        td(r.check), td(r.entity), h('td', null, h('span', { class: 'badge v-' + r.status, text: r.status })), td(r.note),
        h('td', null, findings.length ? h('details', null, h('summary', { text: findings.length + ' finding(s)' }), h('ul', null, findings)) : '—'));
    });
    return [
      h('h4', { class: rep.conformant ? 'ok' : 'bad', testid: 'verify-verdict', data: { conformant: rep.conformant },
        text: rep.conformant ? 'Conformant' : 'Not conformant (failed: ' + (rep.failedChecks || []).join(', ') + ')' }),
      h('p', { class: 'muted', text: rep.baseUrl + ' · ' + rep.from + ' … ' + rep.to + ' · window ' + rep.window + ' · ' + rep.format + ' · ' +
        rep.requests + ' requests, ' + rep.rows + ' rows, ' + rep.duration + ' · ' + counts.pass + ' passed, ' + counts.fail + ' failed, ' + counts.warn + ' warnings, ' + counts.skip + ' skipped' }),
      (rep.hints || []).length ? h('ul', { class: 'hints' }, rep.hints.map(function (x) { return h('li', { class: 'bad', text: 'LIKELY PROBLEM: ' + x }); })) : null,
      h('p', { class: 'row' }, download('intarget-report.json', 'application/json', raw, 'verify-download-json', 'Download JSON'), ' ',
        download('intarget-junit.xml', 'application/xml', junit(rep), 'verify-download-junit', 'Download JUnit XML')),
      table(['check', 'feed', 'result', 'note', 'findings'], rows, { class: 'report-table' }),
    ];
  }

  // junit writes the report as JUnit XML the way `sandbox intarget verify
  // --junit` does: one test case per check and feed. Built with the XML DOM,
  // so every value is escaped by the serializer.
  function junit(rep) {
    const doc = document.implementation.createDocument(null, 'testsuites', null);
    const suite = doc.createElement('testsuite');
    doc.documentElement.appendChild(suite);
    let tests = 0, failures = 0, skipped = 0;
    (rep.results || []).forEach(function (r) {
      const c = doc.createElement('testcase');
      c.setAttribute('classname', 'intarget.' + r.entity);
      c.setAttribute('name', r.check);
      const text = (r.findings || []).map(function (f) {
        return '[' + f.severity + '] ' + f.message + '\n' + (f.request ? '  request: ' + f.request + '\n' : '') +
          (f.rows || []).map(function (row) { return '  row: ' + row + '\n'; }).join('');
      }).join('');
      if (r.status === 'fail') {
        failures++;
        const f = doc.createElement('failure');
        f.setAttribute('message', r.findings && r.findings.length ? r.findings[0].message : '');
        f.textContent = text;
        c.appendChild(f);
      } else if (r.status === 'skip') {
        skipped++;
        const s = doc.createElement('skipped');
        s.setAttribute('message', r.note || '');
        c.appendChild(s);
      } else if (text) {
        const o = doc.createElement('system-out');
        o.textContent = text;
        c.appendChild(o);
      }
      tests++;
      suite.appendChild(c);
    });
    suite.setAttribute('name', 'intarget-verify ' + rep.baseUrl);
    suite.setAttribute('tests', String(tests));
    suite.setAttribute('failures', String(failures));
    suite.setAttribute('skipped', String(skipped));
    if ((rep.hints || []).length) {
      const o = doc.createElement('system-out');
      o.textContent = rep.hints.map(function (x) { return 'LIKELY PROBLEM: ' + x + '\n'; }).join('');
      suite.appendChild(o);
    }
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(doc) + '\n';
  }

  function initState() {
    const busy = {};
    const again = {};
    async function load(name) {
      const box = $('[data-state-body="' + CSS.escape(name) + '"]');
      if (!box) return;
      if (busy[name]) { again[name] = true; return; }
      busy[name] = true;
      try {
        const r = await api('GET', '/state/' + encodeURIComponent(name));
        if (r.status === 404) box.replaceChildren(none(problemText(r)));
        else if (!r.ok) box.replaceChildren(h('p', { class: 'error', text: problemText(r) }));
        else if (renderers[name]) await renderers[name](box, r.data);
        else box.replaceChildren(json(r.data));
        box.dataset.loaded = String(Date.now());
      } catch (e) {
        box.replaceChildren(h('p', { class: 'error', text: 'could not show the state: ' + e.message }));
      } finally {
        busy[name] = false;
        if (again[name]) { again[name] = false; load(name); }
      }
    }
    const timers = {};
    function soon(name) {
      if (PROVIDERS.indexOf(name) < 0) return;
      if (timers[name]) return; // a load is due; it will see this change
      timers[name] = setTimeout(function () { timers[name] = 0; load(name); }, 300);
    }
    function all() { PROVIDERS.forEach(soon); }
    PROVIDERS.forEach(load);
    live.on('request', function (d) { if (d && d.provider) soon(d.provider); });
    live.on('callback', function (d) { soon((d && d.source) || 'netfinity'); });
    live.on('clock', all);
    live.on('scenario', all);
    live.on('poll', all);
    $all('[data-refresh]').forEach(function (b) { b.addEventListener('click', function () { load(b.dataset.refresh); }); });
  }

  // ---- controls ------------------------------------------------------------

  // Presets are ordinary fault rules with fixed ids (so a second press finds
  // and removes the rule), except the pingback one: pingbacks are requests
  // the sandbox makes, which fault rules do not see, so it points the demo
  // token's callback URL at a closed port instead.
  const PRESETS = {
    'centili-503': {
      id: 'ui-centili-503', description: 'Centili Data Gifting answers 503 for 5 minutes (dashboard preset; the token service stays up)',
      match: { provider: 'centili', path: '^/datagifting/' }, respond: { status: 503 }, for: '5m',
    },
    'netrefer-429': {
      id: 'ui-netrefer-429', description: 'NetRefer API Management answers 429 with Retry-After: 30 (dashboard preset)',
      match: { provider: 'netrefer', path: '^/di/v1/' }, throttle: { retryAfter: 30 },
    },
  };
  const FAILING_CALLBACK = 'http://127.0.0.1:9/pingbacks-fail';

  function describeRule(r) {
    const m = r.match || {};
    const what = Object.keys(m).map(function (k) { return k + '=' + (typeof m[k] === 'object' ? JSON.stringify(m[k]) : m[k]); }).join(' ');
    const act = r.respond ? 'respond ' + r.respond.status : r.throttle ? 'throttle (Retry-After ' + r.throttle.retryAfter + ')' :
      r.reset ? 'reset the connection' : r.hang ? 'hang' : r.cutBody ? 'cut the body' : '';
    const parts = [what || 'every request', act, r.delay ? 'delay ' + (r.delay.fixed || r.delay.min + '–' + r.delay.max) : ''];
    if (r.times) parts.push(r.times + ' time(s)');
    if (r.activeFrom || r.activeUntil) parts.push('active ' + (r.activeFrom ? fullTime(r.activeFrom) : '…') + ' → ' + (r.activeUntil ? fullTime(r.activeUntil) : '…'));
    parts.push('matched ' + r.matched + ', fired ' + r.fired);
    return parts.filter(Boolean).join(' · ');
  }

  function initControls() {
    const list = byTestId('fault-list');
    async function faults() {
      const r = await api('GET', '/faults');
      if (!r.ok) { list.replaceChildren(h('li', { class: 'error', text: problemText(r) })); return; }
      const rules = r.data || [];
      const ids = new Set(rules.map(function (x) { return x.id; }));
      Object.keys(PRESETS).forEach(function (k) {
        const b = $('[data-preset="' + k + '"]');
        if (b) b.setAttribute('aria-pressed', String(ids.has(PRESETS[k].id)));
      });
      if (!rules.length) { list.replaceChildren(h('li', { class: 'muted', testid: 'fault-none', text: 'no fault rule' })); return; }
      fill(list, rules.map(function (rule) {
        return h('li', { testid: 'fault-row', data: { faultId: rule.id } },
          h('div', null, h('code', { text: rule.id }), rule.description ? ' ' + rule.description : ''),
          h('div', { class: 'muted', text: describeRule(rule) }),
          h('button', {
            type: 'button', class: 'small', testid: 'fault-remove', 'aria-label': 'Remove rule ' + rule.id, text: 'Remove',
            onclick: async function () {
              const d = await api('DELETE', '/faults/' + encodeURIComponent(rule.id));
              if (!d.ok) notice('remove: ' + problemText(d), 'error'); else notice('rule ' + rule.id + ' removed');
              faults();
            },
          }));
      }));
    }
    faults();
    live.on('faults', faults);
    live.on('scenario', faults);
    live.on('poll', faults);
    live.on('request', throttle(faults, 500)); // the matched/fired counters move

    byTestId('faults-clear').addEventListener('click', async function () {
      const r = await api('DELETE', '/faults');
      if (!r.ok) notice('remove: ' + problemText(r), 'error'); else notice('every fault rule removed');
      faults();
    });

    Object.keys(PRESETS).forEach(function (k) {
      const b = $('[data-preset="' + k + '"]');
      b.addEventListener('click', async function () {
        const p = PRESETS[k];
        let r;
        if (b.getAttribute('aria-pressed') === 'true') {
          r = await api('DELETE', '/faults/' + encodeURIComponent(p.id));
          if (r.ok || r.status === 404) notice('preset off: rule ' + p.id + ' removed');
        } else {
          r = await api('POST', '/faults', p);
          if (r.ok) notice('preset on: ' + p.description);
        }
        if (!r.ok && r.status !== 404) notice('preset: ' + problemText(r), 'error');
        faults();
      });
    });

    // Netfinity pingbacks: the token's callback URL, changed live.
    const pb = byTestId('preset-netfinity-pingbacks-fail');
    const pbKey = 'sandbox-pingbacks-fail:' + NS;
    function pbPaint() { pb.setAttribute('aria-pressed', String(sessionStorage.getItem(pbKey) !== null)); }
    pbPaint();
    live.on('scenario', function () { sessionStorage.removeItem(pbKey); pbPaint(); });
    pb.addEventListener('click', async function () {
      const sc = await api('GET', '/scenario');
      const toks = sc.ok && sc.data && sc.data.netfinity && sc.data.netfinity.tokens || [];
      const tok = toks.find(function (t) { return (t.capabilities || []).indexOf('sms.notification') >= 0; }) || toks[0];
      if (!tok) { notice('the scenario has no Netfinity token', 'error'); return; }
      const on = sessionStorage.getItem(pbKey) !== null;
      const url = on ? (tok.callbackUrl || '') : FAILING_CALLBACK;
      const r = await api('PATCH', '/netfinity/tokens/' + encodeURIComponent(tok.token), { callbackUrl: url }, 'application/merge-patch+json');
      if (!r.ok) { notice('pingbacks: ' + problemText(r), 'error'); return; }
      if (on) { sessionStorage.removeItem(pbKey); notice('token ' + tok.token + ' back to the scenario\'s callback URL ' + (url || '(none)')); } else { sessionStorage.setItem(pbKey, url); notice('token ' + tok.token + ' now pings back to ' + url + ': messages sent from now on fail their pingbacks'); }
      pbPaint();
    });

    // Scenario: the shipped library and uploads.
    const libSel = byTestId('library-select');
    const text = byTestId('scenario-text');
    const problems = byTestId('scenario-problems');
    const result = byTestId('scenario-result');
    let fileName = '';
    (async function () {
      const r = await api('GET', '/scenarios');
      if (!r.ok || !Array.isArray(r.data)) { libSel.replaceChildren(h('option', { value: '', text: 'library unavailable' })); return; }
      fill(libSel, r.data.map(function (s) {
        return h('option', { value: s.name, text: s.name + (s.description ? ' — ' + s.description : '') });
      }));
    })();
    async function libraryText() {
      const name = libSel.value;
      if (!name) return null;
      const res = await fetch(ADMIN + '/scenarios/' + encodeURIComponent(name), { headers: { Accept: 'application/yaml' } }).catch(function () { return null; });
      if (!res || !res.ok) { notice('library: cannot read ' + name, 'error'); return null; }
      return { name: name, text: await res.text() };
    }
    async function load(name, body) {
      problems.replaceChildren();
      result.textContent = 'loading…';
      const type = /^\s*\{/.test(body) ? 'application/json' : 'application/yaml';
      const r = await api('PUT', '/scenario?name=' + encodeURIComponent(name), body, type);
      if (r.ok) {
        result.className = 'ok';
        result.textContent = 'Loaded "' + r.data.loaded + '" into namespace ' + r.data.namespace + (r.data.template ? ' (also the template for new namespaces)' : '') + '; the namespace was reset.';
        $all('[data-testid=scenario-name],[data-testid=controls-scenario]').forEach(function (e) { e.textContent = r.data.loaded; });
        clock.load();
        faults();
        return;
      }
      result.className = 'error';
      result.textContent = problemText(r);
      const probs = r.data && r.data.problems || [];
      fill(problems, probs.map(function (p) {
        const where = p.line ? 'line ' + p.line : 'no line';
        const li = h('li', { data: { line: p.line || '' } },
          h('button', { type: 'button', class: 'link', text: where, 'aria-label': 'Go to ' + where, disabled: !p.line }),
          ': ' + (p.path ? p.path + ': ' : '') + p.message + (p.hint ? ' (hint: ' + p.hint + ')' : ''));
        if (p.line) $('button', li).addEventListener('click', function () { selectLine(text, p.line); });
        return li;
      }));
    }
    byTestId('library-form').addEventListener('submit', async function (ev) {
      ev.preventDefault();
      const s = await libraryText();
      if (s) await load(s.name, s.text);
    });
    byTestId('library-edit').addEventListener('click', async function () {
      const s = await libraryText();
      if (!s) return;
      text.value = s.text;
      fileName = s.name;
      text.focus();
    });
    byTestId('scenario-file').addEventListener('change', async function (ev) {
      const f = ev.target.files && ev.target.files[0];
      if (!f) return;
      text.value = await f.text();
      fileName = f.name;
    });
    text.addEventListener('input', function () { if (!fileName) fileName = ''; });
    byTestId('scenario-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!text.value.trim()) { result.className = 'error'; result.textContent = 'paste a scenario or choose a file first'; return; }
      load(fileName || 'pasted scenario', text.value);
    });

    // Clock.
    const setForm = byTestId('clock-set');
    setForm.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      const v = setForm.elements.set.value.trim();
      if (await clock.post({ set: v })) notice('clock set to ' + isoSeconds(clock.current()));
    });
    $all('[data-advance]').forEach(function (b) {
      b.addEventListener('click', async function () {
        if (await clock.post({ advance: b.dataset.advance })) notice('advanced by ' + b.dataset.advance + '; now ' + isoSeconds(clock.current()));
      });
    });
    live.on('clock', function () { if (!setForm.elements.set.value) setForm.elements.set.placeholder = isoSeconds(clock.current()); });

    // Namespace.
    byTestId('namespace-reset').addEventListener('click', async function () {
      const r = await api('POST', '/reset');
      if (!r.ok) { notice('reset: ' + problemText(r), 'error'); return; }
      notice('namespace ' + r.data.reset + ' reset; sandbox time ' + fullTime(r.data.now));
      sessionStorage.removeItem(pbKey);
      pbPaint();
      clock.load();
      faults();
    });
    const openForm = byTestId('namespace-open');
    openForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      const n = openForm.elements.namespace.value.trim();
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(n)) { notice('a namespace name matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}', 'error'); return; }
      location.assign(nsURL(n, 'controls'));
    });
  }

  function selectLine(ta, line) {
    const lines = ta.value.split('\n');
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    const end = start + (lines[line - 1] || '').length;
    ta.focus();
    ta.setSelectionRange(start, end);
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 16;
    ta.scrollTop = Math.max(0, (line - 3) * lh);
  }

  // ---- start ---------------------------------------------------------------

  initBar();
  const views = { home: initHome, journal: initJournal, state: initState, controls: initControls };
  if (views[VIEW]) views[VIEW]();
  live.start();
})();
