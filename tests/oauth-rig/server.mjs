#!/usr/bin/env node
// Test-only OAuth 2.0 authorization server for claude-auth's integration tests.
//
// A real third-party server (panva's oidc-provider, pinned in package-lock.json)
// behind a thin Node http layer that adds, for tests only:
//   - a JSON body shim on the token/revocation endpoints (Anthropic-style JSON
//     requests are turned into RFC 6749 form requests before oidc-provider sees
//     them), with --require-json / --require-form to reject the other encoding;
//   - /__rig/* admin endpoints: stats, reset, delay and failure injection.
//
//   node server.mjs [--port 0] [--access-ttl 3600] [--refresh-ttl 2592000]
//                   [--require-json | --require-form] [--refresh-policy always|offline_access]
//                   [--no-extras] [--no-watch-parent]
//
// Prints exactly one line on stdout, `READY <issuer-url>`, once listening.
// Everything else (oidc-provider's notices, request log) goes to stderr.
// See README.md for the contract.

import * as http from 'node:http';
import { Readable } from 'node:stream';

// oidc-provider prints its notices with console.info (stdout); stdout is
// reserved for the READY line, so route every console method to stderr before
// the library is loaded.
for (const m of ['log', 'info', 'debug']) {
  // eslint-disable-next-line no-console
  console[m] = (...args) => console.error(...args);
}


// ---------------------------------------------------------------------------
// Command line
function usage(msg) {
  if (msg) process.stderr.write(`server.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node server.mjs [--port N] [--access-ttl SECONDS] [--refresh-ttl SECONDS]\n'
    + '                       [--require-json | --require-form] [--refresh-policy always|offline_access]\n'
    + '                       [--no-extras] [--no-watch-parent]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    port: 0,
    accessTtl: 3600,
    refreshTtl: 30 * 24 * 3600,
    requireEncoding: null, // 'json' | 'form' | null
    refreshPolicy: 'always',
    extras: true,
    watchParent: true,
  };
  const int = (name, v, min = 0) => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) usage(`${name} needs an integer >= ${min}, got ${v}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq !== -1) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = () => (v !== undefined ? v : argv[++i]);
    switch (a) {
      case '--port': opts.port = int(a, next()); if (opts.port > 65535) usage('--port out of range'); break;
      case '--access-ttl': opts.accessTtl = int(a, next(), 1); break;
      case '--refresh-ttl': opts.refreshTtl = int(a, next(), 1); break;
      case '--require-json': opts.requireEncoding = 'json'; break;
      case '--require-form': opts.requireEncoding = 'form'; break;
      case '--refresh-policy': {
        const p = next();
        if (!['always', 'offline_access'].includes(p)) usage(`--refresh-policy must be always or offline_access, got ${p}`);
        opts.refreshPolicy = p;
        break;
      }
      case '--no-extras': opts.extras = false; break;
      case '--no-watch-parent': opts.watchParent = false; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument: ${argv[i]}`);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

const { default: Provider } = await import('oidc-provider');
const log = (msg) => process.stderr.write(`[oauth-rig] ${msg}\n`);

// ---------------------------------------------------------------------------
// Paths (Anthropic-like; everything is also in the discovery document).
const ROUTES = {
  authorization: '/oauth/authorize',
  token: '/v1/oauth/token',
  revocation: '/v1/oauth/revoke',
  introspection: '/v1/oauth/introspect',
  jwks: '/oauth/jwks',
  userinfo: '/oauth/userinfo',
  end_session: '/oauth/logout',
};
// Endpoints whose body goes through the JSON shim.
const SHIMMED = new Set([ROUTES.token, ROUTES.revocation, ROUTES.introspection]);

// Every scope a claude-auth client may ask for (PROTOCOL.md), plus the OIDC ones.
const SCOPES = [
  'openid',
  'offline_access',
  'user:inference',
  'user:profile',
  'user:sessions:claude_code',
  'user:mcp_servers',
  'user:file_upload',
  'org:create_api_key',
];

const CLIENTS = [
  {
    client_id: 'claude-auth-test',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // RFC 8252 §7.3: for native clients oidc-provider ignores the port of
    // http loopback redirect URIs (verified by selftest.mjs).
    redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback', 'http://[::1]/callback'],
    scope: SCOPES.join(' '),
  },
  {
    client_id: 'claude-auth-test-secret',
    client_secret: 'claude-auth-test-secret-value',
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback', 'http://[::1]/callback'],
    scope: SCOPES.join(' '),
  },
];

// ---------------------------------------------------------------------------
// A small in-memory adapter (one store per server process; /__rig/reset?tokens=1
// clears it). Same contract as oidc-provider's bundled memory adapter.
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);
const store = new Map(); // key -> { payload, expiresAt }
const grantIndex = new Map(); // grantId -> Set(key)
const uidIndex = new Map(); // session uid -> id
const userCodeIndex = new Map();

function storeGet(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt !== undefined && e.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return e.payload;
}

class RigAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) uidIndex.set(payload.uid, id);
    if (payload.userCode) userCodeIndex.set(payload.userCode, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
  }

  async find(id) { return storeGet(this.key(id)); }

  async findByUid(uid) {
    const id = uidIndex.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodeIndex.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const p = storeGet(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const keys = grantIndex.get(grantId);
    if (!keys) return;
    for (const k of keys) store.delete(k);
    grantIndex.delete(grantId);
  }
}

function clearStore() {
  store.clear();
  grantIndex.clear();
  uidIndex.clear();
  userCodeIndex.clear();
}

// ---------------------------------------------------------------------------
// Stats and knobs (/__rig/*)
const rig = {
  stats: null,
  delayMs: 0,
  delayPhase: 'before', // 'before' (request held before oidc-provider) | 'after' (response held)
  fail: { status: 503, count: 0 },
};
function resetStats() {
  rig.stats = {
    refreshGrants: 0, // successful refresh_token grants
    codeGrants: 0, // successful authorization_code grants
    reuseDetected: 0, // refresh requests that presented an already-rotated refresh token
    revokedGrants: 0, // grants revoked (reuse detection, RFC 7009 revocation of a refresh token)
    failedTokenRequests: 0, // token endpoint answers >= 400 (including injected ones)
    injectedFailures: 0,
    tokenRequests: [], // last 50
  };
}
resetStats();

function recordTokenRequest(entry) {
  rig.stats.tokenRequests.push(entry);
  if (rig.stats.tokenRequests.length > 50) rig.stats.tokenRequests.shift();
}

// ---------------------------------------------------------------------------
// Listen first (port 0 = OS-assigned), then build the provider for that issuer.
const server = http.createServer();
server.keepAliveTimeout = 1000;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(opts.port, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

const ACCOUNT_NS = '7f4a1c2e';
function accountUuid(accountId) {
  // Stable fake UUID per login name (not a real UUIDv5, just deterministic).
  let h = 0x811c9dc5;
  const hex = [];
  for (let round = 0; round < 4; round++) {
    for (const ch of `${round}:${accountId}`) { h ^= ch.charCodeAt(0); h = Math.imul(h, 0x01000193) >>> 0; }
    hex.push(h.toString(16).padStart(8, '0'));
  }
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-a${s.slice(17, 20)}-${s.slice(20, 32)}`;
}

const provider = new Provider(ISSUER, {
  adapter: RigAdapter,
  clients: CLIENTS,
  scopes: SCOPES,
  responseTypes: ['code'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  routes: ROUTES,
  cookies: {
    // Plain http on 127.0.0.1: no `secure` flag (Koa refuses secure cookies over http).
    keys: ['claude-auth-oauth-rig-cookie-key'],
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  pkce: {
    // Every client, public or not, must use PKCE; oidc-provider only accepts S256.
    required: () => true,
  },
  // RFC 6749 §10.4 / OAuth 2.1: rotate on every use, for every client.
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client, code) => {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    if (opts.refreshPolicy === 'offline_access') return code.scopes.has('offline_access');
    return true; // Anthropic-like: any authorization_code grant gets a refresh token
  },
  // Refresh tokens outlive the browser session (the rig never ends sessions anyway).
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: opts.accessTtl,
    AuthorizationCode: 600,
    IdToken: 3600,
    RefreshToken: opts.refreshTtl,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: opts.refreshTtl,
  },
  features: {
    devInteractions: { enabled: true }, // login form (any login/password) + consent form
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, email: sub.includes('@') ? sub : `${sub}@example.com`, email_verified: true, name: sub };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oauth-rig error</title></head>
<body><h1>oauth-rig error</h1><pre id="rig-error">${esc(JSON.stringify(out))}</pre></body></html>`;
  },
});
provider.proxy = false;

// ---------------------------------------------------------------------------
// Events -> stats
const REQ = Symbol('rig-request-info');
provider.on('grant.success', (ctx) => {
  const gt = ctx.oidc.params?.grant_type;
  if (gt === 'refresh_token') rig.stats.refreshGrants++;
  else if (gt === 'authorization_code') rig.stats.codeGrants++;
  const info = ctx.req[REQ];
  if (info) info.accountId = ctx.oidc.entities.Account?.accountId;
});
provider.on('grant.error', (ctx, err) => {
  if (err?.error_detail === 'refresh token already used') {
    rig.stats.reuseDetected++;
    log(`refresh token reuse detected (client ${ctx.oidc.client?.clientId}); grant revoked`);
  }
  const info = ctx.req[REQ];
  if (info) info.errorDetail = err?.error_detail;
});
provider.on('grant.revoked', (ctx, grantId) => {
  rig.stats.revokedGrants++;
  log(`grant revoked: ${grantId} (route ${ctx.oidc.route})`);
});
provider.on('server_error', (ctx, err) => log(`server_error: ${err?.stack || err}`));

const providerCallback = provider.callback();

// ---------------------------------------------------------------------------
// HTTP layer
function sendJson(res, status, body, headers = {}) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(s);
}

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > limit) throw Object.assign(new Error('request entity too large'), { status: 413 });
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}

function mediaType(req) {
  return (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
}

// A stand-in IncomingMessage with a replaced body, handed to oidc-provider.
function replayRequest(req, body, contentType) {
  const r = Readable.from(body.length ? [body] : []);
  const headers = { ...req.headers };
  if (contentType) headers['content-type'] = contentType;
  headers['content-length'] = String(body.length);
  delete headers['transfer-encoding'];
  Object.assign(r, {
    headers,
    rawHeaders: Object.entries(headers).flat(),
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
    complete: true,
  });
  return r;
}

function jsonToForm(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error('JSON body must be an object');
  }
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) {
      // e.g. "scope": ["a", "b"] -> "a b" (lenient), other arrays -> repeated params
      if (k === 'scope') form.append(k, v.join(' '));
      else v.forEach((x) => form.append(k, String(x)));
    } else if (typeof v === 'object') {
      form.append(k, JSON.stringify(v));
    } else {
      form.append(k, String(v));
    }
  }
  return Buffer.from(form.toString());
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

async function handleAdmin(req, res, url) {
  const q = url.searchParams;
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /__rig/stats':
      return sendJson(res, 200, {
        ...rig.stats,
        delayMs: rig.delayMs,
        delayPhase: rig.delayPhase,
        pendingFailures: rig.fail.count,
        requireEncoding: opts.requireEncoding,
        liveGrants: grantIndex.size,
      });
    case 'POST /__rig/reset':
      resetStats();
      rig.delayMs = 0;
      rig.delayPhase = 'before';
      rig.fail = { status: 503, count: 0 };
      if (q.get('tokens') === '1') clearStore();
      return sendJson(res, 200, { ok: true, tokensCleared: q.get('tokens') === '1' });
    case 'POST /__rig/delay': {
      const ms = Number(q.get('ms') ?? '0');
      const phase = q.get('phase') ?? 'before';
      if (!Number.isInteger(ms) || ms < 0 || ms > 60000 || !['before', 'after'].includes(phase)) {
        return sendJson(res, 400, { error: 'want ms=0..60000 and phase=before|after' });
      }
      rig.delayMs = ms;
      rig.delayPhase = phase;
      return sendJson(res, 200, { ok: true, delayMs: ms, delayPhase: phase });
    }
    case 'POST /__rig/fail': {
      const status = Number(q.get('status') ?? '503');
      const count = Number(q.get('count') ?? '1');
      if (!Number.isInteger(status) || status < 400 || status > 599 || !Number.isInteger(count) || count < 0) {
        return sendJson(res, 400, { error: 'want status=400..599 and count>=0' });
      }
      rig.fail = { status, count };
      return sendJson(res, 200, { ok: true, ...rig.fail });
    }
    default:
      return sendJson(res, 404, { error: 'not_found', routes: ['GET /__rig/stats', 'POST /__rig/reset[?tokens=1]', 'POST /__rig/delay?ms=N[&phase=before|after]', 'POST /__rig/fail?status=503&count=N'] });
  }
}

async function handleShimmed(req, res, url) {
  const isToken = url.pathname === ROUTES.token;
  const body = await readBody(req);
  const mt = mediaType(req);
  const encoding = mt === 'application/json' ? 'json'
    : mt === 'application/x-www-form-urlencoded' ? 'form'
      : (mt || 'none');

  let forwarded = body;
  let parsed = {};
  let shimError;
  if (encoding === 'json') {
    try {
      parsed = JSON.parse(body.toString('utf8') || '{}');
      forwarded = jsonToForm(parsed);
    } catch (e) {
      shimError = `invalid JSON body: ${e.message}`;
    }
  } else if (encoding === 'form') {
    parsed = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }

  if (!isToken) {
    if (shimError) return sendJson(res, 400, { error: 'invalid_request', error_description: shimError });
    return providerCallback(replayRequest(req, forwarded, encoding === 'json' ? 'application/x-www-form-urlencoded' : undefined), res);
  }

  const info = {
    grant_type: typeof parsed.grant_type === 'string' ? parsed.grant_type : null,
    encoding,
    ts: new Date().toISOString(),
    client_id: typeof parsed.client_id === 'string' ? parsed.client_id : null,
    status: null,
    error: null,
  };
  recordTokenRequest(info);
  const finish = (status, errBody) => {
    info.status = status;
    if (errBody?.error) info.error = errBody.error;
    if (status >= 400) rig.stats.failedTokenRequests++;
  };

  if (shimError) {
    const out = { error: 'invalid_request', error_description: shimError };
    finish(400, out);
    return sendJson(res, 400, out);
  }
  if (opts.requireEncoding && encoding !== opts.requireEncoding) {
    const want = opts.requireEncoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded';
    const out = { error: 'invalid_request', error_description: `oauth-rig: token requests must be ${want} (got ${mt || 'no content-type'})` };
    finish(400, out);
    return sendJson(res, 400, out);
  }
  if (rig.delayMs && rig.delayPhase === 'before') await sleep(rig.delayMs);
  if (rig.fail.count > 0) {
    rig.fail.count--;
    rig.stats.injectedFailures++;
    const out = { error: rig.fail.status >= 500 ? 'temporarily_unavailable' : 'invalid_request', error_description: `oauth-rig: injected ${rig.fail.status}` };
    finish(rig.fail.status, out);
    return sendJson(res, rig.fail.status, out, rig.fail.status === 503 || rig.fail.status === 429 ? { 'retry-after': '0' } : {});
  }

  // Hold oidc-provider's answer: record it, optionally add Anthropic-like
  // account/organization fields, optionally delay it.
  const replay = replayRequest(req, forwarded, encoding === 'json' ? 'application/x-www-form-urlencoded' : undefined);
  replay[REQ] = info;
  const origEnd = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    res.end = origEnd;
    let out = chunk;
    let errBody;
    const isJson = String(res.getHeader('content-type') || '').includes('json');
    if (isJson && chunk) {
      try {
        const obj = JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
        if (res.statusCode >= 400) errBody = obj;
        else if (opts.extras && obj.access_token && info.accountId) {
          const email = info.accountId.includes('@') ? info.accountId : `${info.accountId}@example.com`;
          obj.account = { uuid: accountUuid(info.accountId), email_address: email };
          obj.organization = { uuid: accountUuid(`${ACCOUNT_NS}:${info.accountId}`), name: 'oauth-rig test org' };
          out = Buffer.from(JSON.stringify(obj));
          res.setHeader('content-length', out.length);
        }
      } catch { /* not JSON after all: pass through */ }
    }
    finish(res.statusCode, errBody);
    if (info.errorDetail && errBody) info.error_detail = info.errorDetail;
    delete info.accountId;
    delete info.errorDetail;
    if (rig.delayMs && rig.delayPhase === 'after') {
      setTimeout(() => origEnd(out, ...rest), rig.delayMs);
      return res;
    }
    return origEnd(out, ...rest);
  };
  return providerCallback(replay, res);
}

server.on('request', (req, res) => {
  let url;
  try {
    url = new URL(req.url, ISSUER);
  } catch {
    return sendJson(res, 400, { error: 'bad request url' });
  }
  const p = (async () => {
    if (url.pathname.startsWith('/__rig/')) return handleAdmin(req, res, url);
    if (req.method === 'POST' && SHIMMED.has(url.pathname)) return handleShimmed(req, res, url);
    return providerCallback(req, res);
  })();
  p.catch((e) => {
    log(`request error on ${req.method} ${url.pathname}: ${e?.stack || e}`);
    if (!res.headersSent) sendJson(res, e?.status || 500, { error: 'server_error', error_description: String(e?.message || e) });
    else res.destroy();
  });
  return undefined;
});

// ---------------------------------------------------------------------------
// Lifecycle
let closing = false;
function shutdown(why, code = 0) {
  if (closing) return;
  closing = true;
  log(`shutting down (${why})`);
  server.close(() => process.exit(code));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(code), 300);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));
if (opts.watchParent) {
  // Never outlive the process that started us (e.g. a test that panicked).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown(`parent ${parent} exited`);
  }, 500).unref();
}

log(`oidc-provider on ${ISSUER} (access-ttl ${opts.accessTtl}s, refresh-ttl ${opts.refreshTtl}s, `
  + `require ${opts.requireEncoding ?? 'any'} encoding, refresh-policy ${opts.refreshPolicy}, node ${process.version})`);
process.stdout.write(`READY ${ISSUER}\n`);
