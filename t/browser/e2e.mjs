// t/browser/e2e.mjs - the web console in headless Chromium, driven by
// playwright-core; started by t/71-web-browser.t, which sets the daemons
// up and passes everything in GV_E2E_* variables.
//
// Prints one line per check, "ok - NAME" or "not ok - NAME", comments as
// "# ...", and at the end "result {json}" (the token the form gave).  The
// .t turns the lines into TAP.  Exit status 0 unless the script itself
// broke (a failed check is not a broken script).
//
// Every step is shot at laptop (1366x768) and phone (390x844) size into
// GV_E2E_OUT.  Any page JS error, CSP violation, console error (other than
// the 401s a logged-out page gets) or 5xx answer fails the run.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const env = process.env;
const need = (k) => {
  if (!env[k]) { console.log(`not ok - environment variable ${k} is set`); process.exit(2); }
  return env[k];
};
const URL_A = need('GV_E2E_URL_A');
const USER_A = need('GV_E2E_USER_A');
const PASS_A = need('GV_E2E_PASS_A');
const NAME_A = env.GV_E2E_NAME_A || '';
const SID_A = need('GV_E2E_SID_A');
const USER_B = need('GV_E2E_USER_B');
const PASS_B = need('GV_E2E_PASS_B');
const NAME_B = need('GV_E2E_NAME_B');
const SID_B = need('GV_E2E_SID_B');
const CLIENT = need('GV_E2E_CLIENT');
const SET = need('GV_E2E_SET');
const SNAPSHOT_ID = env.GV_E2E_SNAPSHOT_ID || '';
const NEW_CLIENT = need('GV_E2E_NEW_CLIENT');
const OUT = need('GV_E2E_OUT');
// t/gv-report as the client: {"argv":[...],"env":{...}} (the agent's side
// of "Back up now": its poll and its report); FAILED_SET: a set whose last
// run failed with FAILED_ERROR.
const REPORT = JSON.parse(need('GV_E2E_REPORT'));
const FAILED_SET = need('GV_E2E_FAILED_SET');
const FAILED_ERROR = need('GV_E2E_FAILED_ERROR');
const CHROMIUM = env.GV_E2E_CHROMIUM || '/usr/bin/chromium';
const WAIT = Number(env.GV_E2E_WAIT_MS || 10000);
const TOTAL = Number(env.GV_E2E_TIMEOUT_MS || 150000);

const SIZES = [['laptop', 1366, 768], ['phone', 390, 844]];
const result = {};
const problems = [];     // JS errors, CSP violations, console errors, 5xx
let failed = 0;
let aborted = null;

function say(line) { process.stdout.write(line + '\n'); }
function comment(text) { for (const l of String(text).split('\n')) say(`# ${l}`); }
function ok(cond, name, why) {
  say(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond) { failed++; if (why) comment(why); }
  return !!cond;
}

// A step: runs unless an earlier critical step failed; exceptions fail it.
async function step(name, fn, critical = true) {
  if (aborted) { ok(false, `${name} (not run: "${aborted}" failed)`); return false; }
  try {
    const r = await fn();
    if (r === false && critical) aborted = name;
    return r !== false;
  } catch (e) {
    ok(false, name, `${e && e.message ? e.message.split('\n').slice(0, 6).join('\n') : e}`);
    if (critical) aborted = name;
    return false;
  }
}

fs.mkdirSync(OUT, { recursive: true });
const watchdog = setTimeout(() => {
  ok(false, `the browser run finished within ${TOTAL / 1000} s`);
  process.exit(3);
}, TOTAL);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--no-default-browser-check', '--disable-extensions',
         '--disable-background-networking', '--disable-component-update'],
});
comment(`Chromium ${browser.version()}`);
const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(WAIT);

// CSP violations also reach the console, but say so plainly.
await page.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} ` +
                  `(${e.sourceFile || ''}:${e.lineNumber || ''})`);
  });
});
page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`); comment(`page error: ${e.message}`); });
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const t = m.text();
  // A logged-out page asks /api/session (and a peer's calls) and gets 401:
  // Chromium logs every non-2xx fetch as a console error.
  if (/Failed to load resource: the server responded with a status of 401\b/.test(t)) {
    comment(`(expected) console: ${t}`);
    return;
  }
  problems.push(`console error: ${t} ${JSON.stringify(m.location())}`);
  comment(`console error: ${t}`);
});
page.on('response', (r) => {
  if (r.status() >= 500) problems.push(`${r.status()} for ${r.request().method()} ${r.url()}`);
});
page.on('requestfailed', (r) => comment(`request failed: ${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`));

let shotN = 0;
async function shot(name) {
  shotN++;
  const base = `${String(shotN).padStart(2, '0')}-${name}`;
  for (const [size, w, h] of SIZES) {
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(150);
    const file = path.join(OUT, `${base}-${size}.png`);
    await page.screenshot({ path: file, fullPage: true });
    comment(`screenshot: ${file}`);
    if (size === 'phone') {
      const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      ok(over <= 1, `${name}: no sideways scrolling at ${w} px wide`,
         `the page is ${over} px wider than the ${w} px viewport`);
    }
  }
  await page.setViewportSize({ width: SIZES[0][1], height: SIZES[0][2] });
}

const visible = (sel) => page.locator(sel).first().isVisible().catch(() => false);
async function expectView(view, what) {
  try {
    await page.locator(view).first().waitFor({ state: 'visible', timeout: WAIT });
    return ok(true, what);
  } catch (e) {
    const shown = [];
    for (const v of ['#view-login', '#view-dashboard', '#view-clients', '#view-client',
                     '#view-peers', '#view-housekeeping', '#view-log']) {
      if (await visible(v)) shown.push(v);
    }
    return ok(false, what, `${view} did not become visible; visible: ${shown.join(' ') || 'none'}`);
  }
}
async function text(sel) {
  return (await page.locator(sel).first().innerText().catch(() => '')) || '';
}
// the first visible element among candidates
async function firstVisible(cands, what) {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    for (const c of cands) {
      const n = await c.count().catch(() => 0);
      for (let i = 0; i < n; i++) {
        const el = c.nth(i);
        if (await el.isVisible().catch(() => false)) return el;
      }
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`no visible ${what}`);
}
// navigation: a link or button with that name (a phone layout may hide the
// menu behind a toggle: try one named "Menu" first when nothing shows)
async function nav(name) {
  const re = new RegExp(`^\\s*${name}\\s*$`, 'i');
  const cands = () => [page.getByRole('link', { name: re }), page.getByRole('button', { name: re }),
                       page.getByRole('tab', { name: re })];
  let el;
  try { el = await firstVisible(cands(), `"${name}" link or button`); } catch (e) {
    const menu = page.getByRole('button', { name: /menu/i }).first();
    if (await menu.isVisible().catch(() => false)) await menu.click();
    el = await firstVisible(cands(), `"${name}" link or button`);
  }
  await el.click();
}
async function apiGet(p) {
  return page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    let j = null;
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    return { status: r.status, json: j };
  }, p);
}
async function login(user, pass, what) {
  await page.locator('#login-user').fill(user);
  await page.locator('#login-password').fill(pass);
  const btn = await firstVisible([page.locator('#view-login').getByRole('button', { name: /log ?in|sign ?in/i })],
                                 '"Log in" button');
  await btn.click();
  return expectView('#view-dashboard', what);
}

// ---------------------------------------------------------------- A
await step('A: the login page', async () => {
  const r = await page.goto(URL_A, { waitUntil: 'load' });
  ok(r && r.status() === 200, `GET ${URL_A} -> 200`, `got ${r && r.status()}`);
  const shown = await expectView('#view-login', 'A: not logged in, the login view shows');
  await shot('a-login');
  return shown;
});

await step('A: log in', async () => {
  const shown = await login(USER_A, PASS_A, 'A: after "Log in" the dashboard shows');
  ok(!(await visible('#view-login')), 'A: the login view is gone');
  await page.waitForLoadState('networkidle').catch(() => {});
  await shot('a-dashboard');
  return shown;
});

await step('A: the dashboard counts the backup session', async () => {
  const d = await apiGet('/api/dashboard');
  ok(d.status === 200 && d.json && d.json.today, 'the page\'s session reads /api/dashboard', JSON.stringify(d));
  const n = d.json && d.json.today ? d.json.today.sessions : null;
  ok(n >= 1, `today's sessions >= 1 (${n})`);
  // the number next to a "Sessions" label (dt/dd, th/td or label: value)
  const shownN = await page.locator('#view-dashboard').evaluate((v) => {
    const out = [];
    for (const dt of v.querySelectorAll('dt')) {
      if (/^\s*sessions?( today)?\s*$/i.test(dt.textContent) && dt.nextElementSibling)
        out.push(dt.nextElementSibling.textContent.trim());
    }
    const m = v.innerText.match(/sessions?( today)?\s*:?\s*([\d,.\u202f\u00a0 ]+)/i);
    if (m) out.push(m[2].trim());
    return out;
  });
  const t = await text('#view-dashboard');
  ok(n >= 1 && shownN.some((x) => x.replace(/[,.\u202f\u00a0 ]/g, '') === String(n)),
     `the dashboard shows ${n} session(s) today`,
     `numbers next to "Sessions": ${JSON.stringify(shownN)}; dashboard text:\n${t.slice(0, 600)}`);
  const k = d.json && d.json.disk;
  ok(k && /^(ok|warning|critical)$/.test(k.level) && k.capacity > 0,
     'the dashboard has DataDir\'s disk (free, capacity, reserve, level)', JSON.stringify(k));
  ok(/Disk\s+Free\s+[\d.]+ [KMGT]?i?B\s+(ok|low|full)/.test(t), 'the Disk card shows the free space and its level',
     t.slice(0, 800));
  const all = await text('body');
  ok(all.includes(SID_A) || (NAME_A && all.includes(NAME_A)), 'the page names server A (id or name)',
     `neither ${SID_A} nor "${NAME_A}" in the page`);
});

await step('A: the clients list', async () => {
  await nav('Clients');
  const shown = await expectView('#view-clients', 'A: "Clients" shows the clients view');
  await page.locator('#view-clients').getByText(CLIENT, { exact: false }).first()
    .waitFor({ state: 'visible', timeout: WAIT }).catch(() => {});
  ok((await text('#view-clients')).includes(CLIENT), `the list has client ${CLIENT}`,
     (await text('#view-clients')).slice(0, 600));
  await shot('a-clients');
  return shown;
});

await step(`A: client ${CLIENT} and its snapshot`, async () => {
  const el = await firstVisible([
    page.locator('#view-clients').getByRole('link', { name: CLIENT, exact: true }),
    page.locator('#view-clients').getByRole('button', { name: CLIENT, exact: true }),
    page.locator('#view-clients').getByRole('link', { name: CLIENT }),
    page.locator('#view-clients').getByText(CLIENT, { exact: true }),
  ], `link to client ${CLIENT}`);
  await el.click();
  const shown = await expectView('#view-client', `A: clicking ${CLIENT} shows the client view`);
  await page.locator('#view-client').getByText(SET).first().waitFor({ state: 'visible', timeout: WAIT }).catch(() => {});
  const t = await text('#view-client');
  ok(t.includes(CLIENT), `the client view names ${CLIENT}`);
  ok(t.includes(SET), `the client view lists the snapshot of set "${SET}"`, t.slice(0, 800));
  if (SNAPSHOT_ID) {
    // the snapshots' table (the jobs and the history name the set too)
    const rows = await page.locator('#view-client table').evaluateAll((ts) =>
      ts.filter((t) => t.caption && /^Snapshots/.test(t.caption.textContent))
        .flatMap((t) => Array.from(t.rows).map((tr) => Array.from(tr.cells).map((c) => c.innerText.trim()))));
    const row = rows.find((r) => r.includes(SET));
    ok(row && row.includes(String(SNAPSHOT_ID)), `... in a table row with its id ${SNAPSHOT_ID}`,
       `rows: ${JSON.stringify(rows).slice(0, 600)}`);
  }
  await shot('a-client');
  return shown;
}, false);

// the agent's side, run by this script: a poll or a report
function agent(...args) {
  const out = execFileSync(REPORT.argv[0], REPORT.argv.slice(1).concat(args),
    { env: { ...process.env, ...REPORT.env }, encoding: 'utf8', timeout: 30000 });
  comment(`gv-report ${args.join(' ')}: ${out.trim()}`);
  return out;
}
async function waitText(sel, re, ms) {
  const deadline = Date.now() + ms;
  let t = '';
  while (Date.now() < deadline) {
    t = await text(sel);
    if (re.test(t)) return t;
    await page.waitForTimeout(200);
  }
  throw new Error(`${sel} did not show ${re} within ${ms / 1000} s; it shows:\n${t.slice(0, 800)}`);
}

await step(`A: "Back up now" on the page of ${CLIENT}`, async () => {
  const shown = await expectView('#view-client', `A: still on the page of ${CLIENT}`);
  const btn = await firstVisible([page.getByRole('button', { name: `Back up now: set ${SET}` })],
                                 `"Back up now" button of set ${SET}`);
  await btn.click();
  await waitText('#view-client .jobs-card', /queued/, WAIT);
  ok(true, 'after the click the job shows its request "queued"');
  const d = await apiGet(`/api/clients/${encodeURIComponent(CLIENT)}`);
  const q = d.json && Array.isArray(d.json.requests) ?
    d.json.requests.find((r) => r.set === SET) : null;
  ok(q && q.state === 'queued' && /^console: /.test(q.by),
     `the API lists the request of set ${SET}: queued, asked by the console`, JSON.stringify(d.json && d.json.requests));
  if (!q) return false;
  result.request = q.id;
  await shot('a-client-queued');

  const polled = agent('--poll', '--job', `${SET}:+3600:86400`, '--job', `${FAILED_SET}:+3600:86400`);
  ok(new RegExp(`\\b${q.id}\\b`).test(polled), `the agent's poll takes request ${q.id}`, polled);
  await waitText('#view-client .jobs-card', /taken by the agent/, 3 * WAIT);
  ok(true, 'the page follows it: "taken by the agent"');

  agent('--set', SET, '--result', 'ok', '--start', '-3', '--end', '-1', '--next-run', '+3600',
        '--files', '5', '--bytes', '600000', '--read', '600000', '--sent', '0',
        '--request', String(q.id));
  await waitText('#view-client .history-card', new RegExp(`back up now #${q.id}`), 3 * WAIT);
  ok(true, `the history shows the run of request ${q.id}`);
  const rows = await page.locator('#view-client table').evaluateAll((ts) =>
    ts.filter((t) => t.caption && /^Job reports/.test(t.caption.textContent))
      .flatMap((t) => Array.from(t.tBodies[0].rows).map((tr) => tr.innerText)));
  ok(rows.length >= 3 && new RegExp(`back up now #${q.id}`).test(rows[0]) && /\bok\b/.test(rows[0]),
     '... as the newest report, ok', JSON.stringify(rows).slice(0, 800));
  ok(rows.some((r) => r.includes(FAILED_ERROR)), `... and the failed run with its message`,
     JSON.stringify(rows).slice(0, 800));
  const hc = await text('#view-client .health-card');
  ok(/failed/.test(hc) && hc.includes(FAILED_ERROR),
     `the health card: failed (set ${FAILED_SET}), with the message`, hc);
  ok(/Last success\s+\d{4}-\d\d-\d\d/.test(hc) && /Next run\s+\d{4}-/.test(hc),
     'the health card: last success and next run', hc);
  const after = await apiGet(`/api/clients/${encodeURIComponent(CLIENT)}`);
  ok(after.json && Array.isArray(after.json.requests) && after.json.requests.length === 0,
     'the request is no longer pending', JSON.stringify(after.json && after.json.requests));
  await page.locator('#view-client .history-card').scrollIntoViewIfNeeded();
  await shot('a-client-health-history');
  return shown;
}, false);

await step('A: the clients list shows the health', async () => {
  await nav('Clients');
  await expectView('#view-clients', 'A: the clients view');
  const t = await waitText('#view-clients', /failed/, WAIT);
  ok(t.includes(FAILED_ERROR.slice(0, 20)), 'the list shows the last failure\'s message', t.slice(0, 800));
});

await step('A: add a client with the form', async () => {
  await nav('Clients');
  await expectView('#view-clients', 'A: back to the clients view');
  const v = page.locator('#view-clients');
  const input = await firstVisible([
    v.getByLabel(/name/i), v.getByPlaceholder(/name/i),
    v.locator('input[name="name"]'), v.locator('input[type="text"], input:not([type])'),
  ], 'client name field');
  await input.fill(NEW_CLIENT);
  const btn = await firstVisible([v.getByRole('button', { name: /add client/i }), page.getByRole('button', { name: /add client/i })],
                                 '"Add client" button');
  await btn.click();
  const tok = page.locator('#token').first();
  await tok.waitFor({ state: 'visible', timeout: WAIT });
  let token = '';
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    token = ((await tok.evaluate((el) => ('value' in el && el.value) ? el.value : el.textContent)) || '').trim();
    if (/[0-9a-f]{32,}/.test(token)) break;
    await page.waitForTimeout(100);
  }
  const m = token.match(/[0-9a-f]{32,}/);
  ok(m, 'the token shows in #token', `#token holds "${token}"`);
  if (m) result.token = m[0];
  await shot('a-client-added');
  // the list shows the new client (now or after going back to it)
  let listed = (await text('#view-clients')).includes(NEW_CLIENT);
  if (!listed) {
    await nav('Clients');
    await page.waitForTimeout(500);
    listed = (await text('#view-clients')).includes(NEW_CLIENT);
  }
  ok(listed, `the clients list then has ${NEW_CLIENT}`);
  return !!m;
}, false);

// ---------------------------------------------------------------- peer switch
await step('A: the peers view lists B', async () => {
  await nav('Peers');
  const shown = await expectView('#view-peers', 'A: "Peers" shows the peers view');
  await page.locator('#view-peers').getByText(NAME_B).first().waitFor({ state: 'visible', timeout: WAIT }).catch(() => {});
  const t = await text('#view-peers');
  ok(t.includes(NAME_B) || t.includes(SID_B), `the peers view lists B (${NAME_B})`, t.slice(0, 800));
  await shot('a-peers');
  return shown;
});

await step('A: "Open console" for B', async () => {
  const v = page.locator('#view-peers');
  const btns = [v.getByRole('button', { name: /open console/i }), v.getByRole('link', { name: /open console/i })];
  let target = null;
  for (const c of btns) {
    const n = await c.count();
    for (let i = 0; i < n && !target; i++) {
      const el = c.nth(i);
      const row = await el.evaluate((e) => {
        const r = e.closest('tr, li, article, .peer, [data-peer], section, div');
        return r ? r.innerText + ' ' + (r.getAttribute('data-peer') || r.getAttribute('data-id') || '') : '';
      });
      if (row.includes(NAME_B) || row.includes(SID_B)) target = el;
    }
  }
  if (!target) target = await firstVisible(btns, '"Open console" button');
  await target.click();
  const banner = page.locator('#peer-banner').first();
  await banner.waitFor({ state: 'visible', timeout: WAIT });
  const bt = await banner.innerText();
  ok(bt.includes(NAME_B) || bt.includes(SID_B), 'the peer banner names B', `banner: "${bt}"`);
  const shown = await expectView('#view-login', 'B asks for its own login (the login view, for B)');
  await shot('b-login');
  return shown;
});

await step('B: log in through the switch', async () => {
  const shown = await login(USER_B, PASS_B, 'B: after "Log in" B\'s dashboard shows');
  await page.waitForLoadState('networkidle').catch(() => {});
  const d = await apiGet(`/api/peer/${SID_B}/dashboard`);
  ok(d.status === 200 && d.json && d.json.server && d.json.server.server_id === SID_B,
     'this browser session now reaches B\'s dashboard through A', JSON.stringify(d).slice(0, 300));
  const banner = await text('#peer-banner');
  const page_t = await text('body');
  ok(await visible('#peer-banner'), 'the peer banner still shows');
  ok(page_t.includes(SID_B), `the page shows B's server id ${SID_B}`,
     `banner: "${banner}"\ndashboard: ${(await text('#view-dashboard')).slice(0, 600)}`);
  await shot('b-dashboard');
  return shown;
});

await step('log out', async () => {
  const btn = await firstVisible([page.getByRole('button', { name: /^\s*log ?out\s*$/i })], '"Log out" button');
  await btn.click();
  const shown = await expectView('#view-login', 'after "Log out" the login view shows');
  const s = await apiGet('/api/session');
  ok(s.status === 401, 'and the session is over (GET /api/session -> 401)', JSON.stringify(s).slice(0, 200));
  ok(!(await visible('#peer-banner')), 'the peer banner is gone');
  await shot('logged-out');
  return shown;
}, false);

// ---------------------------------------------------------------- the end
ok(problems.length === 0, 'no page JS errors, CSP violations, console errors or 5xx answers',
   problems.join('\n'));
say(`result ${JSON.stringify(result)}`);
clearTimeout(watchdog);
await context.close();
await browser.close();
comment(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(0);
