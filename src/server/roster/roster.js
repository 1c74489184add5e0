// The roster page: who is here, on which device, and why. A reader only:
// it shows what this token's reads and stream show, nothing more.

const TOKEN_KEY = 'presence.token';
const WATCH_KEY = 'presence.watch';
const EVENTS = ['enter', 'update', 'leave'];
// How long a leave's reason stays on screen before its row goes.
const LEAVE_LINGER_MS = 8000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;
const STATE_TEXT = {
  online: 'Online',
  idle: 'Idle',
  busy: 'Busy',
  appear_offline: 'Appearing offline',
  offline: 'Offline',
  unknown: 'Unknown',
};
// The tray icons' shapes (data/icons): colour is never the only cue.
const SHAPES = {
  online: [['circle', { cx: 8, cy: 8, r: 6, fill: '#2ec27e', stroke: '#1a7f4f' }]],
  idle: [['path', { fill: '#f6d32d', stroke: '#9c6e03', d: 'M7 1.6a6.5 6.5 0 1 0 7.4 7.4a5 5 0 0 1-7.4-7.4z' }]],
  busy: [['circle', { cx: 8, cy: 8, r: 6, fill: '#e01b24', stroke: '#a51d2d' }],
    ['path', { fill: '#ffffff', d: 'M4.5 6.75h7v2.5h-7z' }]],
  appear_offline: [['path', { fill: '#86858b', 'fill-rule': 'evenodd', d: 'M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13zm0 2.5a4 4 0 1 1 0 8a4 4 0 1 1 0-8z' }]],
  offline: [['path', { fill: '#9a9996', 'fill-rule': 'evenodd', d: 'M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13zm0 2.5a4 4 0 1 1 0 8a4 4 0 1 1 0-8z' }],
    ['path', { fill: '#5e5c64', d: 'M3.1 11.1l8-8l1.8 1.8l-8 8z' }]],
  unknown: [['path', { fill: '#e66100', stroke: '#a33f00', d: 'M8 1l7.2 13.2H0.8z' }],
    ['path', { fill: '#ffffff', d: 'M7 5.2h2v4.6h-2zm0 5.6h2v2h-2z' }]],
};

const $ = (id) => document.getElementById(id);
const relative = new Intl.RelativeTimeFormat(undefined, { style: 'narrow', numeric: 'always' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

let token = null;
let me = null;
let intervalMs = 30000;
let pollMs = 5000;
let socket = null;
let cursor = null;
let retries = 0;
let retryTimer = 0;
let pollTimer = 0;
let tickTimer = 0;
let detailsTimer = 0;
let admin = false;
// id → { state, el, members: Map(instance id → member) }
const participants = new Map();
// "participant/instance" → what GET /v1/instances says (own, or all for admin)
let details = new Map();
// Ids the user stopped watching: an admin's reads do not bring them back.
const dismissed = new Set();

function savedWatch() {
  try {
    return JSON.parse(sessionStorage.getItem(WATCH_KEY)) || [];
  } catch {
    return [];
  }
}

function saveWatch() {
  const extra = [...participants.keys()].filter((id) => id !== me);
  sessionStorage.setItem(WATCH_KEY, JSON.stringify(extra));
}

async function api(path) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const reply = await fetch(path, { headers, cache: 'no-store' });
  if (reply.status === 401) throw new Error('unauthorized');
  if (!reply.ok) throw new Error('HTTP ' + reply.status);
  return reply.json();
}

function announce(text) {
  const live = $('live');
  live.textContent = text;
}

// --- what is shown -------------------------------------------------------

function shape(state) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'shape');
  svg.setAttribute('aria-hidden', 'true');
  for (const [name, attrs] of SHAPES[state] || SHAPES.unknown) {
    const el = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

function stateBadge(state) {
  const span = document.createElement('span');
  span.className = 'state state-' + state;
  const label = document.createElement('span');
  label.className = 'state-label';
  label.textContent = STATE_TEXT[state] || state;
  span.append(shape(state), ' ', label);
  return span;
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return relative.format(-s, 'second');
  if (s < 5400) return relative.format(-Math.round(s / 60), 'minute');
  return relative.format(-Math.round(s / 3600), 'hour');
}

// No beat for more than one interval, as far as the last read can tell.
function isStale(member) {
  return !member.leave && Date.now() - member.ts > intervalMs + pollMs + 1000;
}

function memberNote(member) {
  if (member.leave) {
    const why = member.leave.client_reason ? member.leave.reason + ': ' + member.leave.client_reason
      : member.leave.reason;
    return 'Gone (' + why + ')';
  }
  return isStale(member) ? 'Stale: no heartbeat within ' + Math.round(intervalMs / 1000) + ' s' : '';
}

function cell(label, content, className) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (className) td.className = className;
  td.append(content);
  return td;
}

// The exact time, for a tooltip and for assistive technology.
function setSeen(time, ts) {
  time.dataset.ts = ts;
  time.dateTime = new Date(ts).toISOString();
  time.title = absolute.format(ts);
}

function memberRow(participantId, member) {
  const info = details.get(participantId + '/' + member.instance_id);
  const tr = document.createElement('tr');
  tr.dataset.instance = member.instance_id;
  tr.dataset.state = member.state;
  const device = info && info.host ? info.host + ' (' + member.instance_id + ')' : member.instance_id;
  const seen = document.createElement('time');
  seen.className = 'seen';
  setSeen(seen, member.ts);
  seen.textContent = ago(member.ts);
  tr.append(cell('Device', device), cell('State', stateBadge(member.state)),
    cell('Last seen', seen), cell('Note', memberNote(member), 'note'));
  tr.className = member.leave ? 'gone' : isStale(member) ? 'stale' : '';
  return tr;
}

function statusText(id) {
  let newest = null;
  for (const [key, info] of details) {
    if (key.startsWith(id + '/') && info.status_text && (!newest || info.ts > newest.ts)) newest = info;
  }
  return newest ? newest.status_text : '';
}

// A participant's heading and status text; its rows are kept one by one
// (renderMember), so that an event touches one row of a thousand.
function render(id) {
  const p = participants.get(id);
  if (!p) return;
  if (!p.el) build(id, p);
  p.el.dataset.state = p.state;
  const h3 = document.createElement('h3');
  const name = document.createElement('span');
  name.textContent = id === me ? id + ' (you)' : id;
  // The name first: it is what a heading list is scanned for.
  h3.append(name, ' ', stateBadge(p.state));
  if (id !== me) {
    const stop = document.createElement('button');
    stop.type = 'button';
    stop.className = 'stop';
    stop.textContent = 'Stop watching';
    stop.setAttribute('aria-label', 'Stop watching ' + id);
    stop.addEventListener('click', () => unwatch(id));
    h3.append(stop);
  }
  const parts = [h3];
  const text = statusText(id);
  if (text) {
    const para = document.createElement('p');
    para.className = 'status-text';
    para.textContent = text;
    parts.push(para);
  }
  p.head.replaceChildren(...parts);
  p.table.hidden = p.members.size === 0;
  p.none.hidden = !p.table.hidden;
}

function build(id, p) {
  p.el = document.createElement('article');
  p.el.className = 'participant';
  p.el.dataset.id = id;
  p.head = document.createElement('div');
  p.none = document.createElement('p');
  p.none.className = 'muted';
  p.none.textContent = 'No devices this token can see.';
  p.table = document.createElement('table');
  const caption = document.createElement('caption');
  caption.className = 'visually-hidden';
  caption.textContent = 'Devices of ' + id;
  const head = document.createElement('thead');
  const row = document.createElement('tr');
  for (const title of ['Device', 'State', 'Last seen', 'Note']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    row.append(th);
  }
  head.append(row);
  p.rows = document.createElement('tbody');
  p.table.append(caption, head, p.rows);
  p.el.append(p.head, p.none, p.table);
  placeInOrder(id, p.el);
}

function renderMember(id, member) {
  const p = participants.get(id);
  const row = memberRow(id, member);
  if (member.row && member.row.parentNode) {
    member.row.replaceWith(row);
  } else {
    const next = [...p.rows.children].find((tr) => tr.dataset.instance.localeCompare(member.instance_id) > 0);
    p.rows.insertBefore(row, next || null);
  }
  member.row = row;
  member.seen = row.querySelector('time');
  member.shownStale = isStale(member);
}

function renderAll() {
  for (const [id, p] of participants) {
    render(id);
    for (const member of p.members.values()) renderMember(id, member);
  }
}

// The token's own participant first, then the others by id.
function before(a, b) {
  return a === me ? b !== me : b !== me && a.localeCompare(b) < 0;
}

function placeInOrder(id, article) {
  const list = $('list');
  const next = [...list.children].find((el) => before(id, el.dataset.id));
  list.insertBefore(article, next || null);
}

// Every second: "12 s ago" moves on, a member whose beats stopped goes stale.
function tick() {
  performance.mark('roster-tick-start');
  for (const [id, p] of participants) {
    for (const member of p.members.values()) {
      if (isStale(member) !== member.shownStale) {
        renderMember(id, member);
        continue;
      }
      if (!member.seen) continue;
      if (member.seen.dataset.ts !== String(member.ts)) setSeen(member.seen, member.ts);
      const text = ago(member.ts);
      if (member.seen.textContent !== text) member.seen.textContent = text;
    }
  }
  performance.measure('roster-tick', 'roster-tick-start');
}

// --- what comes in -------------------------------------------------------

function participant(id) {
  let p = participants.get(id);
  if (!p) {
    p = { state: 'unknown', el: null, members: new Map() };
    participants.set(id, p);
  }
  return p;
}

// Returns the member as it is now, its row still to render.
function setMember(m) {
  const p = participants.get(m.participant_id);
  const old = p.members.get(m.instance_id);
  if (old) clearTimeout(old.removeTimer);
  const member = {
    instance_id: m.instance_id,
    state: m.state,
    ts: m.ts,
    row: old && old.row,
  };
  p.members.set(m.instance_id, member);
  return member;
}

function removeMember(p, member) {
  clearTimeout(member.removeTimer);
  if (member.row) member.row.remove();
  p.members.delete(member.instance_id);
}

function leaveMember(event) {
  const p = participants.get(event.participant_id);
  const member = p.members.get(event.instance_id);
  if (!member) return null;
  member.leave = { reason: event.reason || 'left', client_reason: event.client_reason };
  member.state = event.state || member.state;
  clearTimeout(member.removeTimer);
  member.removeTimer = setTimeout(() => {
    if (p.members.get(event.instance_id) !== member) return;
    removeMember(p, member);
    render(event.participant_id);
  }, LEAVE_LINGER_MS);
  return member;
}

function applySnapshot(msg) {
  for (const [id, p] of participants) {
    for (const member of [...p.members.values()]) removeMember(p, member);
    p.state = (msg.states && msg.states[id]) || 'unknown';
  }
  for (const m of msg.members || []) {
    if (participants.has(m.participant_id)) setMember(m);
  }
  renderAll();
}

function applyDelta(msg) {
  const touched = new Set();
  const rows = new Map();
  const said = [];
  let needDetails = false;
  for (const event of msg.events || []) {
    const id = event.participant_id;
    if (!participants.has(id)) continue;
    let member;
    if (event.action === 'leave') {
      member = leaveMember(event);
      said.push(id + ' ' + event.instance_id + ' left (' + (event.client_reason || event.reason) + ')');
    } else {
      if (!participants.get(id).members.has(event.instance_id)) touched.add(id);
      member = setMember(event);
      if (event.action === 'enter') said.push(id + ' ' + event.instance_id + ' is here');
    }
    if (member) rows.set(member, id);
    needDetails = needDetails || (event.action !== 'leave' && (id === me || admin));
  }
  // After the events: offline keeps the last leave's reason on screen, but
  // drops members that went without one (hidden from this viewer now).
  for (const [id, state] of Object.entries(msg.changes || {})) {
    const p = participants.get(id);
    if (!p) continue;
    if (p.state !== state) said.push(id + ' is ' + (STATE_TEXT[state] || state).toLowerCase());
    p.state = state;
    touched.add(id);
    if (state !== 'offline') continue;
    for (const member of [...p.members.values()]) {
      if (!member.leave) removeMember(p, member);
    }
  }
  if (needDetails) scheduleDetails();
  for (const id of touched) render(id);
  for (const [member, id] of rows) {
    if (participants.get(id).members.get(member.instance_id) === member) renderMember(id, member);
  }
  if (said.length) announce(said.length > 3 ? said.length + ' changes' : said.join('; '));
}

function onMessage(text) {
  performance.mark('roster-apply-start');
  const msg = JSON.parse(text);
  if (msg.op === 'snapshot') applySnapshot(msg);
  else if (msg.op === 'delta') applyDelta(msg);
  else if (msg.op === 'error') showStreamError(msg.error && msg.error.message);
  if (msg.cursor) cursor = msg.cursor;
  if (msg.op === 'snapshot' || msg.op === 'delta') {
    retries = 0;
    $('banner').hidden = true;
  }
  performance.measure('roster-apply', 'roster-apply-start');
}

function showStreamError(text) {
  const el = $('stream-error');
  el.textContent = text ? 'The server says: ' + text : '';
  el.hidden = !text;
}

// --- reads ---------------------------------------------------------------

async function readDetails() {
  const reply = await api('/v1/instances');
  me = reply.participant_id;
  details = new Map();
  for (const info of reply.instances || []) details.set(info.participant_id + '/' + info.instance_id, info);
  admin = (reply.instances || []).some((info) => info.participant_id !== me);
  return reply;
}

function scheduleDetails() {
  clearTimeout(detailsTimer);
  detailsTimer = setTimeout(async () => {
    try {
      await readDetails();
      renderAll();
    } catch {
      // The next event or poll tries again.
    }
  }, 200);
}

// Last seen comes from reads: a periodic beat that changes nothing sends
// no event.
async function poll() {
  const ids = [...participants.keys()];
  const seen = new Map();
  for (let i = 0; i < ids.length; i += 500) {
    let after = null;
    do {
      const query = 'ids=' + ids.slice(i, i + 500).map(encodeURIComponent).join(',') +
        '&limit=500' + (after ? '&after=' + encodeURIComponent(after) : '');
      const page = await api('/v1/members?' + query);
      for (const m of page.members || []) seen.set(m.participant_id + '/' + m.instance_id, m);
      after = page.next;
    } while (after);
  }
  for (const read of seen.values()) {
    const p = participants.get(read.participant_id);
    const member = p && p.members.get(read.instance_id);
    if (member && !member.leave) {
      member.ts = read.ts;
    } else if (p && !member) {
      // Shown to this viewer without an event (a new conversation grant).
      renderMember(read.participant_id, setMember(read));
      render(read.participant_id);
    }
  }
  if (admin) {
    await readDetails();
    const fresh = [...details.values()].map((info) => info.participant_id)
      .filter((id) => !participants.has(id) && !dismissed.has(id));
    if (fresh.length) watch(fresh);
  }
  tick();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    try {
      await poll();
    } catch {
      // The stream's reconnect says when the server is gone.
    }
    if (token) schedulePoll();
  }, pollMs);
}

// --- the stream ----------------------------------------------------------

function subscribe(resume) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  const sub = { op: 'sub', ids: [...participants.keys()], events: EVENTS };
  if (resume && cursor) sub.cursor = cursor;
  socket.send(JSON.stringify(sub));
}

function connect() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/stream';
  try {
    socket = new WebSocket(url, ['presence.v1', 'bearer.' + token]);
  } catch {
    signOut('This token cannot be sent to the stream: it has characters a WebSocket subprotocol cannot carry.');
    return;
  }
  const mine = socket;
  mine.onopen = () => subscribe(true);
  mine.onmessage = (e) => onMessage(e.data);
  mine.onclose = () => {
    if (socket !== mine || !token) return;
    socket = null;
    $('banner').hidden = false;
    const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** retries++) * (0.8 + Math.random() * 0.4);
    retryTimer = setTimeout(reconnect, wait);
  };
}

// Back after a drop: the token may have been revoked meanwhile, and the
// devices' hosts may have changed; then the stream resumes by cursor.
async function reconnect() {
  try {
    await readDetails();
  } catch (e) {
    if (e.message === 'unauthorized') {
      signOut('The server no longer accepts this token (401 unauthorized).');
      return;
    }
    retryTimer = setTimeout(reconnect, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** retries++));
    return;
  }
  connect();
}

// --- the user's actions --------------------------------------------------

function watch(ids) {
  let added = false;
  for (const id of ids) {
    if (participants.has(id)) continue;
    participant(id);
    render(id);
    added = true;
  }
  if (!added) return;
  saveWatch();
  // New ids need their current state: a snapshot, not a delta.
  subscribe(false);
}

function unwatch(id) {
  const p = participants.get(id);
  if (!p) return;
  if (p.el) p.el.remove();
  participants.delete(id);
  dismissed.add(id);
  saveWatch();
  subscribe(true);
  $('watch-id').focus();
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(WATCH_KEY);
  for (const timer of [retryTimer, pollTimer, detailsTimer]) clearTimeout(timer);
  clearInterval(tickTimer);
  if (socket) {
    const old = socket;
    socket = null;
    old.close();
  }
  cursor = null;
  participants.clear();
  dismissed.clear();
  $('list').replaceChildren();
  $('roster').hidden = true;
  $('who').hidden = true;
  $('banner').hidden = true;
  $('signin').hidden = false;
  const error = $('signin-error');
  error.textContent = message || '';
  error.hidden = !message;
  $('token').focus();
}

async function signIn(candidate) {
  token = candidate;
  try {
    const health = await api('/healthz');
    intervalMs = health.interval_ms || intervalMs;
    pollMs = Math.min(10000, Math.max(1000, Math.round(intervalMs / 4)));
    await readDetails();
  } catch (e) {
    signOut(e.message === 'unauthorized'
      ? 'This token was not accepted by the server (401 unauthorized). Check it and try again.'
      : 'The server could not be reached (' + e.message + ').');
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin').hidden = true;
  $('signin-error').hidden = true;
  $('roster').hidden = false;
  const who = $('who');
  who.textContent = 'Signed in as ' + me + (admin ? ' (admin: everyone’s devices)' : '');
  who.hidden = false;
  const ids = [me, ...new Set([...details.values()].map((i) => i.participant_id)), ...savedWatch()];
  for (const id of ids) participant(id);
  renderAll();
  tickTimer = setInterval(tick, 1000);
  schedulePoll();
  connect();
  // The form the focus was in is gone: on to the next thing to do.
  $('watch-id').focus();
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('token');
  const value = input.value.trim();
  input.value = '';
  if (value) signIn(value);
});

$('watch-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('watch-id');
  const id = input.value.trim();
  if (!input.checkValidity() || !id) return;
  input.value = '';
  dismissed.delete(id);
  watch([id]);
  announce('Watching ' + id);
});

$('signout').addEventListener('click', () => signOut(''));

const stored = sessionStorage.getItem(TOKEN_KEY);
if (stored) signIn(stored);
else $('token').focus();
