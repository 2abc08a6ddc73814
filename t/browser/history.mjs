// t/browser/history.mjs - the dashboard's health first and the History
// page in headless Chromium, driven by playwright-core; started by
// t/74-web-history.t against a daemon whose history holds a backup of
// GV_E2E_OK (ok), a failed job report of GV_E2E_FAILED (its message
// GV_E2E_ERROR) and a failed login.
//
// Log in; the dashboard leads with the health counts (1 failed), the
// "Needs attention" list naming the failed client with its message, and
// the space card with the fill estimate (t/gv-days gave 10 days of 1 GiB
// a day before today: it must say about GV_E2E_FREE / 1 GiB days from
// now), above the worker pool.  The
// History page: filtered by client (typed), by kind (chosen), by result
// (chosen), each checked against the rows shown and the address; a
// click on a row's time opens its detail (who, bytes, the error text);
// the client page's "History of this client" link filters by it.
// Prints "ok - NAME" / "not ok - NAME", "# ..." comments and "result
// {json}" as t/browser/agents.mjs does; shots at laptop (1366x768) and
// phone (390x844) size into GV_E2E_OUT.  Any page JS error, CSP
// violation or console error but an expected 401 fails.

import { env, need, say, comment, ok, launch } from './harness.mjs';

const URL = need('GV_E2E_URL');
const USER = need('GV_E2E_USER');
const PASS = need('GV_E2E_PASS');
const OKC = need('GV_E2E_OK');
const FAILC = need('GV_E2E_FAILED');
const ERROR = need('GV_E2E_ERROR');
const OUT = need('GV_E2E_OUT');
const WAIT = Number(env.GV_E2E_WAIT_MS || 15000);

const result = { clicked: [] };
const { page, shot, end } = await launch({ out: OUT, wait: WAIT, seconds: 100 });
// kind, result and client of every row the History page shows
async function rows() {
  return page.locator('#history-body tr.history-row').evaluateAll((trs) => trs.map((tr) => ({
    kind: (tr.querySelector('[data-kind]') || {}).textContent || '',
    result: (tr.querySelector('.badge') || {}).textContent || '',
    client: (tr.cells[3] || {}).innerText || '',
  })));
}
async function waitRows(what) {
  await page.locator('#history-count').waitFor({ state: 'visible' });
  const r = await rows();
  comment(`${what}: ${r.length} rows: ${r.map((x) => `${x.kind}/${x.result}/${x.client.trim()}`).join(', ')}`);
  return r;
}
async function apply(label) {
  await page.locator('#history-apply').click();
  result.clicked.push(label);
  await page.waitForFunction(() => !document.querySelector('#history-body p.muted'));
  await page.waitForTimeout(300);
}

try {
  await page.goto(URL, { waitUntil: 'load' });
  await page.locator('#login-user').fill(USER);
  await page.locator('#login-password').fill(PASS);
  await page.locator('#login-submit').click();
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  ok(true, 'logged in: the dashboard shows');

  // ---- the dashboard: health first
  const lead = page.locator('#dashboard-body > .health-first');
  await lead.waitFor({ state: 'visible' });
  const order = await page.locator('#dashboard-body').evaluate((b) => {
    const kids = Array.from(b.children);
    const lead = kids.findIndex((k) => k.classList.contains('health-first'));
    const pool = kids.findIndex((k) => /Worker pool/.test((k.querySelector('h2') || {}).textContent || ''));
    return { lead, pool };
  });
  ok(order.lead === 0 && order.pool > order.lead, 'the dashboard leads with the machines, the worker pool below',
     JSON.stringify(order));
  const failedN = await page.locator('#health-counts [data-health="failed"] strong').innerText();
  const okN = await page.locator('#health-counts [data-health="ok"] strong').innerText();
  ok(failedN === '1', 'the health counts show 1 failed', failedN);
  ok(okN === '1', '... and 1 ok', okN);
  const att = await page.locator('.attention-card').innerText();
  ok(att.includes(FAILC) && att.includes(ERROR), `"Needs attention" names ${FAILC} with its last error`, att);
  ok(!att.includes(OKC), `... and not ${OKC}`, att);
  const fill = await page.locator('#fill-estimate').innerText();
  const m = /^At 1\.0 GiB a day \(the last 11 days with backups\), it fills around (\d{4})-(\d\d)-(\d\d) \(in (.+)\)\.$/.exec(fill);
  const when = m ? new Date(+m[1], +m[2] - 1, +m[3]).getTime() / 1000 : 0;
  const free = Number(need('GV_E2E_FREE'));
  const want = Date.now() / 1000 + free / 1073741824 * 86400;
  ok(m && Math.abs(when - want) < 2 * 86400,
     'the space card says when DataDir fills: at 1.0 GiB a day over 11 days, in free / growth days',
     `${fill} (want about ${new Date(want * 1000).toISOString()})`);
  result.fill = fill;
  const space = await page.locator('.fill-card').innerText();
  ok(/Free\s+[\d.]+ [KMGT]?i?B/.test(space) && /Capacity\s+[\d.]+ [KMGT]?i?B/.test(space),
     '... with the free space and the capacity', space);
  await shot('dashboard-health');

  // ---- the History page
  await page.getByRole('link', { name: /^\s*History\s*$/ }).first().click();
  result.clicked.push('nav: History');
  await page.locator('#view-history').waitFor({ state: 'visible' });
  let r = await waitRows('all');
  const kinds = new Set(r.map((x) => x.kind));
  ok(['backup', 'job', 'auth', 'register'].every((k) => kinds.has(k)),
     'the history shows backup, job, auth and register rows', [...kinds].join(', '));
  await shot('history-all');

  await page.locator('#history-client').fill(OKC);
  await apply('filter: client');
  r = await waitRows(`client ${OKC}`);
  ok(r.length > 0 && r.every((x) => x.client.trim() === OKC), `filtered by client ${OKC}: its rows only`);
  ok(decodeURIComponent(await page.evaluate(() => location.hash)) === `#/history/client=${OKC}`,
     '... and the address says so');

  await page.locator('#history-kind').selectOption('backup');
  await apply('filter: kind');
  r = await waitRows('client and kind backup');
  ok(r.length === 1 && r[0].kind === 'backup' && r[0].result === 'ok', `... and kind backup: its one backup, ok`);
  await shot('history-filtered');

  await page.locator('#history-client').fill('');
  await page.locator('#history-kind').selectOption('');
  await page.locator('#history-result').selectOption('failed');
  await apply('filter: result');
  r = await waitRows('result failed');
  ok(r.length >= 2 && r.every((x) => x.result === 'failed'), 'filtered by result failed: failed rows only');
  ok(r.some((x) => x.kind === 'job' && x.client.trim() === FAILC), `... among them ${FAILC}'s job report`);
  ok(r.some((x) => x.kind === 'auth'), '... and the failed login');

  // ---- a detail, by a click on the job row's time
  const jobRow = page.locator('#history-body tr.history-row', { has: page.locator('[data-kind="job"]') }).first();
  await jobRow.locator('a.history-open').click();
  result.clicked.push('row: detail');
  await page.locator('#history-detail').waitFor({ state: 'visible' });
  const det = await page.locator('#history-detail').innerText();
  ok(/job · failed/.test(det) && det.includes(FAILC) && det.includes(ERROR),
     'a click on a row opens its detail: kind, result, client, the whole error', det);
  ok(/Who\s+agent/.test(det), '... and who (the agent)', det);
  await shot('history-detail');

  // ---- from the client page
  await page.goto(`${URL}#/client/${OKC}`);
  await page.locator('#view-client').waitFor({ state: 'visible' });
  await page.locator('#client-history').click();
  result.clicked.push('client page: History of this client');
  await page.locator('#view-history').waitFor({ state: 'visible' });
  r = await waitRows(`from ${OKC}'s page`);
  ok(r.length > 0 && r.every((x) => x.client.trim() === OKC) &&
     (await page.locator('#history-client').inputValue()) === OKC,
     `the client page's "History of this client" shows ${OKC}'s rows, the filter filled in`);
} catch (e) {
  ok(false, 'the history steps ran', String(e && e.message || e).split('\n').slice(0, 6).join('\n'));
}
await end(result);
