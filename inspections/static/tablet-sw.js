/* The tablet page's service worker (served as /inspections/sw.js, scope /inspections/).
 *
 * It keeps the page and its assets so that the page opens without a network, and sends the
 * queued spot checks when Background Sync says the network is back. API answers are never
 * cached: people's records live in IndexedDB, where the page put them on purpose.
 */
/* global TabletCore */
'use strict';

importScripts('tablet/assets/tablet-core.js');

const CACHE = 'attendance-tablet-v1';
const PAGE = new URL('tablet', self.registration.scope).pathname;
const ASSETS = ['tablet/assets/tablet-core.js', 'tablet/assets/tablet.js', 'tablet/assets/tablet.css']
  .map(function (path) { return new URL(path, self.registration.scope).pathname; })
  .concat(['/static/app.css', '/static/favicon.svg']);
// Past this the cached page is shown: a poor connection must not keep the inspector waiting.
const NETWORK_TIMEOUT_MS = 6000;

async function keep(cache, url) {
  try {
    const response = await fetch(url, {credentials: 'same-origin', cache: 'no-store'});
    // A redirect (to the sign-in page) is not the page: keep what was cached before.
    if (response.ok && !response.redirected) await cache.put(url, response);
  } catch (error) {
    // Offline while installing: the next visit fills the cache.
  }
}

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all([PAGE].concat(ASSETS).map(function (url) { return keep(cache, url); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name.startsWith('attendance-tablet-') && name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    const timer = setTimeout(function () { reject(new Error('timeout')); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
                 function (error) { clearTimeout(timer); reject(error); });
  });
}

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok && !response.redirected) await cache.put(PAGE, response.clone());
    return response;  // the sign-in page when the session ended: the inspector signs in again
  } catch (error) {
    const cached = await cache.match(PAGE);
    if (cached) return cached;
    throw error;
  }
}

async function asset(request, path) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path);
  const fresh = fetch(request).then(async function (response) {
    if (response.ok && !response.redirected) await cache.put(path, response.clone());
    return response;
  });
  if (cached) {
    fresh.catch(function () { return null; });  // offline: the cached copy is the answer
    return cached;
  }
  return fresh;
}

self.addEventListener('fetch', function (event) {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE && request.mode === 'navigate') {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(asset(request, url.pathname));
  }
});

self.addEventListener('sync', function (event) {
  if (event.tag === 'spot-checks') event.waitUntil(TabletCore.sendAll());
});

self.addEventListener('message', function (event) {
  if (event.data && event.data.type === 'send') event.waitUntil(TabletCore.sendAll());
});
