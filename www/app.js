/*
 * GigaVault web console: a one-page app over the JSON API of
 * doc/webconsole.md.  No framework, no build step.  The page runs under
 * "Content-Security-Policy: default-src 'self'", so nothing here uses
 * inline scripts, inline handlers or style attributes, and every name
 * that comes from the network is put into the page as text
 * (textContent, createTextNode), never as HTML.
 *
 * Routes (location.hash):
 *   #/dashboard  #/clients  #/client/NAME  #/peers  #/housekeeping  #/log
 *   #/admins  #/account
 * and the same under #/peer/ID/... to view peer ID through this server
 * (every API call then goes to /api/peer/ID/... instead of /api/...).
 */
(function () {
	'use strict';

	var REFRESH_MS = 5000;
	var SVGNS = 'http://www.w3.org/2000/svg';

	var state = {
		csrf: null,		/* this server's session token (memory only) */
		user: null,
		role: null,		/* 'admin' or 'operator' (read-only) */
		server: null,		/* this server's hello */
		peer: null,		/* {id, name} while viewing a peer */
		peerNames: {},		/* id -> name, from peer lists and hellos */
		peerHello: {},		/* id -> the peer's hello */
		peerInfo: {},		/* id -> its entry in this server's peer list */
		loginFor: 'local',	/* 'local' or 'peer': what the login form logs in to */
		view: null,
		gen: 0,			/* bumped on every route change */
		timer: null,
		busy: false,		/* a refresh request is in flight */
		chartDays: null,
		removeName: null,
		enrollNext: null,	/* {name, token}: show on the clients view */
		asked: {}		/* request id -> set: "back up now" asked here */
	};

	/* ---------- small helpers ---------- */

	function $(id) { return document.getElementById(id); }

	/* h('tag', {class, text, attrs...}, children...) */
	function h(tag, props) {
		var el = document.createElement(tag);
		var k, i, c;

		if (props) {
			for (k in props) {
				if (!Object.prototype.hasOwnProperty.call(props, k))
					continue;
				var v = props[k];
				if (v === null || v === undefined || v === false)
					continue;
				if (k === 'class')
					el.className = v;
				else if (k === 'text')
					el.textContent = v;
				else if (k === 'onclick')
					el.addEventListener('click', v);
				else if (k === 'htmlFor')
					el.htmlFor = v;
				else
					el.setAttribute(k, v === true ? '' : String(v));
			}
		}
		for (i = 2; i < arguments.length; i++) {
			c = arguments[i];
			append(el, c);
		}
		return el;
	}

	function append(el, c) {
		if (c === null || c === undefined || c === false)
			return;
		if (Array.isArray(c)) {
			c.forEach(function (x) { append(el, x); });
			return;
		}
		if (typeof c === 'string' || typeof c === 'number')
			el.appendChild(document.createTextNode(String(c)));
		else
			el.appendChild(c);
	}

	function svg(tag, attrs) {
		var el = document.createElementNS(SVGNS, tag);
		var k;

		for (k in attrs || {})
			if (Object.prototype.hasOwnProperty.call(attrs, k))
				el.setAttribute(k, String(attrs[k]));
		return el;
	}

	function clear(el) {
		while (el.firstChild)
			el.removeChild(el.firstChild);
		return el;
	}

	function num(n) {
		if (typeof n !== 'number' || !isFinite(n))
			return '—';
		return n.toLocaleString('en-US');
	}

	var UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

	function fmtBytes(n) {
		var i = 0;

		if (typeof n !== 'number' || !isFinite(n))
			return '—';
		if (n < 1024)
			return n + ' B';
		while (n >= 1024 && i < UNITS.length - 1) {
			n /= 1024;
			i++;
		}
		return n.toFixed(1) + ' ' + UNITS[i];
	}

	function pad(n) { return n < 10 ? '0' + n : String(n); }

	/* Unix seconds -> local "2026-11-29 18:05:12" */
	function fmtTime(t) {
		if (typeof t !== 'number' || !isFinite(t) || t <= 0)
			return '—';
		var d = new Date(t * 1000);
		return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +
		    pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
		    pad(d.getMinutes()) + ':' + pad(d.getSeconds());
	}

	/* a time for a table cell: breaks between date and time only */
	function timeCell(t, extra) {
		var txt = fmtTime(t);
		if (txt === '—')
			return txt;
		var i = txt.indexOf(' ');
		return h('span', null, h('span', { class: 'nw', text: txt.slice(0, i) }),
		    ' ', h('span', { class: 'nw', text: txt.slice(i + 1) }),
		    extra ? ' ' + extra : null);
	}

	function fmtDuration(s) {
		if (typeof s !== 'number' || !isFinite(s) || s < 0)
			return '—';
		s = Math.floor(s);
		var d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600),
		    m = Math.floor(s % 3600 / 60), sec = s % 60;
		var parts;
		if (d > 0)
			parts = [[d, 'd'], [hh, 'h'], [m, 'min']];
		else if (hh > 0)
			parts = [[hh, 'h'], [m, 'min']];
		else if (m > 0)
			parts = [[m, 'min'], [sec, 's']];
		else
			return sec + ' s';
		while (parts.length > 1 && parts[parts.length - 1][0] === 0)
			parts.pop();
		return parts.map(function (x) { return x[0] + ' ' + x[1]; }).join(' ');
	}

	function now() { return Date.now() / 1000; }

	function shortId(id) {
		id = String(id || '');
		return id.length > 12 ? id.slice(0, 8) + '…' : id;
	}

	function humanKey(k) {
		return String(k).replace(/_/g, ' ');
	}

	function badge(text, kind) {
		return h('span', { class: 'badge badge-' + kind, text: text });
	}

	/* a client's or a job's health (doc/webconsole.md, "client") */
	var HEALTH = { ok: ['ok', 'ok'], failed: ['failed', 'bad'],
	    overdue: ['overdue', 'warn'], never: ['never run', 'muted'] };

	function healthBadge(v) {
		var x = HEALTH[v] || [String(v || '?'), 'muted'];
		var b = badge(x[0], x[1]);
		b.setAttribute('data-health', String(v || ''));
		return b;
	}

	var RESULTS = { ok: 'ok', partial: 'warn', failed: 'bad',
	    cancelled: 'muted' };

	function resultBadge(r) {
		return badge(String(r || '?'), RESULTS[r] || 'muted');
	}

	function shorten(s, n) {
		s = String(s);
		return s.length > n ? s.slice(0, n - 1) + '…' : s;
	}

	/* a failure's time and its message (shortened when short is set) */
	function failureCell(t, msg, short) {
		if (!t)
			return 'none';
		return h('span', null, timeCell(t), msg ? h('span', {
		    class: 'error-text', title: short ? String(msg) : null,
		    text: short ? shorten(msg, 60) : String(msg) }) : null);
	}

	/* "in 5 min" / "5 min ago" after a time */
	function whenCell(t) {
		if (!t)
			return 'not scheduled';
		var d = t - now();
		return timeCell(t, '(' + (d >= 0 ? 'in ' + fmtDuration(d) :
		    fmtDuration(-d) + ' ago') + ')');
	}

	/* the four counts of clients by health, as links to the clients */
	function healthCounts(k) {
		var box = h('p', { class: 'health-counts', id: 'health-counts' });
		['ok', 'failed', 'overdue', 'never'].forEach(function (v) {
			var n = k && typeof k[v] === 'number' ? k[v] : 0;
			box.appendChild(h('span', { class: 'health-count' +
			    (n > 0 && (v === 'failed' || v === 'overdue') ?
			    ' is-alert' : ''), 'data-health': v },
			    h('strong', { text: num(n) }), ' ', healthBadge(v)));
		});
		return box;
	}

	function dl(rows) {
		var el = h('dl', { class: 'kv' });
		rows.forEach(function (r) {
			if (!r)
				return;
			el.appendChild(h('dt', { text: r[0] }));
			el.appendChild(h('dd', null, r[1]));
		});
		return el;
	}

	function card(title, body, cls) {
		return h('section', { class: 'card' + (cls ? ' ' + cls : '') },
		    title ? h('h2', { text: title }) : null, body);
	}

	function tableWrap(table) {
		return h('div', { class: 'table-wrap' }, table);
	}

	/*
	 * columns: [{label, num}] ; rows: arrays of cells (string or node).
	 * stack: on a narrow screen each row becomes a block of "label:
	 * value" lines (each cell carries its column's label).
	 */
	function table(caption, columns, rows, rowHeader, stack) {
		var thead = h('thead', null, h('tr', null, columns.map(function (c) {
			return h('th', { scope: 'col', class: c.num ? 'num' : null,
			    text: c.label });
		})));
		var tbody = h('tbody');
		rows.forEach(function (r) {
			var tr = h('tr', r.cls ? { class: r.cls } : null);
			r.cells.forEach(function (cell, i) {
				var isHead = rowHeader && i === 0;
				tr.appendChild(h(isHead ? 'th' : 'td', {
				    scope: isHead ? 'row' : null,
				    class: columns[i] && columns[i].num ? 'num' : null,
				    'data-label': stack && columns[i] ? columns[i].label : null
				}, cell));
			});
			tbody.appendChild(tr);
		});
		return tableWrap(h('table', stack ? { class: 'stack' } : null,
		    h('caption', { class: 'sr-only', text: caption }), thead, tbody));
	}

	/* ---------- messages ---------- */

	function message(text, kind, sticky) {
		var box = $('messages');
		var i, el;

		/* the same message again (an auto refresh failing twice): once */
		for (i = 0; i < box.children.length; i++)
			if (box.children[i].getAttribute('data-text') === text)
				box.removeChild(box.children[i]);
		el = h('div', { class: 'msg msg-' + kind,
		    role: kind === 'error' ? 'alert' : 'status', 'data-text': text },
		    h('span', { class: 'msg-text', text: text }),
		    h('button', { type: 'button', class: 'msg-close',
		    text: 'Dismiss', onclick: function () {
			    if (el.parentNode)
				    el.parentNode.removeChild(el);
		    } }));
		box.appendChild(el);
		if (!sticky && kind !== 'error')
			setTimeout(function () {
				if (el.parentNode)
					el.parentNode.removeChild(el);
			}, 8000);
	}

	function showError(text) { message(text, 'error', true); }
	function showInfo(text) { message(text, 'info', false); }

	function clearMessages() { clear($('messages')); }

	/* ---------- API ---------- */

	function ApiError(status, msg, body) {
		this.status = status;
		this.message = msg;
		this.body = body;
	}

	function apiBase(local) {
		if (state.peer && !local)
			return '/api/peer/' + encodeURIComponent(state.peer.id);
		return '/api';
	}

	/*
	 * One API call.  Resolves with the parsed JSON answer, rejects with
	 * an ApiError {status, message, body}.  Non-GET requests carry the
	 * CSRF token and a JSON body (at least {}), as the spec asks.
	 */
	function api(method, path, body, opts) {
		var init = {
			method: method,
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { 'Accept': 'application/json' }
		};
		var url = apiBase(opts && opts.local) + path;

		if (method !== 'GET' && method !== 'HEAD') {
			init.headers['Content-Type'] = 'application/json';
			if (state.csrf)
				init.headers['X-CSRF-Token'] = state.csrf;
			init.body = JSON.stringify(body || {});
		}
		return fetch(url, init).then(function (res) {
			return res.text().then(function (text) {
				var data = null;
				if (text) {
					try { data = JSON.parse(text); } catch (e) { data = null; }
				}
				if (!res.ok) {
					var msg = data && typeof data.error === 'string' ?
					    data.error : (res.statusText || 'request failed');
					throw new ApiError(res.status, msg, data);
				}
				if (data === null || typeof data !== 'object')
					throw new ApiError(res.status,
					    'the server sent an answer that is not JSON', null);
				return data;
			});
		}, function () {
			throw new ApiError(0, 'could not reach the server', null);
		});
	}

	var STATUS_TEXT = {
		400: 'bad request', 403: 'forbidden', 404: 'not found',
		405: 'method not allowed', 409: 'conflict', 413: 'too large',
		415: 'unsupported content type', 500: 'server error',
		502: 'the peer failed', 504: 'the peer did not answer'
	};

	/* Report a failed call; a 401 goes back to the right login form. */
	function failed(what, err) {
		if (!(err instanceof ApiError)) {
			showError(what + ': ' + String(err && err.message || err));
			if (window.console)
				console.error(err);
			return;
		}
		if (err.status === 401) {
			if (state.peer && err.body && err.body.peer_login)
				showLogin('peer');
			else
				sessionLost(err.body);
			return;
		}
		if (err.status === 403 && state.csrf) {
			/* another tab may have logged in again: take the new token */
			api('GET', '/session', null, { local: true }).then(function (s) {
				if (s.csrf)
					state.csrf = s.csrf;
			}, function () { });
		}
		var text = what + ': ' + err.message;
		if (err.status)
			text += ' (HTTP ' + err.status +
			    (STATUS_TEXT[err.status] && STATUS_TEXT[err.status] !== err.message ?
			    ', ' + STATUS_TEXT[err.status] : '') + ')';
		showError(text);
	}

	/* ---------- session ---------- */

	function sessionLost(body) {
		state.csrf = null;
		state.user = null;
		stopTimer();
		showLogin('local', body);
	}

	function setServer(hello) {
		if (hello && typeof hello === 'object')
			state.server = hello;
		var name = state.server && state.server.name ? state.server.name : '';
		$('server-name').textContent = name;
		$('server-name').title = state.server && state.server.server_id ?
		    'server id ' + state.server.server_id : '';
	}

	/* the session answer's hello, or at least its server id */
	function sessionServer(s) {
		if (s.server && typeof s.server === 'object')
			return s.server;
		if (s.server_id && !(state.server && state.server.server_id))
			return { server_id: s.server_id };
		return null;
	}

	function enterApp() {
		$('nav').hidden = false;
		$('account').hidden = false;
		$('user-name').textContent = (state.user || '') +
		    (state.role === 'operator' ? ' (read-only)' : '');
		$('nav-admins').hidden = state.role === 'operator';
		setServer(null);
	}

	function showLogin(target, body) {
		stopTimer();
		state.gen++;
		state.loginFor = target;
		showView('view-login');
		$('no-admin').hidden = true;
		$('login-status').textContent = '';
		$('login-password').value = '';
		$('login-code').value = '';
		$('login-code-field').hidden = true;
		if (target === 'peer') {
			$('login-title').textContent = 'Log in to peer ' + peerLabel();
			$('login-intro').textContent = 'Log in as an administrator of ' +
			    'that peer. This server proves your password to the peer ' +
			    'by challenge and response: it never crosses the network.';
			$('nav').hidden = false;
			$('account').hidden = false;
		} else {
			var name = state.server && state.server.name;
			$('login-title').textContent = name ? 'Log in to ' + name : 'Log in';
			$('login-intro').textContent = 'Log in with a GigaVault ' +
			    'administrator account of this server.';
			$('nav').hidden = true;
			$('account').hidden = true;
			if (body && body.admins === 0)
				$('no-admin').hidden = false;
		}
		document.title = 'Log in — GigaVault';
		$('login-user').focus();
	}

	function onLogin(ev) {
		ev.preventDefault();
		var user = $('login-user').value.trim();
		var password = $('login-password').value;
		var btn = $('login-submit');
		var creds = { user: user, password: password };

		/* a user with TOTP: the code, once the server asked for it */
		if (!$('login-code-field').hidden && $('login-code').value.trim() !== '')
			creds.code = $('login-code').value.trim();

		if (user === '' || password === '') {
			showError('Enter a user name and a password.');
			return;
		}
		btn.disabled = true;
		$('login-status').textContent = 'Logging in…';
		clearMessages();
		var p;
		if (state.loginFor === 'peer' && state.peer) {
			p = api('POST', '/login', creds)
			    .then(function () {
				    showInfo('Logged in to peer ' + peerLabel() + '.');
				    route();
			    });
		} else {
			p = api('POST', '/login', creds,
			    { local: true }).then(function (r) {
				state.csrf = r.csrf;
				state.user = r.user || user;
				state.role = r.role || 'admin';
				return api('GET', '/session', null, { local: true })
				    .then(function (s) {
					state.csrf = s.csrf || state.csrf;
					setServer(sessionServer(s));
				}, function () { /* the login answer is enough */ });
			}).then(function () {
				enterApp();
				route();
			});
		}
		p.catch(function (err) {
			if (err instanceof ApiError && err.status === 401 &&
			    err.body && err.body.totp) {
				$('login-code-field').hidden = false;
				$('login-code').value = '';
				$('login-code').focus();
				showInfo('Enter the code your authenticator app shows.');
				return;
			}
			if (err instanceof ApiError && err.status === 401) {
				if (state.loginFor === 'peer' && err.body &&
				    !err.body.peer_login && err.message === 'login required') {
					sessionLost(err.body);
					return;
				}
				showError('Login failed: ' + err.message);
				$('login-password').value = '';
				$('login-password').focus();
			} else
				failed('Login', err);
		}).then(function () {
			btn.disabled = false;
			$('login-status').textContent = '';
		});
	}

	function onLogout() {
		var done = function () {
			state.csrf = null;
			state.user = null;
			state.peer = null;
			forgetViews();
			updateBanner();
			clearMessages();
			showInfo('Logged out.');
			if (location.hash !== '#/dashboard' && location.hash !== '')
				history.replaceState(null, '', '#/dashboard');
			showLogin('local');
		};
		api('POST', '/logout', {}, { local: true }).then(done, function (err) {
			if (err.status === 401)
				done();
			else
				failed('Log out', err);
		});
	}

	/* ---------- peer switch ---------- */

	function peerLabel() {
		if (!state.peer)
			return '';
		var name = state.peerNames[state.peer.id];
		return (name ? name + ' ' : '') + '(' + state.peer.id + ')';
	}

	function updateBanner() {
		var b = $('peer-banner');
		if (!state.peer) {
			b.hidden = true;
			document.body.classList.remove('peer-mode');
			return;
		}
		var name = state.peerNames[state.peer.id] || 'unnamed';
		$('peer-banner-text').textContent = 'Viewing peer ' + name + ' (' +
		    state.peer.id + ') through this server — ';
		b.hidden = false;
		document.body.classList.add('peer-mode');
	}

	/* drop what the views show: it belongs to another server now */
	function forgetViews() {
		['dashboard-body', 'clients-body', 'client-body', 'peers-body',
		    'housekeeping-body', 'log-source', 'log-lines',
		    'dashboard-updated'].forEach(function (id) { clear($(id)); });
		state.chartDays = null;
		hideEnroll();
	}

	function setPeer(id) {
		if (!id) {
			if (state.peer)
				forgetViews();
			state.peer = null;
			updateBanner();
			return;
		}
		if (!state.peer || state.peer.id !== id) {
			state.peer = { id: id };
			forgetViews();
			if (!state.peerHello[id]) {
				/* hello needs no peer login: learn the name */
				api('GET', '/hello').then(function (hello) {
					if (hello && hello.name)
						state.peerHello[id] = hello;
					if (hello && hello.name && state.peer &&
					    state.peer.id === id) {
						state.peerNames[id] = hello.name;
						updateBanner();
						if (state.loginFor === 'peer' &&
						    !$('view-login').hidden)
							$('login-title').textContent =
							    'Log in to peer ' + peerLabel();
					}
				}, function () {
					/* the view's own call reports the trouble */
				});
			}
		}
		updateBanner();
	}

	/* ---------- routing ---------- */

	function parseHash() {
		var raw = location.hash.replace(/^#\/?/, '');
		var parts = raw.split('/').filter(function (s) { return s !== ''; });
		var peer = null;

		parts = parts.map(function (s) {
			try { return decodeURIComponent(s); } catch (e) { return s; }
		});
		if (parts[0] === 'peer' && parts.length >= 2 &&
		    /^[0-9A-Fa-f]{1,64}$/.test(parts[1])) {
			peer = parts[1].toLowerCase();
			parts = parts.slice(2);
		}
		return { peer: peer, view: parts[0] || 'dashboard', arg: parts[1] || null };
	}

	function link(view, arg) {
		var p = state.peer ? '#/peer/' + state.peer.id + '/' : '#/';
		return p + view + (arg ? '/' + encodeURIComponent(arg) : '');
	}

	function go(view, arg) {
		var target = link(view, arg);
		if (location.hash === target)
			route();
		else
			location.hash = target;
	}

	var VIEWS = ['view-login', 'view-dashboard', 'view-clients', 'view-client',
	    'view-peers', 'view-housekeeping', 'view-log', 'view-loading'];

	function showView(id) {
		VIEWS.forEach(function (v) { $(v).hidden = v !== id; });
	}

	function stopTimer() {
		if (state.timer) {
			clearTimeout(state.timer);
			state.timer = null;
		}
	}

	var TITLES = { dashboard: 'Dashboard', clients: 'Clients',
	    client: 'Client', peers: 'Peers', housekeeping: 'Housekeeping',
	    log: 'Log' };

	function route() {
		stopTimer();
		state.gen++;
		state.busy = false;
		if (!state.csrf) {
			showLogin('local');
			return;
		}
		var r = parseHash();
		var leaving = state.view;

		setPeer(r.peer);
		if (!TITLES[r.view] || (r.view === 'client' && !r.arg)) {
			showError('No such page: ' + location.hash);
			go('dashboard');
			return;
		}
		if (leaving === 'clients' && r.view !== 'clients')
			hideEnroll();
		state.view = r.view;
		state.loginFor = 'local';

		/* nav: links follow the peer switch, the current one marked */
		Array.prototype.forEach.call(document.querySelectorAll('#nav a'),
		    function (a) {
			var v = a.getAttribute('data-view');
			a.setAttribute('href', link(v));
			if (v === r.view || (v === 'clients' && (r.view === 'client' ||
			    r.view === 'snapshot')))
				a.setAttribute('aria-current', 'page');
			else
				a.removeAttribute('aria-current');
		});
		document.title = TITLES[r.view] + ' — GigaVault' +
		    (state.peer ? ' (peer ' + (state.peerNames[state.peer.id] ||
		    shortId(state.peer.id)) + ')' : state.server && state.server.name ?
		    ' (' + state.server.name + ')' : '');

		var gen = state.gen;
		switch (r.view) {
		case 'dashboard': showView('view-dashboard'); loadDashboard(gen); break;
		case 'clients':
			showView('view-clients');
			loadClients(gen);
			if (state.enrollNext) {
				showEnroll(state.enrollNext.name, state.enrollNext.token);
				state.enrollNext = null;
			}
			break;
		case 'client': showView('view-client'); loadClient(gen, r.arg); break;
		case 'peers': showView('view-peers'); loadPeers(gen); break;
		case 'housekeeping': showView('view-housekeeping'); loadHousekeeping(gen); break;
		case 'log': showView('view-log'); loadLog(gen); break;
		case 'snapshot': showView('view-snapshot'); loadSnapshot(gen, r.arg); break;
		case 'history': showView('view-history'); loadHistory(gen, r.arg); break;
		case 'admins': case 'account': showView('view-' + r.view); loadUsers(gen, r.view); break;
		}
	}

	/*
	 * Refresh a view every 5 s while the page is visible: the next
	 * request is planned only when the last one has finished, so they
	 * never overlap.
	 */
	function schedule(gen, fn) {
		stopTimer();
		if (gen !== state.gen || document.visibilityState === 'hidden')
			return;
		state.timer = setTimeout(function () {
			state.timer = null;
			if (gen === state.gen && document.visibilityState !== 'hidden')
				fn(gen, true);
		}, REFRESH_MS);
	}

	function loading(el) {
		if (!el.firstChild)
			el.appendChild(h('p', { class: 'muted', text: 'Loading…' }));
	}

	/* ---------- dashboard ---------- */

	function loadDashboard(gen, again) {
		if (state.busy)
			return;
		state.busy = true;
		loading($('dashboard-body'));
		api('GET', '/dashboard').then(function (d) {
			state.busy = false;
			if (gen !== state.gen)
				return;
			renderDashboard(d);
			schedule(gen, loadDashboard);
		}, function (err) {
			state.busy = false;
			if (gen !== state.gen)
				return;
			failed('Dashboard', err);
			if (err.status !== 401)
				schedule(gen, loadDashboard);
		});
	}

	function renderDashboard(d) {
		var body = $('dashboard-body');
		var s = d.server || {}, pool = d.pool || {}, today = d.today || {},
		    st = d.storage || {};
		var workers = Array.isArray(pool.workers) ? pool.workers : [];
		var counts = { idle: 0, busy: 0, starting: 0 };

		workers.forEach(function (w) {
			if (counts[w.state] !== undefined)
				counts[w.state]++;
		});

		var ratio = typeof st.dedup_ratio === 'number' && st.dedup_ratio > 0 ?
		    (Math.round(st.dedup_ratio * 100) / 100) + '×' : '—';

		var cards = h('div', { class: 'grid' },
		    card('Server', dl([
			['Name', s.name || '—'],
			['Server id', h('code', { class: 'id', text: s.server_id || '—' })],
			['Version', s.version || '—'],
			['Uptime', fmtDuration(s.uptime)],
			['Started', fmtTime(s.started)]
		    ])),
		    card('Today', dl([
			['Sessions', num(today.sessions)],
			['Bytes in', fmtBytes(today.bytes_in)],
			['Bytes out', fmtBytes(today.bytes_out)]
		    ])),
		    card('Storage', dl([
			['Clients', num(st.clients)],
			['Snapshots', num(st.snapshots)],
			['Size of the snapshots', fmtBytes(st.size)],
			['Unique (after dedup)', fmtBytes(st.unique_bytes)],
			['Dedup ratio', ratio]
		    ])),
		    diskCard(d.disk));

		var t = now();
		var wrows = workers.map(function (w) {
			var kind = w.state === 'busy' ? 'busy' :
			    w.state === 'idle' ? 'ok' : 'warn';
			return { cells: [
				String(w.pid),
				h('span', null, badge(w.state || '?', kind),
				    w.retiring ? ' ' : null,
				    w.retiring ? badge('retiring', 'muted') : null),
				w.peer ? h('code', { text: w.peer }) : '—',
				w.since ? timeCell(w.since, '(' +
				    fmtDuration(Math.max(0, t - w.since)) + ')') : '—'
			] };
		});
		var poolCard = card('Worker pool', [
		    h('p', { class: 'summary' },
			num(pool.size) + ' workers configured · ' +
			num(pool.sessions_served) + ' sessions served since start · ',
			counts.busy + ' busy, ' + counts.idle + ' idle' +
			(counts.starting ? ', ' + counts.starting + ' starting' : '')),
		    workers.length ? table('Workers', [
			{ label: 'PID', num: true }, { label: 'State' },
			{ label: 'Serving (peer)' }, { label: 'Since' }
		    ], wrows) : h('p', { class: 'muted', text: 'No worker is running.' })
		], 'wide');

		var days = Array.isArray(d.days) ? d.days : [];
		var chartBox = h('div', { class: 'chart', id: 'chart' });
		var chartCard = card('Last ' + days.length + ' days', [
		    h('ul', { class: 'legend' },
			h('li', null, h('span', { class: 'swatch swatch-stored' }),
			    'Stored: unique bytes at the end of the day (left axis)'),
			h('li', null, h('span', { class: 'swatch swatch-traffic' }),
			    'Throughput: bytes in + out that day (right axis)')),
		    chartBox,
		    daysTable(days)
		], 'wide');

		clear(body);
		body.appendChild(healthFirst(d));
		if (d.disk && d.disk.level !== 'ok')
			body.appendChild(h('div', { id: 'disk-alert', role: 'status',
			    class: 'msg msg-' + (d.disk.level === 'critical' ?
			    'error' : 'warn') }, h('span', { class: 'msg-text',
			    text: diskWarning(d.disk) })));
		/* Store.Backend = s3: a standby, or a writer without its lease. */
		if (d.store && d.store.lease !== 'held')
			body.appendChild(h('div', { id: 'store-alert', role: 'status',
			    class: 'msg msg-' + (d.store.lease === 'lost' ?
			    'error' : 'warn') }, h('span', { class: 'msg-text',
			    text: (d.store.lease === 'standby' ? 'Standby: ' :
			    'Not writing: ') + (d.store.lease_detail || d.store.lease) })));
		body.appendChild(cards);
		body.appendChild(chartCard);
		body.appendChild(poolCard);
		state.chartDays = days;
		drawChart(chartBox, days);
		$('dashboard-updated').textContent = 'Updated ' +
		    fmtTime(Math.floor(t)).slice(11) + ' · refreshes every 5 s';
	}

	/*
	 * DataDir's file system (d.disk: free, capacity, reserve, level):
	 * under twice the reserve a warning, under it backups are refused.
	 */
	var DISK_LEVELS = { ok: ['ok', 'ok'], warning: ['low', 'warn'],
	    critical: ['full', 'bad'] };

	function diskCard(k) {
		if (!k)
			return card('Disk', h('p', { class: 'muted',
			    text: 'The free space of DataDir is not known.' }));
		var lv = DISK_LEVELS[k.level] || ['?', 'muted'];
		var used = k.capacity > 0 ?
		    Math.round((k.capacity - k.free) * 100 / k.capacity) + '% used' :
		    '—';
		return card('Disk', dl([
			['Free', h('span', { id: 'disk-free' }, fmtBytes(k.free) + ' ',
			    badge(lv[0], lv[1]))],
			['Capacity', fmtBytes(k.capacity) + ' · ' + used],
			['Reserve', fmtBytes(k.reserve)]
		]));
	}

	function diskWarning(k) {
		if (k.level === 'critical')
			return 'The disk is full: ' + fmtBytes(k.free) +
			    ' free, under the reserve of ' + fmtBytes(k.reserve) +
			    '. Backups are refused until space is freed ' +
			    '(forget snapshots, then prune); restores go on.';
		return 'The disk is nearly full: ' + fmtBytes(k.free) +
		    ' free, less than twice the reserve of ' +
		    fmtBytes(k.reserve) + '. Backups will be refused under ' +
		    'the reserve.';
	}

	function daysTable(days) {
		return h('details', { class: 'days' },
		    h('summary', { text: 'Show the numbers' }),
		    table('Per day', [
			{ label: 'Day' }, { label: 'Sessions', num: true },
			{ label: 'Bytes in', num: true }, { label: 'Bytes out', num: true },
			{ label: 'Unique stored', num: true }
		    ], days.map(function (x) {
			return { cells: [x.day, num(x.sessions), fmtBytes(x.bytes_in),
			    fmtBytes(x.bytes_out), fmtBytes(x.unique_bytes)] };
		    }), true));
	}

	/* a scale from 0 with 4 steps of a round number of a binary unit */
	function scale(max) {
		var u = 0, unit = 1, v, step, p, f, i;
		var nice = [1, 2, 2.5, 5, 10];

		if (!(max > 0))
			max = 1024;
		while (max / unit >= 1024 && u < UNITS.length - 1) {
			unit *= 1024;
			u++;
		}
		v = max / unit / 4;
		p = Math.pow(10, Math.floor(Math.log10(v)));
		f = v / p;
		for (i = 0; i < nice.length; i++)
			if (f <= nice[i] + 1e-9)
				break;
		step = nice[i] * p;
		if (u === 0 && step < 1)
			step = 1;
		return { top: step * 4 * unit, step: step * unit, unit: unit, name: UNITS[u] };
	}

	function tickLabel(v, sc) {
		var x = v / sc.unit;
		var s = Math.abs(x - Math.round(x)) < 1e-9 ? String(Math.round(x)) :
		    (Math.round(x * 100) / 100).toString();
		return v === 0 ? '0' : s + ' ' + sc.name;
	}

	function dayLabel(day) {
		var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day));
		if (!m)
			return String(day);
		var d = new Date(+m[1], +m[2] - 1, +m[3]);
		return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
	}

	function drawChart(box, days) {
		clear(box);
		var W = Math.max(280, Math.floor(box.clientWidth || 600));
		var narrow = W < 520;
		var H = narrow ? 230 : 280;
		var m = { l: narrow ? 56 : 72, r: narrow ? 56 : 72, t: 28, b: 34 };
		var pw = W - m.l - m.r, ph = H - m.t - m.b;
		var n = days.length;

		var root = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H,
		    role: 'img', 'aria-labelledby': 'chart-title', class: 'chart-svg' });
		var title = svg('title', { id: 'chart-title' });
		title.textContent = 'Stored unique bytes and daily throughput over the last ' +
		    n + ' days';
		root.appendChild(title);

		if (n === 0) {
			var t0 = svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle',
			    class: 'chart-empty' });
			t0.textContent = 'No days to show yet';
			root.appendChild(t0);
			box.appendChild(root);
			return;
		}

		var stored = days.map(function (d) { return +d.unique_bytes || 0; });
		var traffic = days.map(function (d) {
			return (+d.bytes_in || 0) + (+d.bytes_out || 0);
		});
		var sl = scale(Math.max.apply(null, stored));
		var sr = scale(Math.max.apply(null, traffic));
		var bw = pw / n;
		function y(v, sc) { return m.t + ph - (v / sc.top) * ph; }
		function xc(i) { return m.l + bw * i + bw / 2; }

		/* grid and the two value axes */
		var i, k, g;
		for (k = 0; k <= 4; k++) {
			var yy = m.t + ph - ph * k / 4;
			root.appendChild(svg('line', { x1: m.l, x2: m.l + pw, y1: yy, y2: yy,
			    class: k === 0 ? 'chart-axis' : 'chart-grid' }));
			g = svg('text', { x: m.l - 6, y: yy + 4, 'text-anchor': 'end',
			    class: 'chart-tick chart-tick-stored' });
			g.textContent = tickLabel(sl.step * k, sl);
			root.appendChild(g);
			g = svg('text', { x: m.l + pw + 6, y: yy + 4, 'text-anchor': 'start',
			    class: 'chart-tick chart-tick-traffic' });
			g.textContent = tickLabel(sr.step * k, sr);
			root.appendChild(g);
		}
		root.appendChild(svg('line', { x1: m.l, x2: m.l, y1: m.t, y2: m.t + ph,
		    class: 'chart-axis chart-axis-stored' }));
		root.appendChild(svg('line', { x1: m.l + pw, x2: m.l + pw, y1: m.t,
		    y2: m.t + ph, class: 'chart-axis chart-axis-traffic' }));
		g = svg('text', { x: 4, y: 14, 'text-anchor': 'start',
		    class: 'chart-axis-title chart-tick-stored' });
		g.textContent = 'Stored';
		root.appendChild(g);
		g = svg('text', { x: W - 4, y: 14, 'text-anchor': 'end',
		    class: 'chart-axis-title chart-tick-traffic' });
		g.textContent = 'In + out / day';
		root.appendChild(g);

		/* throughput: bars, right axis */
		var barW = Math.max(2, Math.min(28, bw * 0.6));
		for (i = 0; i < n; i++) {
			var top = y(traffic[i], sr);
			var r = svg('rect', { x: xc(i) - barW / 2, y: top, width: barW,
			    height: Math.max(0, m.t + ph - top), class: 'chart-bar' });
			var tt = svg('title');
			tt.textContent = days[i].day + ': ' + fmtBytes(+days[i].bytes_in || 0) +
			    ' in, ' + fmtBytes(+days[i].bytes_out || 0) + ' out, ' +
			    num(days[i].sessions) + ' sessions';
			r.appendChild(tt);
			root.appendChild(r);
		}

		/* stored: line with points, left axis */
		var pts = stored.map(function (v, j) {
			return xc(j).toFixed(1) + ',' + y(v, sl).toFixed(1);
		}).join(' ');
		root.appendChild(svg('polyline', { points: pts, class: 'chart-line' }));
		for (i = 0; i < n; i++) {
			var c = svg('circle', { cx: xc(i), cy: y(stored[i], sl),
			    r: narrow ? 3 : 4, class: 'chart-point' });
			var ct = svg('title');
			ct.textContent = days[i].day + ': ' + fmtBytes(stored[i]) +
			    ' stored (unique)';
			c.appendChild(ct);
			root.appendChild(c);
		}

		if (Math.max.apply(null, stored) === 0 &&
		    Math.max.apply(null, traffic) === 0) {
			/* between two grid lines, clear of the axis labels */
			g = svg('text', { x: m.l + pw / 2, y: m.t + ph * 0.375 + 4,
			    'text-anchor': 'middle', class: 'chart-empty' });
			g.textContent = 'Nothing stored and no traffic in these days yet';
			root.appendChild(g);
		}

		/* day labels, as many as fit */
		var every = Math.max(1, Math.ceil(n * 48 / pw));
		for (i = 0; i < n; i++) {
			if ((n - 1 - i) % every !== 0)
				continue;
			g = svg('text', { x: xc(i), y: m.t + ph + 18, 'text-anchor': 'middle',
			    class: 'chart-tick' });
			g.textContent = dayLabel(days[i].day);
			root.appendChild(g);
		}
		box.appendChild(root);
	}

	var resizeTimer = null;
	window.addEventListener('resize', function () {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(function () {
			var box = $('chart');
			if (box && state.chartDays && !$('view-dashboard').hidden)
				drawChart(box, state.chartDays);
		}, 150);
	});

	/* ---------- clients ---------- */

	function clientState(c) {
		if (c.disabled)
			return badge('disabled', 'bad');
		if (c.registered)
			return badge('registered', 'ok');
		return badge('not yet registered', 'warn');
	}

	function clientActions(c, after) {
		var box = h('div', { class: 'row-actions' });
		if (c.disabled)
			box.appendChild(h('button', { type: 'button', text: 'Enable',
			    title: 'Enable client ' + c.name,
			    onclick: function (ev) { setDisabled(c.name, false, ev.target, after); } }));
		else
			box.appendChild(h('button', { type: 'button', text: 'Disable',
			    title: 'Disable client ' + c.name,
			    onclick: function (ev) { setDisabled(c.name, true, ev.target, after); } }));
		box.appendChild(h('button', { type: 'button', class: 'danger-outline',
		    text: 'Remove', title: 'Remove client ' + c.name,
		    onclick: function () { askRemove(c.name); } }));
		return box;
	}

	function loadClients(gen) {
		var body = $('clients-body');
		loading(body);
		api('GET', '/clients').then(function (d) {
			if (gen !== state.gen)
				return;
			renderClients(d.clients || [], d.health);
		}, function (err) {
			if (gen !== state.gen)
				return;
			clear(body).appendChild(h('p', { class: 'muted',
			    text: 'The list of clients could not be loaded.' }));
			failed('Clients', err);
		});
	}

	function renderClients(list, counts) {
		var body = clear($('clients-body'));
		list = list.slice().sort(function (a, b) {
			return String(a.name).localeCompare(String(b.name));
		});
		if (list.length === 0) {
			body.appendChild(h('p', { class: 'muted',
			    text: 'No clients yet: add one below.' }));
			return;
		}
		var refresh = function () { route(); };
		if (counts)
			body.appendChild(healthCounts(counts));
		body.appendChild(table('Clients', [
		    { label: 'Name' }, { label: 'State' }, { label: 'Health' },
		    { label: 'Last success' }, { label: 'Last failure' },
		    { label: 'Next run' },
		    { label: 'Snapshots', num: true }, { label: 'Size', num: true },
		    { label: 'Actions' }
		], list.map(function (c) {
			return { cls: c.disabled ? 'is-disabled' : null, cells: [
				h('a', { href: link('client', c.name), text: c.name }),
				clientState(c),
				healthBadge(c.health || 'never'),
				c.last_success ? timeCell(c.last_success) : 'never',
				failureCell(c.last_failure, c.last_error, true),
				c.next_run ? whenCell(c.next_run) : 'not scheduled',
				num(c.snapshots),
				fmtBytes(c.size),
				clientActions(c, refresh)
			] };
		}), true));
	}

	function setDisabled(name, disable, btn, after) {
		if (btn)
			btn.disabled = true;
		api('POST', '/clients/' + encodeURIComponent(name) +
		    (disable ? '/disable' : '/enable'), {}).then(function () {
			showInfo('Client ' + name + (disable ? ' disabled.' : ' enabled.'));
			after();
		}, function (err) {
			if (btn)
				btn.disabled = false;
			failed((disable ? 'Disable ' : 'Enable ') + name, err);
		});
	}

	function hideEnroll() {
		$('enroll').hidden = true;
		$('token').value = '';
		$('enroll-command').value = '';
		$('copy-status').textContent = '';
	}

	function onAddClient(ev) {
		ev.preventDefault();
		var input = $('client-name');
		var name = input.value.trim();
		var btn = $('add-client');

		if (name === '') {
			showError('Add client: enter a name (1 to 64 of A-Z a-z 0-9 . _ -, not only dots).');
			input.focus();
			return;
		}
		btn.disabled = true;
		api('POST', '/clients', { name: name }).then(function (r) {
			input.value = '';
			showEnroll(r.name || name, r.token);
			showInfo('Client ' + (r.name || name) + ' added.');
			var gen = state.gen;
			loadClients(gen);
		}, function (err) {
			failed('Add client ' + name, err);
		}).then(function () { btn.disabled = false; });
	}

	function registerHost() {
		var host = location.hostname || 'SERVER';
		if (state.peer) {
			var p = state.peerInfo && state.peerInfo[state.peer.id];
			host = p && p.addresses && p.addresses.length ?
			    p.addresses[0] : (state.peerNames[state.peer.id] || 'SERVER');
		}
		if (host.indexOf(':') !== -1 && host.charAt(0) !== '[')
			host = '[' + host + ']';
		return host;
	}

	/* ":PORT" when the server's session port is not the client's default */
	function registerPort(hello, tls) {
		var ports = hello && hello.ports;
		if (!ports)
			return '';
		if (tls && ports.ssl && ports.ssl !== 32007)
			return ':' + ports.ssl;
		if (!tls && ports.backup && ports.backup !== 32004)
			return ':' + ports.backup;
		return '';
	}

	function showEnroll(name, token) {
		var hello = state.peer ? state.peerHello[state.peer.id] : state.server;
		var tls = hello && hello.tls;
		$('enroll-name').textContent = name;
		$('token').value = token || '';
		$('enroll-command').value = 'gigavault register ' + (tls ? '--ssl ' : '') +
		    '-s ' + registerHost() + registerPort(hello, tls) + ' --token ' +
		    (token || 'TOKEN');
		$('enroll-hint').textContent = 'Run it on the client machine after ' +
		    '"gigavault init"; if the client reaches this server by another ' +
		    'name or address, or on another port, change the -s argument ' +
		    '(HOST or HOST:PORT). The client name comes with the token.' +
		    (tls ? ' With --ssl, compare the fingerprint it prints with ' +
		    '"gigavaultctl tls show".' : '');
		$('copy-status').textContent = '';
		$('enroll').hidden = false;
		$('token').focus();
		$('token').select();
	}

	function copyField(id, what) {
		var input = $(id);
		var status = $('copy-status');
		var fallback = function () {
			input.focus();
			input.select();
			var ok = false;
			try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
			status.textContent = ok ? what + ' copied.' :
			    what + ' selected: press Ctrl+C (or ⌘C) to copy it.';
		};
		if (navigator.clipboard && window.isSecureContext) {
			navigator.clipboard.writeText(input.value).then(function () {
				status.textContent = what + ' copied to the clipboard.';
			}, fallback);
		} else
			fallback();
	}

	/* ---------- removing a client ---------- */

	function askRemove(name) {
		var dlg = $('remove-dialog');
		state.removeName = name;
		$('remove-name').textContent = name;
		$('remove-confirm').value = '';
		$('remove-submit').disabled = true;
		if (typeof dlg.showModal === 'function')
			dlg.showModal();
		else
			dlg.setAttribute('open', '');
		$('remove-confirm').focus();
	}

	function closeRemove() {
		var dlg = $('remove-dialog');
		if (typeof dlg.close === 'function' && dlg.open)
			dlg.close();
		else
			dlg.removeAttribute('open');
		state.removeName = null;
	}

	function onRemove(ev) {
		ev.preventDefault();
		var name = state.removeName;
		if (!name || $('remove-confirm').value !== name)
			return;
		$('remove-submit').disabled = true;
		api('DELETE', '/clients/' + encodeURIComponent(name), { confirm: name }).then(function () {
			closeRemove();
			showInfo('Client ' + name + ' removed.');
			if (state.view === 'client')
				go('clients');
			else
				route();
		}, function (err) {
			closeRemove();
			failed('Remove ' + name, err);
		});
	}

	/* ---------- one client ---------- */

	var HISTORY_PAGE = 20;

	/*
	 * The client, its jobs' health and requests, and the first page of
	 * its job reports.  Followed every 5 s while a request is not yet
	 * reported or a job runs.
	 */
	function loadClient(gen, name, again) {
		var body = $('client-body');
		var q = '/clients/' + encodeURIComponent(name);
		if (!again) {
			clear(body);
			$('client-title').textContent = 'Client ' + name;
			clear($('client-state'));
			$('client-back').setAttribute('href', link('clients'));
			$('client-history').setAttribute('href', link('history', 'client=' + name));
			loading(body);
		}
		Promise.all([api('GET', q),
		    api('GET', q + '/history?limit=' + HISTORY_PAGE)])
		    .then(function (r) {
			if (gen !== state.gen)
				return;
			var d = r[0], hist = r[1];
			renderClient(d.client || { name: name }, d.snapshots || [],
			    d.jobs || [], d.requests || [], hist);
			var busy = (d.requests || []).length > 0 ||
			    (d.jobs || []).some(function (j) { return j.running; }) ||
			    Object.keys(state.asked).some(function (id) {
				    return state.asked[id].client === name &&
					!state.asked[id].reported;
			    });
			if (busy)
				schedule(gen, function (g) { loadClient(g, name, true); });
		}, function (err) {
			if (gen !== state.gen)
				return;
			if (!again)
				clear(body).appendChild(h('p', { class: 'muted',
				    text: 'This client could not be loaded.' }));
			failed('Client ' + name, err);
			if (again && err.status !== 401)
				schedule(gen, function (g) { loadClient(g, name, true); });
		});
	}

	/* "Back up now" for one set ("" : every job of the agent) */
	function backupNow(name, set, btn) {
		var what = set ? 'set ' + set : 'every job';
		btn.disabled = true;
		api('POST', '/clients/' + encodeURIComponent(name) + '/backup',
		    { set: set }).then(function (r) {
			var ids = (Array.isArray(r.requests) ? r.requests : [])
			    .map(function (q) {
				state.asked[q.id] = { client: name, set: q.set };
				return q.id;
			    });
			showInfo('Backup of ' + what + ' of ' + name +
			    ' requested (request' + (ids.length === 1 ? ' ' : 's ') +
			    ids.join(', ') + '): queued until its agent asks the ' +
			    'server for work.');
			route();
		}, function (err) {
			btn.disabled = false;
			failed('Back up now (' + name + ', ' + what + ')', err);
		});
	}

	/* why: when set, the button is disabled and says why in its title */
	function backupButton(name, set, why) {
		var label = set ? 'Back up now: set ' + set : 'Back up now: every job';
		var btn = h('button', { type: 'button', class: 'primary backup-now',
		    text: 'Back up now', 'aria-label': label,
		    title: why ? label + ' (' + why + ')' : label,
		    'data-set': set, disabled: why ? true : null,
		    onclick: function () { backupNow(name, set, btn); } });
		return btn;
	}

	/* the state of a request: queued, then taken by the agent */
	function requestState(q) {
		if (q.state === 'taken')
			return h('span', { class: 'request-state', 'data-request': q.id },
			    badge('taken by the agent', 'busy'), ' ',
			    h('span', { class: 'small muted', text: fmtTime(q.taken) }));
		return h('span', { class: 'request-state', 'data-request': q.id },
		    badge('queued', 'warn'), ' ',
		    h('span', { class: 'small muted', text: 'since ' + fmtTime(q.queued) }));
	}

	function renderClient(c, snaps, jobs, reqs, hist) {
		var body = clear($('client-body'));
		var name = c.name;
		$('client-title').textContent = 'Client ' + c.name;
		document.title = 'Client ' + c.name + ' — GigaVault';
		clear($('client-state')).appendChild(clientState(c));
		if (c.health)
			$('client-state').appendChild(healthBadge(c.health));

		var agent = c.agent;
		body.appendChild(h('div', { class: 'grid' },
		    card('Health', dl([
			['Health', healthBadge(c.health || 'never')],
			['Last success', c.last_success ? fmtTime(c.last_success) : 'never'],
			['Last failure', failureCell(c.last_failure, c.last_error, false)],
			['Next run', c.next_run ? whenCell(c.next_run) : 'not scheduled'],
			['Agent', agent ? h('span', null, agent.name || '—',
			    h('span', { class: 'small muted', text: ' · last asked for work ' +
			    fmtTime(agent.seen) })) : 'no agent has asked for work yet']
		    ]), 'health-card'),
		    card('Usage', dl([
			['Snapshots', num(c.snapshots)],
			['Size of the snapshots', fmtBytes(c.size)],
			['Unique (after dedup)', fmtBytes(c.unique_bytes)],
			['Last backup', c.last_backup ? fmtTime(c.last_backup) : 'never']
		    ])),
		    card('Client', [dl([
			['Id', c.id !== undefined && c.id !== null ?
			    h('code', { class: 'id', text: String(c.id) }) : '—'],
			['Created', fmtTime(c.created)],
			['Registered', c.registered ? 'yes' :
			    'not yet (the token has not been used)'],
			['Backups', c.disabled ? 'refused (disabled)' : 'allowed']
		    ]), clientActions(c, function () { route(); })])));

		/* jobs: one row per set, with "Back up now" and its request */
		var pending = {};
		reqs.forEach(function (q) {
			(pending[q.set] = pending[q.set] || []).push(q);
		});
		var jobRows = jobs.map(function (j) {
			var qs = pending[j.set] || [];
			/* a set its agent dropped: its own health, not the client's */
			var nojob = c.agent && !j.job;
			delete pending[j.set];
			return { cells: [
				j.set,
				nojob ? h('span', { title: 'Its agent has no job for ' +
				    'this set any more: it does not count in the ' +
				    'client\'s health' }, healthBadge(j.health), ' ',
				    badge('no job', 'muted')) : healthBadge(j.health),
				j.last_success ? timeCell(j.last_success) : 'never',
				failureCell(j.last_failure, j.last_error, true),
				j.running ? badge('running', 'busy') :
				    whenCell(j.next_run),
				qs.length ? h('span', null, qs.map(requestState)) : '—',
				backupButton(name, j.set, c.disabled ? 'the client is disabled' :
				    c.agent && !j.job ? 'its agent has no job for this set' : null)
			] };
		});
		/* requests for a set without a row (no job or report yet) */
		Object.keys(pending).forEach(function (set) {
			jobRows.push({ cells: [set || '(every job)', '—', '—', '—', '—',
			    h('span', null, pending[set].map(requestState)), '—'] });
		});
		body.appendChild(card('Jobs', [
		    jobRows.length ? table('Jobs of ' + name, [
			{ label: 'Set' }, { label: 'Health' }, { label: 'Last success' },
			{ label: 'Last failure' }, { label: 'Next run' },
			{ label: 'Back up now' }, { label: 'Action' }
		    ], jobRows, true, true) : h('p', { class: 'muted', text: 'No job known ' +
			'yet: the agent describes its jobs when it asks for work, ' +
			'and each run reports to this server.' }),
		    jobs.some(function (j) { return j.job; }) ?
			h('div', { class: 'actions' }, backupButton(name, '',
			    c.disabled ? 'the client is disabled' : null),
			h('span', { class: 'hint', text: ' every job of the agent' })) : null
		], 'wide jobs-card'));

		body.appendChild(historyCard(name, hist));

		body.appendChild(snapshotsCard(c, snaps));
		body.appendChild(browsePanel(name, snaps.slice().sort(function (a, b) {
			return (b.time || 0) - (a.time || 0);
		}), c));
		body.appendChild(retentionCard(c));
		body.appendChild(actionsCard(c));
	}

	function historyRows(list) {
		return list.map(function (r) {
			if (r.request && state.asked[r.request])
				state.asked[r.request].reported = true;
			var took = r.end && r.start && r.end >= r.start ?
			    fmtDuration(r.end - r.start) : '—';
			return { cls: 'result-' + r.result, cells: [
				timeCell(r.end || r.received),
				r.set || '—',
				resultBadge(r.result),
				took,
				num(r.files),
				fmtBytes(r.read_bytes),
				fmtBytes(r.sent_bytes),
				num(r.problems),
				r.snapshot ? h('code', { text: String(r.snapshot) }) : '—',
				h('span', null, r.request ? badge('back up now #' + r.request,
				    'self') : null, r.request && r.error ? ' ' : null,
				    r.error ? h('span', { class: 'error-text', text: r.error }) :
				    (r.request ? null : '—'))
			] };
		});
	}

	var HISTORY_COLUMNS = [
		{ label: 'Ended' }, { label: 'Set' }, { label: 'Result' },
		{ label: 'Took' }, { label: 'Files', num: true },
		{ label: 'Read', num: true }, { label: 'Sent', num: true },
		{ label: 'Problems', num: true }, { label: 'Snapshot' },
		{ label: 'Message' }
	];

	/* the reports, newest first; "Older reports" fetches the next page */
	function historyCard(name, hist) {
		var list = hist && Array.isArray(hist.jobs) ? hist.jobs : [];
		var box = h('div', { id: 'history' });
		var more;
		var shown = list.slice();

		function draw() {
			clear(box);
			if (!shown.length) {
				box.appendChild(h('p', { class: 'muted', text: 'No job ' +
				    'report yet: the agent reports each run, success ' +
				    'or failure.' }));
				return;
			}
			box.appendChild(table('Job reports of ' + name,
			    HISTORY_COLUMNS, historyRows(shown), true, true));
		}
		draw();
		var kept = hist && hist.kept ? ' (the newest ' + num(hist.kept) +
		    ' are kept)' : '';
		var foot = h('div', { class: 'actions' });
		if (hist && hist.more) {
			more = h('button', { type: 'button', text: 'Older reports',
			    onclick: function () {
				var last = shown[shown.length - 1];
				more.disabled = true;
				api('GET', '/clients/' + encodeURIComponent(name) +
				    '/history?limit=' + HISTORY_PAGE + '&before=' +
				    last.seq).then(function (d) {
					shown = shown.concat(d.jobs || []);
					draw();
					more.disabled = false;
					if (!d.more)
						more.hidden = true;
				}, function (err) {
					more.disabled = false;
					failed('History of ' + name, err);
				});
			} });
			foot.appendChild(more);
		}
		return card('History' + kept, [box, foot], 'wide history-card');
	}

	/* ---------- peers ---------- */

	function foundBy(p) {
		switch (p.source) {
		case 'self': return 'itself';
		case 'multicast': return 'multicast';
		case 'scan': return 'UDP scan';
		case 'static': return 'static (Discovery.Peers)';
		case 'tcp':
			return 'tcp via ' + (p.via_name || shortId(p.via) || '?') +
			    ', ' + p.hops + (p.hops === 1 ? ' hop' : ' hops');
		default:
			return String(p.source || '—') +
			    (p.hops ? ', ' + p.hops + ' hops' : '');
		}
	}

	function loadPeers(gen) {
		var body = $('peers-body');
		loading(body);
		api('GET', '/peers').then(function (d) {
			if (gen !== state.gen)
				return;
			renderPeers(d);
		}, function (err) {
			if (gen !== state.gen)
				return;
			clear(body).appendChild(h('p', { class: 'muted',
			    text: 'The list of peers could not be loaded.' }));
			failed('Peers', err);
		});
	}

	function openPeer(p) {
		state.peerNames[p.id] = p.name;
		location.hash = '#/peer/' + encodeURIComponent(p.id) + '/dashboard';
	}

	function renderPeers(d) {
		var body = clear($('peers-body'));
		var self = d.self || null;
		var peers = Array.isArray(d.peers) ? d.peers.slice() : [];
		var localId = state.server && state.server.server_id;

		state.peerInfo = state.peerInfo || {};
		peers.sort(function (a, b) {
			return String(a.name).localeCompare(String(b.name));
		});
		peers.forEach(function (p) {
			if (p.id && p.name)
				state.peerNames[p.id] = p.name;
			if (!state.peer && p.id)
				state.peerInfo[p.id] = p;
		});
		/* agents (the client role alone) get a list of their own */
		var isAgent = function (p) {
			var r = Array.isArray(p.roles) ? p.roles : [];
			return r.indexOf('client') !== -1 && r.indexOf('server') === -1;
		};
		var agents = peers.filter(isAgent);
		peers = peers.filter(function (p) { return !isAgent(p); });
		var rows = [];
		if (self)
			rows.push(self);
		rows = rows.concat(peers.filter(function (p) {
			return !self || p.id !== self.id;
		}));

		body.appendChild(card(null, rows.length ? table('Peers', [
		    { label: 'Name' }, { label: 'Id' }, { label: 'Addresses' },
		    { label: 'Found by' }, { label: 'Last seen', num: true },
		    { label: 'Console' }
		], rows.map(function (p) {
			var isSelf = p === self;
			var mark = isSelf ? badge(state.peer ? 'viewed peer' :
			    'this server', 'self') : null;
			var action;
			if (isSelf)
				action = '—';
			else if (state.peer && p.id === localId)
				action = h('button', { type: 'button', text: 'Open console',
				    title: 'Back to the console of this server',
				    onclick: function () { location.hash = '#/dashboard'; } });
			else
				action = h('button', { type: 'button', text: 'Open console',
				    title: 'Open the console of ' + p.name + ' through this server',
				    onclick: function () { openPeer(p); } });
			return { cls: isSelf ? 'is-self' : null, cells: [
				h('span', null, p.name || '—', mark ? ' ' : null, mark),
				h('code', { class: 'id', title: p.id || '', text: shortId(p.id) }),
				p.addresses && p.addresses.length ? p.addresses.join(', ') :
				    (isSelf ? '(the address you reached)' : '—'),
				isSelf ? '—' : foundBy(p),
				isSelf ? 'now' : (typeof p.age === 'number' ? p.age + ' s ago' : '—'),
				action
			] };
		}), true) : h('p', { class: 'muted', text: 'No peers known.' })));

		if (!peers.length || (self && peers.length === 1 && peers[0].id === self.id))
			body.appendChild(h('p', { class: 'muted', text: 'No other server ' +
			    'found yet: discovery finds peers by multicast in this ' +
			    'subnet, by UDP scan, and by the lists of Discovery.Peers.' }));

		body.appendChild(agentsCard(agents));

		if (d.counters && typeof d.counters === 'object') {
			var keys = Object.keys(d.counters);
			body.appendChild(h('details', { class: 'card counters' },
			    h('summary', { text: 'Discovery counters' }),
			    dl(keys.map(function (k) {
				    return [humanKey(k), num(d.counters[k])];
			    }))));
		}
	}

	/*
	 * The machines that run an agent (discovery's peers with the client
	 * role): "enrolled as" the client whose agent polled under that
	 * name; "same name as client" when only the names match (anyone on
	 * the network may announce any name); else "not enrolled" with a
	 * button that adds a client of that name and shows its token and
	 * the command to run on the machine.
	 */
	function agentsCard(agents) {
		var rows = agents.map(function (p) {
			var enrolled = typeof p.client === 'string' && p.client !== '';
			var same = !enrolled && typeof p.same_name === 'string' &&
			    p.same_name !== '' ? p.same_name : null;
			var to = enrolled ? p.client : same;
			return { cls: enrolled || same ? null : 'not-enrolled', cells: [
				p.name || '—',
				p.addresses && p.addresses.length ? p.addresses.join(', ') : '—',
				typeof p.age === 'number' ? p.age + ' s ago' : '—',
				enrolled ? h('span', null, badge('enrolled', 'ok'), ' as ',
				    h('a', { href: link('client', p.client), text: p.client })) :
				    same ? h('span', { title: 'No agent of this client has ' +
				    'polled under this name: it may be another machine' },
				    badge('same name', 'warn'), ' as client ',
				    h('a', { href: link('client', same), text: same })) :
				    badge('not enrolled', 'warn'),
				to ? h('a', { href: link('client', to),
				    text: 'Client page' }) :
				    h('button', { type: 'button', class: 'primary', text: 'Enroll',
				    'aria-label': 'Enroll ' + p.name, title: 'Add client ' +
				    p.name + ' and show the command that registers it',
				    onclick: function (ev) { enrollAgent(p.name, ev.target); } })
			] };
		});
		return card('Agents on this network (' + agents.length + ')', [
		    rows.length ? table('Machines that run an agent', [
			{ label: 'Machine' }, { label: 'Addresses' },
			{ label: 'Last seen', num: true }, { label: 'Client' },
			{ label: 'Action' }
		    ], rows, true) : h('p', { class: 'muted', text: 'No agent ' +
			'found: an agent announces itself by multicast in this ' +
			'subnet (gigavault-agent(8)).' }),
		    h('p', { class: 'hint', text: 'An agent is enrolled as the ' +
			'client whose agent last asked for work under its name; ' +
			'a client of the same name alone proves nothing (anyone ' +
			'on the network can announce any name). Enroll adds a ' +
			'client of that name: run the command it shows on that ' +
			'machine.' })
		], 'agents-card');
	}

	function enrollAgent(name, btn) {
		btn.disabled = true;
		api('POST', '/clients', { name: name }).then(function (r) {
			state.enrollNext = { name: r.name || name, token: r.token };
			showInfo('Client ' + (r.name || name) + ' added.');
			go('clients');
		}, function (err) {
			btn.disabled = false;
			failed('Enroll ' + name, err);
		});
	}

	/* ---------- housekeeping ---------- */

	var RULES = ['KeepLast', 'KeepHourly', 'KeepDaily', 'KeepWeekly',
	    'KeepMonthly', 'KeepYearly'];

	function loadHousekeeping(gen, again) {
		if (state.busy)
			return;
		state.busy = true;
		loading($('housekeeping-body'));
		api('GET', '/housekeeping').then(function (d) {
			state.busy = false;
			if (gen !== state.gen)
				return;
			renderHousekeeping(d);
			/* follow a running task until it ends */
			if ((d.prune && d.prune.running) || (d.scrub && d.scrub.running))
				schedule(gen, loadHousekeeping);
		}, function (err) {
			state.busy = false;
			if (gen !== state.gen)
				return;
			failed('Housekeeping', err);
		});
	}

	function ruleKeys(obj) {
		var keys = RULES.filter(function (k) { return k in obj; });
		Object.keys(obj).forEach(function (k) {
			if (keys.indexOf(k) === -1 && k !== 'policies' && k !== 'client' &&
			    k !== 'set')
				keys.push(k);
		});
		return keys;
	}

	function ruleValue(v) {
		if (v === 0)
			return '0 (off)';
		if (typeof v === 'number')
			return num(v);
		if (v === null || v === undefined)
			return '—';
		return typeof v === 'object' ? JSON.stringify(v) : String(v);
	}

	function renderHousekeeping(d) {
		var body = clear($('housekeeping-body'));
		var ret = d.retention || {};
		var keys = ruleKeys(ret);
		var allOff = keys.every(function (k) { return !ret[k]; });

		var retCard = card('Retention (server default)', [
		    dl(keys.map(function (k) { return [k, ruleValue(ret[k])]; })),
		    h('p', { class: 'hint', text: allOff ?
			'Every rule is 0: all snapshots are kept.' :
			'A snapshot kept by any rule stays; the newest snapshot of each set is always kept.' })
		]);

		var pols = Array.isArray(ret.policies) ? ret.policies : [];
		var pkeys = [];
		pols.forEach(function (p) {
			ruleKeys(p).forEach(function (k) {
				if (pkeys.indexOf(k) === -1)
					pkeys.push(k);
			});
		});
		var polCard = card('Per-client policies', pols.length ?
		    table('Per-client retention policies', [{ label: 'Client' },
			{ label: 'Set' }].concat(pkeys.map(function (k) {
			    return { label: k, num: true };
		    })), pols.map(function (p) {
			return { cells: [String(p.client || '—'),
			    p.set ? String(p.set) : 'all sets'].concat(pkeys.map(function (k) {
				return k in p ? ruleValue(p[k]) : '—';
			    })) };
		    }), true) :
		    h('p', { class: 'muted', text: 'No client has a policy of its own ' +
			'(gigavaultctl policy set): all follow the default.' }));

		body.appendChild(h('div', { class: 'grid' },
		    taskCard('Prune', 'prune', d.prune), taskCard('Scrub', 'scrub', d.scrub),
		    retCard));
		body.appendChild(polCard);
	}

	function taskCard(title, what, t) {
		t = t || {};
		var last = t.last;
		var rows = [
			['Status', t.running ? h('span', null, badge('running', 'busy'),
			    t.started ? ' since ' + fmtTime(t.started) : null) :
			    badge('idle', 'muted')],
			['Interval', t.interval ? 'every ' + fmtDuration(t.interval) :
			    'not scheduled'],
			['Next run', t.next ? fmtTime(t.next) : (t.running ? 'running now' :
			    'not scheduled')]
		];
		Object.keys(t).forEach(function (k) {
			var v = t[k];
			if (['running', 'started', 'next', 'last', 'interval'].indexOf(k) !== -1)
				return;
			if (/seconds$/.test(k) && typeof v === 'number')
				v = fmtDuration(v);
			else if (k === 'rate_limit' && typeof v === 'number')
				v = v ? fmtBytes(v) + '/s' : 'no limit';
			else if (typeof v === 'number')
				v = num(v);
			else if (v === null || v === undefined)
				v = '—';
			else if (typeof v === 'object')
				v = JSON.stringify(v);
			rows.push([humanKey(k).replace(/^./, function (c) {
				return c.toUpperCase(); }), String(v)]);
		});
		var lastBox;
		if (last) {
			var kind = last.result === 'ok' ? 'ok' :
			    last.result === 'error' ? 'bad' : 'warn';
			var counters = Object.keys(last).filter(function (k) {
				return ['started', 'ended', 'result', 'message'].indexOf(k) === -1;
			});
			lastBox = h('div', { class: 'last-run' },
			    h('h3', { text: 'Last run' }),
			    dl([
				['Result', badge(last.result || '?', kind)],
				['Started', fmtTime(last.started)],
				['Ended', last.ended ? fmtTime(last.ended) +
				    (last.started ? ' (took ' +
				    fmtDuration(last.ended - last.started) + ')' : '') : '—'],
				last.message ? ['Message', String(last.message)] : null
			    ].concat(counters.map(function (k) {
				var v = last[k];
				return [humanKey(k), /bytes/.test(k) && typeof v === 'number' ?
				    fmtBytes(v) : typeof v === 'number' ? num(v) :
				    v === null ? '—' : typeof v === 'object' ?
				    JSON.stringify(v) : String(v)];
			    }))));
		} else
			lastBox = h('p', { class: 'muted', text: 'It has not run since the ' +
			    'daemon started.' });

		var btn = h('button', { type: 'button', class: 'primary',
		    text: 'Start ' + what, onclick: function () { startTask(what, btn); } });
		return card(title, [dl(rows), lastBox, h('div', { class: 'actions' }, btn)]);
	}

	function startTask(what, btn) {
		var name = what.charAt(0).toUpperCase() + what.slice(1);
		btn.disabled = true;
		api('POST', '/housekeeping/' + what, {}).then(function () {
			showInfo(name + ' started.');
			route();
		}, function (err) {
			btn.disabled = false;
			if (err.status === 409) {
				message(name + ' is already running' +
				    (err.message && !/already running/i.test(err.message) ?
				    ' (' + err.message + ')' : '') + '.', 'warn', false);
				route();
			} else
				failed('Start ' + what, err);
		});
	}

	/* ---------- log ---------- */

	function loadLog(gen) {
		var pre = $('log-lines');
		var btn = $('log-refresh');
		btn.disabled = true;
		if (!pre.firstChild)
			pre.textContent = 'Loading…';
		var level = $('log-level').value || 'debug';
		api('GET', '/log?level=' + encodeURIComponent(level)).then(function (d) {
			btn.disabled = false;
			if (gen !== state.gen)
				return;
			var lines = Array.isArray(d.lines) ? d.lines : [];
			var src = $('log-source');
			var kept = 'The last ' + lines.length + ' lines the daemon logged' +
			    (level !== 'debug' ? ' at ' + level + ' or worse' : '') +
			    (d.keep ? ' (it keeps ' + d.keep + ' in memory since its UI bridge started' +
			    (d.keep_severe ? ', and the last ' + d.keep_severe + ' warnings and errors besides' : '') +
			    ')' : '') +
			    ', newest at the bottom. ' +
			    (d.dropped > 0 ? d.dropped + ' lines were dropped on the way to it (its queue was full). ' : '');
			clear(src);
			if (d.file)
				append(src, [kept + 'The whole log is in ',
				    h('code', { text: String(d.file) }), '.']);
			else
				append(src, kept + 'The whole log goes to syslog: read it ' +
				    'with journalctl or in the syslog files.');
			pre.textContent = lines.length ? lines.join('\n') : '(no lines)';
			pre.scrollTop = pre.scrollHeight;
		}, function (err) {
			btn.disabled = false;
			if (gen !== state.gen)
				return;
			pre.textContent = '';
			failed('Log', err);
		});
	}

	/* ---------- actions: retention, snapshots, token, client forget ---------- */

	TITLES.snapshot = 'Snapshot';
	VIEWS.push('view-snapshot');

	var RULES = [
		['keep_last', 'Last'], ['keep_hourly', 'Hourly'],
		['keep_daily', 'Daily'], ['keep_weekly', 'Weekly'],
		['keep_monthly', 'Monthly'], ['keep_yearly', 'Yearly']
	];
	var FROM_TEXT = {
		server: 'the server\'s default (gigavault.conf, Retention)',
		client: 'the client\'s default',
		set: 'this set\'s own policy'
	};

	function clientPath(name) {
		return '/clients/' + encodeURIComponent(name);
	}

	function snapshotLink(name, id) {
		return link('snapshot', name) + '/' + encodeURIComponent(String(id));
	}

	/*
	 * A dialog that names what will happen: fn runs on "confirm" and
	 * returns a promise (the dialog closes when it settles).
	 */
	function askConfirm(title, text, label, fn) {
		var dlg = $('confirm-dialog');
		if (!state.confirmWired) {
			state.confirmWired = true;
			$('confirm-form').addEventListener('submit', onConfirm);
			$('confirm-cancel').addEventListener('click', closeConfirm);
			dlg.addEventListener('cancel', function () {
				state.confirmFn = null;
			});
		}
		$('confirm-title').textContent = title;
		$('confirm-text').textContent = text;
		$('confirm-submit').textContent = label;
		$('confirm-submit').disabled = false;
		state.confirmFn = fn;
		if (typeof dlg.showModal === 'function')
			dlg.showModal();
		else
			dlg.setAttribute('open', '');
		$('confirm-cancel').focus();
	}

	function closeConfirm() {
		var dlg = $('confirm-dialog');
		if (typeof dlg.close === 'function' && dlg.open)
			dlg.close();
		else
			dlg.removeAttribute('open');
		state.confirmFn = null;
	}

	function onConfirm(ev) {
		ev.preventDefault();
		var fn = state.confirmFn;
		if (!fn)
			return;
		$('confirm-submit').disabled = true;
		fn().then(closeConfirm, closeConfirm);
	}

	/* POST an action; say so and reload the view, or report the failure */
	function act(what, path, body, done) {
		return api('POST', path, body || {}).then(function (r) {
			if (done)
				done(r);
			else {
				showInfo(what + ': done.');
				route();
			}
		}, function (err) {
			failed(what, err);
		});
	}

	function protectButton(name, s, after) {
		var on = !s.protected;
		var what = (on ? 'Protect' : 'Unprotect') + ' snapshot ' + s.id;
		var run = function () {
			return act(what, clientPath(name) + '/snapshot/' +
			    (on ? 'protect' : 'unprotect'), { snapshot: s.id },
			    function () {
				showInfo('Snapshot ' + s.id + ' of ' + name +
				    (on ? ' is protected: prune and every forget leave it alone.' :
				    ' is no longer protected: the retention policy decides again.'));
				after();
			    });
		};
		return h('button', { type: 'button', class: 'snap-protect',
		    'data-snapshot': s.id, text: on ? 'Protect' : 'Unprotect',
		    title: what, onclick: function () {
			if (on)
				run();
			else
				askConfirm('Unprotect snapshot ' + s.id + ' of ' + name,
				    'The retention policy of set ' + (s.set || '(none)') +
				    ' decides about it again: the next prune forgets it ' +
				    'if the policy does not keep it, and the client may ' +
				    'forget it.', 'Unprotect', run);
		    } });
	}

	function forgetButton(name, s, after) {
		return h('button', { type: 'button', class: 'danger-outline snap-forget',
		    'data-snapshot': s.id, text: 'Forget',
		    title: s.protected ? 'Snapshot ' + s.id + ' is protected: ' +
			'unprotect it first' : 'Forget snapshot ' + s.id,
		    disabled: s.protected ? true : null,
		    onclick: function () {
			askConfirm('Forget snapshot ' + s.id + ' of ' + name,
			    'This removes snapshot ' + s.id + ' (set ' + (s.set || '—') +
			    ', ' + fmtTime(s.time) + ') from the catalog. It cannot ' +
			    'be undone: its data can no longer be restored, and the ' +
			    'next prune frees the space no other snapshot uses. The ' +
			    'server refuses it when its retention policy keeps the ' +
			    'snapshot and the client may not forget freely.',
			    'Forget snapshot', function () {
				return act('Forget snapshot ' + s.id + ' of ' + name,
				    clientPath(name) + '/snapshot/forget',
				    { snapshot: s.id, confirm: true }, function () {
					showInfo('Snapshot ' + s.id + ' of ' + name +
					    ' forgotten; prune frees its space.');
					after();
				    });
			    });
		    } });
	}

	/* the client page's snapshots: links, flags, actions */
	function snapshotsCard(c, snaps) {
		var name = c.name;
		var again = function () { route(); };
		snaps = snaps.slice().sort(function (a, b) {
			return (b.time || 0) - (a.time || 0) || (b.id || 0) - (a.id || 0);
		});
		return card('Snapshots (' + snaps.length + ')', snaps.length ?
		    table('Snapshots of ' + name, [
			{ label: 'Id' }, { label: 'Set' }, { label: 'Time' },
			{ label: 'Files', num: true }, { label: 'Size', num: true },
			{ label: 'New bytes', num: true }, { label: 'Protected' },
			{ label: 'Actions' }
		    ], snaps.map(function (s) {
			return { cls: s.protected ? 'snap-protected' : null, cells: [
				h('a', { href: snapshotLink(name, s.id),
				    class: 'snap-link', 'data-snapshot': s.id,
				    title: 'Snapshot ' + s.id + ': details and actions' },
				    h('code', { text: String(s.id) })),
				s.set || '—', timeCell(s.time), num(s.files),
				fmtBytes(s.size), fmtBytes(s.new_bytes),
				s.protected ? badge('protected', 'ok') : '—',
				h('span', { class: 'row-actions' },
				    protectButton(name, s, again),
				    forgetButton(name, s, again))
			] };
		    }), true, true) :
		    h('p', { class: 'muted', text: 'No snapshots yet.' }), 'wide snapshots-card');
	}

	function rulesText(p) {
		var parts = RULES.filter(function (r) { return p[r[0]] > 0; })
		    .map(function (r) { return r[1].toLowerCase() + ' ' + p[r[0]]; });
		return parts.length ? 'keep ' + parts.join(', ') :
		    'every rule 0: keeps everything';
	}

	/* the retention editor: one form for a set ("" the client's default) */
	function policyForm(name, d, after) {
		var sets = (d.sets || []).map(function (s) { return s.set; });
		var sel = h('select', { id: 'policy-set' }, sets.map(function (s) {
			return h('option', { value: s, text: s === '' ?
			    '(client default: every set without its own)' : 'set ' + s });
		}));
		var other = h('input', { id: 'policy-new-set', type: 'text',
		    placeholder: 'or another set name', autocomplete: 'off',
		    autocapitalize: 'none', spellcheck: 'false' });
		var inputs = {};
		var fill = function () {
			var row = (d.sets || []).filter(function (s) {
				return s.set === sel.value;
			})[0];
			RULES.forEach(function (r) {
				inputs[r[0]].value = row && row.policy ? row.policy[r[0]] : 0;
			});
		};
		var fields = RULES.map(function (r) {
			inputs[r[0]] = h('input', { id: 'policy-' + r[0], type: 'number',
			    min: 0, max: d.keep_max || 1000000, step: 1, value: 0,
			    inputmode: 'numeric' });
			return h('div', { class: 'field rule-field' },
			    h('label', { htmlFor: 'policy-' + r[0], text: 'Keep ' +
				r[1].toLowerCase() }), inputs[r[0]]);
		});
		sel.addEventListener('change', fill);
		var target = function () {
			var o = other.value.trim();
			return o !== '' ? o : sel.value;
		};
		var save = h('button', { type: 'submit', class: 'primary',
		    id: 'policy-save', text: 'Save policy' });
		var clearBtn = h('button', { type: 'button', id: 'policy-clear',
		    text: 'Clear policy', onclick: function () {
			var set = target();
			askConfirm('Clear the policy of ' + (set ? 'set ' + set :
			    'the client\'s default') + ' of ' + name,
			    'The policy stored for ' + (set ? 'set ' + set : 'the client') +
			    ' is removed: ' + (set ? 'the client\'s default, else ' : '') +
			    'the server\'s default applies from the next prune.',
			    'Clear policy', function () {
				return act('Clear policy', clientPath(name) + '/policy/clear',
				    { set: set }, function () {
					showInfo('Policy of ' + (set ? 'set ' + set :
					    'the client\'s default') + ' of ' + name + ' cleared.');
					after();
				    });
			    });
		    } });
		var form = h('form', { id: 'policy-form', class: 'policy-form', novalidate: true },
		    h('div', { class: 'field' }, h('label', { htmlFor: 'policy-set',
			text: 'Policy of' }), h('div', { class: 'inline-row' }, sel, other)),
		    h('div', { class: 'rule-fields' }, fields),
		    h('p', { class: 'hint', text: 'Each rule keeps the newest snapshot ' +
			'of each of the last N hours, days, ... (0 to ' +
			(d.keep_max || 1000000) + '); "last" keeps the N newest. A ' +
			'snapshot kept by any rule, the newest one and protected ones ' +
			'stay. The next prune applies it.' }),
		    h('div', { class: 'actions' }, save, clearBtn));
		form.addEventListener('submit', function (ev) {
			ev.preventDefault();
			var set = target();
			var body = { set: set };
			var bad = null;
			RULES.forEach(function (r) {
				var v = inputs[r[0]].value.trim();
				if (!/^[0-9]+$/.test(v))
					bad = bad || r[1];
				body[r[0]] = parseInt(v, 10);
			});
			if (bad) {
				showError('Save policy: keep ' + bad.toLowerCase() +
				    ' must be a whole number from 0.');
				return;
			}
			save.disabled = true;
			act('Save policy', clientPath(name) + '/policy', body,
			    function () {
				showInfo('Policy of ' + (set ? 'set ' + set :
				    'the client\'s default') + ' of ' + name + ' saved.');
				after();
			    }).then(function () { save.disabled = false; });
		});
		fill();
		return form;
	}

	/* the client's retention: each set's policy in force, and the editor */
	function retentionCard(c) {
		var box = h('div', { id: 'retention-body' });
		var name = c.name;
		var gen = state.gen;
		var reload = function () { route(); };
		loading(box);
		api('GET', clientPath(name) + '/policy').then(function (d) {
			if (gen !== state.gen)
				return;
			clear(box);
			box.appendChild(table('Retention of ' + name, [
				{ label: 'Set' }, { label: 'Policy in force' },
				{ label: 'From' }
			], (d.sets || []).map(function (s) {
				return { cells: [
					s.set === '' ? '(client default)' : s.set,
					h('span', { class: 'policy-rules', 'data-set': s.set,
					    text: rulesText(s.policy || {}) }),
					h('span', { class: 'policy-from', 'data-set': s.set,
					    'data-from': s.from, text: FROM_TEXT[s.from] || s.from })
				] };
			}), true, true));
			box.appendChild(h('p', { class: 'small muted', text:
			    'Server default: ' + rulesText(d.server || {}) + '.' }));
			box.appendChild(policyForm(name, d, reload));
		}, function (err) {
			if (gen !== state.gen)
				return;
			clear(box).appendChild(h('p', { class: 'muted',
			    text: 'The retention policy could not be loaded.' }));
			failed('Retention of ' + name, err);
		});
		return card('Retention', box, 'wide retention-card');
	}

	/* new token, client-side forget, prune and scrub */
	function actionsCard(c) {
		var name = c.name;
		var allow = !c.allow_forget;
		var tokenBtn = h('button', { type: 'button', id: 'client-new-token',
		    text: 'New enrollment token', onclick: function () {
			askConfirm('New enrollment token for ' + name,
			    'A new one-time token lets ' + name + ' register again (a ' +
			    'new machine, a lost state file) keeping its snapshots. ' +
			    'It replaces any unused token, which stops working. ' +
			    'The new token is shown once.', 'Issue token', function () {
				return act('New token for ' + name, clientPath(name) +
				    '/token', {}, function (r) {
					state.enrollNext = { name: r.name || name,
					    token: r.token };
					go('clients');
				    });
			    });
		    } });
		var forgetBtn = h('button', { type: 'button', id: 'client-forget-toggle',
		    class: allow ? null : 'danger-outline',
		    text: allow ? 'Allow client forget' : 'Deny client forget',
		    onclick: function () {
			askConfirm((allow ? 'Allow ' : 'Deny ') + name + ' to forget',
			    allow ? 'The client\'s own forget may then remove snapshots ' +
			    'that the server\'s retention policy keeps (not protected ' +
			    'ones). A compromised client could erase its history.' :
			    'The client\'s own forget is then refused for snapshots ' +
			    'that the server\'s retention policy keeps.',
			    allow ? 'Allow forget' : 'Deny forget', function () {
				return act((allow ? 'Allow' : 'Deny') + ' forget for ' + name,
				    clientPath(name) + (allow ? '/allow-forget' :
				    '/deny-forget'), {}, function () {
					showInfo(name + (allow ? ' may now forget any ' +
					    'snapshot that is not protected.' :
					    ' may forget only what its policy drops.'));
					route();
				    });
			    });
		    } });
		var prune = h('button', { type: 'button', id: 'client-prune',
		    text: 'Start prune', onclick: function () { startTask('prune', prune); } });
		var scrub = h('button', { type: 'button', id: 'client-scrub',
		    text: 'Start scrub', onclick: function () { startTask('scrub', scrub); } });
		return card('Actions', [dl([
			['Client forget', c.allow_forget ?
			    h('span', null, badge('allowed', 'warn'),
				' any snapshot that is not protected') :
			    h('span', null, badge('denied', 'ok'),
				' only what the policy drops')],
			['Enrollment', c.registered ? 'registered' : 'token not used yet']
		    ]), h('div', { class: 'actions' }, tokenBtn, forgetBtn, prune, scrub),
		    h('p', { class: 'hint', text: 'Prune forgets what the retention ' +
			'policies do not keep and frees the space; scrub reads every ' +
			'pack back. Both run for the whole server.' })], 'actions-card');
	}

	/* #/snapshot/CLIENT/ID */
	function loadSnapshot(gen, name) {
		var parts = location.hash.replace(/^#\/?/, '').split('/');
		var id = parts[parts.length - 1];
		var body = clear($('snapshot-body'));
		$('snapshot-title').textContent = 'Snapshot ' + id + ' of ' + name;
		$('snapshot-back').setAttribute('href', link('client', name));
		$('snapshot-back').textContent = '\u2190 Client ' + name;
		clear($('snapshot-state'));
		if (!name || !/^[0-9]+$/.test(id)) {
			body.appendChild(h('p', { class: 'muted', text: 'No such snapshot.' }));
			return;
		}
		loading(body);
		api('GET', clientPath(name) + '/snapshot?snapshot=' + id).then(function (d) {
			if (gen !== state.gen)
				return;
			renderSnapshot(name, d);
		}, function (err) {
			if (gen !== state.gen)
				return;
			clear(body).appendChild(h('p', { class: 'muted',
			    text: 'This snapshot could not be loaded.' }));
			failed('Snapshot ' + id + ' of ' + name, err);
		});
	}

	function renderSnapshot(name, d) {
		var s = d.snapshot || {};
		var body = clear($('snapshot-body'));
		var back = function () { go('client', name); };
		var ret = d.retention;
		var pol = d.policy || {};
		document.title = 'Snapshot ' + s.id + ' of ' + name + ' — GigaVault';
		clear($('snapshot-state')).appendChild(s.protected ?
		    badge('protected', 'ok') : badge('not protected', 'muted'));
		body.appendChild(h('div', { class: 'grid' },
		    card('Snapshot', dl([
			['Id', h('code', { class: 'id', text: String(s.id) })],
			['Set', s.set || '—'],
			['Time', fmtTime(s.time)],
			['Files', num(s.files)],
			['Size', fmtBytes(s.size)],
			['New bytes', fmtBytes(s.new_bytes) + ' in ' + num(s.new_blobs) +
			    ' blobs'],
			['Root', h('code', { class: 'id small', text: s.root || '—' })],
			['Meta', h('code', { class: 'id small', text: s.meta || '—' })]
		    ]), 'snapshot-card'),
		    card('Retention', [dl([
			['Protected', s.protected ? h('span', { id: 'snapshot-protected' },
			    badge('yes', 'ok'), ' prune and every forget leave it alone') :
			    h('span', { id: 'snapshot-protected', text: 'no' })],
			['Policy of set ' + (s.set || '—'), rulesText(pol.policy || {})],
			['From', FROM_TEXT[pol.from] || pol.from || '—'],
			['Today\'s verdict', ret ? (ret.keep ? 'kept (' + ret.why + ')' :
			    'not kept: the next prune forgets it') : '—'],
			['Client forget', d.allow_forget ? 'allowed' : 'only what the policy drops']
		    ]), h('div', { class: 'actions' }, protectButton(name, s, route),
			forgetButton(name, s, back))], 'snapshot-actions')));
	}

	/* ---------- health first, history (issue 20) ---------- */

	/*
	 * The dashboard's lead: the clients by health, those that need
	 * attention with their last error, and DataDir's space with the date
	 * it fills at the recent growth (d.attention, d.fill, d.disk).
	 */
	function healthFirst(d) {
		var att = Array.isArray(d.attention) ? d.attention : [];
		var rows = att.map(function (c) {
			return { cls: 'attention-row', cells: [
				h('a', { href: link('client', c.name), text: c.name }),
				healthBadge(c.health),
				(c.sets || []).join(', ') || '—',
				c.last_error ? h('span', { class: 'error-text',
				    title: String(c.last_error),
				    text: shorten(c.last_error, 80) }) :
				    c.health === 'never' ? 'no run yet, one is scheduled' : '—',
				c.last_failure ? timeCell(c.last_failure) :
				    c.health === 'overdue' && c.last_success ?
				    h('span', null, 'last success ', timeCell(c.last_success)) : '—',
				h('a', { href: link('history', 'client=' + c.name),
				    text: 'History', 'aria-label': 'History of ' + c.name })
			] };
		});
		var attention = card('Needs attention', att.length ? table(
		    'Clients that need attention', [{ label: 'Client' },
		    { label: 'Health' }, { label: 'Sets' }, { label: 'Last error' },
		    { label: 'When' }, { label: '' }], rows, true, true) :
		    h('p', { class: 'all-well', text: d.attention ?
		    'Every client with a schedule backed up in time.' :
		    'The clients\' health could not be read.' }), 'wide attention-card');
		return h('div', { class: 'grid health-first' },
		    card('Machines', [
			healthCounts(d.health),
			h('p', { class: 'hint' }, 'Overdue: no successful run within ' +
			    'its interval and the grace (Jobs.OverdueGrace). ',
			    h('a', { href: link('clients'), text: 'See the clients' }))
		    ], 'health-card'),
		    fillCard(d.disk, d.fill),
		    attention);
	}

	function fillCard(k, f) {
		var est;
		if (!f || !k)
			est = 'No estimate: the free space or the history is not known.';
		else if (f.status === 'filling')
			est = h('span', null, 'At ', h('strong', { text: fmtBytes(f.per_day) }),
			    ' a day (the last ' + num(f.samples) + ' days with backups), ' +
			    'it fills around ', h('strong', { id: 'fill-date',
			    text: f.fills ? fmtTime(f.fills).slice(0, 10) : 'never' }),
			    f.days_left !== undefined ? ' (in about ' +
			    num(Math.round(f.days_left)) + ' days).' : '.');
		else if (f.status === 'not growing')
			est = 'Not growing: the stored bytes were flat or shrinking ' +
			    'over the last ' + num(f.samples) + ' days with backups.';
		else
			est = 'Not enough history for an estimate yet (' + num(f.samples) +
			    ' day' + (f.samples === 1 ? '' : 's') + ' with backups; ' +
			    'two are needed).';
		var lv = k ? DISK_LEVELS[k.level] || ['?', 'muted'] : null;
		return card('Space in DataDir', [k ? dl([
			['Free', h('span', null, fmtBytes(k.free) + ' ',
			    badge(lv[0], lv[1]))],
			['Capacity', fmtBytes(k.capacity)]
		]) : null, h('p', { id: 'fill-estimate', class: 'fill-estimate' }, est)],
		    'fill-card');
	}

	var HIST_RESULTS = { ok: 'ok', failed: 'bad', partial: 'warn',
	    interrupted: 'muted' };
	var HIST_PAGE = 50;

	/* The filters in the page's address: "client=a&kind=backup". */
	function histFilters(arg) {
		var f = { client: '', kind: '', result: '' };
		String(arg || '').split('&').forEach(function (kv) {
			var i = kv.indexOf('=');
			if (i > 0 && f[kv.slice(0, i)] !== undefined)
				f[kv.slice(0, i)] = kv.slice(i + 1);
		});
		return f;
	}

	function histQuery(f, before) {
		var q = ['limit=' + HIST_PAGE];
		['client', 'kind', 'result'].forEach(function (k) {
			if (f[k])
				q.push(k + '=' + encodeURIComponent(f[k]));
		});
		if (before)
			q.push('before=' + encodeURIComponent(before));
		return '/history?' + q.join('&');
	}

	function histDuration(e) {
		return e.start && e.end && e.end >= e.start ?
		    fmtDuration(e.end - e.start) : '—';
	}

	function loadHistory(gen, arg) {
		var f = histFilters(arg);
		var form = $('history-form');
		$('history-client').value = f.client;
		$('history-kind').value = f.kind;
		$('history-result').value = f.result;
		form.onsubmit = function (ev) {
			ev.preventDefault();
			var q = ['client', 'kind', 'result'].map(function (k) {
				var v = $('history-' + k).value.trim();
				return v ? k + '=' + v : '';
			}).filter(function (s) { return s; }).join('&');
			go('history', q || null);
		};
		$('history-detail').hidden = true;
		clear($('history-body'));
		loading($('history-body'));
		histPage(gen, f, null);
	}

	function histPage(gen, f, before) {
		api('GET', histQuery(f, before)).then(function (d) {
			if (gen !== state.gen)
				return;
			var body = $('history-body');
			var entries = Array.isArray(d.entries) ? d.entries : [];
			if (!before)
				clear(body);
			var old = body.querySelector('.history-more');
			if (old)
				old.parentNode.removeChild(old);
			if (!before)
				body.appendChild(h('p', { class: 'summary', id: 'history-count' },
				    entries.length ? 'Newest first · ' + num(d.total) +
				    ' entries kept in all' : 'Nothing matches these filters.'));
			if (entries.length)
				body.appendChild(histTable(entries));
			if (d.next)
				body.appendChild(h('button', { type: 'button',
				    class: 'history-more', text: 'Older entries',
				    onclick: function () { histPage(gen, f, d.next); } }));
		}, function (err) {
			if (gen !== state.gen)
				return;
			clear($('history-body')).appendChild(h('p', { class: 'muted',
			    text: 'The history could not be loaded.' }));
			failed('History', err);
		});
	}

	function histTable(entries) {
		return table('History, newest first', [{ label: 'Time' },
		    { label: 'Kind' }, { label: 'Result' }, { label: 'Client' },
		    { label: 'Set' }, { label: 'In', num: true },
		    { label: 'Out', num: true }, { label: 'Took' },
		    { label: 'Error or summary' }],
		    entries.map(function (e) {
			return { cls: 'history-row', cells: [
				h('a', { href: '#', class: 'history-open',
				    'data-id': e.id, 'aria-label': 'Details of ' +
				    e.kind + ' at ' + fmtTime(e.time),
				    onclick: function (ev) {
					    ev.preventDefault();
					    histDetail(e.id);
				    } }, timeCell(e.time)),
				h('span', { class: 'kind', 'data-kind': e.kind, text: e.kind }),
				badge(e.result, HIST_RESULTS[e.result] || 'muted'),
				e.client ? h('a', { href: link('client', e.client),
				    text: e.client }) : '—',
				e.set || '—',
				fmtBytes(e.bytes_in), fmtBytes(e.bytes_out),
				histDuration(e),
				e.text ? h('span', { class: e.result === 'ok' ?
				    'muted' : 'error-text', title: e.text,
				    text: shorten(e.text, 60) }) : ''
			] };
		    }), false, true);
	}

	function histDetail(id) {
		var box = $('history-detail');
		api('GET', '/history/' + encodeURIComponent(id)).then(function (d) {
			var e = d.entry || {};
			clear(box);
			box.appendChild(h('h2', { id: 'history-detail-title',
			    text: e.kind + ' · ' + e.result }));
			box.appendChild(dl([
				['Id', h('code', { text: e.id })],
				['Kind', e.kind], ['Result', badge(e.result,
				    HIST_RESULTS[e.result] || 'muted')],
				['Client', e.client ? h('a', { href: link('client', e.client),
				    text: e.client }) : '—'],
				['Set', e.set || '—'],
				['Who', e.who || '—'],
				['Started', fmtTime(e.start)],
				['Ended', fmtTime(e.end)],
				['Took', histDuration(e)],
				['Bytes in', fmtBytes(e.bytes_in)],
				['Bytes out', fmtBytes(e.bytes_out)],
				['Snapshot', e.snapshot ? String(e.snapshot) : '—'],
				['Error or summary', e.text ? h('span', { class: e.result ===
				    'ok' ? null : 'error-text', id: 'history-detail-text',
				    text: e.text }) : '—']
			]));
			box.appendChild(h('button', { type: 'button', text: 'Close',
			    onclick: function () { box.hidden = true; } }));
			box.hidden = false;
			box.scrollIntoView({ block: 'nearest' });
		}, function (err) { failed('History entry ' + id, err); });
	}

	TITLES.history = 'History';
	VIEWS.push('view-history');

	/* ---------- administrators and my account (doc/webconsole.md) ---------- */

	VIEWS.push('view-admins', 'view-account');
	TITLES.admins = 'Administrators';
	TITLES.account = 'My account';

	var ROLE_TEXT = { admin: 'administrator', operator: 'read-only operator' };

	function field(label, input, hint) {
		return h('div', { class: 'field' }, h('label', { htmlFor: input.id, text: label }),
		    input, hint ? h('p', { class: 'hint', text: hint }) : null);
	}

	function input(id, type, extra) {
		var p = { id: id, type: type || 'text', autocomplete: 'off',
		    autocapitalize: 'none', spellcheck: 'false' };
		var k;
		for (k in extra || {})
			if (Object.prototype.hasOwnProperty.call(extra, k))
				p[k] = extra[k];
		return h('input', p);
	}

	function roleSelect(id, value) {
		var s = h('select', { id: id },
		    h('option', { value: 'admin', text: 'administrator' }),
		    h('option', { value: 'operator', text: 'read-only operator' }));
		s.value = value || 'admin';
		return s;
	}

	/* a form whose submit runs fn(form) with its button disabled meanwhile */
	function form(id, title, fields, button, fn, cls) {
		var btn = h('button', { type: 'submit', id: id + '-submit', class: cls || 'primary',
		    text: button });
		var f = h('form', { id: id, class: 'card', novalidate: true },
		    title ? h('h2', { text: title }) : null, fields,
		    h('div', { class: 'actions' }, btn));
		f.addEventListener('submit', function (ev) {
			ev.preventDefault();
			btn.disabled = true;
			Promise.resolve(fn(f)).catch(function (err) {
				failed(button, err);
			}).then(function () { btn.disabled = false; });
		});
		return f;
	}

	function loadUsers(gen, view) {
		if (view === 'admins')
			loadAdmins(gen);
		else
			loadAccount(gen);
	}

	function loadAdmins(gen) {
		var body = $('admins-body');
		api('GET', '/admins').then(function (d) {
			if (gen !== state.gen)
				return;
			clear(body);
			var list = d.admins || [];
			var rows = list.map(function (a) {
				var other = a.role === 'admin' ? 'operator' : 'admin';
				var acts = h('div', { class: 'row-actions' });
				acts.appendChild(h('button', { type: 'button',
				    'data-admin-role': a.name,
				    text: other === 'admin' ? 'Make administrator' : 'Make read-only',
				    onclick: function () {
					api('POST', '/admins/' + encodeURIComponent(a.name) + '/role',
					    { role: other }).then(function () {
						showInfo(a.name + ' is now a ' + ROLE_TEXT[other] + '.');
						loadAdmins(state.gen);
					}, function (err) { failed('Role of ' + a.name, err); });
				    } }));
				if (!a.you) {
					var rm = h('button', { type: 'button', class: 'danger',
					    'data-admin-remove': a.name, text: 'Remove' });
					rm.addEventListener('click', function () {
						if (rm.getAttribute('data-armed') !== 'yes') {
							rm.setAttribute('data-armed', 'yes');
							rm.textContent = 'Really remove ' + a.name + '?';
							return;
						}
						api('DELETE', '/admins/' + encodeURIComponent(a.name))
						    .then(function () {
							showInfo(a.name + ' removed.');
							loadAdmins(state.gen);
						}, function (err) { failed('Remove ' + a.name, err); });
					});
					acts.appendChild(rm);
					if (a.totp)
						acts.appendChild(h('button', { type: 'button',
						    text: 'Turn TOTP off', onclick: function () {
							api('POST', '/admins/' + encodeURIComponent(a.name) +
							    '/totp/disable', {}).then(function () {
								showInfo('TOTP is off for ' + a.name + '.');
								loadAdmins(state.gen);
							}, function (err) { failed('TOTP of ' + a.name, err); });
						} }));
				}
				return { cells: [
					h('span', null, a.name, a.you ? ' ' : null,
					    a.you ? h('span', { class: 'badge badge-self', text: 'you' }) : null),
					h('span', { class: 'badge ' + (a.role === 'admin' ? 'badge-ok' : 'badge-muted'),
					    'data-role': a.name, text: ROLE_TEXT[a.role] || a.role }),
					a.totp ? 'on' : 'off',
					timeCell(a.changed),
					acts
				] };
			});
			append(body, card('Users', table('Console users', [{ label: 'Name' },
			    { label: 'Role' }, { label: 'TOTP' }, { label: 'Password set' },
			    { label: 'Actions' }], rows, true, true)));

			append(body, form('admin-add-form', 'Add a user', [
				field('Name', input('admin-new-name'), '1 to 64 of A-Z a-z 0-9 . _ -'),
				field('Password', input('admin-new-password', 'password',
				    { autocomplete: 'new-password' }), 'at least 8 characters'),
				field('Role', roleSelect('admin-new-role', 'operator'))
			], 'Add user', function () {
				var name = $('admin-new-name').value.trim();
				return api('POST', '/admins', { name: name,
				    password: $('admin-new-password').value,
				    role: $('admin-new-role').value }).then(function (r) {
					showInfo((r.name || name) + ' added as ' + ROLE_TEXT[r.role] + '.');
					loadAdmins(state.gen);
				});
			}));

			var pick = h('select', { id: 'admin-pw-name' }, list.filter(function (a) {
				return !a.you;
			}).map(function (a) { return h('option', { value: a.name, text: a.name }); }));
			if (pick.options.length)
				append(body, form('admin-pw-form', 'Set another user\'s password', [
					field('User', pick),
					field('New password', input('admin-pw-new', 'password',
					    { autocomplete: 'new-password' }), 'ends that user\'s sessions')
				], 'Set password', function () {
					var name = $('admin-pw-name').value;
					return api('POST', '/admins/' + encodeURIComponent(name) + '/password',
					    { password: $('admin-pw-new').value }).then(function () {
						$('admin-pw-new').value = '';
						showInfo('New password for ' + name + '.');
					});
				}, ''));
		}, function (err) {
			if (gen !== state.gen)
				return;
			clear(body);
			if (err.status === 403)
				append(body, h('p', { class: 'notice', text: 'Only administrators ' +
				    'manage the users: you are a read-only operator.' }));
			else
				failed('Administrators', err);
		});
	}

	function loadAccount(gen) {
		var body = $('account-body');
		Promise.all([api('GET', '/account'), api('GET', '/account/tokens')])
		    .then(function (d) {
			if (gen !== state.gen)
				return;
			var me = d[0], toks = d[1].tokens || [];
			clear(body);
			append(body, card('You', dl([['Name', me.user],
			    ['Role', h('span', { id: 'account-role', text: ROLE_TEXT[me.role] || me.role })],
			    ['TOTP', h('span', { id: 'account-totp', text: me.totp ? 'on' : 'off' })]])));

			append(body, form('account-pw-form', 'Change your password', [
				field('Current password', input('account-pw-current', 'password',
				    { autocomplete: 'current-password' })),
				field('New password', input('account-pw-new', 'password',
				    { autocomplete: 'new-password' }), 'at least 8 characters'),
				field('New password again', input('account-pw-again', 'password',
				    { autocomplete: 'new-password' }))
			], 'Change password', function () {
				if ($('account-pw-new').value !== $('account-pw-again').value) {
					showError('The new passwords differ.');
					return null;
				}
				return api('POST', '/account/password', {
				    current: $('account-pw-current').value,
				    password: $('account-pw-new').value }).then(function () {
					showInfo('Your password is changed.');
					loadAccount(state.gen);
				});
			}));

			/* TOTP */
			var totp = h('section', { class: 'card', id: 'totp-card' },
			    h('h2', { text: 'Second factor (TOTP)' }));
			if (me.totp) {
				append(totp, h('p', { text: 'On: a login asks for the code of your ' +
				    'authenticator app.' }));
				append(totp, form('totp-off-form', null, [
					field('Your password', input('totp-off-password', 'password',
					    { autocomplete: 'current-password' }))
				], 'Turn TOTP off', function () {
					return api('POST', '/account/totp/disable',
					    { current: $('totp-off-password').value }).then(function () {
						showInfo('TOTP is off.');
						loadAccount(state.gen);
					});
				}, 'danger'));
			} else {
				append(totp, h('p', { text: 'Off. Turn it on to be asked at login ' +
				    'for the 6-digit code of an authenticator app (RFC 6238).' }));
				var start = h('button', { type: 'button', id: 'totp-start', text: 'Turn TOTP on' });
				var box = h('div', { id: 'totp-enrol' });
				start.addEventListener('click', function () {
					start.disabled = true;
					api('POST', '/account/totp', {}).then(function (e) {
						clear(box);
						append(box, h('p', { text: 'Add this account to your ' +
						    'authenticator app (the URI, or the secret by hand), ' +
						    'then enter the code it shows. TOTP is on only after that.' }));
						append(box, dl([
						    ['Secret', h('code', { id: 'totp-secret', class: 'id', text: e.secret })],
						    ['URI', h('code', { id: 'totp-uri', class: 'id', text: e.uri })]]));
						append(box, form('totp-confirm-form', null, [
							field('Code', input('totp-code', 'text',
							    { inputmode: 'numeric', maxlength: '6' })),
							field('Your password', input('totp-on-password', 'password',
							    { autocomplete: 'current-password' }))
						], 'Confirm', function () {
							return api('POST', '/account/totp/confirm',
							    { code: $('totp-code').value.trim(),
							    current: $('totp-on-password').value }).then(function () {
								showInfo('TOTP is on.');
								loadAccount(state.gen);
							});
						}));
					}, function (err) {
						failed('Turn TOTP on', err);
					}).then(function () { start.disabled = false; });
				});
				append(totp, [h('div', { class: 'actions' }, start), box]);
			}
			append(body, totp);

			/* API tokens */
			var trows = toks.map(function (t) {
				return { cells: [t.label || '—', t.scope === 'full' ? 'full' : 'read-only',
				    timeCell(t.created), timeCell(t.last_used),
				    h('button', { type: 'button', class: 'danger', 'data-token': t.id,
				    text: 'Revoke', onclick: function () {
					api('DELETE', '/account/tokens/' + encodeURIComponent(t.id))
					    .then(function () {
						showInfo('Token ' + (t.label || t.id) + ' revoked.');
						loadAccount(state.gen);
					}, function (err) { failed('Revoke token', err); });
				    } })] };
			});
			var tcard = h('section', { class: 'card', id: 'tokens-card' },
			    h('h2', { text: 'API tokens' }),
			    h('p', { class: 'muted', text: 'For scripts: send a token as ' +
			    '"Authorization: Bearer TOKEN" to /api/…. A read-only token cannot ' +
			    'change anything; no token can change an account. Tokens end when ' +
			    'an administrator sets your password or removes you.' }),
			    toks.length ? table('API tokens', [{ label: 'Label' }, { label: 'Scope' },
			    { label: 'Created' }, { label: 'Last used' }, { label: '' }], trows,
			    false, true) : h('p', { class: 'muted', text: 'No tokens.' }));
			var scope = h('select', { id: 'token-scope' },
			    h('option', { value: 'read', text: 'read-only' }),
			    me.role === 'admin' ? h('option', { value: 'full', text: 'full' }) : null);
			append(tcard, form('token-form', null, [
				field('Label', input('token-label'), 'what the token is for'),
				field('Scope', scope),
				field('Your password', input('token-password', 'password',
				    { autocomplete: 'current-password' }), 'a token outlives this session')
			], 'Create token', function () {
				return api('POST', '/account/tokens', { label: $('token-label').value,
				    scope: $('token-scope').value,
				    current: $('token-password').value }).then(function (t) {
					state.tokenShown = t;
					loadAccount(state.gen);
				});
			}));
			if (state.tokenShown) {
				append(body, h('section', { class: 'card enroll', id: 'token-new' },
				    h('h2', { text: 'New token ' + (state.tokenShown.label || '') }),
				    h('p', { text: 'Shown only now: copy it.' }),
				    h('code', { id: 'token-value', class: 'id', text: state.tokenShown.token })));
				state.tokenShown = null;
			}
			append(body, tcard);
		}, function (err) {
			if (gen === state.gen)
				failed('My account', err);
		});
	}

	/* ---------- browse and restore through the agent ---------- */

	/*
	 * The "Browse and restore" card of a client's page
	 * (doc/webconsole.md, "Browse and restore through the agent"): the
	 * server cannot read a snapshot, so each listing and each restore is
	 * a request its agent takes at its next check-in and answers.  The
	 * card is built once per client and kept across the page's
	 * refreshes (renderClient() appends the same element again), so a
	 * listing, the selection and a restore's progress survive them.
	 */
	var BROWSE_POLL_MS = 1000;

	var brw = null;		/* the card's state, for brw.client */

	function browsePath(dir, name) {
		return (dir === '/' ? '' : dir) + '/' + name;
	}

	function browseSay(text, kind) {
		var el = brw.status;
		clear(el);
		if (kind)
			el.appendChild(badge(kind[0], kind[1]));
		if (kind)
			el.appendChild(document.createTextNode(' '));
		el.appendChild(document.createTextNode(text));
	}

	/* the agent's last check-in, plainly */
	function browseAgentText(seen) {
		if (!seen)
			return 'No agent of this client has checked in yet: browsing ' +
			    'and restoring wait until gigavault-agent runs on the ' +
			    'client and asks this server for work.';
		var ago = Math.max(0, Math.round(now() - seen));
		return 'The agent last checked in ' + fmtDuration(ago) + ' ago (' +
		    fmtTime(seen) + '); browsing waits for its next check-in, at ' +
		    'most PollInterval (60 s unless its configuration says ' +
		    'otherwise; every second for 5 minutes after a browse).';
	}

	/*
	 * Wait for the answer to request id: the state shown as it moves
	 * (queued, taken, started), then done(answer) or failed(answer).
	 */
	function browseWait(b, id, what, done) {
		var q = '/clients/' + encodeURIComponent(b.client) + '/answer?req=' +
		    encodeURIComponent(id);
		var tick = function () {
			if (brw !== b)
				return;
			api('GET', q).then(function (a) {
				if (brw !== b)
					return;
				if (a.agent_seen)
					b.agentLine.textContent = browseAgentText(a.agent_seen);
				if (a.state === 'pending') {
					browseSay(a.taken ? what + ' (request ' + id +
					    '): the agent took it at ' + fmtTime(a.taken) +
					    '; waiting for its answer.' :
					    what + ' (request ' + id + '): queued, waiting ' +
					    'for the agent\'s next check-in.',
					    a.taken ? ['taken', 'busy'] : ['queued', 'warn']);
					b.timer = setTimeout(tick, BROWSE_POLL_MS);
					return;
				}
				if (a.state === 'started') {
					browseSay(what + ' (request ' + id + '): under way ' +
					    'on the client.', ['started', 'busy']);
					b.timer = setTimeout(tick, BROWSE_POLL_MS);
					return;
				}
				done(a.state, a.answer || {});
			}, function (err) {
				if (brw !== b)
					return;
				b.busy = false;
				browseButtons(b);
				browseSay(what + ' (request ' + id + '): ' + err.message,
				    ['failed', 'bad']);
				failed(what, err);
			});
		};
		tick();
	}

	function browseButtons(b) {
		b.open.disabled = b.busy || !b.snaps.length;
		b.more.disabled = b.busy;
		b.restore.disabled = b.busy || !Object.keys(b.selected).length;
		b.count.textContent = Object.keys(b.selected).length + ' selected';
	}

	/* the path bar: "/" and each directory above, as buttons */
	function browseCrumbs(b) {
		var bar = clear(b.crumbs);
		var parts = b.path.split('/').filter(function (s) { return s; });
		var at = '/';
		var go = function (p) {
			return function () { browseList(b, p, 0); };
		};

		bar.appendChild(h('button', { type: 'button', class: 'browse-crumb',
		    text: 'snapshot ' + b.snap + ':/', 'data-path': '/',
		    disabled: b.busy || parts.length === 0 ? true : null,
		    onclick: go('/') }));
		parts.forEach(function (p, i) {
			at = browsePath(at, p);
			bar.appendChild(document.createTextNode(' '));
			bar.appendChild(h('button', { type: 'button',
			    class: 'browse-crumb', text: p + '/', 'data-path': at,
			    disabled: b.busy || i === parts.length - 1 ? true : null,
			    onclick: go(at) }));
		});
	}

	function browseRows(b) {
		var rows = b.entries.map(function (e) {
			var full = browsePath(b.path, e.name);
			var box = h('input', { type: 'checkbox', class: 'browse-pick',
			    'aria-label': 'Select ' + full, 'data-path': full,
			    checked: b.selected[full] ? true : null });
			box.addEventListener('change', function () {
				if (box.checked)
					b.selected[full] = true;
				else
					delete b.selected[full];
				browseButtons(b);
			});
			var label = e.type === 'dir' ? h('button', { type: 'button',
			    class: 'browse-dir', text: e.name + '/', 'data-path': full,
			    onclick: function () { browseList(b, full, 0); } }) :
			    h('span', { class: 'browse-file', text: e.name +
			    (e.type === 'symlink' && e.target ? ' → ' + e.target : '') });
			/* a mail set's message: its .mailbox's fields */
			if (b.mailbox)
				return { cells: [box, label, e.from || '—',
				    e.subject || '—', e.date_header ||
				    (e.type === 'file' ? timeCell(e.mtime) : '—'),
				    e.type === 'file' ? fmtBytes(e.size) : '—'] };
			return { cells: [box, label, e.type || '—',
			    e.type === 'file' ? fmtBytes(e.size) : '—',
			    timeCell(e.mtime)] };
		});
		clear(b.list).appendChild(rows.length ? table('Entries of ' + b.path,
		    b.mailbox ? [{ label: 'Pick' }, { label: 'Message' },
		    { label: 'From' }, { label: 'Subject' }, { label: 'Date' },
		    { label: 'Size', num: true }] :
		    [{ label: 'Pick' }, { label: 'Name' }, { label: 'Type' },
		    { label: 'Size', num: true }, { label: 'Modified' }], rows, false,
		    true) : h('p', { class: 'muted', text: 'This directory is empty.' }));
		b.more.hidden = b.next === null;
		if (b.next !== null)
			b.more.textContent = 'More (' + b.entries.length + ' of ' +
			    b.total + ' shown)';
	}

	/* list directory path of the chosen snapshot from entry offset */
	function browseList(b, path, offset) {
		if (b.busy)
			return;
		b.busy = true;
		browseButtons(b);
		var what = 'Listing ' + path;
		api('POST', '/clients/' + encodeURIComponent(b.client) + '/browse',
		    { snapshot: b.snap, path: path, offset: offset })
		    .then(function (r) {
			if (brw !== b)
				return;
			b.agentLine.textContent = browseAgentText(r.agent_seen);
			browseWait(b, r.id, what, function (st, a) {
				b.busy = false;
				if (st !== 'done') {
					browseSay(what + ': ' + (a.error || 'the agent ' +
					    'could not list it.'), ['failed', 'bad']);
					browseButtons(b);
					browseCrumbs(b);
					return;
				}
				if (offset === 0) {
					b.path = path;
					b.entries = [];
				}
				b.mailbox = a.mailbox && typeof a.mailbox === 'object' ?
				    a.mailbox : null;
				b.entries = b.entries.concat(Array.isArray(a.entries) ?
				    a.entries : []);
				b.total = typeof a.total === 'number' ? a.total :
				    b.entries.length;
				b.next = a.truncated && typeof a.next === 'number' ?
				    a.next : null;
				browseSay(b.path + ': ' + num(b.total) + ' entr' +
				    (b.total === 1 ? 'y' : 'ies') + ' (snapshot ' +
				    b.snap + ', set ' + (a.set || '?') + ')' +
				    (b.mailbox ? '; mailbox ' + (b.mailbox.name || '?') +
				    ' of a mail set: From, Subject and Date from its ' +
				    '.mailbox' : '') + '.', ['listed', 'ok']);
				browseCrumbs(b);
				browseRows(b);
				browseButtons(b);
			});
		}, function (err) {
			b.busy = false;
			browseButtons(b);
			failed('Browse ' + b.client, err);
		});
	}

	/* "Restore": confirmed first when it overwrites */
	function browseRestore(b, confirmed) {
		var where = b.form.querySelector('input[name="browse-where"]:checked');
		var paths = Object.keys(b.selected).sort();
		var body = { snapshot: b.snap, paths: paths,
		    where: where ? where.value : 'original' };

		if (!paths.length)
			return;
		if (body.where === 'directory') {
			body.dir = b.dir.value.trim();
			if (!/^\//.test(body.dir)) {
				showError('Restore: the target directory must be an ' +
				    'absolute path on the client, such as /tmp/restored.');
				b.dir.focus();
				return;
			}
		}
		if (body.where === 'overwrite' && !confirmed) {
			clear(b.confirm).appendChild(h('p', null, h('strong', {
			    text: 'Overwrite on the client? ' }), 'The ' + paths.length +
			    ' selected path' + (paths.length === 1 ? '' : 's') +
			    ' of snapshot ' + b.snap + ' will replace what is now at ' +
			    'the same place on ' + b.client + '. This cannot be undone.'));
			b.confirm.appendChild(h('div', { class: 'actions' },
			    h('button', { type: 'button', class: 'danger',
			    id: 'browse-confirm-yes', text: 'Overwrite', onclick:
			    function () {
				    b.confirm.hidden = true;
				    browseRestore(b, true);
			    } }),
			    h('button', { type: 'button', text: 'Cancel', onclick:
			    function () { b.confirm.hidden = true; } })));
			b.confirm.hidden = false;
			return;
		}
		b.busy = true;
		browseButtons(b);
		clear(b.result);
		var what = 'Restore of ' + paths.length + ' path' +
		    (paths.length === 1 ? '' : 's');
		api('POST', '/clients/' + encodeURIComponent(b.client) + '/restore',
		    body).then(function (r) {
			if (brw !== b)
				return;
			showInfo(what + ' from snapshot ' + b.snap + ' of ' + b.client +
			    ' requested (request ' + r.id + ').');
			browseWait(b, r.id, what, function (st, a) {
				b.busy = false;
				browseButtons(b);
				var okk = st === 'done';
				browseSay(what + (okk ? ': done.' : ': failed.'),
				    okk ? (a.problems ? ['done, with problems', 'warn'] :
				    ['done', 'ok']) : ['failed', 'bad']);
				clear(b.result).appendChild(dl([
				    ['Request', String(r.id)],
				    ['Result', okk ? (a.problems ? badge('done, with ' +
					'problems', 'warn') : badge('done', 'ok')) :
					badge('failed', 'bad')],
				    ['Restored to', a.where || body.dir || '—'],
				    ['Files', num(a.files)],
				    ['Directories', num(a.dirs)],
				    ['Bytes', fmtBytes(a.bytes)],
				    ['Problems', num(a.problems)],
				    a.error ? ['Error', h('span', { class: 'error-text',
					text: String(a.error) })] : null
				]));
				b.result.setAttribute('data-state', st);
			});
		}, function (err) {
			b.busy = false;
			browseButtons(b);
			failed(what, err);
		});
	}

	function browseCard(name) {
		var b = { client: name, snaps: [], snap: null, path: '/',
		    entries: [], total: 0, next: null, selected: {}, busy: false,
		    timer: null, mailbox: null };
		var whereRow = function (value, text, hint) {
			var id = 'browse-where-' + value;
			return h('div', { class: 'browse-where' },
			    h('input', { type: 'radio', name: 'browse-where', id: id,
			    value: value, checked: value === 'directory' ? true : null }),
			    ' ', h('label', { htmlFor: id, text: text }),
			    hint ? h('span', { class: 'hint', text: ' ' + hint }) : null);
		};

		b.agentLine = h('p', { id: 'browse-agent', class: 'small' });
		b.select = h('select', { id: 'browse-snapshot' });
		b.open = h('button', { type: 'button', id: 'browse-open',
		    class: 'primary', text: 'Browse', onclick: function () {
			b.snap = Number(b.select.value);
			b.selected = {};
			b.path = '/';
			browseList(b, '/', 0);
		} });
		b.crumbs = h('nav', { id: 'browse-crumbs', 'aria-label':
		    'Directory path' });
		b.status = h('p', { id: 'browse-status', role: 'status',
		    'aria-live': 'polite', class: 'small' });
		b.list = h('div', { id: 'browse-list' });
		b.more = h('button', { type: 'button', id: 'browse-more',
		    text: 'More', hidden: true, onclick: function () {
			if (b.next !== null)
				browseList(b, b.path, b.next);
		} });
		b.dir = h('input', { type: 'text', id: 'browse-dir',
		    autocomplete: 'off', spellcheck: 'false',
		    placeholder: '/tmp/restored' });
		b.count = h('span', { id: 'browse-count', class: 'hint' });
		b.restore = h('button', { type: 'button', id: 'browse-restore',
		    class: 'primary', text: 'Restore selected', onclick:
		    function () { browseRestore(b, false); } });
		b.confirm = h('div', { id: 'browse-confirm', role: 'alertdialog',
		    'aria-label': 'Confirm overwriting', hidden: true });
		b.result = h('div', { id: 'browse-result' });
		b.form = h('fieldset', { id: 'browse-form' },
		    h('legend', { text: 'Restore the selected paths to the client' }),
		    whereRow('directory', 'To a target directory on the client:',
			null),
		    h('div', { class: 'field' }, h('label', { htmlFor: 'browse-dir',
			text: 'Target directory (a file saved as /home/ann/x goes ' +
			'to DIR/home/ann/x)' }), b.dir),
		    whereRow('original', 'To the original place',
			'(files that exist there are kept)'),
		    whereRow('overwrite', 'To the original place, overwriting',
			'(replaces what exists; asks first)'),
		    h('div', { class: 'actions' }, b.restore, b.count), b.confirm);
		b.el = card('Browse and restore', [
		    h('p', { id: 'browse-why' }, h('strong', { text: 'Browsing ' +
			'needs the client\'s agent. ' }), 'The server cannot read ' +
			'a snapshot: it holds only encrypted data. The agent on ' +
			'the client has the keys, so it lists a directory or ' +
			'restores files when asked, and answers here.'),
		    b.agentLine,
		    h('div', { class: 'field' }, h('label', { htmlFor:
			'browse-snapshot', text: 'Snapshot' }),
			h('div', { class: 'actions' }, b.select, b.open)),
		    b.crumbs, b.status, b.list,
		    h('div', { class: 'actions' }, b.more),
		    b.form, b.result
		], 'wide browse-card');
		b.el.id = 'browse-card';
		return b;
	}

	/* the card for client c with snapshots snaps (kept per client) */
	function browsePanel(name, snaps, c) {
		if (!brw || brw.client !== name) {
			if (brw && brw.timer)
				clearTimeout(brw.timer);
			brw = browseCard(name);
		}
		var b = brw;
		var keep = b.select.value;
		var ids = snaps.map(function (s) { return String(s.id); });
		if (ids.join(',') !== b.snaps.join(',')) {
			clear(b.select);
			snaps.forEach(function (s) {
				b.select.appendChild(h('option', { value: String(s.id),
				    text: '#' + s.id + ' · ' + (s.set || '?') + ' · ' +
				    fmtTime(s.time) }));
			});
			b.snaps = ids;
			if (keep && ids.indexOf(keep) >= 0)
				b.select.value = keep;
		}
		b.agentLine.textContent = browseAgentText(c.agent && c.agent.seen);
		if (!b.snaps.length && !b.status.firstChild)
			browseSay('No snapshot to browse yet.');
		browseButtons(b);
		return b.el;
	}

	/* ---------- start ---------- */

	function boot() {
		$('login-form').addEventListener('submit', onLogin);
		$('logout').addEventListener('click', onLogout);
		$('peer-back').addEventListener('click', function () {
			location.hash = '#/dashboard';
		});
		$('add-client-form').addEventListener('submit', onAddClient);
		$('copy-token').addEventListener('click', function () {
			copyField('token', 'Token');
		});
		$('copy-command').addEventListener('click', function () {
			copyField('enroll-command', 'Command');
		});
		$('enroll-done').addEventListener('click', hideEnroll);
		$('remove-form').addEventListener('submit', onRemove);
		$('remove-cancel').addEventListener('click', closeRemove);
		$('remove-dialog').addEventListener('cancel', function () {
			state.removeName = null;
		});
		$('remove-confirm').addEventListener('input', function () {
			$('remove-submit').disabled =
			    $('remove-confirm').value !== state.removeName;
		});
		$('peers-refresh').addEventListener('click', function () { route(); });
		$('housekeeping-refresh').addEventListener('click', function () { route(); });
		$('log-refresh').addEventListener('click', function () { route(); });
		$('log-level').addEventListener('change', function () { route(); });
		window.addEventListener('hashchange', function () {
			clearMessages();
			route();
		});
		document.addEventListener('visibilitychange', function () {
			if (document.visibilityState === 'hidden')
				stopTimer();
			else if (state.csrf && (state.view === 'dashboard' ||
			    state.view === 'housekeeping') &&
			    $('view-' + state.view).hidden === false && !state.busy)
				route();
		});

		showView('view-loading');
		api('GET', '/hello', null, { local: true }).then(function (hello) {
			setServer(hello);
			if (!state.csrf && state.loginFor === 'local' &&
			    !$('view-login').hidden && hello && hello.name)
				$('login-title').textContent = 'Log in to ' + hello.name;
		}, function () { /* the session answer may still tell */ });
		api('GET', '/session', null, { local: true }).then(function (s) {
			state.csrf = s.csrf;
			state.user = s.user;
			state.role = s.role || 'admin';
			setServer(sessionServer(s));
			enterApp();
			route();
		}, function (err) {
			if (err.status === 401)
				showLogin('local', err.body);
			else {
				failed('Session', err);
				showLogin('local');
			}
		});
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', boot);
	else
		boot();
})();
