#!/usr/bin/env node
// $BROWSER-compatible driver for the oauth-rig: `node browser.mjs <url>`.
//
// Launches Debian's Chromium (/usr/bin/chromium) headless through playwright-core
// (which never downloads a browser here), opens <url>, signs in on the rig's
// login form, accepts (or, with RIG_BROWSER_ACTION=deny, cancels) the consent
// form, follows the redirect to the client's loopback callback and exits 0 once
// the callback page has loaded. Final URL and page text go to stderr.
//
// Environment:
//   RIG_BROWSER_ACTION=allow|deny   consent decision (default allow)
//   RIG_BROWSER_LOGIN=<login>       login name typed into the form (default user@example.com)
//   CLAUDE_AUTH_TEST_CHROMIUM=path  browser executable (default /usr/bin/chromium)
//   RIG_BROWSER_TIMEOUT_MS=N        global timeout (default 30000)
//
// Exit codes: 0 callback loaded; 1 flow failed (message on stderr); 2 usage;
// 3 global timeout.
//
// Only loopback host names resolve in the browser (there is no network here;
// this keeps it from waiting on DNS for the login page's web font). If the
// client's callback answers with a redirect to a non-loopback page (e.g. a
// hosted "success" page), the callback still counts as loaded: exit 0.

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(2)}s`;
const say = (msg) => process.stderr.write(`[rig-browser +${elapsed()}] ${msg}\n`);

const url = process.argv[2];
if (!url || process.argv.length > 3 || !/^https?:\/\//.test(url)) {
  process.stderr.write('usage: browser.mjs <http(s)-url>\n');
  process.exit(2);
}
const ACTION = (process.env.RIG_BROWSER_ACTION || 'allow').toLowerCase();
if (!['allow', 'deny'].includes(ACTION)) {
  process.stderr.write(`browser.mjs: RIG_BROWSER_ACTION must be allow or deny, got ${ACTION}\n`);
  process.exit(2);
}
const LOGIN = process.env.RIG_BROWSER_LOGIN || 'user@example.com';
const EXECUTABLE = process.env.CLAUDE_AUTH_TEST_CHROMIUM || '/usr/bin/chromium';
const GLOBAL_TIMEOUT_MS = Number(process.env.RIG_BROWSER_TIMEOUT_MS || 30000);
const STEP_TIMEOUT_MS = Math.min(15000, GLOBAL_TIMEOUT_MS);

// No graceful browser shutdown: on process exit playwright-core SIGKILLs the
// browser's process group and deletes its temporary profile synchronously
// (its 'exit' handler), which takes milliseconds instead of a second.
function finish(code, msg) {
  if (msg) say(msg);
  process.exit(code);
}

setTimeout(() => finish(3, `FAILED: global timeout of ${GLOBAL_TIMEOUT_MS} ms reached`), GLOBAL_TIMEOUT_MS);

process.on('SIGTERM', () => finish(143, 'terminated'));
process.on('SIGINT', () => finish(130, 'interrupted'));

async function main() {
  const { chromium } = await import('playwright-core');
  say(`launching ${EXECUTABLE} (headless, fresh temporary profile)`);
  // launch() (not launchPersistentContext) gives a fresh throw-away
  // --user-data-dir that playwright-core removes when we exit.
  const browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Never touch the (test) Secret Service / keyring for cookie encryption.
      '--password-store=basic',
      '--use-mock-keychain',
      // Only loopback names resolve: anything else fails at once (no network here,
      // and the dev login page @imports a web font).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
    timeout: STEP_TIMEOUT_MS,
    // Do not let playwright install its own signal handlers: we close ourselves.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  say(`browser up: Chromium ${browser.version()}`);
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);

  // The authorization server's origin(s): wherever we saw its forms.
  const serverOrigins = new Set();
  let decided = false; // consent submitted (allow) or cancelled (deny)
  let callbackRequestUrl;
  let callbackResponse; // { status, location } once the client's callback answered
  let navFailure;
  page.on('request', (req) => {
    if (!req.isNavigationRequest() || req.frame() !== page.mainFrame()) return;
    const u = new URL(req.url());
    if (decided && !serverOrigins.has(u.origin) && !callbackRequestUrl) {
      callbackRequestUrl = req.url();
      say(`callback request: ${callbackRequestUrl}`);
    }
  });
  page.on('response', (res) => {
    const req = res.request();
    if (callbackRequestUrl && !callbackResponse && req.url() === callbackRequestUrl && req.frame() === page.mainFrame()) {
      callbackResponse = { status: res.status(), location: res.headers().location };
      say(`callback answered HTTP ${callbackResponse.status}${callbackResponse.location ? ` -> ${callbackResponse.location}` : ''}`);
    }
  });
  page.on('requestfailed', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      navFailure = `${req.url()}: ${req.failure()?.errorText ?? 'failed'}`;
    }
  });

  const gotoAndWait = async (action, what) => {
    navFailure = undefined;
    try {
      await action();
    } catch (e) {
      throw new Error(`${what} failed: ${navFailure ?? e.message.split('\n')[0]}`);
    }
    await page.waitForLoadState('load').catch(() => {});
    if (navFailure) throw new Error(`${what}: navigation failed: ${navFailure}`);
  };

  say(`open ${url}`);
  await gotoAndWait(() => page.goto(url, { waitUntil: 'load' }), 'opening the authorization URL');

  for (let step = 0; step < 8; step++) {
    const current = page.url();
    const origin = new URL(current).origin;

    if (decided && !serverOrigins.has(origin)) {
      const text = (await page.innerText('body').catch(() => '')).trim();
      say(`callback page loaded: ${current}`);
      process.stderr.write(`[rig-browser] final URL: ${current}\n`);
      process.stderr.write(`[rig-browser] page text: ${text.replace(/\s+/g, ' ').slice(0, 2000)}\n`);
      if (callbackRequestUrl && callbackRequestUrl !== current) {
        process.stderr.write(`[rig-browser] callback URL: ${callbackRequestUrl}\n`);
      }
      return finish(0, `OK (${ACTION})`);
    }

    const rigErrorEl = page.locator('#rig-error');
    if (await rigErrorEl.count()) {
      const rigError = await rigErrorEl.first().textContent();
      throw new Error(`the authorization server showed an error page at ${current}: ${rigError}`);
    }

    const loginForm = page.locator('form:has(input[name="prompt"][value="login"])');
    const consentForm = page.locator('form:has(input[name="prompt"][value="consent"])');

    if (await loginForm.count()) {
      serverOrigins.add(origin);
      say(`login form at ${current}: signing in as ${LOGIN}`);
      await loginForm.locator('input[name="login"]').fill(LOGIN);
      await loginForm.locator('input[name="password"]').fill('any-password');
      await gotoAndWait(
        () => Promise.all([page.waitForURL((u) => u.href !== current, { waitUntil: 'load' }), loginForm.locator('button[type="submit"]').click()]),
        'submitting the login form',
      );
      continue;
    }

    if (await consentForm.count()) {
      serverOrigins.add(origin);
      decided = true;
      const consent = ACTION === 'deny'
        ? { what: 'cancelling consent', click: () => page.locator('a[href$="/abort"]').click() }
        : { what: 'accepting consent', click: () => consentForm.locator('button[type="submit"]').click() };
      say(`consent form at ${current}: ${ACTION === 'deny' ? 'DENYING (clicking Cancel)' : 'accepting'}`);
      try {
        await gotoAndWait(
          () => Promise.all([page.waitForURL((u) => u.href !== current, { waitUntil: 'load' }), consent.click()]),
          consent.what,
        );
      } catch (e) {
        // Let pending response events arrive.
        if (callbackRequestUrl && !callbackResponse) await new Promise((r) => { setTimeout(r, 250); });
        if (callbackResponse && callbackResponse.status < 400) {
          // The client's callback answered (e.g. 302 to a hosted success page we
          // cannot load here): that is what a $BROWSER has to do.
          process.stderr.write(`[rig-browser] callback URL: ${callbackRequestUrl}\n`);
          process.stderr.write(`[rig-browser] callback answered HTTP ${callbackResponse.status}`
            + `${callbackResponse.location ? ` redirecting to ${callbackResponse.location}` : ''}; not followed: ${e.message}\n`);
          return finish(0, `OK (${ACTION})`);
        }
        throw e;
      }
      continue;
    }

    const text = (await page.innerText('body').catch(() => '')).trim().replace(/\s+/g, ' ').slice(0, 500);
    throw new Error(`unexpected page (no login or consent form) at ${current}: ${text || '(empty)'}`);
  }
  throw new Error(`gave up after too many steps at ${page.url()}`);
}

main().catch((e) => finish(1, `FAILED: ${e?.message ?? e}`));
