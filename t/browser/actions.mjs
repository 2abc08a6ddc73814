// t/browser/actions.mjs - the console's actions (doc/webconsole.md,
// "Actions") in headless Chromium, driven by playwright-core; started by
// t/76-web-actions.t, which sets up a daemon with a client GV_E2E_CLIENT
// of three snapshots (ids 1, 2, 3, set GV_E2E_SET) and a second client
// GV_E2E_DOOMED.
//
// Every action is clicked, its confirmation too (and once cancelled),
// and its effect read back through the API in the page's session:
// protect, unprotect (cancelled, then confirmed), the retention editor
// (the set's policy, the client's default, clear), forget from the
// snapshot list and from the snapshot's page, allow and deny client
// forget, a new enrollment token (the .t registers a client with it),
// disable and enable, prune and scrub, remove.  Prints "ok - NAME" /
// "not ok - NAME", "# ..." comments and "result {json}" as e2e.mjs does;
// shots at laptop (1366x768) and phone (390x844) size into GV_E2E_OUT.
// Any page JS error, CSP violation, console error but an expected 401,
// or 5xx answer fails.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const env = process.env;
const need = (k) => {
  if (!env[k]) { console.log(`not ok - environment variable ${k} is set`); process.exit(2); }
  return env[k];
};
const URL = need('GV_E2E_URL');
const USER = need('GV_E2E_USER');
const PASS = need('GV_E2E_PASS');
const CLIENT = need('GV_E2E_CLIENT');
const SET = need('GV_E2E_SET');
const DOOMED = need('GV_E2E_DOOMED');
const OUT = need('GV_E2E_OUT');
const CHROMIUM = env.GV_E2E_CHROMIUM || '/usr/bin/chromium';
const WAIT = Number(env.GV_E2E_WAIT_MS || 15000);
const TOTAL = Number(env.GV_E2E_TIMEOUT_MS || 180000);
const SIZES = [['laptop', 1366, 768], ['phone', 390, 844]];

const problems = [];
const result = { clicked: [] };
function say(line) { process.stdout.write(line + '\n'); }
function comment(t) { for (const l of String(t).split('\n')) say(`# ${l}`); }
function ok(cond, name, why) {
  say(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond && why) comment(why);
  return !!cond;
}

fs.mkdirSync(OUT, { recursive: true });
const watchdog = setTimeout(() => {
  ok(false, `the browser run finished within ${TOTAL / 1000} s`);
  process.exit(3);
}, TOTAL);
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--no-default-browser-check', '--disable-extensions',
         '--disable-background-networking', '--disable-component-update'],
});
comment(`Chromium ${browser.version()}`);
const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
const page = await context.newPage();
page.setDefaultTimeout(WAIT);
await page.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
  });
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (/status of 401\b/.test(m.text())) return;  // the logged-out page's session check
  problems.push(`console error: ${m.text()}`);
});
page.on('response', (r) => { if (r.status() >= 500) problems.push(`${r.status()} for ${r.url()}`); });

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
      ok(over <= 1, `${name}: no sideways scrolling at ${w} px wide`, `${over} px too wide`);
    }
  }
  await page.setViewportSize({ width: SIZES[0][1], height: SIZES[0][2] });
}

// GET an API path with the page's session cookie (the context's request
// client: not the page's, so an expected 404 is no console error)
async function api(p) {
  const r = await context.request.get(new globalThis.URL('/api' + p, URL).href);
  let j = null;
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  return { status: r.status(), json: j };
}
// poll fn until it returns a truthy value (or WAIT passes): that value
async function until(fn) {
  const deadline = Date.now() + WAIT;
  let v;
  while (Date.now() < deadline) {
    if ((v = await fn())) return v;
    await page.waitForTimeout(150);
  }
  return v;
}
const C = encodeURIComponent(CLIENT);
const snapshot = async (id) => api(`/clients/${C}/snapshot?snapshot=${id}`);
const policy = async () => (await api(`/clients/${C}/policy`)).json || {};
const setRow = (p, set) => (p.sets || []).find((s) => s.set === set) || {};
const client = async (name) => (await api(`/clients/${encodeURIComponent(name)}`)).json || {};

async function clientPage() {
  await page.goto(`${URL}#/client/${C}`);
  await page.locator('#view-client').waitFor({ state: 'visible' });
  await page.locator('.snapshots-card').waitFor({ state: 'visible' });
  await page.locator('#policy-form').waitFor({ state: 'visible' });
}
// the confirmation dialog: its text, then click "confirm" or "cancel"
async function confirmDialog(answer, what) {
  const dlg = page.locator('#confirm-dialog');
  await dlg.waitFor({ state: 'visible' });
  const title = await page.locator('#confirm-title').innerText();
  const text = await page.locator('#confirm-text').innerText();
  ok(title.length > 0 && text.length > 20, `${what}: a dialog says what will happen`, `${title} / ${text}`);
  await shot(`confirm-${what.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
  await page.locator(answer === 'confirm' ? '#confirm-submit' : '#confirm-cancel').click();
  await dlg.waitFor({ state: 'hidden' });
  result.clicked.push(`${what}: ${answer}`);
  return { title, text };
}
async function click(sel, what) {
  await page.locator(sel).first().click();
  result.clicked.push(what);
}

try {
  await page.goto(URL, { waitUntil: 'load' });
  await page.locator('#login-user').fill(USER);
  await page.locator('#login-password').fill(PASS);
  await page.locator('#login-submit').click();
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  ok(true, 'logged in: the dashboard shows');

  // the client page: snapshots as rows with links and actions
  await clientPage();
  const rows = await page.locator('.snapshots-card tbody tr').count();
  ok(rows === 3, 'the client page lists three snapshots', `${rows} rows`);
  const href = await page.locator('.snap-link[data-snapshot="1"]').getAttribute('href');
  ok(href === `#/snapshot/${C}/1`, 'snapshot 1 links to its page', href);
  ok(await page.locator('.retention-card').isVisible(), 'a Retention card');
  ok(await page.locator('.actions-card').isVisible(), 'an Actions card');
  await shot('client-page');

  // protect 1 (no confirmation: it takes nothing away)
  await click('.snap-protect[data-snapshot="1"]', 'Protect snapshot 1');
  ok(await until(async () => (await snapshot(1)).json?.snapshot?.protected === true),
     'Protect 1: the API says it is protected');
  await page.locator('tr.snap-protected').first().waitFor({ state: 'visible' });
  ok(await page.locator('.snap-forget[data-snapshot="1"]').isDisabled(),
     '... its Forget button is disabled');
  await shot('snapshot-protected');

  // unprotect 1: cancelled, then confirmed
  await click('.snap-protect[data-snapshot="1"]', 'Unprotect snapshot 1');
  const u = await confirmDialog('cancel', 'Unprotect');
  ok(/retention policy/i.test(u.text), '... it names what happens (the retention policy decides)', u.text);
  ok((await snapshot(1)).json?.snapshot?.protected === true, 'Unprotect cancelled: still protected');
  await click('.snap-protect[data-snapshot="1"]', 'Unprotect snapshot 1');
  await confirmDialog('confirm', 'Unprotect');
  ok(await until(async () => (await snapshot(1)).json?.snapshot?.protected === false),
     'Unprotect confirmed: the API says it is not protected');

  // the retention editor: set SET keeps the last 1
  await clientPage();
  await page.locator('#policy-set').selectOption(SET);
  await page.locator('#policy-keep_last').fill('1');
  await shot('retention-editor');
  await click('#policy-save', 'Save policy');
  ok(await until(async () => {
    const r = setRow(await policy(), SET);
    return r.from === 'set' && r.policy && r.policy.keep_last === 1;
  }), `Save policy: set ${SET} keeps the last 1, its own policy`);
  await page.locator(`.policy-from[data-set="${SET}"][data-from="set"]`).waitFor({ state: 'visible' });
  ok(true, '... and the page says where it comes from');
  // the client's default: keep 5 daily, then cleared
  await page.locator('#policy-set').selectOption('');
  await page.locator('#policy-keep_daily').fill('5');
  await click('#policy-save', 'Save policy (client default)');
  ok(await until(async () => setRow(await policy(), '').from === 'client' &&
                 setRow(await policy(), '').policy.keep_daily === 5),
     "Save policy: the client's default keeps 5 daily");
  await page.locator('.policy-from[data-set=""][data-from="client"]').waitFor({ state: 'visible' });
  await shot('retention-saved');
  await page.locator('#policy-set').selectOption('');
  await click('#policy-clear', 'Clear policy');
  await confirmDialog('confirm', 'Clear policy');
  ok(await until(async () => setRow(await policy(), '').from === 'server'),
     "Clear policy: the client's default is the server's again");

  // forget 2 from the list (the policy no longer keeps it)
  await clientPage();
  await click('.snap-forget[data-snapshot="2"]', 'Forget snapshot 2');
  const f = await confirmDialog('confirm', 'Forget');
  ok(/cannot be undone/i.test(f.text), '... the dialog says it cannot be undone', f.text);
  ok(await until(async () => (await snapshot(2)).status === 404), 'Forget 2: the API has no snapshot 2');
  await page.locator('.snapshots-card h2', { hasText: '(2)' }).waitFor({ state: 'visible' });
  ok(true, '... and the list shows two snapshots');

  // the snapshot's page: protect, unprotect, forget from there
  await click('.snap-link[data-snapshot="1"]', 'Snapshot 1 link');
  await page.locator('#view-snapshot').waitFor({ state: 'visible' });
  await page.locator('.snapshot-card').waitFor({ state: 'visible' });
  const detail = await page.locator('#snapshot-body').innerText();
  ok(detail.includes(SET) && /not kept/.test(detail),
     "snapshot 1's page: its set and the policy's verdict (not kept)", detail);
  await click('#view-snapshot .snap-protect', 'Protect (snapshot page)');
  await page.locator('#snapshot-protected .badge').waitFor({ state: 'visible' });
  ok((await snapshot(1)).json?.snapshot?.protected === true, 'Protect on its page: the API agrees');
  ok(/kept \(protected\)/.test(await page.locator('#snapshot-body').innerText()),
     '... the verdict is now "kept (protected)"');
  await shot('snapshot-page-protected');
  await click('#view-snapshot .snap-protect', 'Unprotect (snapshot page)');
  await confirmDialog('confirm', 'Unprotect');
  ok(await until(async () => (await snapshot(1)).json?.snapshot?.protected === false),
     'Unprotect on its page: the API agrees');
  await page.locator('#view-snapshot .snap-forget:not([disabled])').waitFor({ state: 'visible' });
  await click('#view-snapshot .snap-forget', 'Forget (snapshot page)');
  await confirmDialog('confirm', 'Forget');
  await page.locator('#view-client').waitFor({ state: 'visible' });
  ok((await snapshot(1)).status === 404, 'Forget on its page: snapshot 1 is gone, back on the client page');
  result.left = ((await client(CLIENT)).snapshots || []).map((s) => s.id);

  // allow, then deny client-side forget
  await clientPage();
  await click('#client-forget-toggle', 'Allow client forget');
  await confirmDialog('confirm', 'Allow forget');
  ok(await until(async () => (await client(CLIENT)).client?.allow_forget === true),
     'Allow client forget: the API says allowed');
  await page.locator('#client-forget-toggle', { hasText: 'Deny' }).waitFor({ state: 'visible' });
  await click('#client-forget-toggle', 'Deny client forget');
  const d = await confirmDialog('confirm', 'Deny forget');
  ok(/refused/.test(d.text), '... the dialog says what is refused', d.text);
  ok(await until(async () => (await client(CLIENT)).client?.allow_forget === false),
     'Deny client forget: the API says denied');

  // disable, enable
  await page.locator('#client-forget-toggle', { hasText: 'Allow' }).waitFor({ state: 'visible' });
  await page.locator('#view-client').getByRole('button', { name: 'Disable', exact: true }).click();
  result.clicked.push('Disable');
  ok(await until(async () => (await client(CLIENT)).client?.disabled === true), 'Disable: the API agrees');
  await page.locator('#view-client').getByRole('button', { name: 'Enable', exact: true }).click();
  result.clicked.push('Enable');
  ok(await until(async () => (await client(CLIENT)).client?.disabled === false), 'Enable: the API agrees');

  // prune and scrub from the client page
  const t0 = Math.floor(Date.now() / 1000) - 1;
  await page.locator('#client-prune').waitFor({ state: 'visible' });
  await click('#client-prune', 'Start prune');
  ok(await until(async () => {
    const p = (await api('/housekeeping')).json?.prune || {};
    return !p.running && p.last && p.last.started >= t0 && p.last.result === 'ok';
  }), 'Start prune: the housekeeping status shows a prune started now, finished ok');
  await page.locator('#client-scrub').waitFor({ state: 'visible' });
  await click('#client-scrub', 'Start scrub');
  ok(await until(async () => {
    const s = (await api('/housekeeping')).json?.scrub || {};
    return !s.running && s.last && s.last.started >= t0 && s.last.result === 'ok';
  }), 'Start scrub: the housekeeping status shows a scrub started now, finished ok');
  await shot('prune-scrub');

  // a new enrollment token: confirmed, shown once on the clients view
  await clientPage();
  await click('#client-new-token', 'New enrollment token');
  const t = await confirmDialog('confirm', 'New token');
  ok(/stops working/.test(t.text), '... the dialog says the unused token stops working', t.text);
  await page.locator('#view-clients').waitFor({ state: 'visible' });
  await page.locator('#enroll').waitFor({ state: 'visible' });
  const token = await page.locator('#token').inputValue();
  ok(/^[0-9a-f]{32}$/.test(token), 'New token: the clients view shows it', token);
  ok((await page.locator('#enroll-name').innerText()) === CLIENT, `... for ${CLIENT}`);
  ok((await page.locator('#enroll-command').inputValue()).includes(token), '... with the command');
  result.token = token;
  await shot('new-token');

  // remove the other client from its page (typed name)
  await page.goto(`${URL}#/client/${encodeURIComponent(DOOMED)}`);
  await page.locator('#view-client').waitFor({ state: 'visible' });
  await page.locator('.actions-card').waitFor({ state: 'visible' });
  await page.locator('#view-client').getByRole('button', { name: 'Remove', exact: true }).click();
  await page.locator('#remove-dialog').waitFor({ state: 'visible' });
  ok(await page.locator('#remove-submit').isDisabled(), 'Remove: disabled until the name is typed');
  await page.locator('#remove-confirm').fill(DOOMED);
  await shot('remove-dialog');
  await page.locator('#remove-submit').click();
  result.clicked.push('Remove');
  await page.locator('#view-clients').waitFor({ state: 'visible' });
  ok(await until(async () => (await api(`/clients/${encodeURIComponent(DOOMED)}`)).status === 404),
     `Remove: the API has no client ${DOOMED}`);
} catch (e) {
  ok(false, 'the action steps ran', String(e && e.message || e).split('\n').slice(0, 8).join('\n'));
  await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
}
ok(problems.length === 0, 'no page JS errors, CSP violations, console errors or 5xx answers', problems.join('\n'));
say(`result ${JSON.stringify(result)}`);
clearTimeout(watchdog);
await context.close();
await browser.close();
process.exit(0);
