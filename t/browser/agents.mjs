// t/browser/agents.mjs - the Peers view's agents in headless Chromium,
// driven by playwright-core; started by t/73-web-jobs.t inside the
// network namespace of a daemon whose discovery hears two agents, one
// named as a client (GV_E2E_ENROLLED; no agent of it polled) and one not
// (GV_E2E_STRANGER).
//
// Log in, open Peers: the agents card lists both, the first "same name
// as client" with a link, the second "not enrolled" with "Enroll";
// clicking it adds the client and shows its token and the command on the
// clients view.  Prints "ok - NAME" / "not ok - NAME", "# ..." comments
// and "result {json}" (the token) as t/browser/e2e.mjs does; shots at
// laptop (1366x768) and phone (390x844) size into GV_E2E_OUT.  Any page
// JS error, CSP violation or console error but an expected 401 fails.

import { env, need, say, comment, ok, launch } from './harness.mjs';

const URL = need('GV_E2E_URL');
const USER = need('GV_E2E_USER');
const PASS = need('GV_E2E_PASS');
const ENROLLED = need('GV_E2E_ENROLLED');
const STRANGER = need('GV_E2E_STRANGER');
const OUT = need('GV_E2E_OUT');
const WAIT = Number(env.GV_E2E_WAIT_MS || 15000);

const result = {};
const { page, shot, end } = await launch({ out: OUT, wait: WAIT, seconds: 90 });
// the text of the agents card's row that names machine
async function row(machine) {
  return page.locator('.agents-card tbody tr').evaluateAll((trs, m) =>
    (trs.find((tr) => tr.cells[0] && tr.cells[0].innerText.trim() === m) || {}).innerText || '', machine);
}

try {
  await page.goto(URL, { waitUntil: 'load' });
  await page.locator('#login-user').fill(USER);
  await page.locator('#login-password').fill(PASS);
  await page.locator('#login-submit').click();
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  ok(true, 'logged in: the dashboard shows');

  await page.getByRole('link', { name: /^\s*Peers\s*$/ }).first().click();
  await page.locator('#view-peers').waitFor({ state: 'visible' });
  const card = page.locator('.agents-card');
  await card.getByText(STRANGER).first().waitFor({ state: 'visible' });
  const head = await card.locator('h2').innerText();
  ok(/Agents on this network \(2\)/.test(head), 'the agents card counts two agents', head);
  const servers = await page.locator('#peers-body table').first().innerText();
  ok(!servers.includes(STRANGER) && !servers.includes(ENROLLED),
     'the agents are not in the servers\' table (no "Open console" for them)', servers);
  const r1 = await row(ENROLLED);
  ok(/same name\s+as client\s+\S+/.test(r1) && r1.includes(ENROLLED) && !/enrolled/.test(r1),
     `${ENROLLED}: "same name as client ${ENROLLED}", not "enrolled"`, r1);
  const link = card.getByRole('link', { name: ENROLLED, exact: true }).first();
  ok((await link.getAttribute('href')) === `#/client/${ENROLLED}`, `... with a link to its client page`);
  const r2 = await row(STRANGER);
  ok(/not enrolled/.test(r2), `${STRANGER}: "not enrolled"`, r2);
  const btn = card.getByRole('button', { name: `Enroll ${STRANGER}` });
  ok(await btn.isVisible(), `... with an "Enroll" button`);
  await shot('agents-peers');

  await btn.click();
  await page.locator('#view-clients').waitFor({ state: 'visible' });
  await page.locator('#enroll').waitFor({ state: 'visible' });
  const token = await page.locator('#token').inputValue();
  const cmd = await page.locator('#enroll-command').inputValue();
  ok(/^[0-9a-f]{32}$/.test(token), 'Enroll: the clients view shows the new client\'s token', token);
  ok((await page.locator('#enroll-name').innerText()) === STRANGER, `... for client ${STRANGER}`);
  ok(cmd.startsWith('gigavault register ') && cmd.includes(token), '... and the command to run on the machine', cmd);
  result.token = token;
  await shot('agents-enrolled');
} catch (e) {
  ok(false, 'the agents steps ran', String(e && e.message || e).split('\n').slice(0, 6).join('\n'));
}
await end(result);
