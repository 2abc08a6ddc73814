// t/browser/browse.mjs - browse and restore through the agent on a
// client's page, in headless Chromium driven by playwright-core; started
// by t/79-web-browse.t with a real agent (PollInterval 1) of client
// GV_E2E_CLIENT whose snapshot GV_E2E_SNAPSHOT holds GV_E2E_SRC.
//
// Log in, open the client's page: the "Browse and restore" card says
// why browsing needs the agent and when it last checked in; choose the
// snapshot, "Browse", then click the directories down to GV_E2E_SRC and
// into docs/; tick two files there, go back up with the path bar and
// tick the directory photos/; ask for overwriting the original place
// (the confirmation shows; cancelled); restore to GV_E2E_TARGET and wait
// for the agent's result; open a mail set's mailbox directory (its
// messages' From, Subject and Date).  Prints "ok - NAME" / "not ok - NAME", "# ..."
// comments and "result {json}" (the restore's result as shown) as
// t/browser/e2e.mjs does; shots at laptop (1366x768) and phone (390x844)
// size into GV_E2E_OUT.  Any page JS error, CSP violation, console error
// but an expected 401, or 5xx answer fails.

import { env, need, say, comment, ok, launch } from './harness.mjs';

const URL = need('GV_E2E_URL');
const USER = need('GV_E2E_USER');
const PASS = need('GV_E2E_PASS');
const CLIENT = need('GV_E2E_CLIENT');
const SNAPSHOT = need('GV_E2E_SNAPSHOT');
const SRC = need('GV_E2E_SRC');
const TARGET = need('GV_E2E_TARGET');
const OUT = need('GV_E2E_OUT');
const WAIT = Number(env.GV_E2E_WAIT_MS || 30000);

const result = {};
const { page, shot, end } = await launch({ out: OUT, wait: WAIT, seconds: 180 });

const card = page.locator('#browse-card');
// wait until the listing of dir is shown (the agent answered)
async function listed(dir) {
  await page.waitForFunction((d) => {
    const s = document.getElementById('browse-status');
    const list = document.getElementById('browse-list');
    const t = s ? s.innerText.replace(/^\s*listed\s*/, '') : '';
    return s && /listed/.test(s.innerText) && t.startsWith(d + ':') && list && list.firstChild;
  }, dir);
}
// click the directory button for full path p, and wait for its listing
async function open(p) {
  await card.locator(`button.browse-dir[data-path="${p}"]`).click();
  await listed(p);
}
async function names() {
  return card.locator('#browse-list .browse-dir, #browse-list .browse-file').allInnerTexts();
}

try {
  await page.goto(URL, { waitUntil: 'load' });
  await page.locator('#login-user').fill(USER);
  await page.locator('#login-password').fill(PASS);
  await page.locator('#login-submit').click();
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  ok(true, 'logged in: the dashboard shows');

  await page.goto(URL + '#/client/' + encodeURIComponent(CLIENT));
  await card.waitFor({ state: 'visible' });
  const why = await card.locator('#browse-why').innerText();
  ok(/needs the client's agent/.test(why) && /cannot read/.test(why) && /encrypted/.test(why) &&
     /keys/.test(why), 'the card says why browsing needs the agent', why);
  const agentLine = await card.locator('#browse-agent').innerText();
  ok(/The agent last checked in .* ago/.test(agentLine) && /next check-in, at most PollInterval/.test(agentLine),
     'it says when the agent last checked in and that browsing waits for its next check-in', agentLine);
  await page.locator('#browse-snapshot').selectOption(SNAPSHOT);
  await shot('browse-card');

  await page.locator('#browse-open').click();
  await listed('/');
  ok(true, 'Browse: the agent listed the snapshot\'s root');
  // down to SRC, one click per directory
  const parts = SRC.split('/').filter((s) => s);
  let at = '';
  for (const p of parts) {
    at += '/' + p;
    await open(at);
  }
  const top = await names();
  ok(['docs/', 'photos/', 'readme.txt'].every((n) => top.includes(n)),
     `the source directory lists docs/, photos/ and readme.txt`, top.join(', '));
  await open(SRC + '/docs');
  const docs = await names();
  ok(docs.includes('a.txt') && docs.includes('b.bin'), 'docs/ lists a.txt and b.bin', docs.join(', '));
  const crumbs = await card.locator('#browse-crumbs').innerText();
  ok(crumbs.includes('docs/'), 'the path bar shows where we are', crumbs);
  await card.locator(`input.browse-pick[data-path="${SRC}/docs/a.txt"]`).check();
  await card.locator(`input.browse-pick[data-path="${SRC}/docs/b.bin"]`).check();
  ok((await card.locator('#browse-count').innerText()) === '2 selected', 'two files ticked');
  await shot('browse-docs');

  // back up with the path bar, and tick a directory
  const srcName = parts[parts.length - 1];
  await card.locator(`#browse-crumbs button[data-path="${SRC}"]`).click();
  await listed(SRC);
  await card.locator(`input.browse-pick[data-path="${SRC}/photos"]`).check();
  ok((await card.locator('#browse-count').innerText()) === '3 selected',
     `the path bar goes back to ${srcName}/; the selection is kept and photos/ added`);

  // overwriting asks first
  await card.locator('#browse-where-overwrite').check();
  await page.locator('#browse-restore').click();
  await card.locator('#browse-confirm').waitFor({ state: 'visible' });
  const conf = await card.locator('#browse-confirm').innerText();
  ok(/Overwrite on the client\?/.test(conf) && /cannot be undone/.test(conf),
     'restoring to the original place with overwrite asks first', conf);
  await shot('browse-confirm-overwrite');
  await card.locator('#browse-confirm').getByRole('button', { name: 'Cancel' }).click();
  ok(await card.locator('#browse-confirm').isHidden(), '... Cancel: nothing is asked of the agent');

  // restore to a target directory
  await card.locator('#browse-where-directory').check();
  await page.locator('#browse-dir').fill(TARGET);
  await page.locator('#browse-restore').click();
  await page.waitForFunction(() => /restore of 3 paths \(request \d+\)/i.test(
    (document.getElementById('browse-status') || {}).innerText || ''));
  ok(true, 'Restore: the request is queued and its state shown');
  await page.locator('#browse-result[data-state]').waitFor({ state: 'attached', timeout: 60000 });
  const st = await page.locator('#browse-result').getAttribute('data-state');
  const res = await page.locator('#browse-result').innerText();
  ok(st === 'done', 'the agent restored them: done', res);
  const m = /Files\s+(\d+)/.exec(res);
  result.files = m ? Number(m[1]) : null;
  result.state = st;
  result.text = res;
  ok(/Problems\s+0/.test(res) && res.includes(TARGET), 'the result shows the files, no problem, and where', res);
  await shot('browse-restored');

  // a mail set's mailbox: From, Subject and Date from its .mailbox
  // (the listing shown is still the source directory's)
  await open(SRC + '/mail');
  await open(SRC + '/mail/ann');
  await open(SRC + '/mail/ann/INBOX');
  const mtext = await card.locator('#browse-list').innerText();
  const mstatus = await card.locator('#browse-status').innerText();
  ok(/Minutes of the meeting/.test(mtext) && /Alice <alice@example.org>/.test(mtext) &&
     /Fri, 6 Dec 2024/.test(mtext) && /From/.test(mtext) && /Subject/.test(mtext),
     'a mailbox directory shows each message\'s From, Subject and Date', mtext);
  ok(/mailbox INBOX of a mail set/.test(mstatus), '... and says it is a mailbox', mstatus);
  await shot('browse-mailbox');
} catch (e) {
  ok(false, 'the browse and restore steps ran', String(e && e.message || e).split('\n').slice(0, 6).join('\n'));
  try { await shot('browse-failure'); } catch (e2) { /* nothing more to show */ }
}
await end(result);
