/* Pengampu app: a small client of /api/v1/ (vanilla JS, no framework, no build step).
   Screens are drawn from API data with DOM calls (never innerHTML with data). Tokens live in localStorage and are
   refreshed quietly; the service worker (sw.js) keeps the shell and the last-seen status for offline use. */
(function () {
  'use strict';
  var T = JSON.parse(document.getElementById('t').textContent);
  var C = JSON.parse(document.getElementById('cfg').textContent);
  var main = document.getElementById('main');
  var tabs = document.getElementById('tabs');
  var LS = window.localStorage;
  var LOCALE = C.lang === 'en' ? 'en-GB' : 'id-ID';
  var seq = 0;

  // -- texts, formats -------------------------------------------------------------------------------------------
  function t(key, vars) {
    var s = T[key] || key;
    if (vars) Object.keys(vars).forEach(function (n) { s = s.split('%(' + n + ')s').join(String(vars[n])); });
    return s;
  }
  function rupiah(n) { return 'Rp ' + new Intl.NumberFormat(LOCALE === 'id-ID' ? 'id-ID' : 'en-US').format(n || 0); }
  function fmtDate(iso) {
    if (!iso) return '';
    var d = new Date(iso.length === 10 ? iso + 'T12:00:00+07:00' : iso);
    return new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Asia/Jakarta' }).format(d);
  }
  function fmtDateTime(iso) {
    return new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Jakarta' }).format(new Date(iso));
  }
  function todayWib() { return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Jakarta' }).format(new Date()); }
  function daysLeft(until) {
    if (!until) return 0;
    var a = Date.parse(until + 'T00:00:00Z'), b = Date.parse(todayWib() + 'T00:00:00Z');
    return Math.max(0, Math.round((a - b) / 86400000));
  }
  function firstName(name) { return String(name || '').split(' ')[0]; }

  // -- DOM --------------------------------------------------------------------------------------------------------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function card(cls) { return h.apply(null, ['section', { class: 'card ' + (cls || '') }].concat([].slice.call(arguments, 1))); }
  function button(label, onclick, attrs) { return h('button', Object.assign({ type: 'button', onclick: onclick }, attrs || {}), label); }
  function note(text, cls) { return h('p', { class: 'note ' + (cls || ''), role: 'status' }, text); }
  function field(label, input, hint) { return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', {}, hint) : null); }
  function flash(text, cls) {
    var box = document.getElementById('flash');
    box.replaceChildren(h('p', { class: 'flash ' + (cls || '') , role: 'alert' }, text));
    box.hidden = false;
    setTimeout(function () { box.hidden = true; }, 6000);
  }
  function busy(btn, promise) {
    btn.disabled = true;
    return Promise.resolve(promise).finally(function () { btn.disabled = false; });
  }

  // -- API with quiet JWT refresh --------------------------------------------------------------------------------
  function ApiError(message, status, body) { this.message = message; this.status = status; this.body = body; }
  function jwtExp(token) {
    try { return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp || 0; } catch (e) { return 0; }
  }
  var lastWrite = 0;  // after a change, reads skip the service worker's last-seen copy for a while
  var readPaths = {};  // API paths the current screen read: a 'fresh' message from the worker redraws it once
  var refreshing = null;
  function refreshTokens() {
    // true: refreshed; false: the refresh token is no longer valid (sign in again); 'offline': try later.
    if (!refreshing) {
      refreshing = (async function () {
        var r = LS.getItem('pa.refresh');
        if (!r) return false;
        var res;
        try {
          res = await fetch(C.api + 'auth/token/refresh/', {
            method: 'POST', headers: { 'Content-Type': 'application/json', 'Accept-Language': C.lang },
            body: JSON.stringify({ refresh: r })
          });
        } catch (e) { return 'offline'; }
        if (!res.ok) return res.status === 401 || res.status === 400 ? false : 'offline';
        var b = await res.json();
        LS.setItem('pa.access', b.access);
        if (b.refresh) LS.setItem('pa.refresh', b.refresh);
        return true;
      })().finally(function () { refreshing = null; });
    }
    return refreshing;
  }
  async function api(path, opts) {
    opts = opts || {};
    var access = LS.getItem('pa.access');
    if (access && !opts.anon && navigator.onLine && jwtExp(access) - Date.now() / 1000 < 30) {
      await refreshTokens();
      access = LS.getItem('pa.access');
    }
    var headers = { Accept: opts.html ? 'text/html' : 'application/json', 'Accept-Language': C.lang };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (access && !opts.anon) headers.Authorization = 'Bearer ' + access;
    var method = opts.method || 'GET';
    var url = path.charAt(0) === '/' ? path : C.api + path;
    // Noted before the request: the worker's 'fresh' message may arrive before this read resolves.
    if (method === 'GET') readPaths[new URL(url, location.href).pathname] = true;
    var res;
    try {
      res = await fetch(url, {
        method: method, headers: headers, cache: method === 'GET' && (opts.fresh || Date.now() - lastWrite < 60000) ? 'no-cache' : 'default',
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body)
      });
    } catch (e) { throw new ApiError(t('offline_error'), 0); }
    if (method !== 'GET' && res.ok) lastWrite = Date.now();
    if (res.status === 401 && !opts.anon && !opts.retried) {
      var ok = await refreshTokens();
      if (ok === true) return api(path, Object.assign({}, opts, { retried: true }));
      if (ok === false) { signOut(t('session_expired')); throw new ApiError(t('session_expired'), 401); }
    }
    var text = await res.text();
    if (opts.html) { if (!res.ok) throw new ApiError(t('error_generic'), res.status); return text; }
    var body = null;
    if (text) { try { body = JSON.parse(text); } catch (e) { body = null; } }
    if (!res.ok) throw new ApiError((body && (body.message || body.detail)) || t('error_generic'), res.status, body);
    var saved = res.headers.get('X-Pengampu-Saved');
    if (saved && body && typeof body === 'object') body._savedAt = saved;
    return body;
  }
  function results(body) { return Array.isArray(body) ? body : (body && body.results) || []; }

  // -- session ----------------------------------------------------------------------------------------------------
  function role() { return LS.getItem('pa.role'); }
  async function signedIn(tokens) {
    LS.setItem('pa.access', tokens.access);
    LS.setItem('pa.refresh', tokens.refresh);
    var me = await api('me/');
    if (me.role !== 'sponsor' && me.role !== 'worker') {
      clearSession();
      throw new ApiError(t('not_for_admins'), 403);
    }
    LS.setItem('pa.role', me.role);
    LS.setItem('pa.me', JSON.stringify(me));
    registerPushQuietly();
    if (me.role === 'sponsor') {
      var profile = await api('sponsor/profile/');
      go(profile.contact_consent ? 'home' : 'onboarding');
    } else {
      go('status');
    }
  }
  function clearSession() {
    ['pa.access', 'pa.refresh', 'pa.role', 'pa.me', 'pa.push_token'].forEach(function (k) { LS.removeItem(k); });
    if (window.caches) caches.delete('pa-api');
  }
  function signOut(message) {
    clearSession();
    if (message) LS.setItem('pa.flash', message);
    go('signin');
  }

  // -- router -----------------------------------------------------------------------------------------------------
  var SPONSOR_TABS = [['home', 'tab_home'], ['nearby', 'tab_nearby'], ['pay', 'tab_pay'], ['inbox', 'tab_inbox'], ['account', 'tab_account']];
  var WORKER_TABS = [['status', 'tab_status'], ['help', 'tab_help'], ['inbox', 'tab_inbox'], ['mydata', 'tab_mydata']];
  var SPONSOR_ONLY = ['home', 'nearby', 'nominate', 'pay', 'receipts', 'account', 'onboarding', 'paid'];
  var WORKER_ONLY = ['status', 'help', 'mydata'];

  function go(name) {
    if (location.hash === '#/' + name) render(); else location.hash = '#/' + name;
  }
  function currentRoute() {
    var name = location.hash.replace(/^#\/?/, '').split('?')[0];
    var r = role();
    if (!r) return 'signin';
    if (new URLSearchParams(location.search).has('paid') && r === 'sponsor') return 'paid';
    var allowed = r === 'sponsor' ? SPONSOR_ONLY.concat(['inbox']) : WORKER_ONLY.concat(['inbox']);
    if (allowed.indexOf(name) < 0) return r === 'sponsor' ? 'home' : 'status';
    return name;
  }
  function drawTabs(name) {
    var r = role();
    var list = r === 'sponsor' ? SPONSOR_TABS : r === 'worker' ? WORKER_TABS : [];
    tabs.hidden = !list.length;
    tabs.replaceChildren.apply(tabs, list.map(function (tab) {
      return h('a', { href: '#/' + tab[0], class: tab[0] === name ? 'on' : '', 'aria-current': tab[0] === name ? 'page' : null,
        'data-testid': 'tab-' + tab[0] }, t(tab[1]));
    }));
  }
  var redrawn = false;
  async function render(isRedraw) {
    var my = ++seq;
    if (isRedraw !== true) { readPaths = {}; redrawn = false; }
    var name = currentRoute();
    drawTabs(name);
    document.body.setAttribute('data-screen', name);
    main.setAttribute('aria-busy', 'true');
    var nodes;
    try {
      nodes = await SCREENS[name]();
    } catch (e) {
      if (!(e instanceof ApiError)) { console.error(e); e = new ApiError(t('error_generic'), 0); }
      nodes = [note(e.message, 'bad'), button(t('retry'), render, { class: 'secondary' })];
    }
    if (my !== seq) return;
    var frag = document.createDocumentFragment();
    add(frag, nodes);  // screens return nested arrays with nulls for what they leave out
    main.replaceChildren(frag);
    main.setAttribute('aria-busy', 'false');
    document.documentElement.setAttribute('data-ready', name);
    var flashed = LS.getItem('pa.flash');
    if (flashed) { LS.removeItem('pa.flash'); flash(flashed); }
  }

  function savedBanner(body) {
    if (!body || !body._savedAt) return null;
    if (!navigator.onLine) return note(t('offline_saved', { time: fmtDateTime(body._savedAt) }), 'warn saved');
    return h('p', { class: 'muted saved' }, t('updated_at', { time: fmtDateTime(body._savedAt) }));
  }
  var STATE_CLASS = { protected: 'ok', grace: 'warn', lapsed: 'bad', not_enrolled: 'idle' };

  // -- screens: sign-in -------------------------------------------------------------------------------------------
  var SCREENS = {};
  SCREENS.signin = function () {
    var mode = LS.getItem('pa.signinMode') || 'asn';
    var switcher = h('div', { class: 'seg', role: 'tablist' },
      h('button', { type: 'button', role: 'tab', 'aria-selected': String(mode === 'asn'), class: mode === 'asn' ? 'on' : '',
        'data-testid': 'mode-asn', onclick: function () { LS.setItem('pa.signinMode', 'asn'); render(); } }, t('i_am_asn')),
      h('button', { type: 'button', role: 'tab', 'aria-selected': String(mode === 'worker'), class: mode === 'worker' ? 'on' : '',
        'data-testid': 'mode-worker', onclick: function () { LS.setItem('pa.signinMode', 'worker'); render(); } }, t('i_am_worker')));
    var out = h('div', { 'aria-live': 'polite' });
    var form = mode === 'asn' ? asnForm(out) : workerForm(out);
    return [h('h1', {}, t('welcome')), h('p', { class: 'lead' }, t('welcome_lead')), switcher, card('', form, out)];
  };
  function asnForm(out) {
    var user = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
    var pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    var submit = h('button', { type: 'submit', 'data-testid': 'signin' }, t('sign_in'));
    return h('form', {
      onsubmit: function (ev) {
        ev.preventDefault();
        out.replaceChildren();
        busy(submit, api('auth/token/', { method: 'POST', anon: true, body: { username: user.value.trim(), password: pass.value } })
          .then(signedIn).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
      }
    }, field(t('nip_or_username'), user), field(t('password'), pass), submit);
  }
  function workerForm(out) {
    var nik = h('input', { name: 'nik', inputmode: 'numeric', autocomplete: 'off', required: true, maxlength: '24' });
    var birth = h('input', { name: 'birth_date', type: 'date', required: true });
    var submit = h('button', { type: 'submit', 'data-testid': 'request-code' }, t('send_code'));
    var form = h('form', {
      onsubmit: function (ev) {
        ev.preventDefault();
        out.replaceChildren();
        busy(submit, api('worker/auth/', { method: 'POST', anon: true, body: { nik: nik.value.replace(/\D/g, ''), birth_date: birth.value } })
          .then(function (b) {
            if (b.access) return signedIn(b);
            form.replaceWith(codeForm(b, out));
          }).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
      }
    }, field(t('nik'), nik, t('nik_hint')), field(t('birth_date'), birth), submit);
    return form;
  }
  function codeForm(sent, out) {
    var code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: '6', class: 'code' });
    var submit = h('button', { type: 'submit', 'data-testid': 'verify-code' }, t('sign_in'));
    out.replaceChildren(note(sent.message || t('code_sent')));
    return h('form', {
      onsubmit: function (ev) {
        ev.preventDefault();
        busy(submit, api('worker/auth/', { method: 'POST', anon: true, body: { challenge: sent.challenge, code: code.value.trim() } })
          .then(signedIn).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
      }
    }, field(t('code'), code, t('code_hint')), submit);
  }

  // -- screens: sponsor -------------------------------------------------------------------------------------------
  SCREENS.onboarding = async function () {
    var profile = await api('sponsor/profile/');
    var capacity = profile.capacity === 3 ? 3 : 2;
    var choices = h('div', { class: 'seg big' });
    function drawChoices() {
      choices.replaceChildren.apply(choices, [2, 3].map(function (n) {
        return h('button', { type: 'button', class: n === capacity ? 'on' : '', 'aria-pressed': String(n === capacity),
          'data-testid': 'capacity-' + n, onclick: function () { capacity = n; drawChoices(); } },
          t('n_workers', { n: n }));
      }));
    }
    drawChoices();
    var consent = h('input', { type: 'checkbox', name: 'contact_consent', required: true });
    var showName = h('input', { type: 'checkbox', name: 'show_name_to_workers', checked: profile.show_name_to_workers });
    var out = h('div');
    var submit = h('button', { type: 'submit', 'data-testid': 'onboarding-save' }, t('pledge_save'));
    return [h('h1', {}, t('onboarding_title', { name: firstName(profile.full_name) })),
      card('', h('p', {}, t('onboarding_intro'))),
      h('form', {
        class: 'card',
        onsubmit: function (ev) {
          ev.preventDefault();
          busy(submit, api('sponsor/profile/', { method: 'PATCH', body: { capacity: capacity, contact_consent: consent.checked, show_name_to_workers: showName.checked } })
            .then(function () { go('home'); }).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
        }
      }, h('h2', {}, t('pledge_question')), choices,
        h('label', { class: 'check' }, consent, h('span', {}, t('contact_consent'))),
        h('label', { class: 'check' }, showName, h('span', {}, t('show_name_consent'))), out, submit)];
  };

  function workerRow(w) {
    var left = daysLeft(w.protected_until);
    var line = w.state === 'protected' ? t('protected_until_days', { date: fmtDate(w.protected_until), days: left })
      : w.state === 'grace' ? t('unpaid_since', { date: fmtDate(w.protected_until) })
      : w.state === 'lapsed' ? t('state_lapsed') : t('state_not_enrolled');
    return h('li', { class: 'worker', 'data-testid': 'worker', 'data-state': w.state },
      h('div', { class: 'who' }, h('b', {}, w.name), h('small', {}, [w.occupation, w.village].filter(Boolean).join(' · '))),
      h('span', { class: 'chip ' + (STATE_CLASS[w.state] || 'idle') }, t('chip_' + w.state)),
      h('p', { class: 'line' }, line),
      w.arrears_months ? h('p', { class: 'line bad' }, t('arrears_months', { n: w.arrears_months })) : null);
  }
  function owedCard(owed) {
    if (!owed || !owed.total_idr) return card('ok', h('p', {}, t('nothing_owed')));
    return card(owed.overdue_idr ? 'bad' : '', h('p', { class: 'big' }, rupiah(owed.total_idr)),
      h('p', {}, owed.next_due_date ? t('due_on', { date: fmtDate(owed.next_due_date) }) : ''),
      owed.overdue_idr ? h('p', { class: 'bad' }, t('overdue_amount', { amount: rupiah(owed.overdue_idr) })) : null,
      button(t('pay_now'), function () { go('pay'); }, { 'data-testid': 'go-pay' }));
  }
  SCREENS.home = async function () {
    var ov = await api('sponsor/overview/');
    var s = ov.sponsor || {};
    var workers = ov.workers || [];
    var free = Math.max((s.capacity || 0) - workers.length, 0);
    return [savedBanner(ov), h('h1', {}, t('hello', { name: firstName(s.name) })),
      h('h2', {}, t('what_i_owe')), owedCard(ov.owed),
      h('h2', {}, t('my_workers', { n: workers.length, capacity: s.capacity || workers.length })),
      workers.length ? h('ul', { class: 'list', 'data-testid': 'workers' }, workers.map(workerRow)) : note(t('no_workers_yet')),
      free ? button(t('find_nearby', { n: free }), function () { go('nearby'); }, { class: 'secondary' }) : null];
  };

  function proposalCard(p) {
    var why = p.why || '';
    var accept = button(t('accept'), function () {
      busy(accept, api('sponsor/proposals/' + p.id + '/accept/', { method: 'POST' }).then(function () {
        flash(t('accepted', { name: p.first_name }), 'ok'); go('home');
      }).catch(function (e) { flash(e.message, 'bad'); }));
    }, { 'data-testid': 'accept' });
    var decline = button(t('decline'), function () {
      busy(decline, api('sponsor/proposals/' + p.id + '/decline/', { method: 'POST', body: { reason: '' } }).then(function () {
        flash(t('declined'), ''); render();
      }).catch(function (e) { flash(e.message, 'bad'); }));
    }, { class: 'secondary', 'data-testid': 'decline' });
    return h('li', { class: 'card proposal', 'data-testid': 'proposal' },
      h('p', { class: 'big' }, p.first_name),
      h('p', {}, [p.occupation, p.village].filter(Boolean).join(' · ')),
      h('p', { class: 'muted' }, [p.distance_m != null ? t('distance_km', { km: (p.distance_m / 1000).toLocaleString(LOCALE, { maximumFractionDigits: 1 }) }) : '',
        p.age_band ? t('age_band', { band: p.age_band }) : ''].filter(Boolean).join(' · ')),
      why ? h('p', { class: 'why' }, t('why_priority', { why: why })) : null,
      h('div', { class: 'actions' }, accept, decline));
  }
  SCREENS.nearby = async function () {
    var list = results(await api('sponsor/proposals/'));
    return [h('h1', {}, t('nearby_title')), h('p', { class: 'lead' }, t('nearby_lead')),
      list.length ? h('ul', { class: 'list' }, list.map(proposalCard)) : note(t('no_proposals')),
      card('', h('h2', {}, t('nominate_title')), h('p', {}, t('nominate_lead')),
        button(t('nominate_start'), function () { go('nominate'); }, { class: 'secondary', 'data-testid': 'go-nominate' }))];
  };

  SCREENS.nominate = async function () {
    var occupations = results(await api('occupations/'));
    var mine = results(await api('sponsor/nominations/').catch(function () { return []; }));
    var nik = h('input', { name: 'nik', inputmode: 'numeric', required: true, maxlength: '24' });
    var name = h('input', { name: 'full_name', required: true, maxlength: '150', autocomplete: 'off' });
    var phone = h('input', { name: 'phone', type: 'tel', inputmode: 'tel', maxlength: '24', autocomplete: 'off' });
    var occupation = h('select', { name: 'occupation', required: true }, h('option', { value: '' }, '—'),
      occupations.map(function (o) { return h('option', { value: o.code }, C.lang === 'en' && o.name_en ? o.name_en : o.name); }));
    var villages = h('datalist', { id: 'villages' });
    var village = h('input', { name: 'village', list: 'villages', required: true, autocomplete: 'off', placeholder: t('village_placeholder') });
    var timer = null;
    village.addEventListener('input', function () {
      clearTimeout(timer);
      var q = village.value.trim();
      if (q.length < 3 || /^\d/.test(q)) return;
      timer = setTimeout(function () {
        api('regions/?level=4&q=' + encodeURIComponent(q)).then(function (b) {
          villages.replaceChildren.apply(villages, results(b).slice(0, 20).map(function (r) {
            return h('option', { value: r.code }, r.name + (r.parent_name ? ', ' + r.parent_name : ''));
          }));
        }).catch(function () {});
      }, 300);
    });
    var relationship = h('select', { name: 'relationship', required: true },
      ['household_helper', 'neighbour', 'relative', 'acquaintance', 'other'].map(function (r) { return h('option', { value: r }, t('rel_' + r)); }));
    var channel = h('select', { name: 'consent_channel' },
      ['in_person', 'phone', 'paper'].map(function (c) { return h('option', { value: c }, t('consent_' + c)); }));
    var agreed = h('input', { type: 'checkbox', required: true, name: 'consent_given' });
    var out = h('div');
    var submit = h('button', { type: 'submit', 'data-testid': 'nominate-send' }, t('nominate_send'));
    var form = h('form', {
      class: 'card',
      onsubmit: function (ev) {
        ev.preventDefault();
        out.replaceChildren();
        var body = {
          nik: nik.value.replace(/\D/g, ''), full_name: name.value.trim(), phone: phone.value.trim(),
          occupation: occupation.value, village: village.value.trim(), relationship: relationship.value,
          consent_channel: channel.value, consent_text_version: C.consent_version,
          consent_collected_at: new Date().toISOString()
        };
        busy(submit, api('sponsor/nominations/', { method: 'POST', body: body }).then(function () {
          LS.setItem('pa.flash', t('nominated', { name: body.full_name }));
          render();
        }).catch(function (e) {
          var fields = e.body && e.body.extra && e.body.extra.fields;
          var detail = fields ? Object.keys(fields).map(function (k) { return k + ': ' + [].concat(fields[k]).join(' '); }).join('; ') : '';
          out.replaceChildren(note(e.message + (detail ? ' — ' + detail : ''), 'bad'));
        }));
      }
    }, field(t('nik'), nik), field(t('full_name'), name), field(t('phone_optional'), phone), field(t('occupation'), occupation),
      field(t('village'), village, t('village_hint')), villages, field(t('relationship'), relationship),
      h('h2', {}, t('consent_heading')), h('blockquote', { class: 'consent' }, t('consent_text')),
      h('p', { class: 'muted' }, t('consent_version', { version: C.consent_version })),
      field(t('consent_how'), channel), h('label', { class: 'check' }, agreed, h('span', {}, t('consent_given'))), out, submit);
    return [h('h1', {}, t('nominate_title')), h('p', { class: 'lead' }, t('nominate_lead')), form,
      mine.length ? h('h2', {}, t('my_nominations')) : null,
      mine.length ? h('ul', { class: 'list' }, mine.map(function (n) {
        return h('li', { class: 'card' }, h('b', {}, n.full_name), ' ', h('span', { class: 'chip idle' }, n.status));
      })) : null];
  };

  async function startPay(invoiceId, btn) {
    var r = await api('sponsor/invoices/' + invoiceId + '/pay/', { method: 'POST', body: { return_path: '/app/?paid=' + invoiceId } });
    LS.setItem('pa.paying', String(invoiceId));
    location.assign(r.redirect_url);
  }
  function payButton(invoiceId, label) {
    var b = button(label || t('pay'), function () {
      busy(b, startPay(invoiceId, b).catch(function (e) { flash(e.message, 'bad'); }));
    }, { 'data-testid': 'pay-' + invoiceId });
    return b;
  }
  SCREENS.pay = async function () {
    var ov = await api('sponsor/overview/');
    var owed = (ov.owed && ov.owed.invoices) || [];
    var arrears = (ov.workers || []).some(function (w) { return w.arrears_months > 0; });
    var months = h('select', { name: 'months', 'data-testid': 'prepay-months' },
      Array.from({ length: 12 }, function (_, i) { return h('option', { value: i + 1 }, t('n_months', { n: i + 1 })); }));
    var prepay = button(t('prepay_start'), function () {
      busy(prepay, api('sponsor/invoices/prepay/', { method: 'POST', body: { months: Number(months.value) } })
        .then(function (inv) { return startPay(inv.id); }).catch(function (e) { flash(e.message, 'bad'); }));
    }, { class: 'secondary', 'data-testid': 'prepay' });
    var arrearsBtn = arrears ? button(t('arrears_pay'), function () {
      busy(arrearsBtn, api('sponsor/invoices/arrears/', { method: 'POST' })
        .then(function (inv) { return startPay(inv.id); }).catch(function (e) { flash(e.message, 'bad'); }));
    }, { class: 'secondary', 'data-testid': 'arrears' }) : null;
    return [savedBanner(ov), h('h1', {}, t('pay_title')),
      owed.length ? h('ul', { class: 'list', 'data-testid': 'owed' }, owed.map(function (inv) {
        return h('li', { class: 'card ' + (inv.overdue ? 'bad' : '') },
          h('p', { class: 'big' }, rupiah(inv.amount_idr)),
          h('p', {}, inv.period_label + (inv.months > 1 ? ' · ' + t('n_months', { n: inv.months }) : '')),
          h('p', { class: inv.overdue ? 'bad' : 'muted' }, (inv.overdue ? t('overdue') + ' · ' : '') + t('due_on', { date: fmtDate(inv.due_date) })),
          payButton(inv.invoice_id));
      })) : card('ok', h('p', {}, t('nothing_owed'))),
      ov.owed && ov.owed.credit_idr ? note(t('credit', { amount: rupiah(ov.owed.credit_idr) })) : null,
      card('', h('h2', {}, t('prepay_title')), h('p', {}, t('prepay_lead')), field(t('months'), months), prepay),
      arrearsBtn ? card('warn', h('h2', {}, t('arrears_title')), h('p', {}, t('arrears_lead')), arrearsBtn) : null,
      button(t('receipts_title'), function () { go('receipts'); }, { class: 'secondary', 'data-testid': 'go-receipts' })];
  };

  SCREENS.paid = async function () {
    var params = new URLSearchParams(location.search);
    var invoiceId = Number(params.get('paid'));
    var status = params.get('transaction_status') || '';
    history.replaceState(null, '', '/app/#/home');
    lastWrite = Date.now();  // money just moved: read from the network, not the last-seen copy
    redrawn = true;  // and no background redraw may replace this screen
    var head = h('div', { 'aria-live': 'polite' }, note(t('checking_payment')));
    if (status && status !== 'settlement' && status !== 'capture' && status !== 'pending') {
      return [h('h1', {}, t('pay_title')), note(t('payment_not_done'), 'bad'), button(t('back_home'), function () { go('home'); })];
    }
    var ov = null;
    for (var i = 0; i < 40; i++) {
      ov = await api('sponsor/overview/', { fresh: true });
      var open = ((ov.owed && ov.owed.invoices) || []).some(function (inv) { return inv.invoice_id === invoiceId; });
      if (!open) break;
      ov = null;
      await new Promise(function (r) { setTimeout(r, 1500); });
    }
    LS.removeItem('pa.paying');
    // Read once more: the overview's statements are not one snapshot, so the answer that no longer lists the
    // invoice may still show the workers as they were a moment before the payment settled.
    if (ov) ov = await api('sponsor/overview/', { fresh: true });
    if (!ov) {
      head.replaceChildren(note(status === 'pending' ? t('payment_pending') : t('payment_waiting'), 'warn'));
      return [h('h1', {}, t('pay_title')), head, button(t('back_home'), function () { go('home'); })];
    }
    return [h('h1', {}, t('payment_received')), card('ok', h('p', { 'data-testid': 'paid-ok' }, t('payment_thanks'))),
      h('h2', {}, t('my_workers', { n: (ov.workers || []).length, capacity: (ov.sponsor || {}).capacity || 0 })),
      h('ul', { class: 'list', 'data-testid': 'workers' }, (ov.workers || []).map(workerRow)),
      button(t('back_home'), function () { go('home'); })];
  };

  function openPrintable(url) {
    var w = window.open('', '_blank');
    api(url, { html: true }).then(function (html) {
      var blobUrl = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      if (w) w.location = blobUrl; else location.assign(blobUrl);
    }).catch(function (e) { if (w) w.close(); flash(e.message, 'bad'); });
  }
  SCREENS.receipts = async function () {
    var ov = await api('sponsor/overview/');
    var pays = ov.payments || [];
    return [h('h1', {}, t('receipts_title')),
      pays.length ? h('ul', { class: 'list', 'data-testid': 'payments' }, pays.map(function (p) {
        return h('li', { class: 'card' }, h('p', {}, h('b', {}, rupiah(p.amount_idr)), ' · ', p.period_label),
          h('p', { class: 'muted' }, fmtDate(p.paid_at) + (p.method ? ' · ' + p.method : '') + ' · ' + p.number),
          button(t('receipt_open'), function () { openPrintable(p.receipt_url); }, { class: 'secondary' }));
      })) : note(t('no_payments')),
      (ov.statements || []).length ? h('h2', {}, t('statements_title')) : null,
      (ov.statements || []).map(function (s) {
        return button(t('statement_open', { year: s.year }), function () { openPrintable(s.url + '?print=1'); }, { class: 'secondary' });
      })];
  };

  // -- inbox and preferences (both roles) ----------------------------------------------------------------------
  SCREENS.inbox = async function () {
    var box = await api('notifications/');
    var items = results(box);
    var readAll = button(t('read_all'), function () {
      busy(readAll, api('notifications/read-all/', { method: 'POST' }).then(render).catch(function (e) { flash(e.message, 'bad'); }));
    }, { class: 'secondary' });
    var prefs = await api('notifications/preferences/').catch(function () { return []; });
    return [savedBanner(box), h('h1', {}, t('inbox_title')),
      items.length ? h('ul', { class: 'list', 'data-testid': 'inbox' }, items.map(function (n) {
        return h('li', { class: 'card msg ' + (n.read ? '' : 'unread') , onclick: n.read ? null : function () {
          api('notifications/' + n.id + '/read/', { method: 'POST' }).then(render).catch(function () {});
        } }, h('b', {}, n.title), h('p', {}, n.body), h('small', { class: 'muted' }, fmtDateTime(n.created_at)));
      })) : note(t('inbox_empty')),
      items.length && box.unread_count ? readAll : null,
      card('', h('h2', {}, t('push_title')), pushPanel()),
      results(prefs).length ? card('', h('h2', {}, t('prefs_title')), results(prefs).map(function (p) {
        var box2 = h('input', { type: 'checkbox', checked: p.enabled, disabled: p.mandatory, onchange: function () {
          api('notifications/preferences/', { method: 'PUT', body: { preferences: [{ kind: p.kind, enabled: box2.checked }] } })
            .then(function () { flash(t('saved'), 'ok'); }).catch(function (e) { box2.checked = !box2.checked; flash(e.message, 'bad'); });
        } });
        return h('label', { class: 'check' }, box2, h('span', {}, p.label + (p.mandatory ? ' (' + t('mandatory') + ')' : '')));
      })) : null];
  };

  // -- web push: a device token registered (platform web) by the service worker ------------------------------------
  // With C.firebase (production) the vendored Firebase SDK, loaded only now (never with the shell), turns the
  // browser's push subscription into an FCM registration token (getToken: Google's installations and
  // fcmregistrations endpoints); real FCM accepts nothing else. Without it (dev, tests with the fake FCM) the
  // subscription endpoint's last segment. The token is asked for again on each start with permission granted and
  // registered only when it changed (pa.push_token), so a refreshed token replaces the old one.
  function urlB64(base64) {
    var pad = '='.repeat((4 - base64.length % 4) % 4);
    var raw = atob((base64 + pad).replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function pushToken(sub) {
    // An FCM web endpoint ends with the registration token; any other push service: the endpoint itself.
    var m = /^https:\/\/fcm\.googleapis\.com\/fcm\/send\/(.+)$/.exec(sub.endpoint);
    return m ? m[1] : sub.endpoint;
  }
  var firebaseLoad = null;
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.async = false;  // inserted together, run in order: the app first, then messaging
      s.onload = resolve;
      s.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }
  function firebaseMessaging() {
    if (!firebaseLoad) {
      firebaseLoad = Promise.all(C.firebase_sdk.map(loadScript)).then(function () {
        if (!window.firebase.apps.length) window.firebase.initializeApp(C.firebase);
        return window.firebase.messaging();
      });
      firebaseLoad.catch(function () { firebaseLoad = null; });  // a weak connection: try again next time
    }
    return firebaseLoad;
  }
  async function deviceToken(reg) {
    if (C.firebase) {
      var messaging = await firebaseMessaging();
      var options = { serviceWorkerRegistration: reg };
      if (C.vapid_public_key) options.vapidKey = C.vapid_public_key;
      return messaging.getToken(options);
    }
    var sub = await reg.pushManager.getSubscription();
    if (!sub) {
      var subscribe = { userVisibleOnly: true };
      if (C.vapid_public_key) subscribe.applicationServerKey = urlB64(C.vapid_public_key);
      sub = await reg.pushManager.subscribe(subscribe);
    }
    return pushToken(sub);
  }
  async function registerPush(ask) {
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return { ok: false, reason: t('push_unsupported') };
    var perm = Notification.permission;
    if (perm !== 'granted' && ask) perm = await Notification.requestPermission();
    if (perm !== 'granted') return { ok: false, reason: t('push_denied') };
    var reg = await navigator.serviceWorker.ready;
    var token = await deviceToken(reg);
    if (!token) return { ok: false, reason: t('push_failed') };
    if (!ask && LS.getItem('pa.push_token') === token) return { ok: true };  // unchanged: nothing to register
    var answer = await new Promise(function (resolve) {
      var ch = new MessageChannel();
      ch.port1.onmessage = function (ev) { resolve(ev.data); };
      reg.active.postMessage({ type: 'register-device', token: token, access: LS.getItem('pa.access'), lang: C.lang }, [ch.port2]);
    });
    if (answer && answer.ok) LS.setItem('pa.push_token', token);
    return answer && answer.ok ? { ok: true } : { ok: false, reason: t('push_failed') };
  }
  function registerPushQuietly() {
    if (window.Notification && Notification.permission === 'granted') registerPush(false).catch(function () {});
  }
  function pushPanel() {
    var out = h('p', { class: 'muted', 'data-testid': 'push-state' },
      window.Notification && Notification.permission === 'granted' ? t('push_on') : t('push_off'));
    var b = button(t('push_enable'), function () {
      busy(b, registerPush(true).then(function (r) { out.textContent = r.ok ? t('push_on') : r.reason; })
        .catch(function () { out.textContent = t('push_failed'); }));
    }, { class: 'secondary', 'data-testid': 'push-enable' });
    return [out, b];
  }

  // -- account (sponsor) ------------------------------------------------------------------------------------------
  // Payroll deduction (potong gaji / TPP): sponsorship/billing/api/payroll.py. Null when the API refuses (not a sponsor).
  function monthLabel(iso) {
    if (!iso) return '';
    return new Intl.DateTimeFormat(LOCALE, { month: 'long', year: 'numeric', timeZone: 'Asia/Jakarta' }).format(new Date(iso + 'T12:00:00+07:00'));
  }
  function payrollCard(st) {
    var box = card('', h('h2', {}, t('payroll_title')));
    function draw(st) {
      var out = h('div', { 'aria-live': 'polite' });
      var c = st.consent;
      var parts = [h('h2', {}, t('payroll_title'))];
      if (c && (c.status === 'active' || c.status === 'stopping')) {
        parts.push(h('p', { 'data-testid': 'payroll-state' }, t(c.kind === 'tpp' ? 'payroll_on_tpp' : 'payroll_on_salary',
          { amount: rupiah(c.monthly_amount_idr), month: monthLabel(c.start_month) })));
        if (c.status === 'stopping') parts.push(note(t('payroll_stopping', { month: monthLabel(c.end_month) })));
        else {
          var stop = button(t('payroll_stop'), function () {
            if (!window.confirm(t('payroll_stop_confirm'))) return;
            busy(stop, api('sponsor/payroll/consent/stop/', { method: 'POST', body: {} })
              .then(function (next) { draw(next); }).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
          }, { class: 'secondary', 'data-testid': 'payroll-stop' });
          parts.push(stop);
        }
      } else {
        var kind = h('select', { name: 'kind', 'data-testid': 'payroll-kind' },
          h('option', { value: 'salary' }, t('payroll_kind_salary')), h('option', { value: 'tpp' }, t('payroll_kind_tpp')));
        var agree = h('input', { type: 'checkbox', 'data-testid': 'payroll-agree' });
        var go = h('button', { type: 'submit', 'data-testid': 'payroll-submit' }, t('payroll_submit'));
        parts.push(h('p', {}, t('payroll_lead', { amount: rupiah(st.monthly_amount_estimate_idr), month: monthLabel(st.earliest_start_month) })),
          h('form', {
            onsubmit: function (ev) {
              ev.preventDefault();
              if (!agree.checked) { out.replaceChildren(note(t('payroll_must_agree'), 'bad')); return; }
              busy(go, api('sponsor/payroll/consent/', { method: 'POST', body: { kind: kind.value, confirm: true, consent_text_version: st.consent_text_version } })
                .then(function (next) { draw(next); }).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
            }
          }, field(t('payroll_kind'), kind), h('p', { class: 'muted' }, st.consent_text),
            h('label', { class: 'check' }, agree, h('span', {}, t('payroll_agree'))), go));
      }
      var rows = (st.deductions || []).slice(0, 6).map(function (d) {
        return h('li', {}, monthLabel(d.payroll_month), ': ', rupiah(d.deducted_idr || d.amount_idr), ' (', d.status, ')');
      });
      if (rows.length) parts.push(h('ul', { class: 'muted', 'data-testid': 'payroll-history' }, rows));
      parts.push(out);
      box.replaceChildren.apply(box, parts);
    }
    draw(st);
    return box;
  }

  SCREENS.account = async function () {
    var p = await api('sponsor/profile/');
    var payroll = await api('sponsor/payroll/consent/').catch(function () { return null; });
    var capacity = h('select', { name: 'capacity', 'data-testid': 'capacity' },
      [2, 3].map(function (n) { return h('option', { value: n, selected: p.capacity === n }, t('n_workers', { n: n })); }));
    var consent = h('input', { type: 'checkbox', checked: p.contact_consent });
    var showName = h('input', { type: 'checkbox', checked: p.show_name_to_workers });
    var out = h('div');
    var save = h('button', { type: 'submit' }, t('save'));
    var reason = h('textarea', { name: 'reason', maxlength: '300', rows: '2' });
    var leaveOut = h('div', { 'aria-live': 'polite' });
    var leave = button(t('leave_button'), function () {
      if (!window.confirm(t('leave_confirm'))) return;
      busy(leave, api('sponsor/leave-request/', { method: 'POST', body: { confirm: true, reason: reason.value } })
        .then(function () { leaveOut.replaceChildren(note(t('leave_requested'), 'ok')); })
        .catch(function (e) { leaveOut.replaceChildren(note(e.message, 'bad')); }));
    }, { class: 'danger', 'data-testid': 'leave' });
    return [h('h1', {}, p.full_name),
      card('', h('p', {}, t('nip_label'), ': ', p.nip), h('p', {}, (p.agency && p.agency.name) || ''), h('p', {}, p.home_village_name || '')),
      h('form', {
        class: 'card',
        onsubmit: function (ev) {
          ev.preventDefault();
          busy(save, api('sponsor/profile/', { method: 'PATCH', body: { capacity: Number(capacity.value), contact_consent: consent.checked, show_name_to_workers: showName.checked } })
            .then(function () { out.replaceChildren(note(t('saved'), 'ok')); }).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
        }
      }, h('h2', {}, t('pledge_title')), field(t('pledge_question'), capacity),
        h('label', { class: 'check' }, consent, h('span', {}, t('contact_consent'))),
        h('label', { class: 'check' }, showName, h('span', {}, t('show_name_consent'))), out, save),
      payroll ? payrollCard(payroll) : null,
      languageCard(),
      card('', button(t('sign_out'), function () { signOut(); }, { class: 'secondary', 'data-testid': 'sign-out' })),
      card('', h('h2', {}, t('leave_title')), h('p', {}, t('leave_lead')), field(t('leave_reason'), reason), leave, leaveOut)];
  };
  function languageCard() {
    return card('', h('h2', {}, t('language')), h('div', { class: 'seg' },
      [['id', 'Bahasa Indonesia'], ['en', 'English']].map(function (l) {
        return h('button', { type: 'button', class: C.lang === l[0] ? 'on' : '', lang: l[0], onclick: function () { switchLanguage(l[0]); } }, l[1]);
      })));
  }
  async function switchLanguage(lang) {
    // The shell is rendered in the chosen language; put the new one in the service worker's cache, then reload.
    try {
      var res = await fetch('/app/?lang=' + lang, { cache: 'reload', credentials: 'same-origin' });
      if (res.ok && window.caches) { var c = await caches.open(C.shell_cache); await c.put('/app/', res); }
    } catch (e) { /* offline: the cookie is set next time */ }
    location.reload();
  }

  // -- screens: worker --------------------------------------------------------------------------------------------
  SCREENS.status = async function () {
    var s = await api('worker/status/');
    var left = daysLeft(s.protected_until);
    var big = h('section', { class: 'state ' + (STATE_CLASS[s.state] || 'idle'), 'data-testid': 'state', 'data-state': s.state },
      h('p', { class: 'state-label' }, s.state_label || t('chip_' + s.state)),
      s.state === 'protected' ? h('p', { class: 'until' }, t('protected_until', { date: fmtDate(s.protected_until) })) : null,
      s.state === 'protected' ? h('p', { class: 'days', 'data-testid': 'days-left' }, t('days_left', { days: left })) : null);
    var sponsorLine = s.sponsor_first_name ? t('sponsor_is', { name: s.sponsor_first_name }) : s.sponsor_text;
    return [savedBanner(s), h('h1', {}, t('hello', { name: (s.worker && s.worker.first_name) || '' })), big,
      h('p', { class: 'lead' }, s.headline),
      sponsorLine ? card('', h('p', {}, sponsorLine)) : null,
      s.worker && s.worker.kpj ? note(t('kpj', { kpj: s.worker.kpj })) : null,
      button(t('after_accident_button'), function () { go('help'); }, { class: 'warn-btn', 'data-testid': 'go-help' }),
      h('h2', {}, t('benefits_title')),
      (s.programmes || []).map(function (p) {
        return card('', h('h3', {}, p.name + ' (' + p.code + ')'), h('p', {}, p.summary),
          h('ul', {}, (p.benefits || []).map(function (b) { return h('li', {}, b); })));
      })];
  };
  SCREENS.help = async function () {
    var s = await api('worker/status/');
    var a = s.after_accident || {};
    return [h('h1', {}, a.title || t('after_accident_button')),
      card('bad', h('p', { class: 'big' }, t('report_in_2x24')),
        h('a', { class: 'button', href: 'tel:' + C.bpjs_phone, 'data-testid': 'call-bpjs' }, t('call_bpjs', { phone: C.bpjs_phone }))),
      h('ol', { class: 'steps' }, (a.steps || []).map(function (x) { return h('li', {}, x); })),
      h('h2', {}, t('documents_title')),
      h('ul', { class: 'docs' }, (a.documents || []).map(function (x) { return h('li', {}, x); }))];
  };
  SCREENS.mydata = async function () {
    var d = await api('worker/my-data/');
    var person = d.worker || {};
    var shown = ['full_name', 'nik', 'birth_date', 'phone', 'occupation', 'village_name', 'kpj', 'welfare_decile'];
    var rows = shown.filter(function (k) { return person[k] !== null && person[k] !== undefined && person[k] !== ''; })
      .map(function (k) {
        var v = k === 'birth_date' ? fmtDate(person[k]) : String(person[k]);
        return h('div', { class: 'kv' }, h('dt', {}, t('field_' + k)), h('dd', {}, v));
      });
    var consents = (d.consents || []).map(function (c) {
      return h('li', {}, t('consent_record', { date: fmtDate(c.collected_at), channel: t('channel_' + c.channel), version: c.text_version }));
    });
    var exportBtn = button(t('export'), function () {
      var blob = new Blob([JSON.stringify(d, null, 2)], { type: 'application/json' });
      var a = h('a', { href: URL.createObjectURL(blob), download: 'pengampu-data-saya.json' });
      document.body.appendChild(a); a.click(); a.remove();
    }, { class: 'secondary', 'data-testid': 'export' });
    var out = h('div', { 'aria-live': 'polite' });
    var erase = button(t('erase'), function () {
      if (!window.confirm(t('erase_confirm'))) return;
      busy(erase, api('worker/my-data/erase/', { method: 'POST', body: { confirm: true, reason: '' } })
        .then(function () { signOut(t('erased')); }).catch(function (e) { out.replaceChildren(note(e.message, 'bad')); }));
    }, { class: 'danger', 'data-testid': 'erase' });
    return [h('h1', {}, t('mydata_title')), h('p', { class: 'lead' }, t('mydata_lead')),
      card('', h('dl', { 'data-testid': 'mydata' }, rows)),
      consents.length ? card('', h('h2', {}, t('consents_title')), h('ul', {}, consents)) : null,
      h('p', { class: 'muted' }, t('export_lead')), exportBtn,
      card('', h('h2', {}, t('erase_title')), h('p', {}, t('erase_lead')), erase, out),
      languageCard(),
      card('', button(t('sign_out'), function () { signOut(); }, { class: 'secondary', 'data-testid': 'sign-out' }))];
  };

  // -- start -------------------------------------------------------------------------------------------------------
  function online() { document.getElementById('net').hidden = navigator.onLine; }
  window.addEventListener('online', online);
  window.addEventListener('offline', online);
  window.addEventListener('hashchange', render);
  document.getElementById('lang').addEventListener('click', function () { switchLanguage(C.lang === 'en' ? 'id' : 'en'); });
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', function (ev) {
      var m = ev.data || {};
      if (m.type === 'fresh' && readPaths[m.path] && !redrawn) { redrawn = true; render(true); }
    });
    navigator.serviceWorker.register(C.sw_url, { scope: '/app/' }).catch(function (e) { console.warn('service worker', e); });
  }
  // Signed in with push allowed: ask for the token again once the app is up (the SDK, if any, loads after the
  // first screen), and register it if it changed.
  if (role()) window.addEventListener('load', function () { setTimeout(registerPushQuietly, 1500); });
  online();
  render();
})();
