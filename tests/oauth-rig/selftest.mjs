#!/usr/bin/env node
// End-to-end self test of the oauth-rig, without any claude-auth code:
// server + real Chromium login + PKCE code exchange (form) + refresh (JSON via
// the shim) + rotation + reuse detection / grant revocation + admin endpoints.
//
//   node selftest.mjs            (exit 0 = all good; every step is printed on stderr)
//
//   node selftest.mjs --full     also: login via localhost, PKCE/redirect mismatches, code replay,
//                                denied consent, dead callback port, secret client, --require-json

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const HERE = dirname(fileURLToPath(import.meta.url));
const t0 = Date.now();
const ts = () => `+${((Date.now() - t0) / 1000).toFixed(2)}s`;
const step = (msg) => process.stderr.write(`[selftest ${ts()}] ${msg}\n`);
const CLIENT_ID = 'claude-auth-test';
const FULL = process.argv.includes('--full');
let failures = 0;
let passes = 0;

function check(cond, what, detail) {
  if (cond) {
    passes++;
    step(`  ok   ${what}`);
  } else {
    failures++;
    step(`  FAIL ${what}${detail !== undefined ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  }
  return cond;
}
function must(cond, what, detail) {
  if (!check(cond, what, detail)) throw new Error(`cannot go on after: ${what}`);
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const children = [];
const servers = [];

function startServer(args = []) {
  const started = Date.now();
  const child = spawn(process.execPath, [join(HERE, 'server.mjs'), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let errLog = '';
  child.stderr.on('data', (d) => { errLog += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not print READY within 10 s; stderr:\n${errLog}`)), 10000);
    const rl = createInterface({ input: child.stdout });
    const lines = [];
    rl.on('line', (line) => {
      lines.push(line);
      const m = /^READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ issuer: m[1], child, ms: Date.now() - started, lines, stderr: () => errLog });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before READY; stderr:\n${errLog}`));
    });
  });
}

function startCallbackServer() {
  let resolveHit;
  const hit = new Promise((r) => { resolveHit = r; });
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    if (u.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const q = Object.fromEntries(u.searchParams);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(q.code
      ? '<html><body><h1>Login complete</h1><p>You can close this window.</p></body></html>'
      : `<html><body><h1>Login failed</h1><p>${String(q.error).replace(/[<>&]/g, '')}</p></body></html>`);
    resolveHit(q);
  });
  servers.push(srv);
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, hit }));
  });
}

function runBrowser(url, env = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(join(HERE, 'browser'), [url], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CLAUDE_AUTH_TEST_NODE: process.execPath, ...env },
    });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code, signal) => resolve({ code, signal, stderr: err, ms: Date.now() - started }));
  });
}

async function post(url, body, encoding, extraHeaders = {}) {
  const headers = { accept: 'application/json', ...extraHeaders };
  let payload;
  if (encoding === 'json') {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(body).toString();
  }
  const res = await fetch(url, { method: 'POST', headers, body: payload });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { raw: text }; }
  return { status: res.status, json };
}

function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  const state = b64url(crypto.randomBytes(32));
  return { verifier, challenge, state };
}

function authorizeUrl(meta, { redirectUri, challenge, state, scope, method = 'S256', clientId = CLIENT_ID }) {
  const u = new URL(meta.authorization_endpoint);
  const params = {
    code: 'true', // Anthropic's extra parameter: must be tolerated
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope,
    state,
  };
  if (challenge) Object.assign(params, { code_challenge: challenge, code_challenge_method: method });
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

async function main() {
  step('starting server.mjs --port 0');
  const srv = await startServer();
  const { issuer } = srv;
  step(`READY ${issuer} after ${srv.ms} ms`);
  check(srv.lines.length === 1, 'stdout holds exactly the READY line', srv.lines);

  const meta = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  check(meta.issuer === issuer, 'RFC 8414 discovery: issuer');
  check(meta.revocation_endpoint === `${issuer}/v1/oauth/revoke`, 'discovery: revocation_endpoint', meta.revocation_endpoint);
  check(JSON.stringify(meta.code_challenge_methods_supported) === '["S256"]', 'discovery: S256 only', meta.code_challenge_methods_supported);
  const admin = (p, method = 'POST') => fetch(`${issuer}/__rig/${p}`, { method }).then((r) => r.json());

  // --- loopback redirect URIs and PKCE, checked on the authorization endpoint itself
  step('authorization endpoint: RFC 8252 loopback redirects (any port) and PKCE enforcement');
  const probe = async (redirectUri, { challenge = 'x'.repeat(43), method = 'S256', scope = 'user:inference' } = {}) => {
    const u = authorizeUrl(meta, { redirectUri, challenge, method, state: 'probe', scope });
    const res = await fetch(u, { redirect: 'manual', headers: { accept: 'text/html' } });
    const loc = res.headers.get('location') || '';
    return { status: res.status, loc, body: res.status >= 400 ? await res.text() : '' };
  };
  for (const ru of ['http://127.0.0.1:54321/callback', 'http://localhost:1/callback', 'http://[::1]:65000/callback', 'http://127.0.0.1/callback']) {
    const r = await probe(ru);
    check(r.status === 303 && r.loc.includes('/interaction/'), `accepted redirect_uri ${ru}`, r);
  }
  for (const ru of ['http://127.0.0.1:54321/other', 'http://example.com:54321/callback', 'https://127.0.0.1:54321/callback', 'http://127.0.0.2:54321/callback']) {
    const r = await probe(ru);
    check(r.status === 400 && r.body.includes('redirect_uri'), `rejected redirect_uri ${ru}`, { status: r.status, loc: r.loc });
  }
  {
    const r = await probe('http://127.0.0.1:54321/callback', { challenge: null });
    check(r.status === 303 && r.loc.startsWith('http://127.0.0.1:54321/callback') && r.loc.includes('error=invalid_request'),
      'no code_challenge -> redirect with error=invalid_request', r.loc);
    const r2 = await probe('http://127.0.0.1:54321/callback', { method: 'plain' });
    check(r2.status === 303 && r2.loc.includes('error=invalid_request'), 'code_challenge_method=plain -> error=invalid_request', r2.loc);
  }

  // --- the real login
  const cb = await startCallbackServer();
  const redirectUri = `http://127.0.0.1:${cb.port}/callback`;
  const p = pkce();
  const scope = 'user:profile user:inference';
  const url = authorizeUrl(meta, { redirectUri, challenge: p.challenge, state: p.state, scope });
  step(`callback listener on ${redirectUri}; running ./browser on the authorization URL (scope "${scope}", no prompt)`);
  const br = await runBrowser(url);
  step(`browser exited ${br.code} after ${br.ms} ms`);
  if (br.code !== 0) process.stderr.write(br.stderr);
  must(br.code === 0, 'browser login + consent + callback');
  const q = await Promise.race([cb.hit, new Promise((r) => { setTimeout(() => r(null), 2000); })]);
  must(q && q.code, 'callback received a code', q);
  check(q.state === p.state, 'callback state matches');
  check(q.iss === issuer, 'callback carries iss (RFC 9207)', q.iss);

  step('exchanging the code (form encoding), with Anthropic-style extra "state" parameter');
  const tokenUrl = meta.token_endpoint;
  const ex = await post(tokenUrl, {
    grant_type: 'authorization_code', code: q.code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: p.verifier, state: p.state,
  }, 'form');
  must(ex.status === 200 && ex.json.access_token && ex.json.refresh_token, 'code exchange returns access + refresh token', ex);
  check(ex.json.scope === scope, 'token scope is the requested one', ex.json.scope);
  check(ex.json.expires_in > 0 && ex.json.token_type === 'Bearer', 'expires_in and token_type Bearer', ex.json);
  check(ex.json.account?.email_address === 'user@example.com', 'Anthropic-like account extra', ex.json.account);
  const rt0 = ex.json.refresh_token;

  step('refresh #1 (JSON via the shim)');
  const r1 = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: rt0, client_id: CLIENT_ID }, 'json');
  must(r1.status === 200 && r1.json.refresh_token && r1.json.access_token, 'refresh returns new tokens', r1);
  check(r1.json.refresh_token !== rt0, 'refresh token rotated (new value)');
  check(r1.json.access_token !== ex.json.access_token, 'new access token');
  const rt1 = r1.json.refresh_token;

  step('refresh with the NEW token, asking for a scope it does not hold');
  const badScope = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: rt1, client_id: CLIENT_ID, scope: 'user:inference org:create_api_key' }, 'json');
  check(badScope.status === 400 && badScope.json.error === 'invalid_scope', 'refresh with extra scope -> invalid_scope (token not consumed)', badScope.json);

  step('reuse of the OLD (rotated) refresh token');
  const reuse = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: rt0, client_id: CLIENT_ID }, 'json');
  check(reuse.status === 400 && reuse.json.error === 'invalid_grant', 'old refresh token -> 400 invalid_grant', reuse);
  const after = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: rt1, client_id: CLIENT_ID }, 'form');
  check(after.status === 400 && after.json.error === 'invalid_grant', 'grant revoked: the NEW refresh token fails too', after);
  const intro = await post(meta.introspection_endpoint, { token: r1.json.access_token, client_id: CLIENT_ID }, 'json');
  check(intro.status === 200 && intro.json.active === false, 'grant revoked: its access token is inactive (introspection)', intro.json);
  const again = await post(tokenUrl, {
    grant_type: 'authorization_code', code: q.code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: p.verifier,
  }, 'json');
  check(again.status === 400 && again.json.error === 'invalid_grant', 'authorization code is single use', again.json);

  step('admin endpoints: stats, fail injection, reset');
  const stats = await admin('stats', 'GET');
  step(`  stats: ${JSON.stringify({ ...stats, tokenRequests: stats.tokenRequests.length })}`);
  check(stats.codeGrants === 1 && stats.refreshGrants === 1, 'stats: 1 code grant, 1 refresh grant', stats);
  check(stats.reuseDetected === 1, 'stats: reuseDetected 1', stats.reuseDetected);
  check(stats.revokedGrants === 1, 'stats: revokedGrants 1', stats.revokedGrants);
  const encs = stats.tokenRequests.map((r) => `${r.grant_type}/${r.encoding}/${r.status}`);
  check(JSON.stringify(encs) === JSON.stringify([
    'authorization_code/form/200', 'refresh_token/json/200', 'refresh_token/json/400',
    'refresh_token/json/400', 'refresh_token/form/400', 'authorization_code/json/400',
  ]), 'stats: token requests with grant types, encodings and statuses', encs);
  await admin('fail?status=503&count=1');
  const injected = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT_ID }, 'json');
  check(injected.status === 503, 'fail injection: 503', injected);
  const afterInjected = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT_ID }, 'json');
  check(afterInjected.status === 400, 'fail injection: count honoured (next one reaches oidc-provider)', afterInjected);
  await admin('reset');
  const s2 = await admin('stats', 'GET');
  check(s2.codeGrants === 0 && s2.tokenRequests.length === 0, 'reset clears stats');

  if (!FULL) {
    step('(quick mode; run with --full for: second login via localhost, wrong verifier, code replay, denied consent, --require-json)');
    return;
  }

  step('[full] second login (fresh browser) via http://localhost:<port>/callback');
  const cb2 = await startCallbackServer();
  const redirectUri2 = `http://localhost:${cb2.port}/callback`;
  const p2 = pkce();
  const br2 = await runBrowser(authorizeUrl(meta, { redirectUri: redirectUri2, challenge: p2.challenge, state: p2.state, scope }));
  step(`browser exited ${br2.code} after ${br2.ms} ms`);
  if (br2.code !== 0) process.stderr.write(br2.stderr);
  must(br2.code === 0, 'second browser login via localhost');
  const q2 = await Promise.race([cb2.hit, new Promise((r) => { setTimeout(() => r(null), 2000); })]);
  must(q2?.code && q2.state === p2.state, 'second callback has code and state', q2);
  const wrongVerifier = await post(tokenUrl, {
    grant_type: 'authorization_code', code: q2.code, redirect_uri: redirectUri2, client_id: CLIENT_ID, code_verifier: pkce().verifier,
  }, 'form');
  check(wrongVerifier.status === 400 && wrongVerifier.json.error === 'invalid_grant', 'wrong code_verifier -> invalid_grant', wrongVerifier.json);
  const wrongRedirect = await post(tokenUrl, {
    grant_type: 'authorization_code', code: q2.code, redirect_uri: `http://localhost:${cb2.port + 1}/callback`, client_id: CLIENT_ID, code_verifier: p2.verifier,
  }, 'form');
  check(wrongRedirect.status === 400 && wrongRedirect.json.error === 'invalid_grant', 'exchange redirect_uri must equal the authorize one (port included)', wrongRedirect.json);
  const ex2 = await post(tokenUrl, {
    grant_type: 'authorization_code', code: q2.code, redirect_uri: redirectUri2, client_id: CLIENT_ID, code_verifier: p2.verifier,
  }, 'json');
  must(ex2.status === 200 && ex2.json.refresh_token, 'failed attempts did not burn the code; JSON exchange works', ex2);
  const replay = await post(tokenUrl, {
    grant_type: 'authorization_code', code: q2.code, redirect_uri: redirectUri2, client_id: CLIENT_ID, code_verifier: p2.verifier,
  }, 'form');
  check(replay.status === 400 && replay.json.error === 'invalid_grant', 'code replay -> invalid_grant', replay.json);
  const rtAfterReplay = await post(tokenUrl, { grant_type: 'refresh_token', refresh_token: ex2.json.refresh_token, client_id: CLIENT_ID }, 'form');
  check(rtAfterReplay.status === 400 && rtAfterReplay.json.error === 'invalid_grant', 'code replay revoked the grant (its refresh token fails)', rtAfterReplay.json);

  step('[full] denied consent (RIG_BROWSER_ACTION=deny)');
  const cb3 = await startCallbackServer();
  const p3 = pkce();
  const br3 = await runBrowser(
    authorizeUrl(meta, { redirectUri: `http://127.0.0.1:${cb3.port}/callback`, challenge: p3.challenge, state: p3.state, scope }),
    { RIG_BROWSER_ACTION: 'deny' },
  );
  step(`browser exited ${br3.code} after ${br3.ms} ms`);
  if (br3.code !== 0) process.stderr.write(br3.stderr);
  const q3 = await Promise.race([cb3.hit, new Promise((r) => { setTimeout(() => r(null), 2000); })]);
  check(br3.code === 0 && q3?.error === 'access_denied' && q3.state === p3.state && !q3.code, 'deny -> callback error=access_denied with state', q3);

  step('[full] browser against a callback port nobody listens on fails fast and clearly');
  const deadPort = await (async () => { const c = await startCallbackServer(); const s = servers.pop(); await new Promise((r) => s.close(r)); return c.port; })();
  const p4 = pkce();
  const br4 = await runBrowser(authorizeUrl(meta, { redirectUri: `http://127.0.0.1:${deadPort}/callback`, challenge: p4.challenge, state: p4.state, scope }));
  check(br4.code === 1 && /ERR_CONNECTION_REFUSED/.test(br4.stderr), `dead callback -> exit 1 with ERR_CONNECTION_REFUSED (${br4.ms} ms)`, br4.stderr.slice(-300));

  step('[full] secret client (client_secret_post) and --require-json server');
  const srv2 = await startServer(['--require-json', '--access-ttl', '5']);
  const tok2 = `${srv2.issuer}/v1/oauth/token`;
  const formReq = await post(tok2, { grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT_ID }, 'form');
  check(formReq.status === 400 && /must be application\/json/.test(formReq.json.error_description), '--require-json rejects form with 400', formReq.json);
  const jsonReq = await post(tok2, { grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT_ID }, 'json');
  check(jsonReq.status === 400 && jsonReq.json.error === 'invalid_grant', '--require-json lets JSON through to oidc-provider', jsonReq.json);
  const noSecret = await post(tok2, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'claude-auth-test-secret' }, 'json');
  check(noSecret.status === 401 && noSecret.json.error === 'invalid_client', 'secret client without secret -> 401 invalid_client', noSecret.json);
  const withSecret = await post(tok2, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'claude-auth-test-secret', client_secret: 'claude-auth-test-secret-value' }, 'json');
  check(withSecret.status === 400 && withSecret.json.error === 'invalid_grant', 'secret client with secret authenticates (then invalid_grant for a bogus token)', withSecret.json);
}

let exitCode = 0;
try {
  await main();
} catch (e) {
  failures++;
  step(`ERROR: ${e?.stack || e}`);
}
for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
for (const s of servers) { s.close(); s.closeAllConnections?.(); }
exitCode = failures ? 1 : 0;
step(`${passes} passed, ${failures} failed`);
process.stderr.write(`selftest: ${passes} passed, ${failures} failed\n`);
process.exit(exitCode);
