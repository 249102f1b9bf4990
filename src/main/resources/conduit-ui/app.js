// Conduit dashboard: plain JavaScript, no build step. Every figure comes from the admin JSON API,
// called with the token typed into the sign-in form as a bearer token. The token lives in this tab's
// sessionStorage only and never goes into a URL. Every value is written with textContent, never as HTML.
'use strict';

(function () {
  const TOKEN_KEY = 'conduit.adminToken';
  /** How often visible pages refresh themselves (milliseconds). */
  const POLL_MS = 2000;
  const PAGES = ['overview', 'webhooks', 'endpoints', 'instances'];
  const REPLAYABLE = new Set(['failed', 'dead_lettered']);

  const $ = (id) => document.getElementById(id);
  let pollTimer = null;
  let lastTunnel = null; // {bytes, at} for the throughput figure
  let endpointsById = new Map();
  const webhookPaging = { cursors: [], next: null }; // cursors: the "before" of each page shown so far
  let openWebhookId = null;
  let shownInstance = null; // the instance looked up last, refreshed while the instances page is shown
  let pendingForceDelete = null;

  // ------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || ('HTTP ' + status));
      this.status = status;
      this.body = body || {};
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(method, path, body, tokenOverride) {
    const headers = { 'Authorization': 'Bearer ' + (tokenOverride || token() || '') };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!response.ok) {
      if (response.status === 401 && !tokenOverride) signOut('The relay refused the admin token; sign in again.');
      throw new ApiError(response.status, json);
    }
    return json;
  }

  // ------------------------------------------------------------ formatting

  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function fmtAge(ms) {
    if (ms === null || ms === undefined) return 'never';
    if (ms < 1000) return 'just now';
    const s = Math.round(ms / 1000);
    if (s < 120) return s + ' s ago';
    const m = Math.round(s / 60);
    return m < 120 ? m + ' min ago' : Math.round(m / 60) + ' h ago';
  }

  function fmtBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(cells) {
    const tr = document.createElement('tr');
    cells.forEach((c) => {
      const td = document.createElement('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '—' : String(c);
      tr.appendChild(td);
    });
    return tr;
  }

  /**
   * Replaces a table's rows. Live pages refill their tables every few seconds: a control inside the table
   * that had the focus (a keyboard user on an Open or Delete button) gets it back in the new rows, found by
   * its data-focus-key, so polling never throws the keyboard user out of the table.
   */
  function fill(tbody, rows) {
    const active = document.activeElement;
    const key = active && tbody.contains(active) ? active.dataset.focusKey : undefined;
    tbody.replaceChildren(...rows);
    if (key !== undefined) {
      const again = tbody.querySelector('[data-focus-key="' + CSS.escape(key) + '"]');
      if (again) again.focus({ preventScroll: true });
    }
  }

  /** A button with an accessible name and a key that keeps its focus across refills (see fill). */
  function button(text, cls, label, focusKey, onClick) {
    const b = el('button', text, cls);
    b.type = 'button';
    b.setAttribute('aria-label', label);
    b.dataset.focusKey = focusKey;
    b.addEventListener('click', onClick);
    return b;
  }

  /**
   * Sets a select's options, keeping the choice; untouched when they are the same, so that a poll does
   * not reset a list the user has open. options: [value, label] pairs.
   */
  function setOptions(select, options) {
    const same = select.options.length === options.length
      && options.every(([value, label], i) => select.options[i].value === value && select.options[i].text === label);
    if (same) return;
    const chosen = select.value;
    select.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
    if (options.some(([value]) => value === chosen)) select.value = chosen;
  }

  function badge(status) {
    return el('span', status, 'badge badge-' + status);
  }

  function endpointLabel(id) {
    const e = endpointsById.get(id);
    return e ? e.name : id;
  }

  function notice(text) {
    $('notice').textContent = text || '';
  }

  function errorText(err) {
    if (err instanceof ApiError) {
      if (err.status === 429) return 'Too many failed sign-ins from this address; try again later.';
      if (err.status === 503 && err.body.error === 'admin_disabled') {
        return 'The admin API is disabled on this relay: set CONDUIT_ADMIN_TOKEN.';
      }
      return err.message + (err.body.error ? ' (' + err.body.error + ')' : '');
    }
    return 'The relay did not answer: ' + err.message;
  }

  // ------------------------------------------------------------ navigation

  function currentPage() {
    const page = (location.hash || '').replace(/^#\/?/, '');
    return PAGES.includes(page) ? page : 'overview';
  }

  function show(page) {
    const signedIn = !!token();
    $('nav').hidden = !signedIn;
    $('page-login').hidden = signedIn;
    PAGES.forEach((p) => { $('page-' + p).hidden = !signedIn || p !== page; });
    document.querySelectorAll('#nav a').forEach((a) => {
      if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    stopPolling();
    if (!signedIn) {
      document.title = 'Sign in · Conduit';
      $('login-token').focus();
      return;
    }
    document.title = page.charAt(0).toUpperCase() + page.slice(1) + ' · Conduit';
    // Every page that shows changing state refreshes itself the same way, without a reload.
    if (page === 'overview') startPolling(refreshOverview);
    if (page === 'webhooks') { loadEndpoints().catch(() => {}); startPolling(refreshWebhooks); }
    if (page === 'endpoints') startPolling(refreshEndpoints);
    if (page === 'instances') {
      $('in-id').focus();
      if (shownInstance) startPolling(refreshInstance);
    }
  }

  function startPolling(refresh) {
    const tick = () => refresh().catch((err) => notice(errorText(err))).finally(() => {
      if (pollTimer !== null) pollTimer = setTimeout(tick, POLL_MS);
    });
    pollTimer = 0;
    tick();
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    show(currentPage());
    $('login-error').textContent = message || '';
  }

  // ------------------------------------------------------------ sign in

  async function signIn(event) {
    event.preventDefault();
    const candidate = $('login-token').value.trim();
    $('login-error').textContent = '';
    if (!candidate) return;
    $('login-submit').disabled = true;
    try {
      await api('GET', '/api/hubs', undefined, candidate); // any admin call: 401 means a wrong token
      sessionStorage.setItem(TOKEN_KEY, candidate);
      $('login-token').value = '';
      notice('');
      show(currentPage());
    } catch (err) {
      $('login-error').textContent = err instanceof ApiError && err.status === 401
        ? 'Wrong admin token.' : errorText(err);
    } finally {
      $('login-submit').disabled = false;
    }
  }

  // ------------------------------------------------------------ overview

  async function loadEndpoints() {
    const data = await api('GET', '/api/endpoints');
    endpointsById = new Map(data.endpoints.map((e) => [e.id, e]));
    setOptions($('wh-endpoint'), [['', 'All endpoints']].concat(
      data.endpoints.map((e) => [e.id, e.name + ' (' + e.id.slice(0, 8) + '…)'])));
    return data.endpoints;
  }

  async function refreshOverview() {
    const [status, hubs, endpoints] = await Promise.all([
      api('GET', '/api/status'), api('GET', '/api/hubs'), loadEndpoints()]);
    const tunnel = status.tunnel || {};
    const webhook = status.webhook || {};
    $('ov-instances').textContent = tunnel.instances_online ?? '?';
    $('ov-sessions').textContent = tunnel.sessions_open ?? '?';
    const now = Date.now();
    if (typeof tunnel.bytes_relayed === 'number') {
      if (lastTunnel && now > lastTunnel.at) {
        const rate = Math.max(0, tunnel.bytes_relayed - lastTunnel.bytes) * 1000 / (now - lastTunnel.at);
        $('ov-throughput').textContent = fmtBytes(rate) + '/s';
      }
      $('ov-relayed-total').textContent = fmtBytes(tunnel.bytes_relayed) + ' since start';
      lastTunnel = { bytes: tunnel.bytes_relayed, at: now };
    }
    $('ov-hubs').textContent = (webhook.hubs_connected ?? '?') + ' / ' + (webhook.hubs_configured ?? '?');
    const counts = webhook.webhooks || {};
    fill($('ov-statuses').tBodies[0], Object.keys(counts).map((s) => row([badge(s), counts[s]])));
    fill($('ov-hub-table').tBodies[0], hubs.hubs.map((h) => row([
      h.hub_id,
      badge(h.connected ? 'connected' : 'disconnected'),
      h.connected ? fmtAge(h.heartbeat_age_ms) : '—',
      h.outstanding, h.replacements])));
    fill($('ov-endpoints').tBodies[0], endpoints.map((e) => row([e.name, e.hub_id, e.queued])));
    $('overview-updated').textContent = 'Last update ' + new Date().toLocaleTimeString() + '.';
    notice('');
  }

  // ------------------------------------------------------------ webhooks

  function webhookQuery(before) {
    const q = new URLSearchParams();
    if ($('wh-endpoint').value) q.set('endpoint', $('wh-endpoint').value);
    if ($('wh-status').value) q.set('status', $('wh-status').value);
    q.set('limit', $('wh-limit').value);
    if (before) q.set('before', before);
    return '/api/webhooks?' + q.toString();
  }

  async function refreshWebhooks() {
    const cursors = webhookPaging.cursors;
    const before = cursors.length ? cursors[cursors.length - 1] : null;
    const data = await api('GET', webhookQuery(before));
    webhookPaging.next = data.next_before ?? null;
    const tbody = $('wh-table').tBodies[0];
    fill(tbody, data.webhooks.map((w) => {
      const open = button(w.id, 'link', 'Open webhook ' + w.id, 'open ' + w.id, () => openWebhook(w.id));
      open.dataset.webhookId = w.id;
      const tr = row([fmtTime(w.received_at), open, endpointLabel(w.endpoint_id), badge(w.status), w.attempts,
        w.signature]);
      tr.dataset.webhookId = w.id;
      tr.dataset.status = w.status;
      return tr;
    }));
    $('wh-empty').hidden = data.webhooks.length > 0;
    $('wh-newer').disabled = cursors.length === 0;
    $('wh-older').disabled = webhookPaging.next === null;
    $('wh-page').textContent = 'Page ' + (cursors.length + 1);
    $('wh-live').textContent = cursors.length === 0
      ? 'Newest first; new webhooks appear here as they arrive.' : 'Older page: not updated live.';
    if (openWebhookId) await showWebhook(openWebhookId, false);
    notice('');
  }

  function restartWebhooks() {
    webhookPaging.cursors = [];
    show('webhooks');
  }

  async function openWebhook(id) {
    openWebhookId = id;
    $('whd-replay-result').textContent = '';
    await showWebhook(id, true).catch((err) => notice(errorText(err)));
    $('wh-detail').focus();
  }

  async function showWebhook(id, withPayload) {
    const w = await api('GET', '/api/webhooks/' + encodeURIComponent(id));
    if (openWebhookId !== id) return;
    $('wh-detail').hidden = false;
    $('whd-id').textContent = w.id;
    $('whd-status').replaceChildren(badge(w.status));
    $('wh-detail').dataset.status = w.status;
    $('whd-endpoint').textContent = endpointLabel(w.endpoint_id) + ' (' + w.endpoint_id + ')';
    $('whd-attempts').textContent = w.attempts;
    $('whd-signature').textContent = w.signature;
    $('whd-received').textContent = fmtTime(w.received_at);
    $('whd-updated').textContent = fmtTime(w.updated_at);
    $('whd-next').textContent = fmtTime(w.next_retry_at);
    $('whd-code').textContent = w.last_status_code ?? '—';
    $('whd-error').textContent = w.last_error || '—';
    $('whd-query').textContent = w.query ? '?' + w.query : '—';
    $('whd-replay').hidden = !REPLAYABLE.has(w.status);
    if (!withPayload) return;
    try {
      const p = await api('GET', '/api/webhooks/' + encodeURIComponent(id) + '/payload');
      fill($('whd-headers').tBodies[0], p.headers.map((h) => row([h.name, h.value])));
      renderBody(p.body_base64, p.body_bytes);
    } catch (err) {
      fill($('whd-headers').tBodies[0], []);
      $('whd-body-kind').textContent = '';
      $('whd-body').textContent = errorText(err);
    }
  }

  /** JSON pretty-printed, other UTF-8 text as is, anything else as a hex dump. */
  function renderBody(base64, length) {
    const bin = atob(base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    let text = null;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch (e) { text = null; }
    // Control characters other than tab, CR, LF make text unreadable: show those bodies as hex.
    if (text !== null && /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) text = null;
    if (text !== null) {
      try {
        $('whd-body').textContent = JSON.stringify(JSON.parse(text), null, 2);
        $('whd-body-kind').textContent = '(JSON, ' + length + ' bytes)';
        return;
      } catch (e) { /* not JSON */ }
      $('whd-body').textContent = text;
      $('whd-body-kind').textContent = '(text, ' + length + ' bytes)';
      return;
    }
    const lines = [];
    for (let off = 0; off < bytes.length; off += 16) {
      const chunk = Array.from(bytes.slice(off, off + 16));
      const hex = chunk.map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const ascii = chunk.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      lines.push(off.toString(16).padStart(8, '0') + '  ' + hex.padEnd(47) + '  ' + ascii);
    }
    $('whd-body').textContent = lines.join('\n');
    $('whd-body-kind').textContent = '(binary, ' + length + ' bytes, hex)';
  }

  async function replay() {
    const id = openWebhookId;
    $('whd-replay').disabled = true;
    try {
      await api('POST', '/api/webhooks/' + encodeURIComponent(id) + '/replay');
      $('whd-replay-result').textContent = 'Replayed: queued for delivery again.';
      await showWebhook(id, false);
    } catch (err) {
      $('whd-replay-result').textContent = errorText(err);
    } finally {
      $('whd-replay').disabled = false;
    }
  }

  // ------------------------------------------------------------ endpoints

  /** The endpoints table and the hub choices; polled while the page is shown (queue depths change). */
  async function refreshEndpoints() {
    const [endpoints, hubs] = await Promise.all([loadEndpoints(), api('GET', '/api/hubs')]);
    setOptions($('ep-hub'), hubs.hubs.map((h) => [h.hub_id, h.hub_id]));
    fill($('ep-table').tBodies[0], endpoints.map((e) => {
      const url = location.origin + e.ingest_path;
      const urlCell = document.createElement('div');
      urlCell.className = 'copy';
      const code = el('code', url, 'ingest-url');
      const copy = button('Copy', 'secondary small', 'Copy the ingest URL of ' + e.name, 'copy ' + e.id,
        () => copyText(url, e.name));
      urlCell.append(code, copy);
      const actions = document.createElement('div');
      actions.className = 'actions';
      const edit = button('Edit', 'secondary small', 'Edit ' + e.name, 'edit ' + e.id, () => startEdit(e));
      const del = button('Delete', 'danger small', 'Delete ' + e.name, 'delete ' + e.id, () => deleteEndpoint(e, false));
      actions.append(edit, del);
      const tr = row([e.name, e.provider, e.hub_id, e.destination_url, e.queued, urlCell, actions]);
      tr.dataset.endpointId = e.id;
      tr.dataset.endpointName = e.name;
      return tr;
    }));
    $('ep-empty').hidden = endpoints.length > 0;
    notice('');
  }

  async function copyText(text, name) {
    try {
      await navigator.clipboard.writeText(text);
      $('ep-result').textContent = 'Copied the ingest URL of ' + name + '.';
    } catch (e) {
      $('ep-result').textContent = 'Copy it by hand: ' + text;
    }
  }

  function startEdit(e) {
    $('ep-id').value = e.id;
    $('ep-name').value = e.name;
    $('ep-provider').value = e.provider;
    $('ep-secret').value = '';
    $('ep-secret-hint').textContent = e.has_secret ? '(leave empty to keep the current one)' : '(optional)';
    $('ep-destination').value = e.destination_url;
    $('ep-hub').value = e.hub_id;
    $('ep-form-title').textContent = 'Edit endpoint ' + e.name;
    $('ep-save').textContent = 'Save changes';
    $('ep-cancel').hidden = false;
    $('ep-name').focus();
  }

  function resetForm() {
    $('ep-form').reset();
    $('ep-id').value = '';
    $('ep-secret-hint').textContent = '(optional)';
    $('ep-form-title').textContent = 'New endpoint';
    $('ep-save').textContent = 'Create endpoint';
    $('ep-cancel').hidden = true;
    $('ep-form-error').textContent = '';
  }

  async function saveEndpoint(event) {
    event.preventDefault();
    const id = $('ep-id').value;
    const body = {
      name: $('ep-name').value, provider: $('ep-provider').value,
      destination_url: $('ep-destination').value, hub_id: $('ep-hub').value,
    };
    // On edit an empty secret field keeps the stored secret; on create it means none.
    if ($('ep-secret').value || !id) body.secret = $('ep-secret').value || null;
    $('ep-form-error').textContent = '';
    $('ep-save').disabled = true;
    try {
      const saved = id ? await api('PATCH', '/api/endpoints/' + encodeURIComponent(id), body)
        : await api('POST', '/api/endpoints', body);
      $('ep-result').textContent = (id ? 'Saved ' : 'Created ') + saved.name + '. Ingest URL: '
        + location.origin + saved.ingest_path;
      resetForm();
      await refreshEndpoints().catch((err) => notice(errorText(err)));
    } catch (err) {
      $('ep-form-error').textContent = errorText(err);
    } finally {
      $('ep-save').disabled = false;
    }
  }

  async function deleteEndpoint(e, force) {
    $('ep-refusal').hidden = true;
    pendingForceDelete = null;
    try {
      await api('DELETE', '/api/endpoints/' + encodeURIComponent(e.id) + (force ? '?force=true' : ''));
      $('ep-result').textContent = 'Deleted ' + e.name + '.';
      // The focused Delete button is gone with its row: keep a keyboard user at the result, not the page top.
      if (!document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected
          || $('ep-table').contains(document.activeElement) || document.activeElement.id === 'ep-force') {
        $('ep-result').focus();
      }
      if ($('ep-id').value === e.id) resetForm();
      await refreshEndpoints().catch((err) => notice(errorText(err)));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.body.error === 'webhooks_queued') {
        pendingForceDelete = e;
        $('ep-refusal-text').textContent = 'Not deleted: ' + e.name + ' still has ' + err.body.queued
          + ' webhook(s) queued (webhooks_queued). Let them be delivered, or delete anyway: they will be marked failed.';
        $('ep-refusal').hidden = false;
        $('ep-force').focus();
      } else {
        $('ep-result').textContent = 'Not deleted: ' + errorText(err);
      }
    }
  }

  // ------------------------------------------------------------ instances

  async function lookupInstance(event) {
    event.preventDefault();
    const id = $('in-id').value.trim();
    stopPolling();
    shownInstance = null;
    $('in-error').textContent = '';
    $('in-result').hidden = true;
    if (!id) return;
    try {
      await showInstance(id);
      shownInstance = id; // from now on kept up to date, like every other page
      startPolling(refreshInstance);
    } catch (err) {
      $('in-error').textContent = err instanceof ApiError && err.status === 404
        ? 'No instance with id ' + id + ' has registered.' : errorText(err);
    }
  }

  function refreshInstance() {
    return shownInstance ? showInstance(shownInstance) : Promise.resolve();
  }

  async function showInstance(id) {
    const s = await api('GET', '/api/instances/' + encodeURIComponent(id));
    $('in-r-id').textContent = s.instance_id;
    $('in-r-online').replaceChildren(badge(s.online ? 'online' : 'offline'));
    $('in-r-registered').textContent = fmtTime(s.registered_at);
    $('in-r-seen').textContent = fmtTime(s.last_seen);
    $('in-r-sessions').textContent = s.sessions;
    const urls = (s.direct_urls || []).map((u) => el('li', u));
    $('in-r-urls').replaceChildren(...(urls.length ? urls : [el('li', 'none')]));
    $('in-r-updated').textContent = 'Last update ' + new Date().toLocaleTimeString() + '.';
    $('in-result').hidden = false;
  }

  // ------------------------------------------------------------ wiring

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', signIn);
    $('logout').addEventListener('click', () => signOut('Signed out.'));
    window.addEventListener('hashchange', () => show(currentPage()));
    ['wh-endpoint', 'wh-status', 'wh-limit'].forEach((id) => $(id).addEventListener('change', restartWebhooks));
    $('wh-filter').addEventListener('submit', (e) => { e.preventDefault(); restartWebhooks(); });
    $('wh-older').addEventListener('click', () => {
      if (webhookPaging.next !== null) { webhookPaging.cursors.push(webhookPaging.next); show('webhooks'); }
    });
    $('wh-newer').addEventListener('click', () => { webhookPaging.cursors.pop(); show('webhooks'); });
    $('whd-close').addEventListener('click', () => { openWebhookId = null; $('wh-detail').hidden = true; });
    $('whd-replay').addEventListener('click', replay);
    $('ep-form').addEventListener('submit', saveEndpoint);
    $('ep-cancel').addEventListener('click', resetForm);
    $('ep-force').addEventListener('click', () => { if (pendingForceDelete) deleteEndpoint(pendingForceDelete, true); });
    $('ep-force-cancel').addEventListener('click', () => { pendingForceDelete = null; $('ep-refusal').hidden = true; });
    $('in-form').addEventListener('submit', lookupInstance);
    show(currentPage());
  });
})();
