// t/browser/admins.mjs - the console's users in headless Chromium, driven
// by playwright-core; started by t/78-web-admins.t, which starts the
// daemon, adds its first administrator and passes everything in GV_E2E_*
// variables.
//
// Log in as the administrator; on "Administrators" add a read-only
// operator; log in as the operator: "(read-only)" by the name, no
// "Administrators" link, and "Add client" refused with the role's error;
// as the administrator again, on "My account" turn TOTP on (the secret
// read from the page, the code computed here with node's HMAC-SHA-1, not
// by the daemon), log out, log in with the password and then a code;
// make an API token (shown once), use it as a script would (Bearer, no
// cookie), revoke it and see it refused.  Prints "ok - NAME" / "not ok -
// NAME", "# ..." comments and "result {json}" as t/browser/e2e.mjs does;
// shots at laptop (1366x768) and phone (390x844) size into GV_E2E_OUT.
// Any page JS error, CSP violation, 5xx, or console error other than the
// expected 401/403/400 answers fails the run.

import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const env = process.env;
const need = (k) => {
  if (!env[k]) { console.log(`not ok - environment variable ${k} is set`); process.exit(2); }
  return env[k];
};
const URL_A = need('GV_E2E_URL');
const USER = need('GV_E2E_USER');
const PASS = need('GV_E2E_PASS');
const OP_USER = need('GV_E2E_OP_USER');
const OP_PASS = need('GV_E2E_OP_PASS');
const OUT = need('GV_E2E_OUT');
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
    comment(`messages: ${await page.locator('#messages').innerText().catch(() => '')}`);
    await page.screenshot({ path: path.join(OUT, 'failed.png'), fullPage: true }).catch(() => {});
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
  if (/Failed to load resource: the server responded with a status of (401|403)\b/.test(t)) {
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
    return ok(false, what, `${view} did not become visible`);
  }
}
async function text(sel) {
  return (await page.locator(sel).first().innerText().catch(() => '')) || '';
}
async function waitText(sel, re, what) {
  const deadline = Date.now() + WAIT;
  let t = '';
  while (Date.now() < deadline) {
    t = await text(sel);
    if (re.test(t)) return ok(true, what);
    await page.waitForTimeout(100);
  }
  return ok(false, what, `${sel}: "${t.slice(0, 400)}" does not match ${re}`);
}
async function apiFetch(p, opts) {
  return page.evaluate(async ([u, o]) => {
    const r = await fetch(u, o || { credentials: 'same-origin' });
    let j = null;
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    return { status: r.status, json: j };
  }, [p, opts || null]);
}
async function fillLogin(user, pass) {
  await page.locator('#login-user').fill(user);
  await page.locator('#login-password').fill(pass);
  await page.locator('#login-submit').click();
}
async function logout() {
  await page.locator('#logout').click();
  return expectView('#view-login', 'after "Log out" the login view shows');
}
async function go(hash, view) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  return expectView(view, `${hash} shows ${view}`);
}

// RFC 6238: HMAC-SHA-1 of the 30 s step, 6 digits, of a base32 secret
function totp(b32, t) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of b32.replace(/=+$/, '')) bits += abc.indexOf(ch).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const ctr = Buffer.alloc(8);
  ctr.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = crypto.createHmac('sha1', Buffer.from(bytes)).update(ctr).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// ---------------------------------------------------------------- admin
await step('log in as the administrator', async () => {
  const r = await page.goto(URL_A, { waitUntil: 'load' });
  ok(r && r.status() === 200, `GET ${URL_A} -> 200`);
  await expectView('#view-login', 'the login view shows');
  await fillLogin(USER, PASS);
  const shown = await expectView('#view-dashboard', 'the administrator logs in');
  ok(!(await text('#user-name')).includes('read-only'), 'no "(read-only)" by the administrator\'s name');
  ok(await visible('#nav-admins a'), 'the "Administrators" link shows');
  return shown;
});

await step('Administrators: add a read-only operator', async () => {
  await page.locator('#nav-admins a').click();
  await expectView('#view-admins', 'the Administrators view shows');
  await waitText('#admins-body', new RegExp(USER), 'it lists the administrator');
  await shot('admins-list');
  await page.locator('#admin-new-name').fill(OP_USER);
  await page.locator('#admin-new-password').fill(OP_PASS);
  await page.locator('#admin-new-role').selectOption('operator');
  await page.locator('#admin-add-form-submit').click();
  await page.locator(`[data-role="${OP_USER}"]`).waitFor({ state: 'visible' });
  ok(/read-only operator/.test(await text(`[data-role="${OP_USER}"]`)),
     `the list shows ${OP_USER} as a read-only operator`);
  const a = await apiFetch('/api/admins');
  const row = a.json && (a.json.admins || []).find((x) => x.name === OP_USER);
  ok(row && row.role === 'operator', `GET /api/admins: ${OP_USER} has the role "operator"`,
     JSON.stringify(a).slice(0, 300));
  await shot('admins-operator-added');
  return logout();
});

// ---------------------------------------------------------------- operator
await step('log in as the operator', async () => {
  await fillLogin(OP_USER, OP_PASS);
  const shown = await expectView('#view-dashboard', 'the operator logs in');
  await waitText('#user-name', /\(read-only\)/, 'the name says "(read-only)"');
  ok(!(await visible('#nav-admins a')), 'no "Administrators" link for the operator');
  await shot('operator-dashboard');
  return shown;
});

await step('the operator\'s write is refused', async () => {
  await page.getByRole('link', { name: /^\s*Clients\s*$/ }).first().click();
  await expectView('#view-clients', 'the Clients view shows');
  await page.locator('#client-name').fill('op-made');
  await page.locator('#add-client').click();
  await waitText('#messages', /needs the administrator role.*read-only operator.*HTTP 403/s,
                 '"Add client" is refused: the page says the administrator role is needed (403)');
  await shot('operator-add-client-refused');
  const c = await apiFetch('/api/clients');
  ok(c.status === 200 && !(c.json.clients || []).some((x) => x.name === 'op-made'),
     'and no client "op-made" exists');
  await go('#/admins', '#view-admins');
  await waitText('#admins-body', /Only administrators manage the users/,
                 'typing #/admins: the page says only administrators manage users');
  await shot('operator-admins-refused');
  return logout();
});

// ---------------------------------------------------------------- TOTP
let secret = '';
await step('My account: turn TOTP on', async () => {
  await fillLogin(USER, PASS);
  await expectView('#view-dashboard', 'the administrator logs in again');
  await page.getByRole('link', { name: /^\s*My account\s*$/ }).first().click();
  await expectView('#view-account', 'the My account view shows');
  await waitText('#account-totp', /off/, 'TOTP is off');
  await page.locator('#totp-start').click();
  await page.locator('#totp-secret').waitFor({ state: 'visible' });
  secret = (await text('#totp-secret')).trim();
  const uri = (await text('#totp-uri')).trim();
  ok(/^[A-Z2-7]{32}$/.test(secret), `the page shows a base32 secret (${secret})`);
  ok(uri.startsWith(`otpauth://totp/GigaVault:${USER}?secret=${secret}&`), 'and the otpauth:// URI', uri);
  await shot('account-totp-enrol');
  const code = totp(secret, Date.now() / 1000);
  await page.locator('#totp-code').fill(code);
  await page.locator('#totp-on-password').fill(PASS);
  await page.locator('#totp-confirm-form-submit').click();
  await waitText('#account-totp', /^on$/, `after the code ${code} TOTP is on`);
  const a = await apiFetch('/api/account');
  ok(a.json && a.json.totp === true, 'GET /api/account: "totp":true');
  await shot('account-totp-on');
  return logout();
});

await step('log in with the password and a code', async () => {
  await fillLogin(USER, PASS);
  await page.locator('#login-code-field').waitFor({ state: 'visible' });
  ok(true, 'after the password the page asks for the code');
  ok(!(await visible('#view-dashboard')), 'and is not logged in yet');
  await shot('login-totp-code');
  // the confirming code's step is used: take the next one (one step ahead is accepted)
  const code = totp(secret, Date.now() / 1000 + 30);
  await page.locator('#login-code').fill(code);
  await page.locator('#login-submit').click();
  const shown = await expectView('#view-dashboard', `with the code ${code} the administrator is in`);
  result.totp = shown;
  return shown;
});

// ---------------------------------------------------------------- API tokens
await step('My account: make an API token, use it, revoke it', async () => {
  await page.getByRole('link', { name: /^\s*My account\s*$/ }).first().click();
  await expectView('#view-account', 'the My account view shows');
  await page.locator('#token-label').fill('ci-script');
  await page.locator('#token-scope').selectOption('full');
  await page.locator('#token-password').fill(PASS);
  await page.locator('#token-form-submit').click();
  await page.locator('#token-value').waitFor({ state: 'visible' });
  const token = (await text('#token-value')).trim();
  ok(/^gvt_[0-9a-f]{64}$/.test(token), 'the new token is shown once');
  await waitText('#tokens-card', /ci-script/, 'the token list shows "ci-script"');
  await shot('account-token-made');
  // as a script: no cookie, the Bearer header
  const byToken = await apiFetch('/api/clients', { credentials: 'omit',
    headers: { Authorization: `Bearer ${token}` } });
  ok(byToken.status === 200, 'a fetch with only "Authorization: Bearer" reads /api/clients',
     JSON.stringify(byToken).slice(0, 200));
  const id = token.slice(4, 20);
  await page.locator(`[data-token="${id}"]`).click();
  await waitText('#messages', /revoked/, 'Revoke says the token is revoked');
  ok(await page.locator(`[data-token="${id}"]`).waitFor({ state: 'detached' }).then(() => true, () => false),
     'and it is gone from the list');
  const after = await apiFetch('/api/clients', { credentials: 'omit',
    headers: { Authorization: `Bearer ${token}` } });
  ok(after.status === 401, 'the revoked token is refused (401)', JSON.stringify(after).slice(0, 200));
  result.token_id = id;
  await shot('account-token-revoked');
  return true;
});

// ---------------------------------------------------------------- the end
ok(problems.length === 0, 'no page JS errors, CSP violations, console errors or 5xx answers',
   problems.join('\n'));
say(`result ${JSON.stringify(result)}`);
clearTimeout(watchdog);
await context.close();
await browser.close();
comment(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(0);
