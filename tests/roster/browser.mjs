// Debian's chromium, headless, driven by playwright-core, for the roster
// tests in Python (rosterbed.py): one JSON command a line on stdin, one JSON
// answer a line on stdout. Each page has a context of its own, so two
// viewers keep two sessionStorages. Console errors, page errors and CSP
// violations are kept per page for the "problems" command.
//
// Usage: node browser.mjs BROWSER_DEPS_DIR

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(process.argv[2] + '/');
const { chromium } = require('playwright-core');

// The machine's network is closed: without these, chromium keeps trying to
// reach Google's hosts.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const browser = await chromium.launch({
  executablePath: process.env.PRES_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: FLAGS,
});
const pages = [];

async function open(url, viewport, colorScheme) {
  const context = await browser.newContext({
    ...(viewport ? { viewport } : {}),
    ...(colorScheme ? { colorScheme } : {}),
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push('console: ' + msg.text());
  });
  page.on('pageerror', (error) => problems.push('page error: ' + error.message));
  // Reported to the page itself; kept where the test can ask for it.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
    });
  });
  pages.push({ page, problems });
  await page.goto(url);
  return pages.length - 1;
}

async function run(command) {
  const entry = pages[command.page];
  switch (command.op) {
    case 'open':
      return open(command.url, command.viewport, command.colorScheme);
    case 'eval':
      // A function's source, called in the page.
      return entry.page.evaluate('(' + command.js + ')()');
    case 'fill':
      return entry.page.fill(command.selector, command.value);
    case 'click':
      return entry.page.click(command.selector);
    case 'press':
      return entry.page.keyboard.press(command.key);
    case 'reload':
      return entry.page.reload().then(() => null);
    case 'screenshot':
      return entry.page.screenshot({ path: command.path, fullPage: true }).then(() => null);
    case 'problems': {
      const csp = await entry.page.evaluate(() => window.__cspViolations || []);
      return [...entry.problems, ...csp.map((v) => 'CSP violation: ' + v)];
    }
    case 'close':
      await browser.close();
      process.exit(0);
    default:
      throw new Error('unknown op ' + command.op);
  }
}

const lines = createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ ready: browser.version() }) + '\n');
for await (const line of lines) {
  let answer;
  try {
    answer = { ok: true, value: (await run(JSON.parse(line))) ?? null };
  } catch (error) {
    answer = { ok: false, error: String(error && error.message || error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
await browser.close();
