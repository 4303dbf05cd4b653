// SPDX-License-Identifier: MIT
// The wsd console: the live overview from GET /v1/events, the cases from
// /v1/cases, the campaign grid, and a case's report in a sandboxed frame.
// Every string a peer chose reaches the page as text (textContent, never
// markup); the admin token, when wsd asks for one, is kept in this tab's
// sessionStorage and sent in the Authorization header only.
'use strict';

(function () {
  const TOKEN_KEY = 'wsd-admin-token';
  const HISTORY_MS = 15 * 60 * 1000; // the charts' span
  const CASE_WINDOW = 200; // records per page of the case table
  const RETRY_MS = 2000; // /v1/events again after it ended, by default
  const RETRY_MAX_MS = 5 * 60 * 1000; // the longest Retry-After heeded
  const SIGN_IN_FIRST_MS = 1000; // the first /v1/stats again after 1 s,
  const SIGN_IN_MAX_MS = 30000; // then twice as long each time, to 30 s
  const CAMPAIGN_PAGES = 100; // /v1/cases pages of 1000, at most
  // The campaign grid's bounds: any peer names its own User-Agent, so
  // agents past these have one column between them, and case ids past
  // these have no row (README, Console).
  const CAMPAIGN_AGENTS = 12; // agents with a column of their own
  const CAMPAIGN_ROWS = 2000; // case ids with a row

  let token = sessionStorage.getItem(TOKEN_KEY);
  let signedIn = false;
  let signInTimer = null; // the next try of a sign-in that failed
  let signInWaitMs = SIGN_IN_FIRST_MS;
  let stream = null; // the AbortController of the running /v1/events
  let charts = null;
  let lastSnapshot = null;
  // The case table's page: the newest records held below this id; null:
  // the newest of all. Records, not ids: with every record in use by an
  // open connection, the newest ids have none (they are unrecorded).
  let caseBefore = null;
  let shownFirst = 0; // the oldest and newest id on the page shown
  let shownLast = 0;

  const $ = (id) => document.getElementById(id);

  class Unauthorized extends Error {}

  // A refusal other than 401: wsd's reason (the JSON error), and how long
  // its Retry-After asks to wait, in ms (null without one).
  class Refused extends Error {
    constructor(message, status, retryAfterMs) {
      super(message);
      this.status = status;
      this.retryAfterMs = retryAfterMs;
    }
  }

  // Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP date.
  function retryAfter(value) {
    if (value === null) {
      return null;
    }
    if (/^\s*[0-9]+\s*$/.test(value)) {
      return Number(value) * 1000;
    }
    const t = Date.parse(value);
    return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
  }

  // An element with text (never markup) and a class.
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    if (cls) {
      e.className = cls;
    }
    return e;
  }

  function row(cells, cls) {
    const tr = el('tr', null, cls);
    for (const c of cells) {
      if (c instanceof Node) {
        tr.append(c);
      } else {
        tr.append(el('td', c));
      }
    }
    return tr;
  }

  function num(n) {
    return n === null || n === undefined ? '—' : Number(n).toLocaleString('en');
  }

  function rate(n) {
    if (n === null || n === undefined) {
      return '—';
    }
    return n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1);
  }

  function bytes(n) {
    if (n === null || n === undefined) {
      return '—';
    }
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + units[i];
  }

  function ms(n) {
    if (n === null || n === undefined) {
      return '—';
    }
    return n < 1000 ? n + ' ms' : (n / 1000).toFixed(n < 10000 ? 2 : 1) + ' s';
  }

  function clock(t) {
    const d = new Date(t);
    const two = (v) => String(v).padStart(2, '0');
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function setStatus(text, bad) {
    const s = $('status');
    s.textContent = text;
    s.classList.toggle('bad', Boolean(bad));
  }

  // The endpoint, with the token when there is one.
  async function api(path, signal) {
    const headers = {};
    if (token) {
      headers.Authorization = 'Bearer ' + token;
    }
    const r = await fetch(path, { headers, cache: 'no-store', signal });
    if (r.status === 401) {
      throw new Unauthorized();
    }
    if (!r.ok) {
      let why = 'HTTP ' + r.status;
      try {
        why = (await r.json()).error;
      } catch (e) {
        // not JSON: the status says it
      }
      throw new Refused(path + ': ' + why, r.status, retryAfter(r.headers.get('Retry-After')));
    }
    return r;
  }

  async function apiJson(path) {
    return (await api(path)).json();
  }

  // The token --------------------------------------------------------------

  function askToken(refused) {
    signedIn = false;
    stopStream();
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showView('login');
    $('login-error').textContent = refused
      ? 'That token was refused (401): check admin_token.'
      : '';
    setStatus('token needed', true);
    $('token').focus();
  }

  // The first /v1/stats: a 401 asks for the token; any other failure (wsd
  // restarting, away) is shown and tried again, 1 s later, then twice as
  // long each time up to 30 s, or when a Retry-After says.
  async function signIn() {
    clearTimeout(signInTimer);
    signInTimer = null;
    try {
      const stats = await apiJson('/v1/stats');
      $('version').textContent = stats.version;
    } catch (e) {
      if (e instanceof Unauthorized) {
        signInWaitMs = SIGN_IN_FIRST_MS;
        askToken(token !== null);
        return;
      }
      let wait = signInWaitMs;
      if (e instanceof Refused && e.retryAfterMs !== null) {
        wait = Math.min(Math.max(e.retryAfterMs, wait), RETRY_MAX_MS);
      }
      signInWaitMs = Math.min(2 * signInWaitMs, SIGN_IN_MAX_MS);
      const why = e instanceof Refused ? e.message : '/v1/stats: ' + e.message;
      setStatus(why + '; again in ' + Math.round(wait / 1000) + ' s', true);
      signInTimer = setTimeout(signIn, wait);
      return;
    }
    signInWaitMs = SIGN_IN_FIRST_MS;
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
    }
    signedIn = true;
    startStream();
    route();
  }

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('token');
    token = input.value.trim() || null;
    input.value = '';
    signIn();
  });

  // Views ------------------------------------------------------------------

  function showView(name) {
    for (const v of document.querySelectorAll('.view')) {
      v.hidden = v.id !== name;
    }
    for (const a of document.querySelectorAll('nav a')) {
      a.classList.toggle('current', a.id === 'nav-' + name);
    }
  }

  function route() {
    if (!signedIn) {
      return;
    }
    const hash = location.hash.replace(/^#/, '');
    const m = /^case\/([0-9]+)$/.exec(hash);
    if (m) {
      showView('report');
      openReport(m[1]);
    } else if (hash === 'cases') {
      showView('cases');
      loadCases();
    } else if (hash === 'campaign') {
      showView('campaign');
      loadCampaign();
    } else {
      showView('overview');
      if (charts) {
        for (const c of Object.values(charts)) {
          c.resize();
        }
      }
    }
  }

  window.addEventListener('hashchange', route);

  // The live overview ------------------------------------------------------

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function makeChart(id, series, format) {
    const fg = cssVar('--muted');
    const grid = cssVar('--line');
    const datasets = series.map((s, i) => ({
      label: s.label,
      key: s.key,
      data: [],
      borderColor: cssVar('--series-' + (i + 1)),
      backgroundColor: cssVar('--series-' + (i + 1)),
    }));
    return new window.Chart($(id), {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
        scales: {
          x: {
            type: 'linear',
            ticks: { color: fg, maxTicksLimit: 6, callback: (v) => clock(v) },
            grid: { color: grid },
          },
          y: {
            beginAtZero: true,
            ticks: { color: fg, maxTicksLimit: 5, callback: (v) => (format ? format(v) : num(v)) },
            grid: { color: grid },
          },
        },
        plugins: {
          legend: { display: series.length > 1, labels: { color: fg, boxWidth: 12 } },
          tooltip: { callbacks: { title: (items) => clock(items[0].parsed.x) } },
        },
      },
    });
  }

  function makeCharts() {
    if (charts || !window.Chart) {
      return;
    }
    charts = {
      active: makeChart('c-active', [{ label: 'open', key: 'active' }]),
      messages: makeChart('c-messages', [
        { label: 'in', key: 'rxMessages' },
        { label: 'out', key: 'txMessages' },
      ]),
      bytes: makeChart('c-bytes', [
        { label: 'in', key: 'rxOctets' },
        { label: 'out', key: 'txOctets' },
      ], bytes),
      ends: makeChart('c-ends', [
        { label: 'opened', key: 'accepted' },
        { label: 'clean', key: 'clean' },
        { label: 'unclean', key: 'unclean' },
        { label: 'never opened', key: 'unopened' },
      ]),
    };
  }

  // Adds a point {key: value} at time t to every chart, and keeps 15 minutes.
  function addPoint(t, values) {
    if (!charts) {
      return;
    }
    for (const c of Object.values(charts)) {
      for (const ds of c.data.datasets) {
        ds.data.push({ x: t, y: values[ds.key] });
        while (ds.data.length > 0 && ds.data[0].x < t - HISTORY_MS) {
          ds.data.shift();
        }
      }
    }
  }

  // The span shown: the last 15 minutes, or since the oldest point the
  // master had kept when it is younger (a wsd just started).
  function redraw(t) {
    if (!charts) {
      return;
    }
    const points = charts.active.data.datasets[0].data;
    const oldest = points.length > 0 ? points[0].x : t;
    for (const c of Object.values(charts)) {
      c.options.scales.x.min = Math.max(t - HISTORY_MS, Math.min(oldest, t - 60000));
      c.options.scales.x.max = t;
      c.update('none');
    }
  }

  function onHistory(h) {
    makeCharts();
    if (!charts) {
      return;
    }
    for (const c of Object.values(charts)) {
      for (const ds of c.data.datasets) {
        ds.data = [];
      }
    }
    let t = 0;
    for (const sample of h.samples) {
      const values = {};
      h.keys.forEach((k, i) => {
        values[k] = sample[i];
      });
      t = values.t;
      addPoint(t, values);
    }
    if (t) {
      redraw(t);
    }
  }

  function fillBody(tableId, rows) {
    $(tableId).tBodies[0].replaceChildren(...rows);
  }

  function byKey(lastMinute, total, keys, label) {
    return keys.map((k) => row([label ? label(k) : k, num(lastMinute[k]), num(total[k])]));
  }

  function onSnapshot(e) {
    lastSnapshot = e;
    const t = Date.parse(e.time);
    const tot = e.stats.totals;
    const min = e.lastMinute.totals;
    $('t-active').textContent = num(tot.active);
    $('t-accepted-rate').textContent = rate(e.rates.accepted);
    $('t-rx-rate').textContent = rate(e.rates.rxMessages);
    $('t-tx-rate').textContent = rate(e.rates.txMessages);
    $('t-rxb-rate').textContent = bytes(e.rates.rxOctets);
    $('t-txb-rate').textContent = bytes(e.rates.txOctets);
    $('t-accepted').textContent = num(tot.accepted);
    $('t-peak').textContent = num(tot.peak);
    $('t-clean').textContent = num(tot.clean);
    $('t-unclean').textContent = num(tot.unclean);
    $('t-unopened').textContent = num(tot.unopened);
    const opened = tot.accepted - tot.unopened;
    const share = (n) => num(n) + (opened > 0 ? ' (' + Math.round((100 * n) / opened) + '%)' : '');
    $('t-deflate').textContent = share(tot.deflateNegotiated);
    $('t-tls').textContent = share(tot.tlsOpened);

    const codes = new Set([
      ...Object.keys(tot.closeCodesSent),
      ...Object.keys(tot.closeCodesReceived),
    ]);
    fillBody('close-codes', [...codes].sort().map((c) => row([
      c,
      num(min.closeCodesSent[c] || 0),
      num(min.closeCodesReceived[c] || 0),
      num(tot.closeCodesSent[c] || 0),
      num(tot.closeCodesReceived[c] || 0),
    ])));
    fillBody('refusals', byKey(min.refused, tot.refused, Object.keys(tot.refused)));
    fillBody('timeouts', byKey(min.timeouts, tot.timeouts, Object.keys(tot.timeouts)));
    fillBody('tls', [
      row(['TLS handshakes failed', num(min.tlsHandshakesFailed), num(tot.tlsHandshakesFailed)]),
      row(['TLS on the ws:// port', num(min.wrongProtocol.tlsOnPlainPort),
        num(tot.wrongProtocol.tlsOnPlainPort)]),
      row(['plain HTTP on the wss:// port', num(min.wrongProtocol.plainOnTlsPort),
        num(tot.wrongProtocol.plainOnTlsPort)]),
    ]);
    showWorkers(e);
    addPoint(t, Object.assign({ active: tot.active }, e.rates));
    redraw(t);
    setStatus('live · ' + clock(t), false);
  }

  function showWorkers(e) {
    const usage = new Map(e.workers.map((w) => [w.slot, w]));
    let busiest = null;
    for (const w of e.workers) {
      if (w.cpuPercent !== null && (busiest === null || w.cpuPercent > busiest.cpuPercent)) {
        busiest = w;
      }
    }
    fillBody('workers', e.stats.workers.map((w) => {
      const u = usage.get(w.slot) || {};
      const exits = w.exits.crashed + ' crashed, ' + w.exits.fatal + ' fatal, ' +
        w.exits.retired + ' retired';
      return row([
        w.slot, w.pid === null ? '—' : w.pid, w.state, w.generation,
        ms(w.heartbeatAgeMs), num(w.totals.active),
        rate(u.rxMessagesPerSecond), rate(u.txMessagesPerSecond),
        u.cpuPercent === null || u.cpuPercent === undefined ? '—' : u.cpuPercent.toFixed(1) + '%',
        bytes(u.residentBytes), exits,
      ], busiest && busiest.slot === w.slot && busiest.cpuPercent > 0 ? 'busiest' : '');
    }));
    const m = e.master;
    $('master-line').textContent = 'master: CPU ' +
      (m.cpuPercent === null ? '—' : m.cpuPercent.toFixed(1) + '%') +
      ', memory ' + bytes(m.residentBytes) +
      (busiest && busiest.cpuPercent > 0 ? '; busiest worker: slot ' + busiest.slot : '');
  }

  function onEvent(block) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') {
        name = value;
      } else if (field === 'data') {
        data.push(value);
      }
    }
    if (data.length === 0) {
      return;
    }
    const doc = JSON.parse(data.join('\n'));
    if (name === 'history') {
      onHistory(doc);
    } else if (name === 'snapshot') {
      onSnapshot(doc);
    }
  }

  function stopStream() {
    if (stream) {
      stream.abort();
      stream = null;
    }
  }

  // /v1/events through fetch(), which sends the token in a header where
  // EventSource could not; back again 2 s after the stream ends, or when
  // a refusal's Retry-After says (wsd holds 16 subscribers at most), its
  // reason shown meanwhile.
  async function startStream() {
    stopStream();
    const ctrl = new AbortController();
    stream = ctrl;
    let refused = null;
    try {
      const r = await api('/v1/events', ctrl.signal);
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          onEvent(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) {
        return;
      }
      if (e instanceof Unauthorized) {
        askToken(true);
        return;
      }
      if (e instanceof Refused) {
        refused = e;
      }
    }
    if (stream === ctrl) {
      let wait = RETRY_MS;
      if (refused && refused.retryAfterMs !== null) {
        wait = Math.min(Math.max(refused.retryAfterMs, RETRY_MS), RETRY_MAX_MS);
      }
      setStatus(refused ? refused.message + '; again in ' + Math.round(wait / 1000) + ' s'
        : 'reconnecting', true);
      setTimeout(() => {
        if (stream === ctrl) {
          startStream();
        }
      }, wait);
    }
  }

  // Cases ------------------------------------------------------------------

  function closing(c) {
    if (c.state !== 'closed') {
      return el('td', c.state, 'pending');
    }
    return c.wasClean ? el('td', 'clean', 'clean') : el('td', c.wasNotCleanReason || 'unclean', 'unclean why');
  }

  function caseRow(c) {
    const tr = row([
      c.id, c.peer, c.agent === null ? '—' : c.agent, c.case === null ? '—' : c.case,
      c.state, ms(c.durationMs), num(c.rxMessages), num(c.txMessages),
      c.localCloseCode === null ? '—' : c.localCloseCode,
      c.remoteCloseCode === null ? '—' : c.remoteCloseCode,
      closing(c),
    ], 'open-case');
    tr.tabIndex = 0;
    tr.dataset.id = String(c.id);
    return tr;
  }

  function matches(c, f) {
    const has = (v, want) => want === '' || (v !== null && v.toLowerCase().includes(want));
    return has(c.agent, f.agent) && has(c.case, f.case) &&
      (f.state === '' || c.state === f.state) &&
      (!f.unclean || (c.state === 'closed' && !c.wasClean));
  }

  // What to say when wsd keeps no record at all (stats_cases 0, which
  // /v1/stats shows as cases.capacity 0), or null when it keeps some:
  // then every connection, lastId of them, went unrecorded.
  function recordsOff(stats) {
    if (stats.cases.capacity !== 0) {
      return null;
    }
    const n = stats.cases.lastId;
    return 'records are off (stats_cases 0): ' +
      (n === 0 ? 'no connection will be recorded'
        : n === 1 ? 'the 1 connection so far was not recorded'
          : 'the ' + num(n) + ' connections so far were not recorded');
  }

  async function loadCases() {
    try {
      const stats = await apiJson('/v1/stats');
      const off = recordsOff(stats);
      if (off !== null) {
        fillBody('case-table', []);
        $('page-info').textContent = off;
        $('page-older').disabled = true;
        $('page-newer').disabled = true;
        caseBefore = null;
        return;
      }
      const lastId = stats.cases.lastId;
      const atNewest = caseBefore === null || caseBefore > lastId;
      const before = atNewest ? lastId + 1 : caseBefore;
      const doc = await apiJson('/v1/cases?before=' + before + '&limit=' + CASE_WINDOW);
      const held = doc.cases;
      const f = {
        agent: $('f-agent').value.trim().toLowerCase(),
        case: $('f-case').value.trim().toLowerCase(),
        state: $('f-state').value,
        unclean: $('f-unclean').checked,
      };
      const shown = doc.cases.filter((c) => matches(c, f)).reverse();
      fillBody('case-table', shown.map(caseRow));
      shownFirst = held.length ? held[0].id : before;
      shownLast = held.length ? held[held.length - 1].id : before - 1;
      const unrecorded = atNewest && lastId > shownLast
        ? '; ' + num(lastId - shownLast) + ' newer unrecorded (every record was in use)' : '';
      $('page-info').textContent = lastId === 0 ? 'no case yet'
        : held.length === 0 ? 'no record held below id ' + before + ' of ' + lastId
          : 'ids ' + shownFirst + '–' + shownLast + ' of ' + lastId + ': ' +
            shown.length + ' shown of ' + held.length + ' held' + unrecorded;
      $('page-older').disabled = !doc.more;
      $('page-newer').disabled = atNewest;
      caseBefore = atNewest ? null : before;
    } catch (e) {
      if (e instanceof Unauthorized) {
        askToken(true);
      } else {
        $('page-info').textContent = e.message;
      }
    }
  }

  $('case-filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadCases();
  });
  for (const id of ['f-state', 'f-unclean']) {
    $(id).addEventListener('change', loadCases);
  }
  $('page-older').addEventListener('click', () => {
    caseBefore = shownFirst;
    loadCases();
  });
  $('page-newer').addEventListener('click', async () => {
    // The page after the one shown: its newest record bounds it.
    try {
      const doc = await apiJson('/v1/cases?after=' + shownLast + '&limit=' + CASE_WINDOW);
      caseBefore = doc.more && doc.cases.length
        ? doc.cases[doc.cases.length - 1].id + 1 : null;
    } catch (e) {
      caseBefore = null;
    }
    loadCases();
  });
  function openRow(ev) {
    const tr = ev.target.closest('tr.open-case');
    if (tr && (ev.type === 'click' || ev.key === 'Enter')) {
      location.hash = '#case/' + tr.dataset.id;
    }
  }
  $('case-go').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = Number($('go-id').value);
    if (Number.isInteger(id) && id > 0) {
      location.hash = '#case/' + id;
    }
  });
  $('case-table').addEventListener('click', openRow);
  $('case-table').addEventListener('keydown', openRow);

  // A case's report, fetched with the token and shown in a frame that runs
  // nothing (sandbox) and lets in the report's own style alone (the
  // console's policy).
  async function openReport(id) {
    const frame = $('report-frame');
    $('report-title').textContent = 'case ' + id;
    frame.dataset.caseId = '';
    try {
      const html = await (await api('/v1/cases/' + id + '/report')).text();
      frame.srcdoc = html;
      frame.dataset.caseId = id;
    } catch (e) {
      if (e instanceof Unauthorized) {
        askToken(true);
      } else {
        $('report-title').textContent = 'case ' + id + ': ' + e.message;
        frame.srcdoc = '';
      }
    }
  }

  // The campaign grid ------------------------------------------------------

  // Autobahn's order of case ids: 1.1.2 before 1.1.10, number by number.
  function caseOrder(a, b) {
    const pa = a.split(/[.#]/);
    const pb = b.split(/[.#]/);
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const na = /^[0-9]+$/.test(pa[i]) ? Number(pa[i]) : NaN;
      const nb = /^[0-9]+$/.test(pb[i]) ? Number(pb[i]) : NaN;
      if (!Number.isNaN(na) && !Number.isNaN(nb)) {
        if (na !== nb) {
          return na - nb;
        }
      } else if (pa[i] !== pb[i]) {
        return pa[i] < pb[i] ? -1 : 1;
      }
    }
    return pa.length - pb.length;
  }

  // The records by agent and case id, named as /v1/cases/ID/autobahn names
  // them: the query's agent, else the User-Agent; the query's case, else
  // the record's id. A case an agent has already is ID#2, ID#3 (a
  // campaign run twice). Returns Map(agent -> Map(case id -> record)).
  function campaignCells(all) {
    const cells = new Map();
    const next = new Map(); // agent -> Map(case -> the next #N to try)
    for (const c of all) {
      const agent = c.agent !== null ? c.agent : c.userAgent !== null ? c.userAgent : 'unknown';
      const base = c.case !== null ? c.case : String(c.id);
      if (!cells.has(agent)) {
        cells.set(agent, new Map());
        next.set(agent, new Map());
      }
      const byCase = cells.get(agent);
      let id = base;
      if (byCase.has(id)) {
        // From where the last repeat of this case stopped: a case run
        // n times costs n steps, not n * n.
        let n = next.get(agent).get(base) || 2;
        while (byCase.has(base + '#' + n)) {
          n++;
        }
        id = base + '#' + n;
        next.get(agent).set(base, n + 1);
      }
      byCase.set(id, c);
    }
    return cells;
  }

  function campaignCell(c) {
    const td = el('td');
    if (!c) {
      td.textContent = '—';
      return td;
    }
    const link = el('a');
    link.href = '#case/' + c.id;
    const behaviour = c.state !== 'closed' ? c.state : c.wasClean ? 'clean' : 'unclean';
    link.textContent = behaviour + ' ' +
      (c.remoteCloseCode === null ? '—' : c.remoteCloseCode) + ' · ' + ms(c.durationMs);
    link.className = c.state !== 'closed' ? 'pending' : c.wasClean ? 'clean' : 'unclean';
    if (c.wasNotCleanReason) {
      link.title = c.wasNotCleanReason;
    }
    td.append(link);
    return td;
  }

  // The grid: a column for each of the CAMPAIGN_AGENTS agents with the
  // most records, in name order, and past them one column that counts the
  // other agents' records of each case id; a row for each case id of the
  // agents shown, the first CAMPAIGN_ROWS in the testsuite's order. So the
  // grid holds at most (CAMPAIGN_ROWS + 1) * (CAMPAIGN_AGENTS + 2) cells,
  // however many agents the peers named.
  function showCampaign(cells) {
    const ranked = [...cells.entries()].sort((a, b) =>
      b[1].size - a[1].size || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const agents = ranked.slice(0, CAMPAIGN_AGENTS).map((e) => e[0]).sort();
    const others = new Map(); // case id -> records of the agents folded
    let otherRecords = 0;
    for (const [, byCase] of ranked.slice(CAMPAIGN_AGENTS)) {
      otherRecords += byCase.size;
      for (const id of byCase.keys()) {
        others.set(id, (others.get(id) || 0) + 1);
      }
    }
    const folded = ranked.length - agents.length;
    const ids = new Set();
    for (const a of agents) {
      for (const id of cells.get(a).keys()) {
        ids.add(id);
      }
    }
    const rows = [...ids].sort(caseOrder);
    const notes = [];
    if (folded > 0) {
      notes.push('The ' + num(agents.length) + ' agents with the most records of ' +
        num(ranked.length) + ' have a column each; the other ' + num(folded) +
        ' agents (' + num(otherRecords) + ' records) are counted in the last column, ' +
        'for the case ids shown. The Cases view lists every record.');
    }
    if (rows.length > CAMPAIGN_ROWS) {
      notes.push('The first ' + num(CAMPAIGN_ROWS) + ' case ids of ' + num(rows.length) +
        ' are shown; the Cases view lists every record.');
    }
    $('campaign-note').textContent = notes.join(' ');
    const head = $('campaign-grid').tHead.rows[0];
    head.replaceChildren(el('th', 'case'), ...agents.map((a) => el('th', a)),
      ...(folded > 0 ? [el('th', 'other agents')] : []));
    fillBody('campaign-grid', rows.slice(0, CAMPAIGN_ROWS).map((id) => {
      const tr = el('tr');
      const th = el('th', id);
      th.scope = 'row';
      tr.append(th, ...agents.map((a) => campaignCell(cells.get(a).get(id))));
      if (folded > 0) {
        tr.append(el('td', others.has(id) ? num(others.get(id)) : '—'));
      }
      return tr;
    }));
  }

  async function loadCampaign() {
    try {
      const off = recordsOff(await apiJson('/v1/stats'));
      if (off !== null) {
        $('campaign-note').textContent = off[0].toUpperCase() + off.slice(1) + '.';
        $('campaign-grid').tHead.rows[0].replaceChildren();
        fillBody('campaign-grid', []);
        return;
      }
      const all = [];
      let after = 0;
      for (let page = 0; page < CAMPAIGN_PAGES; page++) {
        const doc = await apiJson('/v1/cases?after=' + after + '&limit=1000');
        all.push(...doc.cases);
        if (!doc.more || doc.cases.length === 0) {
          break;
        }
        after = doc.cases[doc.cases.length - 1].id;
      }
      showCampaign(campaignCells(all));
    } catch (e) {
      if (e instanceof Unauthorized) {
        askToken(true);
      } else {
        $('campaign-note').textContent = '';
        fillBody('campaign-grid', [row([e.message])]);
      }
    }
  }

  $('campaign-refresh').addEventListener('click', loadCampaign);

  signIn();
}());
