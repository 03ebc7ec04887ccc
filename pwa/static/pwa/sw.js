/* Pengampu app service worker (served at /app/sw.js, scope /app/; the version is filled in by the server).
   - the shell (/app/, manifest, icons) comes from the cache at once and is refreshed in the background;
   - the last-seen status (worker status, sponsor overview, inbox) is fetched from the network first and kept,
     so the app opens offline on a weak connection and says how old what it shows is;
   - push messages are shown as notifications; tapping one opens the inbox;
   - the device token (an FCM registration token from the Firebase SDK in the page when FIREBASE_WEB_CONFIG is set,
     else the push subscription's) is registered with the API from here, platform "web". */
var VERSION = '__VERSION__';
var SHELL = 'pa-shell-' + VERSION;
var API_CACHE = 'pa-api';
var SHELL_URLS = ['/app/', '/app/manifest.webmanifest', '/app/icons/icon-192.png', '/app/icons/icon-512.png'];
var LAST_SEEN = ['/api/v1/worker/status/', '/api/v1/sponsor/overview/', '/api/v1/notifications/', '/api/v1/me/',
  '/api/v1/sponsor/profile/'];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(SHELL_URLS.map(function (u) { return new Request(u, { credentials: 'same-origin', cache: 'reload' }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf('pa-shell-') === 0 && k !== SHELL; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === '/app/' && url.searchParams.has('lang') && request.mode !== 'navigate') return;  // switch: server
  if (request.mode === 'navigate' && url.pathname === '/app/') {
    event.respondWith(shell(event, url));
  } else if (SHELL_URLS.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(url.pathname).then(function (hit) { return hit || fetch(request); }));
  } else if (LAST_SEEN.indexOf(url.pathname) >= 0) {
    event.respondWith(lastSeen(event, request));
  }
});

function shell(event, url) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match('/app/').then(function (hit) {
      // A language switch (?lang=) must come from the server; everything else is served from the cache first.
      var fresh = fetch(url.searchParams.has('lang') ? url.pathname + url.search : '/app/', { credentials: 'same-origin' })
        .then(function (response) {
          if (response.ok) cache.put('/app/', response.clone());
          return response;
        });
      if (hit && !url.searchParams.has('lang')) {
        event.waitUntil(fresh.catch(function () {}));
        return hit;
      }
      return fresh.catch(function () { return hit || Response.error(); });
    });
  });
}

function saveLastSeen(request, response) {
  return response.clone().blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set('X-Pengampu-Saved', new Date().toISOString());
    return caches.open(API_CACHE).then(function (cache) {
      return cache.put(request.url, new Response(body, { status: 200, headers: headers }));
    });
  });
}

function lastSeen(event, request) {
  // The app asks for fresh data (cache: 'no-cache') right after it changed something: network first then.
  // Otherwise what was last seen is shown at once and refreshed in the background; the app is told (message
  // 'fresh', sent once the new copy is saved) only when the answer changed, so a weak connection never keeps
  // a person waiting for their status.
  var network = fetch(request);
  var saved = network.then(function (response) { return response.ok ? saveLastSeen(request, response) : null; });
  event.waitUntil(saved.catch(function () {}));
  return caches.open(API_CACHE).then(function (cache) { return cache.match(request.url); }).then(function (hit) {
    if (!hit) return network.catch(function () { return Response.error(); });
    if (request.cache === 'no-cache' || request.cache === 'reload') {
      return network.catch(function () { return hit; });
    }
    var before = hit.clone().text();
    event.waitUntil(Promise.all([before, network.then(function (r) { return r.clone().text(); }), saved])
      .then(function (texts) {
        if (texts[0] === texts[1]) return;
        var path = new URL(request.url).pathname;
        return self.clients.matchAll({ type: 'window' }).then(function (list) {
          list.forEach(function (c) { c.postMessage({ type: 'fresh', path: path }); });
        });
      }).catch(function () {}));
    return hit;
  });
}

self.addEventListener('message', function (event) {
  var msg = event.data || {};
  var reply = function (value) { if (event.ports && event.ports[0]) event.ports[0].postMessage(value); };
  if (msg.type === 'register-device') {
    event.waitUntil(registerDevice(msg).then(reply));
  } else if (msg.type === 'sign-out') {
    event.waitUntil(caches.delete(API_CACHE).then(function () { reply({ ok: true }); }));
  }
});

function registerDevice(msg) {
  return fetch('/api/v1/devices/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept-Language': msg.lang || 'id', Authorization: 'Bearer ' + msg.access },
    body: JSON.stringify({ token: msg.token, kind: 'token', platform: 'web', app_version: 'web-' + VERSION.slice(0, 12),
      language: msg.lang === 'en' ? 'en' : 'id' })
  }).then(function (response) {
    return { ok: response.ok, status: response.status };
  }, function () { return { ok: false, status: 0 }; });
}

self.addEventListener('push', function (event) {
  // FCM's Web Push payload: {notification: {title, body, icon, tag, data}, data, fcmOptions: {link}, from, ...}
  // (the server's WebpushConfig). This handler shows it itself, so the Firebase SDK is never needed in here.
  var payload = {};
  try { payload = event.data ? event.data.json() : {}; } catch (e) { payload = { notification: { body: event.data.text() } }; }
  var n = payload.notification || payload;
  var data = n.data || payload.data || {};
  var link = (payload.fcmOptions && payload.fcmOptions.link) || n.click_action || data.url || '/app/';
  event.waitUntil(self.registration.showNotification(n.title || 'Pengampu', {
    body: n.body || '', icon: n.icon || '/app/icons/icon-192.png', badge: '/app/icons/icon-192.png', tag: n.tag || undefined,
    data: { url: link }
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  // Only a page of this app opens (a link elsewhere is ignored); no screen named: the inbox.
  var target = new URL((event.notification.data && event.notification.data.url) || '/app/', self.location.origin);
  if (target.origin !== self.location.origin || target.pathname.indexOf('/app/') !== 0) target = new URL('/app/', self.location.origin);
  if (!target.hash || target.hash === '#') target.hash = '#/inbox';
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url.indexOf(self.location.origin + '/app/') === 0) {
        return list[i].navigate(target.href).then(function (c) { return c && c.focus(); });
      }
    }
    return self.clients.openWindow(target.href);
  }));
});
