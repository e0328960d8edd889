/* The inspectors' tablet page: load a unit, record a spot check offline, queue it, send it.
 *
 * Every change is written to IndexedDB at once (TabletCore), so a reload or a closed tab
 * loses nothing; the page is rebuilt from there. Texts come from the page's data block in
 * the page's language (no catalogue in the script).
 */
/* global TabletCore */
(function () {
  'use strict';

  const Core = TabletCore;
  const config = JSON.parse(document.getElementById('tablet-config').textContent);
  const STATUSES = ['present', 'late', 'left_early', 'absent_excused', 'absent_unverified', 'absent_unexcused'];
  const RESULTS = ['pass', 'fail', 'not_applicable'];
  const MAX_SIDE = 1600;  // px of a photo's longer side: readable evidence, a few hundred kB
  const JPEG_QUALITY = 0.8;
  const RETRY_MS = 30000;

  const state = {units: [], loaded: [], checks: [], current: null, unit: null, pane: 'header', stream: null,
                 thumbs: []};

  function $(id) { return document.getElementById(id); }

  function t(key, values) {
    const text = (config.texts && config.texts[key]) || key;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(function (pair) {
      const name = pair[0], value = pair[1];
      if (value === null || value === undefined || value === false) return;
      if (name === 'text') node.textContent = value;
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, value === true ? '' : value);
    });
    (children || []).forEach(function (child) { if (child) node.append(child); });
    return node;
  }

  function pad(n) { return String(n).padStart(2, '0'); }

  /* Local naive time, as the content wants it: YYYY-MM-DDTHH:MM:SS. */
  function localIso(date) {
    return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + 'T' +
      pad(date.getHours()) + ':' + pad(date.getMinutes()) + ':' + pad(date.getSeconds());
  }

  function today() { return localIso(new Date()).slice(0, 10); }

  function vnDate(iso) { return iso ? iso.slice(8, 10) + '/' + iso.slice(5, 7) + '/' + iso.slice(0, 4) : ''; }

  function vnDateTime(iso) { return iso ? vnDate(iso) + ' ' + iso.slice(11, 16) : ''; }

  function label(item) { return config.language === 'en' ? (item.label_en || item.label_vi) : item.label_vi; }

  function initials(name) {
    const words = String(name || '?').trim().split(/\s+/);
    return (words.length > 1 ? words[words.length - 2][0] + words[words.length - 1][0] : words[0].slice(0, 2))
      .toUpperCase();
  }

  function message(id, text, kind) {
    const node = $(id);
    node.textContent = text || '';
    node.className = 'message' + (kind ? ' ' + kind : '');
  }

  // ------------------------------------------------------------ connection and token

  function showNetwork() {
    const online = navigator.onLine;
    $('net-state').textContent = online ? t('online') : t('offline');
    $('net-state').className = 'pill ' + (online ? 'online' : 'offline');
  }

  async function showKey() {
    const token = await Core.setting('token');
    const needSignIn = await Core.setting('needSignIn');
    const owner = await Core.setting('tokenUser');
    $('sign-in-again').hidden = !needSignIn;
    $('reconnect').hidden = Boolean(token && !needSignIn);
    if (needSignIn) $('key-state').textContent = t('sign_in_again');
    else if (token) $('key-state').textContent = t('connected', {username: owner});
    else $('key-state').textContent = t('not_connected');
  }

  async function connect() {
    const form = new FormData();
    form.append('csrf_token', config.csrf);
    form.append('tablet', await Core.setting('tabletId'));
    let response;
    try {
      response = await fetch(config.token_url, {method: 'POST', body: form, credentials: 'same-origin',
                                                headers: {'X-CSRFToken': config.csrf}});
    } catch (error) {
      $('key-state').textContent = t('connect_failed', {reason: error.message});
      return false;
    }
    if (!response.ok || response.redirected) {
      $('key-state').textContent = t('connect_failed', {reason: response.redirected ? t('sign_in_again')
                                                                                       : response.status});
      $('sign-in-again').hidden = false;
      return false;
    }
    const answer = await response.json();
    await Core.setSetting('token', answer.token);
    await Core.setSetting('tokenUser', answer.username);
    await Core.setSetting('needSignIn', false);
    await showKey();
    return true;
  }

  async function ensureKey() {
    const token = await Core.setting('token');
    const owner = await Core.setting('tokenUser');
    const needSignIn = await Core.setting('needSignIn');
    // A page served by the network is a signed-in page: its user's key replaces a refused one.
    if (navigator.onLine && (!token || owner !== config.username || needSignIn)) {
      if (await connect()) return true;
    }
    await showKey();
    return Boolean(token) && !needSignIn;
  }

  // ------------------------------------------------------------ units

  async function refreshUnits() {
    try {
      const answer = await Core.call('GET', '/units');
      state.units = answer.data;
      await Core.setSetting('units', state.units);
    } catch (failure) {
      state.units = (await Core.setting('units')) || [];
      if (failure.kind === 'signin') { await Core.setSetting('needSignIn', true); await showKey(); }
      else if (navigator.onLine) message('load-message', t('units_failed', {reason: failure.message}), 'problem');
    }
    renderUnitSelect();
  }

  function renderUnitSelect() {
    const select = $('unit-select');
    const chosen = select.value;
    select.replaceChildren.apply(select, state.units.map(function (unit) {
      return el('option', {value: unit.code, text: unit.name + ' (' + unit.code + ')'});
    }));
    if (chosen) select.value = chosen;
  }

  async function loadUnit() {
    const code = $('unit-select').value;
    const day = $('unit-date').value || today();
    if (!code) return;
    message('load-message', t('loading'));
    try {
      const staff = (await Core.call('GET', '/units/' + encodeURIComponent(code) + '/staff?date=' + day)).data;
      const templates = (await Core.call('GET', '/checklist-templates')).data;
      const current = templates.find(function (tpl) { return tpl.code === 'default'; }) || templates[0];
      const template = (await Core.call('GET', '/checklist-templates/' + encodeURIComponent(current.code) + '/' +
                                        current.version)).data;
      const unit = state.units.find(function (u) { return u.code === code; }) || {name: code};
      for (const person of staff) {
        if (person.photo) await keepStaffPhoto(person);
      }
      await Core.put('units', {key: code + '|' + day, code: code, name: unit.name, date: day, staff: staff,
                               template: template, loadedAt: localIso(new Date())});
      message('load-message', t('loaded', {name: unit.name, count: staff.length, date: vnDate(day),
                                           template: template.code + ' v' + template.version}), 'ok');
    } catch (failure) {
      if (failure.kind === 'signin') { await Core.setSetting('needSignIn', true); await showKey(); }
      message('load-message', t('load_failed', {reason: failure.message || failure}), 'problem');
    }
    await refreshLoaded();
  }

  async function keepStaffPhoto(person) {
    // Photos are people's data: fetched with the tablet's key, kept with the unit.
    try {
      const token = await Core.setting('token');
      const response = await fetch(person.photo, {headers: {'Authorization': 'Bearer ' + token},
                                                  credentials: 'omit'});
      if (!response.ok) return;
      const blob = await response.blob();
      await Core.put('staffPhotos', {type: blob.type, data: await blob.arrayBuffer()}, person.code);
    } catch (error) {
      // Without a photo the person is shown with initials.
    }
  }

  async function refreshLoaded() {
    state.loaded = (await Core.all('units')).sort(function (a, b) { return a.key < b.key ? -1 : 1; });
    const list = $('loaded-units');
    if (!state.loaded.length) {
      list.replaceChildren(el('li', {className: 'muted', text: t('no_units_loaded')}));
    } else {
      list.replaceChildren.apply(list, state.loaded.map(function (unit) {
        return el('li', {className: 'card'}, [
          el('strong', {text: unit.name}),
          el('span', {text: vnDate(unit.date) + ' · ' + t('people', {n: unit.staff.length}) + ' · ' +
                      unit.template.code + ' v' + unit.template.version}),
        ]);
      }));
    }
    const select = $('new-unit');
    select.replaceChildren.apply(select, state.loaded.map(function (unit) {
      return el('option', {value: unit.key, text: unit.name + ' — ' + vnDate(unit.date)});
    }));
    const wanted = state.loaded.find(function (unit) { return unit.date === today(); });
    if (wanted) select.value = wanted.key;
    $('start-check').disabled = !state.loaded.length;
  }

  // ------------------------------------------------------------ the list of spot checks

  function statusText(check) {
    const sync = check.sync || {state: 'local'};
    switch (sync.state) {
      case 'sending': return t('status_sending');
      case 'server': return t('status_server_' + (sync.server || 'draft'));
      case 'missing': return t('status_missing', {n: sync.missing});
      case 'error': return t('status_error', {reason: sync.message});
      case 'signin': return t('status_signin');
      case 'queued': return t('status_queued');
      default: return t('status_local');
    }
  }

  function statusClass(check) { return 'badge status-' + ((check.sync && check.sync.state) || 'local'); }

  async function refreshChecks() {
    state.checks = (await Core.all('checks')).sort(function (a, b) {
      return a.draft.started_at < b.draft.started_at ? 1 : -1;
    });
    $('checks-count').textContent = state.checks.length ? '(' + state.checks.length + ')' : '';
    const list = $('check-list');
    if (!state.checks.length) {
      list.replaceChildren(el('li', {className: 'muted', text: t('no_checks')}));
    } else {
      list.replaceChildren.apply(list, state.checks.map(function (check) {
        const open = el('button', {type: 'button', className: 'touch', text: check.unitName});
        open.addEventListener('click', function () { openCheck(check.uuid); });
        const extra = check.sync && check.sync.state === 'queued' && check.sync.message
          ? el('span', {className: 'muted', text: check.sync.message}) : null;
        return el('li', {className: 'card check', 'data-uuid': check.uuid}, [
          open,
          el('span', {text: t('started', {time: vnDateTime(check.draft.started_at)}) + ' · ' +
                      t('photos', {n: check.photos.length})}),
          el('span', {className: statusClass(check), text: statusText(check)}),
          extra,
        ]);
      }));
    }
    if (state.current) {
      const fresh = state.checks.find(function (c) { return c.uuid === state.current.uuid; });
      if (fresh) { state.current.sync = fresh.sync; state.current.queued = fresh.queued; renderEditorHead(); }
    }
  }

  async function startCheck() {
    const unit = state.loaded.find(function (u) { return u.key === $('new-unit').value; });
    if (!unit) return;
    const started = localIso(new Date());
    const check = {
      uuid: crypto.randomUUID(), unitKey: unit.key, unit: unit.code, unitName: unit.name,
      createdAt: started, queued: false, finished: false, sync: {state: 'local'}, photos: [],
      draft: {
        started_at: started, headcount_at: started, team: [config.username], lead: '', legal_basis: '',
        gps: null, template: {code: unit.template.code, version: unit.template.version},
        headcount: {}, findings: {},
      },
    };
    await Core.put('checks', check);
    await refreshChecks();
    await openCheck(check.uuid);
  }

  // ------------------------------------------------------------ the editor

  function readOnly() { return Boolean(state.current && state.current.finished); }

  async function openCheck(uuid) {
    state.current = await Core.get('checks', uuid);
    state.unit = await Core.get('units', state.current.unitKey);
    await Core.setSetting('openCheck', uuid);
    showView('editor');
    renderEditor();
  }

  async function closeCheck() {
    stopCamera();
    state.current = null;
    await Core.setSetting('openCheck', null);
    showView('checks');
    await refreshChecks();
  }

  let saving = Promise.resolve();

  /* Write the draft and the photo list at once (only those: the sender owns the sync state). */
  function save() {
    const draft = state.current.draft, photos = state.current.photos, uuid = state.current.uuid;
    saving = saving.then(function () {
      return Core.update(uuid, function (c) { c.draft = draft; c.photos = photos; });
    });
    return saving;
  }

  function renderEditorHead() {
    const check = state.current;
    $('editor-title').textContent = check.unitName + ' — ' + vnDateTime(check.draft.started_at);
    $('editor-status').textContent = statusText(check);
    $('editor-status').className = statusClass(check);
    $('editor-readonly').hidden = !readOnly();
    $('editor-fields').disabled = readOnly();
    renderSend();
  }

  function renderEditor() {
    const draft = state.current.draft;
    $('f-team').value = draft.team.join(', ');
    $('f-lead').value = draft.lead;
    $('f-legal').value = draft.legal_basis;
    $('f-headcount-time').value = draft.headcount_at.slice(11, 16);
    $('f-started').textContent = vnDateTime(draft.started_at);
    renderGps();
    renderHeadcount();
    renderChecklist();
    renderPhotos();
    renderEditorHead();
    showPane(state.pane);
  }

  function renderGps() {
    const gps = state.current.draft.gps;
    $('f-gps').textContent = gps ? t('gps_shown', {lat: gps.lat.toFixed(5), lon: gps.lon.toFixed(5),
                                                     accuracy: gps.accuracy_m}) : '';
  }

  function showPane(name) {
    state.pane = name;
    ['header', 'headcount', 'checklist', 'photos', 'send'].forEach(function (pane) {
      $('pane-' + pane).hidden = pane !== name;
    });
    document.querySelectorAll('.editor-tabs .tab').forEach(function (tab) {
      tab.setAttribute('aria-pressed', String(tab.dataset.pane === name));
    });
    if (name !== 'photos') stopCamera();
    if (name === 'send') renderSend();
  }

  function showView(name) {
    ['prepare', 'checks', 'editor'].forEach(function (view) { $('view-' + view).hidden = view !== name; });
    document.querySelectorAll('.main-tabs .tab').forEach(function (tab) {
      tab.setAttribute('aria-pressed', String(tab.dataset.view === name ||
                                              (name === 'editor' && tab.dataset.view === 'checks')));
    });
  }

  // ------------------------------------------------------------ headcount

  function mark(code) { return state.current.draft.headcount[code] || {}; }

  function headcountRow(person) {
    const entry = mark(person.code);
    const status = entry.status || 'unmarked';
    const face = el('span', {className: 'face', text: initials(person.name)});
    Core.get('staffPhotos', person.code).then(function (photo) {
      if (!photo) return;
      const img = el('img', {className: 'face', alt: '', src: URL.createObjectURL(new Blob([photo.data],
                                                                                           {type: photo.type}))});
      face.replaceWith(img);
    });
    const cycle = el('button', {type: 'button', className: 'status-button status-' + status, text: t(status),
                                'data-action': 'cycle'});
    const choose = el('select', {className: 'status-choose touch', 'aria-label': t(status), 'data-action': 'choose'},
                      [el('option', {value: '', text: t('unmarked')})].concat(STATUSES.map(function (s) {
                        return el('option', {value: s, text: t(s)});
                      })));
    choose.value = entry.status || '';
    const extra = el('div', {className: 'extra'});
    if (status === 'late' || status === 'left_early') {
      const field = status === 'late' ? 'arrived_at' : 'left_at';
      extra.append(el('label', {text: t(field)}, [el('input', {type: 'time', className: 'touch', 'data-field': field,
                                                               value: entry[field] || ''})]));
    }
    if (status === 'absent_excused') {
      extra.append(el('label', {text: t('reference')}, [el('input', {type: 'text', className: 'touch',
                                                                      'data-field': 'reference',
                                                                      value: entry.reference || ''})]));
    }
    if (status !== 'unmarked' && status !== 'present') {
      extra.append(el('label', {text: t('note')}, [el('input', {type: 'text', className: 'touch', 'data-field': 'note',
                                                                 value: entry.note || ''})]));
    }
    return el('li', {className: 'person status-' + status, 'data-staff': person.code}, [
      face,
      el('div', {className: 'who'}, [el('strong', {text: person.name}),
                                     el('span', {className: 'muted', text: person.code +
                                                 (person.position ? ' · ' + person.position : '')})]),
      el('div', {className: 'status-controls'}, [cycle, choose]),
      extra,
    ]);
  }

  function renderHeadcount() {
    const list = $('headcount-list');
    list.replaceChildren.apply(list, state.unit.staff.map(headcountRow));
    renderHeadcountProgress();
  }

  function renderHeadcountProgress() {
    const total = state.unit.staff.length;
    const done = state.unit.staff.filter(function (p) { return mark(p.code).status; }).length;
    $('headcount-progress').textContent = t('marked', {done: done, total: total});
    $('headcount-count').textContent = '(' + done + '/' + total + ')';
  }

  function setStatus(code, status) {
    const headcount = state.current.draft.headcount;
    const entry = Object.assign({}, headcount[code] || {});
    if (status) entry.status = status; else delete entry.status;
    headcount[code] = entry;
    const person = state.unit.staff.find(function (p) { return p.code === code; });
    const row = $('headcount-list').querySelector('li[data-staff="' + CSS.escape(code) + '"]');
    row.replaceWith(headcountRow(person));
    renderHeadcountProgress();
    save();
  }

  function onHeadcountClick(event) {
    const button = event.target.closest('[data-action="cycle"]');
    if (!button || readOnly()) return;
    const code = button.closest('li').dataset.staff;
    const status = mark(code).status;
    setStatus(code, STATUSES[(STATUSES.indexOf(status) + 1) % STATUSES.length]);
  }

  function onHeadcountInput(event) {
    const target = event.target;
    const code = target.closest('li') && target.closest('li').dataset.staff;
    if (!code) return;
    if (target.dataset.action === 'choose') { setStatus(code, target.value); return; }
    if (!target.dataset.field) return;
    const entry = Object.assign({}, mark(code));
    entry[target.dataset.field] = target.value;
    state.current.draft.headcount[code] = entry;
    save();
  }

  // ------------------------------------------------------------ checklist

  function finding(key) { return state.current.draft.findings[key] || {}; }

  function resultButtons(key) {
    const current = finding(key).result;
    return el('div', {className: 'results', role: 'group'}, RESULTS.map(function (result) {
      return el('button', {type: 'button', className: 'result result-' + result, 'data-key': key,
                           'data-result': result, 'aria-pressed': String(current === result), text: t(result)});
    }));
  }

  function renderChecklist() {
    const items = state.unit.template.items;
    const unitItems = items.filter(function (item) { return item.scope === 'unit'; });
    const list = $('checklist-unit');
    list.replaceChildren.apply(list, unitItems.map(function (item) {
      return el('li', {className: 'item', 'data-item': item.code}, [
        el('span', {className: 'item-label', text: label(item)}),
        resultButtons(item.code),
        el('input', {type: 'text', className: 'touch note', placeholder: t('note'), 'aria-label': t('note'),
                     'data-key': item.code, value: finding(item.code).note || ''}),
      ]);
    }));
    const personItems = items.filter(function (item) { return item.scope === 'person'; });
    const head = el('tr', {}, [el('th', {text: ''})].concat(personItems.map(function (item) {
      return el('th', {text: label(item), scope: 'col'});
    })));
    const rows = state.unit.staff.map(function (person) {
      return el('tr', {}, [el('th', {scope: 'row', text: person.name})].concat(personItems.map(function (item) {
        const key = item.code + '|' + person.code;
        const result = finding(key).result || 'not_recorded';
        return el('td', {}, [el('button', {type: 'button', className: 'cell result-' + result, 'data-key': key,
                                           'data-cycle': 'true', text: t(result),
                                           'aria-label': person.name + ': ' + label(item)})]);
      })));
    });
    const table = $('checklist-person');
    table.replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
  }

  function setResult(key, result) {
    const findings = state.current.draft.findings;
    const entry = Object.assign({}, findings[key] || {});
    if (result) entry.result = result; else delete entry.result;
    findings[key] = entry;
    save();
  }

  function onChecklistClick(event) {
    const button = event.target.closest('button[data-key]');
    if (!button || readOnly()) return;
    const key = button.dataset.key;
    if (button.dataset.cycle) {
      const order = [undefined].concat(RESULTS);
      const next = order[(order.indexOf(finding(key).result) + 1) % order.length];
      setResult(key, next);
      button.className = 'cell result-' + (next || 'not_recorded');
      button.textContent = t(next || 'not_recorded');
      return;
    }
    const next = finding(key).result === button.dataset.result ? undefined : button.dataset.result;
    setResult(key, next);
    button.parentNode.querySelectorAll('button').forEach(function (other) {
      other.setAttribute('aria-pressed', String(other.dataset.result === next));
    });
  }

  function onChecklistInput(event) {
    const key = event.target.dataset.key;
    if (!key) return;
    const entry = Object.assign({}, finding(key));
    entry.note = event.target.value;
    state.current.draft.findings[key] = entry;
    save();
  }

  // ------------------------------------------------------------ photos

  function renderPhotoItems() {
    const select = $('photo-item');
    const chosen = select.value;
    select.replaceChildren.apply(select, [el('option', {value: '', text: t('whole_check')})].concat(
      state.unit.template.items.map(function (item) { return el('option', {value: item.code, text: label(item)}); })));
    select.value = chosen || '';
  }

  function renderPhotos() {
    renderPhotoItems();
    state.thumbs.forEach(function (url) { URL.revokeObjectURL(url); });
    state.thumbs = [];
    const photos = state.current.photos;
    $('photos-count').textContent = photos.length ? '(' + photos.length + ')' : '';
    const list = $('photo-list');
    list.replaceChildren.apply(list, photos.map(function (photo) {
      const img = el('img', {alt: photo.name});
      Core.get('photos', state.current.uuid + '/' + photo.name).then(function (stored) {
        if (!stored) return;
        const url = URL.createObjectURL(new Blob([stored.data], {type: stored.type}));
        state.thumbs.push(url);
        img.src = url;
      });
      const item = photo.item ? state.unit.template.items.find(function (i) { return i.code === photo.item; }) : null;
      return el('li', {className: 'photo', 'data-name': photo.name}, [
        img,
        el('span', {text: photo.name + ' · ' + Math.round(photo.size / 1024) + ' kB'}),
        el('span', {className: 'muted', text: item ? label(item) : t('whole_check')}),
        el('code', {className: 'hash', text: photo.sha256.slice(0, 16) + '…'}),
      ]);
    }));
  }

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer)).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }

  function toJpeg(canvas) {
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) { if (blob) resolve(blob); else reject(new Error('toBlob')); },
                    'image/jpeg', JPEG_QUALITY);
    });
  }

  /* Draw the picture at most MAX_SIDE px on its longer side and keep it as a JPEG with its hash. */
  async function keepPhoto(source, width, height) {
    const ratio = Math.min(1, MAX_SIDE / Math.max(width, height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * ratio));
    canvas.height = Math.max(1, Math.round(height * ratio));
    canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
    const blob = await toJpeg(canvas);
    const data = await blob.arrayBuffer();
    const sha256 = hex(await crypto.subtle.digest('SHA-256', data));
    const used = state.current.photos.map(function (p) { return parseInt(p.name.replace(/\D/g, ''), 10) || 0; });
    const name = 'photo-' + String(Math.max(0, ...used) + 1).padStart(3, '0') + '.jpg';
    await Core.put('photos', {type: 'image/jpeg', data: data}, state.current.uuid + '/' + name);
    state.current.photos = state.current.photos.concat([{
      name: name, sha256: sha256, size: data.byteLength, type: 'image/jpeg', item: $('photo-item').value || null,
      width: canvas.width, height: canvas.height, takenAt: localIso(new Date()),
    }]);
    await save();
    renderPhotos();
    message('photo-message', t('photo_saved', {name: name, size: Math.round(data.byteLength / 1024)}), 'ok');
  }

  async function openCamera() {
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: 'environment',
                                                                         width: {ideal: 1920}}, audio: false});
      const video = $('camera-view');
      video.srcObject = state.stream;
      video.hidden = false;
      await video.play();
      $('camera-shoot').hidden = false;
      $('camera-open').hidden = true;
    } catch (error) {
      message('photo-message', t('camera_failed', {reason: error.message || error.name}), 'problem');
    }
  }

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach(function (track) { track.stop(); });
    state.stream = null;
    $('camera-view').hidden = true;
    $('camera-shoot').hidden = true;
    $('camera-open').hidden = false;
  }

  async function shoot() {
    const video = $('camera-view');
    try {
      await keepPhoto(video, video.videoWidth, video.videoHeight);
    } catch (error) {
      message('photo-message', t('photo_failed', {reason: error.message || error}), 'problem');
    }
  }

  async function photoFromFile() {
    const file = $('photo-file').files[0];
    if (!file) return;
    try {
      const bitmap = await createImageBitmap(file);
      await keepPhoto(bitmap, bitmap.width, bitmap.height);
      bitmap.close();
    } catch (error) {
      message('photo-message', t('photo_failed', {reason: error.message || error}), 'problem');
    }
    $('photo-file').value = '';
  }

  function recordPosition() {
    if (!navigator.geolocation) { $('f-gps').textContent = t('gps_failed', {reason: '-'}); return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      state.current.draft.gps = {lat: Number(position.coords.latitude.toFixed(6)),
                                 lon: Number(position.coords.longitude.toFixed(6)),
                                 accuracy_m: Math.round(position.coords.accuracy)};
      renderGps();
      save();
    }, function (error) {
      $('f-gps').textContent = t('gps_failed', {reason: error.message});
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
  }

  // ------------------------------------------------------------ finishing and sending

  function problems() {
    const found = [];
    const unmarked = state.unit.staff.filter(function (p) { return !mark(p.code).status; });
    if (unmarked.length) found.push(t('unmarked_left', {n: unmarked.length}));
    state.unit.staff.forEach(function (p) {
      const entry = mark(p.code);
      if (entry.status === 'absent_excused' && !(entry.reference || '').trim()) {
        found.push(t('reference_missing', {name: p.name}));
      }
    });
    return found;
  }

  function withDay(day, time) { return time ? day + 'T' + time.slice(0, 5) + ':00' : undefined; }

  /* The content the sync API takes, from the draft: people in the unit's order, photos announced. */
  function content(check, unit) {
    const draft = check.draft;
    const day = draft.started_at.slice(0, 10);
    const headcount = unit.staff.map(function (person) {
      const entry = draft.headcount[person.code] || {};
      const line = {staff: person.code, status: entry.status};
      if (entry.status === 'absent_excused') line.reference = (entry.reference || '').trim();
      if (entry.status === 'late' && entry.arrived_at) line.arrived_at = withDay(day, entry.arrived_at);
      if (entry.status === 'left_early' && entry.left_at) line.left_at = withDay(day, entry.left_at);
      if (entry.status !== 'present' && (entry.note || '').trim()) line.note = entry.note.trim();
      return line;
    });
    const findings = [];
    unit.template.items.forEach(function (item) {
      if (item.scope === 'unit') {
        const entry = draft.findings[item.code] || {};
        if (entry.result) {
          const line = {item: item.code, result: entry.result};
          if ((entry.note || '').trim()) line.note = entry.note.trim();
          findings.push(line);
        }
      } else {
        unit.staff.forEach(function (person) {
          const entry = draft.findings[item.code + '|' + person.code] || {};
          if (entry.result) findings.push({item: item.code, staff: person.code, result: entry.result});
        });
      }
    });
    const body = {
      unit: check.unit, started_at: draft.started_at, ended_at: draft.ended_at, headcount_at: draft.headcount_at,
      team: draft.team, lead: draft.lead, legal_basis: draft.legal_basis || undefined, gps: draft.gps || undefined,
      template: draft.template, headcount: headcount, findings: findings, actions: [],
      attachments: check.photos.map(function (photo) {
        const entry = {name: photo.name, sha256: photo.sha256, size: photo.size, content_type: photo.type};
        if (photo.item) entry.item = photo.item;
        return entry;
      }),
    };
    return JSON.parse(JSON.stringify(body));  // drops the undefined fields
  }

  function renderSend() {
    if (!state.current) return;
    const check = state.current;
    const summary = $('send-summary');
    const done = state.unit.staff.filter(function (p) { return mark(p.code).status; }).length;
    const findings = Object.values(check.draft.findings).filter(function (f) { return f.result; }).length;
    const rows = [[t('summary_started'), vnDateTime(check.draft.started_at)],
                  [t('summary_headcount'), t('marked', {done: done, total: state.unit.staff.length})],
                  [t('summary_findings'), String(findings)],
                  [t('summary_photos'), String(check.photos.length)]];
    summary.replaceChildren.apply(summary, rows.flatMap(function (row) {
      return [el('dt', {text: row[0]}), el('dd', {text: row[1]})];
    }));
    const found = readOnly() ? [] : problems();
    const list = $('send-problems');
    list.replaceChildren.apply(list, found.map(function (text) { return el('li', {className: 'problem', text: text}); }));
    $('finish').hidden = readOnly();
    $('finish').disabled = found.length > 0;
    const refused = check.sync && check.sync.state === 'error';
    $('edit-again').hidden = !refused;
    $('delete-check').hidden = Boolean(check.sync && check.sync.state === 'server');
    $('send-state').textContent = statusText(check);
    $('send-state').className = 'message ' + statusClass(check);
  }

  async function finish() {
    if (problems().length) { renderSend(); return; }
    const check = state.current;
    check.draft.ended_at = localIso(new Date());
    await save();
    const body = content(check, state.unit);
    await Core.update(check.uuid, function (c) {
      c.finished = true;
      c.queued = true;
      c.content = body;
      c.sync = {state: 'queued'};
    });
    state.current = await Core.get('checks', check.uuid);
    renderEditorHead();
    message('send-state', t('queued_ok'), 'ok');
    await requestSending();
  }

  async function editAgain() {
    await Core.update(state.current.uuid, function (c) { c.finished = false; c.queued = false; });
    state.current = await Core.get('checks', state.current.uuid);
    renderEditor();
  }

  async function deleteCheck() {
    if (!window.confirm(t('confirm_delete'))) return;
    const check = state.current;
    for (const photo of check.photos) await Core.remove('photos', check.uuid + '/' + photo.name);
    await Core.remove('checks', check.uuid);
    await closeCheck();
  }

  let sending = false;

  async function sendNow() {
    if (sending || !navigator.onLine) return;
    sending = true;
    try {
      await Core.sendAll();
    } finally {
      sending = false;
    }
    await showKey();
    await refreshChecks();
  }

  async function requestSending() {
    // Background Sync sends even after the tab is closed; the page sends itself when it can.
    try {
      // getRegistration, not .ready: without a service worker (blocked, unsupported) .ready never settles.
      const registration = navigator.serviceWorker &&
        await navigator.serviceWorker.getRegistration(config.worker_scope);
      if (registration && registration.active && registration.sync) await registration.sync.register('spot-checks');
    } catch (error) {
      // No service worker or no Background Sync: the online event and the timer do it.
    }
    await refreshChecks();
    await sendNow();
  }

  // ------------------------------------------------------------ start

  function wire() {
    document.querySelectorAll('.main-tabs .tab').forEach(function (tab) {
      tab.addEventListener('click', function () {
        if (tab.dataset.view === 'checks' && state.current) { closeCheck(); return; }
        showView(tab.dataset.view);
      });
    });
    document.querySelectorAll('.editor-tabs .tab').forEach(function (tab) {
      tab.addEventListener('click', function () { showPane(tab.dataset.pane); });
    });
    $('reconnect').addEventListener('click', ensureKey);
    $('load-unit').addEventListener('click', loadUnit);
    $('start-check').addEventListener('click', startCheck);
    $('send-now').addEventListener('click', sendNow);
    $('editor-close').addEventListener('click', closeCheck);
    $('headcount-list').addEventListener('click', onHeadcountClick);
    $('headcount-list').addEventListener('change', onHeadcountInput);
    $('headcount-list').addEventListener('input', function (event) {
      if (event.target.dataset.field) onHeadcountInput(event);
    });
    $('pane-checklist').addEventListener('click', onChecklistClick);
    $('pane-checklist').addEventListener('input', onChecklistInput);
    $('f-team').addEventListener('input', function () {
      state.current.draft.team = $('f-team').value.split(',').map(function (s) { return s.trim(); })
        .filter(Boolean);
      save();
    });
    $('f-lead').addEventListener('input', function () { state.current.draft.lead = $('f-lead').value.trim(); save(); });
    $('f-legal').addEventListener('input', function () { state.current.draft.legal_basis = $('f-legal').value; save(); });
    $('f-headcount-time').addEventListener('change', function () {
      const time = $('f-headcount-time').value;
      if (time) state.current.draft.headcount_at = withDay(state.current.draft.started_at.slice(0, 10), time);
      save();
    });
    $('gps').addEventListener('click', recordPosition);
    $('camera-open').addEventListener('click', openCamera);
    $('camera-shoot').addEventListener('click', shoot);
    $('photo-file').addEventListener('change', photoFromFile);
    $('finish').addEventListener('click', finish);
    $('edit-again').addEventListener('click', editAgain);
    $('delete-check').addEventListener('click', deleteCheck);
    window.addEventListener('online', function () { showNetwork(); ensureKey().then(sendNow); });
    window.addEventListener('offline', showNetwork);
    if (typeof BroadcastChannel !== 'undefined') {
      new BroadcastChannel(Core.CHANNEL).addEventListener('message', function () { refreshChecks(); });
    }
    window.setInterval(function () { sendNow(); }, RETRY_MS);
  }

  async function start() {
    wire();
    showNetwork();
    await Core.setSetting('api', config.api);
    await Core.setSetting('language', config.language);
    if (!(await Core.setting('tabletId'))) await Core.setSetting('tabletId', crypto.randomUUID());
    if (navigator.serviceWorker) {
      navigator.serviceWorker.register(config.worker_url, {scope: config.worker_scope}).catch(function () {
        return null;  // without it the page still works while it stays open
      });
    }
    $('unit-date').value = today();
    await ensureKey();
    state.units = (await Core.setting('units')) || [];
    renderUnitSelect();
    await refreshLoaded();
    await refreshChecks();
    const open = await Core.setting('openCheck');
    if (open && state.checks.some(function (c) { return c.uuid === open; })) await openCheck(open);
    else showView(state.checks.length ? 'checks' : 'prepare');
    document.body.dataset.ready = 'true';  // for tests and the curious: the stored data is shown
    if (navigator.onLine) {
      await refreshUnits();
      await sendNow();
    }
  }

  start();
})();
