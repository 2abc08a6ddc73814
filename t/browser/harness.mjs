// t/browser/harness.mjs - what the console's browser scripts share: the
// GV_E2E_* environment, TAP output ("ok - NAME" / "not ok - NAME", "#"
// comments, "result {json}"), headless Chromium through playwright-core
// with a watchdog, the page's problems (JS errors, CSP violations,
// console errors but the logged-out page's 401, 5xx answers) and
// screenshots at laptop (1366x768) and phone (390x844) width, each phone
// shot checked for sideways scrolling.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const env = process.env;
export function need(k) {
  if (!env[k]) { console.log(`not ok - environment variable ${k} is set`); process.exit(2); }
  return env[k];
}
export function say(line) { process.stdout.write(line + '\n'); }
export function comment(t) { for (const l of String(t).split('\n')) say(`# ${l}`); }
export function ok(cond, name, why) {
  say(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond && why) comment(why);
  return !!cond;
}

const SIZES = [['laptop', 1366, 768], ['phone', 390, 844]];

// launch({ out, wait, seconds }): Chromium and one page, laptop size,
// whose problems are collected; the run fails (exit 3) after seconds.
// Returns { browser, context, page, problems, shot(name), end(result) }:
// end() says whether there were problems, prints the result and exits 0.
export async function launch({ out, wait, seconds }) {
  fs.mkdirSync(out, { recursive: true });
  const watchdog = setTimeout(() => {
    ok(false, `the browser run finished within ${seconds} s`);
    process.exit(3);
  }, seconds * 1000);
  const browser = await chromium.launch({
    executablePath: env.GV_E2E_CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--no-default-browser-check', '--disable-extensions',
           '--disable-background-networking', '--disable-component-update'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const problems = [];
  page.setDefaultTimeout(wait);
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

  async function shot(name) {
    for (const [size, w, h] of SIZES) {
      await page.setViewportSize({ width: w, height: h });
      await page.waitForTimeout(150);
      const file = path.join(out, `${name}-${size}.png`);
      await page.screenshot({ path: file, fullPage: true });
      comment(`screenshot: ${file}`);
      if (size === 'phone') {
        const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        ok(over <= 1, `${name}: no sideways scrolling at ${w} px wide`, `${over} px too wide`);
      }
    }
    await page.setViewportSize({ width: SIZES[0][1], height: SIZES[0][2] });
  }

  async function end(result) {
    ok(problems.length === 0, 'no page JS errors, CSP violations, console errors or 5xx answers', problems.join('\n'));
    say(`result ${JSON.stringify(result)}`);
    clearTimeout(watchdog);
    await context.close();
    await browser.close();
    process.exit(0);
  }

  return { browser, context, page, problems, shot, end };
}
