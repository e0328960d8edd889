/* The tablet's storage (IndexedDB) and its send queue, shared by the page and its service worker.
 *
 * Stores: settings (key -> value: token, tokenUser, tabletId, api, language, units, needSignIn),
 * units (a unit loaded for a day: staff, template), staffPhotos and photos (bytes, out-of-line
 * keys), checks (one spot check: draft, photos, content once finished, queued flag, sync state).
 * Sending relies on the server's idempotent answers: a replay of the same content, attachment
 * or submit changes nothing, so a retry after a lost answer is harmless.
 */
(function (scope) {
  'use strict';

  const DB_NAME = 'attendance-tablet';
  const DB_VERSION = 1;
  const CHANNEL = 'attendance-tablet';
  // Answers worth retrying later; every other refusal is shown to the inspector instead.
  const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

  let opening = null;

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          const db = request.result;
          if (!db.objectStoreNames.contains('settings')) db.createObjectStore('settings');
          if (!db.objectStoreNames.contains('units')) db.createObjectStore('units', {keyPath: 'key'});
          if (!db.objectStoreNames.contains('checks')) db.createObjectStore('checks', {keyPath: 'uuid'});
          if (!db.objectStoreNames.contains('photos')) db.createObjectStore('photos');
          if (!db.objectStoreNames.contains('staffPhotos')) db.createObjectStore('staffPhotos');
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { opening = null; reject(request.error); };
      });
    }
    return opening;
  }

  function finished(transaction, result) {
    return new Promise(function (resolve, reject) {
      transaction.oncomplete = function () { resolve(result ? result.result : undefined); };
      transaction.onerror = function () { reject(transaction.error); };
      transaction.onabort = function () { reject(transaction.error || new Error('IndexedDB transaction aborted')); };
    });
  }

  async function get(store, key) {
    const db = await open();
    const transaction = db.transaction(store);
    return finished(transaction, transaction.objectStore(store).get(key));
  }

  async function all(store) {
    const db = await open();
    const transaction = db.transaction(store);
    return finished(transaction, transaction.objectStore(store).getAll());
  }

  async function put(store, value, key) {
    const db = await open();
    const transaction = db.transaction(store, 'readwrite');
    transaction.objectStore(store).put(value, key);
    return finished(transaction);
  }

  async function remove(store, key) {
    const db = await open();
    const transaction = db.transaction(store, 'readwrite');
    transaction.objectStore(store).delete(key);
    return finished(transaction);
  }

  /* Read, change and write one spot check in a single transaction, so that the page's edits
   * and the sender's state updates never overwrite each other. */
  async function update(uuid, change) {
    const db = await open();
    const transaction = db.transaction('checks', 'readwrite');
    const store = transaction.objectStore('checks');
    const reading = store.get(uuid);
    let changed;
    reading.onsuccess = function () {
      if (!reading.result) return;
      changed = reading.result;
      change(changed);
      store.put(changed);
    };
    await finished(transaction);
    return changed;
  }

  function setting(key) { return get('settings', key); }
  function setSetting(key, value) { return put('settings', value, key); }

  function announce() {
    // Tells the page (or every open page) that a spot check's state changed.
    if (typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(CHANNEL);
      channel.postMessage({type: 'changed'});
      channel.close();
    }
  }

  function Failure(kind, message, status) {
    this.kind = kind;  // 'retry' (network, busy server), 'signin' (401) or 'refused' (409, 422, ...)
    this.message = message;
    this.status = status || 0;
  }

  async function call(method, path, body, contentType) {
    const base = await setting('api');
    const token = await setting('token');
    const headers = {
      'Authorization': 'Bearer ' + token,
      'X-Tablet-Id': (await setting('tabletId')) || '',
      'Accept-Language': (await setting('language')) || 'vi',
    };
    if (contentType) headers['Content-Type'] = contentType;
    let response;
    try {
      response = await fetch(base + path, {method: method, headers: headers, body: body, cache: 'no-store',
                                           credentials: 'omit', redirect: 'error'});
    } catch (error) {
      throw new Failure('retry', String(error && error.message || error));
    }
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (response.ok) return {status: response.status, data: data};
    const message = (data && data.error && data.error.message) || (response.status + ' ' + response.statusText);
    if (response.status === 401) throw new Failure('signin', message, 401);
    if (RETRY_STATUSES.has(response.status)) throw new Failure('retry', message, response.status);
    throw new Failure('refused', message, response.status);
  }

  /* PUT the content, upload each attachment the server still misses, submit, read back. */
  async function sendOne(check) {
    const path = '/spot-checks/' + encodeURIComponent(check.uuid);
    let record = (await call('PUT', path, JSON.stringify(check.content), 'application/json')).data;
    for (const name of (record && record.missing_attachments) || []) {
      const photo = await get('photos', check.uuid + '/' + name);
      if (!photo) throw new Failure('refused', name + ': not on this tablet any more');
      await call('PUT', path + '/attachments/' + encodeURIComponent(name), new Blob([photo.data], {type: photo.type}),
                 photo.type);
    }
    if (!record || record.state === 'draft') await call('POST', path + '/submit', '{}', 'application/json');
    record = (await call('GET', path)).data;
    return record;
  }

  function now() { return new Date().toISOString(); }

  async function sendQueue() {
    const token = await setting('token');
    if (!token || (await setting('needSignIn'))) return {sent: 0};
    const queued = (await all('checks')).filter(function (check) { return check.queued; });
    let sent = 0;
    for (const check of queued) {
      await update(check.uuid, function (c) { c.sync = {state: 'sending', at: now()}; });
      announce();
      try {
        const record = await sendOne(check);
        const missing = (record.missing_attachments || []).length;
        await update(check.uuid, function (c) {
          c.queued = missing > 0;  // photos still missing: try again later
          c.sync = {state: missing ? 'missing' : 'server', server: record.state, version: record.version,
                    missing: missing, at: now()};
        });
        sent += 1;
      } catch (failure) {
        if (!(failure instanceof Failure)) failure = new Failure('retry', String(failure && failure.message || failure));
        if (failure.kind === 'signin') {
          await setSetting('needSignIn', true);
          await update(check.uuid, function (c) { c.sync = {state: 'signin', message: failure.message, at: now()}; });
          announce();
          break;  // every other check would get the same answer: keep them queued
        }
        if (failure.kind === 'refused') {
          // A conflict or an invalid record is not retried forever: the inspector must look at it.
          await update(check.uuid, function (c) {
            c.queued = false;
            c.sync = {state: 'error', status: failure.status, message: failure.message, at: now()};
          });
        } else {
          await update(check.uuid, function (c) { c.sync = {state: 'queued', message: failure.message, at: now()}; });
          announce();
          break;  // no network or a busy server: the next attempt comes with the next trigger
        }
      }
      announce();
    }
    return {sent: sent};
  }

  /* Send every queued spot check; one sender at a time across the page and the service worker. */
  function sendAll() {
    if (scope.navigator && scope.navigator.locks) {
      return scope.navigator.locks.request('attendance-tablet-send', sendQueue);
    }
    return sendQueue();
  }

  scope.TabletCore = {
    CHANNEL: CHANNEL, open: open, get: get, all: all, put: put, remove: remove, update: update,
    setting: setting, setSetting: setSetting, call: call, sendAll: sendAll, announce: announce, Failure: Failure,
  };
})(self);
