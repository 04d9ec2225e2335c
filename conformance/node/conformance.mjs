#!/usr/bin/env node
// jsforce against a live sfemu: every call a sync engine makes.
//
// Run by conformance/run.sh: once over plain HTTP (jsforce takes any instance URL) with every
// check, and once over TLS with `--tag smoke` and NODE_EXTRA_CA_CERTS pointing at the
// emulator's certificate. jsforce is pinned in package.json (3.10.16: the last 3.x whose
// `engines` allow Node 18/20).
//
// jsforce is aimed at the emulator the documented way: `loginUrl` (SOAP login and the OAuth2
// token/revoke endpoints) and, for tokens obtained elsewhere, `instanceUrl`. It has no JWT
// builder, so the assertion is signed here with node:crypto and passed to
// `conn.authorize({grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion})`.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import jsforce from 'jsforce';
import { Skip, check, expect, expectEq, rejects, runAll, short } from './harness.mjs';

const VERSION = '59.0';
const EXT = 'OrgSync_Global_Id__c';
const PAGE_ROWS = 5100;
const SMOKE = ['smoke'];

// ------------------------------------------------------------------ helpers

function newConn(ctx, extra = {}) {
  return new jsforce.Connection({ loginUrl: ctx.base, version: VERSION, ...extra });
}

function oauthConn(ctx, extra = {}) {
  return newConn(ctx, {
    oauth2: { loginUrl: ctx.base, clientId: ctx.clientId, clientSecret: ctx.clientSecret },
    ...extra,
  });
}

async function control(ctx, method, path, body) {
  const res = await fetch(`${ctx.base}/__sfemu${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function rawToken(ctx, fields) {
  const res = await fetch(`${ctx.base}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

function conn(ctx) {
  if (!ctx.conn) throw new Skip('no connection: the password-login check failed');
  return ctx.conn;
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function jwtAssertion(ctx, keyPem, { aud = 'https://login.salesforce.com', expIn = 180 } = {}) {
  const header = b64url(JSON.stringify({ alg: 'RS256' }));
  const claims = b64url(JSON.stringify({
    iss: ctx.jwtClientId, sub: ctx.username, aud, exp: Math.floor(Date.now() / 1000) + expIn,
  }));
  const signer = crypto.createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${b64url(signer.sign(keyPem))}`;
}

function soqlDateTime(d) {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function pageMarker(ctx) {
  if (!ctx.pageMarker) throw new Skip('needs the 5,100 inserted rows');
  return ctx.pageMarker;
}

// ------------------------------------------------------------------ auth

check('rest.versions', async (ctx) => {
  const res = await fetch(`${ctx.base}/services/data/`);
  const versions = await res.json();
  expect(Array.isArray(versions) && versions.length > 0, `version list ${short(versions)}`);
  const nums = versions.map((v) => Number(v.version));
  expectEq(nums, [...nums].sort((a, b) => a - b), 'ascending');
  expect(versions.some((v) => v.version === VERSION && v.url === `/services/data/v${VERSION}`), `${VERSION} served`);
  expect(!res.headers.has('sforce-limit-info'), 'no Sforce-Limit-Info on the version list');
}, SMOKE);

check('auth.password_oauth2', async (ctx) => {
  const c = oauthConn(ctx);
  const info = await c.login(ctx.username, ctx.password); // clientSecret set → OAuth2 password flow
  expect(info.organizationId?.startsWith('00D') && info.id?.startsWith('005'), `userInfo ${short(info)}`);
  expectEq(c.instanceUrl, ctx.base, 'instanceUrl');
  const res = await c.query('SELECT Id FROM User LIMIT 1');
  expect(res.totalSize >= 1, 'query with the new token');
  ctx.conn = c;
}, SMOKE);

check('auth.password_oauth2_wrong_password', async (ctx) => {
  const err = await rejects(oauthConn(ctx).login(ctx.username, 'wrong'), 'wrong password');
  expectEq(err.name, 'invalid_grant', 'error');
  expectEq(err.message, 'authentication failure', 'error_description');
});

check('auth.soap_login', async (ctx) => {
  const c = newConn(ctx); // no OAuth2 client → jsforce logs in over SOAP
  const info = await c.login(ctx.username, ctx.password);
  expect(info.organizationId?.startsWith('00D'), `organizationId from the SOAP answer ${short(info)}`);
  expectEq(c.instanceUrl, ctx.base, 'instanceUrl from serverUrl');
  const res = await c.query('SELECT COUNT() FROM Account');
  expect(typeof res.totalSize === 'number', 'query with the SOAP session id');
  ctx.soapConn = c;
}, SMOKE);

check('auth.soap_login_wrong_password', async (ctx) => {
  const err = await rejects(newConn(ctx).login(ctx.username, 'wrong'), 'wrong SOAP password');
  expect(/INVALID_LOGIN/.test(err.message), `faultstring: ${short(err.message)}`);
});

const TOKEN_USER = 'token@sfemu.test';
const TOKEN_PASSWORD = 'p&ss<w>"\'d';
const SECURITY_TOKEN = 'TOKEN123';

check('auth.security_token_and_xml_escaping', async (ctx) => {
  const c = newConn(ctx);
  await c.login(TOKEN_USER, `${TOKEN_PASSWORD}${SECURITY_TOKEN}`); // SOAP, password XML-escaped
  const r = await c.query(`SELECT Username FROM User WHERE Username = '${TOKEN_USER}'`);
  expectEq(r.totalSize, 1, 'logged in as the token user');
  const o = oauthConn(ctx);
  await o.login(TOKEN_USER, `${TOKEN_PASSWORD}${SECURITY_TOKEN}`);
  expect(o.accessToken, 'OAuth2 password grant with password + token');
});

check('auth.security_token_required', async (ctx) => {
  // Salesforce (no trusted IP ranges, the default) refuses API logins without the token.
  const soap = await rejects(newConn(ctx).login(TOKEN_USER, TOKEN_PASSWORD), 'SOAP login without the token');
  expect(/INVALID_LOGIN/.test(soap.message), `faultstring ${short(soap.message)}`);
  const oauth = await rejects(oauthConn(ctx).login(TOKEN_USER, TOKEN_PASSWORD), 'OAuth2 login without the token');
  expectEq(oauth.name, 'invalid_grant', 'OAuth error');
});

check('auth.client_credentials', async (ctx) => {
  const c = oauthConn(ctx);
  await c.authorize({ grant_type: 'client_credentials' });
  const res = await c.query('SELECT Id FROM User LIMIT 1');
  expect(res.totalSize >= 1, 'query with a client_credentials token');
}, SMOKE);

check('auth.jwt_bearer', async (ctx) => {
  expect(ctx.jwtKey, 'no --jwt-key given (run.sh generates one)');
  const c = newConn(ctx); // no client secret: only grant_type + assertion are posted
  const info = await c.authorize({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: jwtAssertion(ctx, fs.readFileSync(ctx.jwtKey, 'utf8')),
  });
  expect(info.organizationId?.startsWith('00D'), `userInfo ${short(info)}`);
  const res = await c.query(`SELECT Username FROM User WHERE Username = '${ctx.username}'`);
  expectEq(res.totalSize, 1, 'the subject user is visible');
}, SMOKE);

check('auth.jwt_bearer_refusals', async (ctx) => {
  expect(ctx.jwtKey, 'no --jwt-key given');
  const key = fs.readFileSync(ctx.jwtKey, 'utf8');
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cases = [
    ['unknown key', jwtAssertion(ctx, privateKey.export({ type: 'pkcs8', format: 'pem' }))],
    ['bad audience', jwtAssertion(ctx, key, { aud: 'https://example.invalid' })],
    ['expired', jwtAssertion(ctx, key, { expIn: -600 })],
  ];
  for (const [what, assertion] of cases) {
    const err = await rejects(
      newConn(ctx).authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      what,
    );
    expectEq(err.name, 'invalid_grant', `error for ${what}`);
  }
});

check('auth.refresh_token', async (ctx) => {
  const tok = await rawToken(ctx, {
    grant_type: 'password', client_id: ctx.clientId, client_secret: ctx.clientSecret,
    username: ctx.username, password: ctx.password,
  });
  const refresh = tok.json?.refresh_token;
  expect(refresh, `no refresh_token from the password grant (keys ${short(Object.keys(tok.json ?? {}))})`);
  const o = new jsforce.OAuth2({ loginUrl: ctx.base, clientId: ctx.clientId, clientSecret: ctx.clientSecret });
  const res = await o.refreshToken(refresh);
  expect(res.access_token && res.instance_url === ctx.base, `refresh answer ${short(res)}`);
  // A connection holding a stale token and a refresh token recovers by itself on 401.
  const c = oauthConn(ctx, { instanceUrl: ctx.base, accessToken: 'stale-token', refreshToken: refresh });
  let refreshed = null;
  c.on('refresh', (accessToken) => { refreshed = accessToken; });
  const q = await c.query('SELECT COUNT() FROM Account');
  expect(typeof q.totalSize === 'number', 'query after automatic refresh');
  expect(refreshed && c.accessToken === refreshed, 'jsforce refreshed the token');
  ctx.refreshToken = refresh;
});

check('auth.identity', async (ctx) => {
  const id = await conn(ctx).identity();
  expectEq(id.username, ctx.username, 'username');
  expect(id.user_id?.startsWith('005') && id.organization_id?.startsWith('00D'), `ids ${short(id)}`);
});

// ------------------------------------------------------------------ describe, limits

check('describe.global', async (ctx) => {
  const g = await conn(ctx).describeGlobal();
  expectEq(g.maxBatchSize, 200, 'maxBatchSize');
  const acct = g.sobjects.find((o) => o.name === 'Account');
  expect(acct, 'Account listed');
  expectEq([acct.keyPrefix, acct.queryable, acct.createable], ['001', true, true], 'Account flags');
  expect(g.sobjects.some((o) => o.name === 'Contact' && o.keyPrefix === '003'), 'Contact listed');
}, SMOKE);

check('describe.object', async (ctx) => {
  const d = await conn(ctx).sobject('Account').describe();
  const f = Object.fromEntries(d.fields.map((x) => [x.name, x]));
  expectEq([f.Id.type, f.Id.length], ['id', 18], 'Id');
  expectEq([f[EXT].externalId, f[EXT].unique, f[EXT].type], [true, true, 'string'], EXT);
  const rel = d.childRelationships.find((r) => r.childSObject === 'Contact' && r.field === 'AccountId');
  expectEq(rel?.relationshipName, 'Contacts', 'Contacts relationship');
  const cd = await conn(ctx).sobject('Contact').describe();
  const acc = cd.fields.find((x) => x.name === 'AccountId');
  expectEq([acc.type, acc.referenceTo, acc.relationshipName], ['reference', ['Account'], 'Account'], 'AccountId');
});

check('limits.limit_info', async (ctx) => {
  const c = conn(ctx);
  await c.sobject('Account').describe();
  const first = c.limitInfo?.apiUsage;
  expect(first && Number.isInteger(first.used) && Number.isInteger(first.limit), `limitInfo ${short(c.limitInfo)}`);
  const usage = (await control(ctx, 'GET', '/api-usage')).json;
  expectEq([first.used, first.limit], [usage.total, usage.max], 'header = emulator counters');
  await c.query('SELECT Id FROM Account LIMIT 1');
  expectEq(c.limitInfo.apiUsage.used, first.used + 1, 'one call counted');
  const lim = await c.limits();
  expect(Number.isInteger(lim.DailyApiRequests?.Max), `limits() ${short(lim)}`);
}, SMOKE);

check('transport.keep_alive_survives_early_errors', async (ctx) => {
  // Node 20's global agent keeps connections alive. If the server answers before reading the
  // request body and closes the connection, the next request on it fails (ECONNRESET/socket
  // hang up). Salesforce keeps the connection; so must the emulator.
  const c = conn(ctx);
  const bad = newConn(ctx, { instanceUrl: ctx.base, accessToken: 'bad-token' });
  const cases = [
    ['404 upsert on an unknown field', () => c.sobject('Account').upsert({ Name: 'x'.repeat(2000), NoSuch_Ext__c: 'abc' }, 'NoSuch_Ext__c')],
    ['401 POST with a bad token', () => bad.sobject('Account').create({ Name: 'x'.repeat(2000) })],
  ];
  const failures = {};
  for (const [label, call] of cases) {
    failures[label] = 0;
    for (let i = 0; i < 60; i += 1) {
      await call().catch(() => {});
      try {
        await c.sobject('Account').create({ Name: `${ctx.run} keepalive` });
      } catch (err) {
        if (err.errorCode) throw err; // a Salesforce error is not what this check is about
        failures[label] += 1;
      }
    }
  }
  expectEq(failures, Object.fromEntries(Object.keys(failures).map((k) => [k, 0])),
    'follow-up calls that died on a closed connection (of 60 each)');
});

// ------------------------------------------------------------------ CRUD, upsert

check('crud.create_retrieve_update_destroy', async (ctx) => {
  const so = conn(ctx).sobject('Account');
  const res = await so.create({ Name: `${ctx.run} crud`, Industry: 'Banking' });
  expect(res.success === true && res.id?.length === 18, `create ${short(res)}`);
  const got = await so.retrieve(res.id);
  expectEq([got.Id, got.Name, got.Industry, got.attributes.type], [res.id, `${ctx.run} crud`, 'Banking', 'Account'], 'retrieve');
  const upd = await so.update({ Id: res.id, Industry: 'Energy' });
  expectEq([upd.id, upd.success], [res.id, true], 'update result');
  expectEq((await so.retrieve(res.id)).Industry, 'Energy', 'updated value');
  const del = await so.destroy(res.id);
  expectEq([del.id, del.success], [res.id, true], 'destroy result');
  const err = await rejects(so.retrieve(res.id), 'retrieve a deleted record');
  expect(['ENTITY_IS_DELETED', 'NOT_FOUND'].includes(err.errorCode), `errorCode ${err.errorCode}`);
});

check('crud.required_field_missing', async (ctx) => {
  const err = await rejects(conn(ctx).sobject('Account').create({ Industry: 'Banking' }), 'no Name');
  expectEq(err.errorCode, 'REQUIRED_FIELD_MISSING', 'errorCode');
  expectEq(err.data?.fields, ['Name'], 'fields');
});

check('call_options.client_tag_in_change_origin', async (ctx) => {
  const last = (await control(ctx, 'GET', '/changes?after=0&max=100000')).json.changes;
  const after = last.length ? last.at(-1).seq : 0;
  const c = newConn(ctx, {
    instanceUrl: ctx.base,
    accessToken: conn(ctx).accessToken,
    // jsforce joins several options with ", ": "client=orgsync-conformance, defaultNamespace=ns"
    callOptions: { client: 'orgsync-conformance', defaultNamespace: 'ns' },
  });
  const res = await c.sobject('Account').create({ Name: `${ctx.run} tagged` });
  const mine = (await control(ctx, 'GET', `/changes?after=${after}&max=1000`)).json.changes
    .filter((ch) => ch.recordId === res.id);
  expectEq(mine.map((ch) => ch.changeType), ['CREATE'], 'change log entry');
  expectEq(mine[0].changeOrigin, `com/salesforce/api/rest/${VERSION};client=orgsync-conformance`, 'changeOrigin');
});

check('upsert.by_external_id_create_then_update', async (ctx) => {
  const so = conn(ctx).sobject('Account');
  const gid = `${ctx.run}:up1`;
  const first = await so.upsert({ Name: `${ctx.run} upsert`, [EXT]: gid }, EXT);
  expectEq([first.success, first.created], [true, true], `first upsert ${short(first)}`);
  const second = await so.upsert({ Name: `${ctx.run} upsert 2`, [EXT]: gid }, EXT);
  expectEq([second.id, second.created], [first.id, false], `second upsert ${short(second)}`);
  const rec = (await conn(ctx).query(`SELECT Id, Name FROM Account WHERE ${EXT} = '${gid}'`)).records;
  expectEq(rec.map((r) => r.Name), [`${ctx.run} upsert 2`], 'one record, updated');
  ctx.acctGid = gid;
  ctx.acctId = first.id;
});

check('rest.api_version_behaviour', async (ctx) => {
  const old = newConn(ctx, { instanceUrl: ctx.base, accessToken: conn(ctx).accessToken, version: '45.0' });
  const rec = { Name: `${ctx.run} v45`, [EXT]: `${ctx.run}:v45` };
  const first = await old.sobject('Account').upsert(rec, EXT); // single record: PATCH …/ext/value
  expectEq([first.success, 'created' in first], [true, false], `v45 create answer ${short(first)}`);
  const second = await old.sobject('Account').upsert({ ...rec, Name: `${ctx.run} v45 b` }, EXT);
  // v45 answers 204 with no body; jsforce then returns its no-content placeholder.
  expectEq(second, { success: true, errors: [] }, 'v45 update answer');
  const tooOld = newConn(ctx, { instanceUrl: ctx.base, accessToken: conn(ctx).accessToken, version: '30.0' });
  const err = await rejects(tooOld.describeGlobal(), 'unserved API version');
  expectEq(err.errorCode, 'NOT_FOUND', 'errorCode');
});

check('upsert.multiple_matches_300', async (ctx) => {
  const so = conn(ctx).sobject('Account');
  const gid = `${ctx.run}:dup`;
  const a = (await so.create({ Name: `${ctx.run} dup a`, [EXT]: gid })).id;
  const b = (await so.create({ Name: `${ctx.run} dup b`, [EXT]: `${gid}-b` })).id;
  // Unique external ids collide only through drift: the control surface edits without validation.
  const drift = await control(ctx, 'PATCH', `/records/Account/${b}`, { [EXT]: gid });
  if (drift.status !== 204) throw new Skip(`cannot make two records share an external id (${drift.status})`);
  const err = await rejects(so.upsert({ Name: 'which?', [EXT]: gid }, EXT), 'upsert matching two');
  expectEq(err.errorCode, 'MULTIPLE_CHOICES', 'errorCode');
  // Body: a JSON array of the matching records' URLs.
  const base = `/services/data/v${VERSION}/sobjects/Account/`;
  expectEq(Array.isArray(err.data) ? [...err.data].sort() : err.data, [base + a, base + b].sort(), '300 body');
});

check('relationship.parent_by_external_id', async (ctx) => {
  if (!ctx.acctGid) throw new Skip('needs the upsert check');
  const so = conn(ctx).sobject('Contact');
  const res = await so.create({ LastName: `${ctx.run} child`, FirstName: 'Ada', Account: { [EXT]: ctx.acctGid } });
  expect(res.success, `create ${short(res)}`);
  expectEq((await so.retrieve(res.id)).AccountId, ctx.acctId, 'AccountId resolved');
  // The sync engine's real write: collections upsert with the parent by its global id.
  const up = await so.upsert([
    { LastName: `${ctx.run} child2`, [EXT]: `${ctx.run}:c2`, Account: { [EXT]: ctx.acctGid } },
  ], EXT);
  expectEq([up[0].success, up[0].created], [true, true], `collections upsert ${short(up)}`);
  expectEq((await so.retrieve(up[0].id)).AccountId, ctx.acctId, 'AccountId via collections upsert');
  ctx.contactId = res.id;
});

check('relationship.parent_fields_and_child_subquery', async (ctx) => {
  if (!ctx.contactId) throw new Skip('needs the parent-by-external-id check');
  const c = conn(ctx);
  const r1 = await c.query(`SELECT Name, Account.Name FROM Contact WHERE Id = '${ctx.contactId}'`);
  const rec = r1.records[0];
  expectEq([rec.Name, rec.Account?.Name, rec.Account?.attributes?.type],
    [`Ada ${ctx.run} child`, `${ctx.run} upsert 2`, 'Account'], 'parent fields');
  const r2 = await c.query(
    `SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Id = '${ctx.acctId}'`,
  );
  const sub = r2.records[0].Contacts;
  expectEq(sub?.records?.map((x) => x.LastName), [`${ctx.run} child`, `${ctx.run} child2`], 'children');
});

check('custom_objects.collections_upsert_with_custom_lookup', async (ctx) => {
  if (!ctx.acctGid) throw new Skip('needs the upsert check');
  const so = conn(ctx).sobject('Work_Item__c');
  // The sync engine's write: collections upsert on the global id, parent by its global id.
  const recs = [1, 2].map((i) => ({
    Name: `${ctx.run} wi ${i}`, [EXT]: `${ctx.run}:wi${i}`, Estimate_Hours__c: 1.25 * i,
    Account__r: { [EXT]: ctx.acctGid },
  }));
  const res = await so.upsert(recs, EXT);
  expectEq(res.map((r) => [r.success, r.created]), [[true, true], [true, true]], `upsert ${short(res)}`);
  const again = await so.upsert(recs.map((r) => ({ ...r, Priority__c: 'High' })), EXT);
  expectEq(again.map((r) => r.created), [false, false], 'second upsert updates');
  const q = await conn(ctx).query(
    `SELECT Name, Status__c, Priority__c, Estimate_Hours__c, Account__r.${EXT} FROM Work_Item__c `
    + `WHERE ${EXT} IN ('${ctx.run}:wi1', '${ctx.run}:wi2') ORDER BY Name`,
  );
  expectEq(q.records.map((r) => [r.Status__c, r.Priority__c, r.Estimate_Hours__c, r.Account__r?.[EXT]]),
    [['New', 'High', 1.25, ctx.acctGid], ['New', 'High', 2.5, ctx.acctGid]], 'values, default, parent');
  const sub = await conn(ctx).sobject('Account').select('Id')
    .include('Work_Items__r').select('Name').sort('Name').end()
    .where({ Id: ctx.acctId });
  expectEq(sub[0].Work_Items__r.records.map((r) => r.Name), [`${ctx.run} wi 1`, `${ctx.run} wi 2`],
    'child subquery built by jsforce');
});

// ------------------------------------------------------------------ query

check('query.insert_5100_via_collections', async (ctx) => {
  const marker = `${ctx.run}-pg`;
  const ratings = ['Hot', 'Warm', 'Cold'];
  ctx.t0 = new Date(Date.now() - 2000);
  const records = Array.from({ length: PAGE_ROWS }, (_, i) => ({
    Name: `${marker} ${String(i).padStart(5, '0')}`, AccountNumber: marker, Rating: ratings[i % 3],
    [EXT]: `${marker}:${i}`,
  }));
  const res = await conn(ctx).sobject('Account').create(records, { allowRecursive: true, allOrNone: true });
  expectEq(res.length, PAGE_ROWS, 'results');
  const bad = res.filter((r) => !r.success);
  expect(bad.length === 0, `failures ${short(bad)}`);
  ctx.pageIds = res.map((r) => r.id);
  ctx.pageMarker = marker;
});

check('query.auto_fetch_and_query_more', async (ctx) => {
  const marker = pageMarker(ctx);
  const c = conn(ctx);
  const soql = `SELECT Id, Name FROM Account WHERE AccountNumber = '${marker}' ORDER BY Name`;
  const first = await c.query(soql);
  expectEq([first.totalSize, first.done], [PAGE_ROWS, false], 'first page');
  expect(first.records.length > 0 && first.records.length <= 2000, `batch ${first.records.length}`);
  expect(first.nextRecordsUrl?.startsWith(`${c.instanceUrl}/services/data/v${VERSION}/query/`),
    `nextRecordsUrl ${first.nextRecordsUrl}`);
  const more = await c.queryMore(first.nextRecordsUrl);
  expect(more.records[0].Name > first.records.at(-1).Name, 'queryMore continues');
  const all = await c.query(soql, { autoFetch: true, maxFetch: 10000 });
  const names = all.records.map((r) => r.Name);
  expectEq(names.length, PAGE_ROWS, 'autoFetch rows');
  expectEq(new Set(all.records.map((r) => r.Id)).size, PAGE_ROWS, 'distinct ids');
  expect(names.every((n, i) => i === 0 || names[i - 1] < n), 'order across pages');
  let streamed = 0;
  await new Promise((resolve, reject) => {
    c.query(soql).on('record', () => { streamed += 1; }).on('end', resolve).on('error', reject)
      .run({ autoFetch: true, maxFetch: 10000 });
  });
  expectEq(streamed, PAGE_ROWS, 'records streamed through the record event');
});

check('query.aggregates', async (ctx) => {
  const marker = pageMarker(ctx);
  const c = conn(ctx);
  const cnt = await c.query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${marker}'`);
  expectEq([cnt.totalSize, cnt.records.length], [PAGE_ROWS, 0], 'COUNT()');
  const cid = await c.query(`SELECT COUNT(Id) FROM Account WHERE AccountNumber = '${marker}'`);
  expectEq(cid.records[0].expr0, PAGE_ROWS, 'COUNT(Id) expr0');
  const grp = await c.query(
    `SELECT Rating, COUNT(Id) n FROM Account WHERE AccountNumber = '${marker}' GROUP BY Rating ORDER BY Rating`,
  );
  expectEq(grp.records.map((r) => [r.Rating, r.n]), [['Cold', 1700], ['Hot', 1700], ['Warm', 1700]], 'GROUP BY');
});

check('query.date_literals', async (ctx) => {
  const marker = pageMarker(ctx);
  const cases = [
    ['CreatedDate = TODAY', PAGE_ROWS],
    ['CreatedDate = LAST_N_DAYS:1', PAGE_ROWS],
    ['CreatedDate = YESTERDAY', 0],
    [`SystemModstamp > ${soqlDateTime(ctx.t0)}`, PAGE_ROWS],
    [`SystemModstamp > ${soqlDateTime(new Date(Date.now() + 3600e3))}`, 0],
  ];
  for (const [cond, want] of cases) {
    const r = await conn(ctx).query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${marker}' AND ${cond}`);
    expectEq(r.totalSize, want, cond);
  }
});

check('query.scan_all_after_delete', async (ctx) => {
  const marker = pageMarker(ctx);
  const c = conn(ctx);
  const victim = ctx.pageIds[11];
  await c.sobject('Account').destroy(victim);
  const live = await c.query(`SELECT Id FROM Account WHERE Id = '${victim}'`);
  expectEq(live.totalSize, 0, 'gone from query');
  const del = await c.query(`SELECT Id, IsDeleted FROM Account WHERE AccountNumber = '${marker}' AND IsDeleted = true`,
    { scanAll: true });
  expectEq(del.records.map((r) => [r.Id, r.IsDeleted]), [[victim, true]], 'queryAll IsDeleted = true');
  const every = await c.query(`SELECT Id FROM Account WHERE AccountNumber = '${marker}'`,
    { scanAll: true, autoFetch: true, maxFetch: 10000 });
  expectEq(every.records.length, PAGE_ROWS, 'queryAll paging covers live + deleted');
});

check('query.keyset_watermark_walk', async (ctx) => {
  // The incremental-sync read: ORDER BY SystemModstamp, Id with a (SystemModstamp, Id) keyset.
  const marker = pageMarker(ctx);
  const seen = [];
  let where = '';
  for (let i = 0; i < 10; i += 1) {
    const page = await conn(ctx).query(`SELECT Id, SystemModstamp FROM Account WHERE AccountNumber = '${marker}'${where} `
      + 'ORDER BY SystemModstamp, Id LIMIT 2000');
    if (page.records.length === 0) break;
    const stamps = page.records.map((r) => r.SystemModstamp);
    expectEq(stamps, [...stamps].sort(), 'page ordered by SystemModstamp');
    seen.push(...page.records.map((r) => r.Id));
    const last = page.records.at(-1);
    const lit = last.SystemModstamp.replace('+0000', 'Z');
    where = ` AND (SystemModstamp > ${lit} OR (SystemModstamp = ${lit} AND Id > '${last.Id}'))`;
  }
  expectEq([seen.length, new Set(seen).size], [PAGE_ROWS - 1, PAGE_ROWS - 1], 'each live row exactly once');
});

check('query.batch_size_header', async (ctx) => {
  const marker = pageMarker(ctx);
  const headers = { 'Sforce-Query-Options': 'batchSize=500' };
  const first = await conn(ctx).query(`SELECT Id FROM Account WHERE AccountNumber = '${marker}'`, { headers });
  expectEq([first.records.length, first.done], [500, false], 'first page of 500');
  let pages = 0;
  const all = await conn(ctx).query(`SELECT Id FROM Account WHERE AccountNumber = '${marker}'`,
    { headers, autoFetch: true, maxFetch: 10000 }).on('fetch', () => { pages += 1; });
  expectEq(all.records.length, PAGE_ROWS - 1, 'rows (one was deleted)');
  expectEq(pages, Math.ceil((PAGE_ROWS - 1) / 500), 'pages of 500 (the header is resent on every page)');
});

check('query.soql_builder_find_and_count', async (ctx) => {
  const marker = pageMarker(ctx);
  const so = conn(ctx).sobject('Account');
  const n = await so.count({ AccountNumber: marker, Rating: 'Hot' }); // SELECT count() ... (lower case)
  expectEq(n, 1700, 'count()');
  const recs = await so.find({ AccountNumber: marker }, ['Id', 'Name']).sort({ Name: -1 }).limit(3);
  expectEq(recs.map((r) => r.Name), ['05099', '05098', '05097'].map((n) => `${marker} ${n}`), 'find/sort/limit');
});

check('query.sfdate_literals', async (ctx) => {
  const marker = pageMarker(ctx);
  const so = conn(ctx).sobject('Account');
  const since = jsforce.SfDate.toDateTimeLiteral(ctx.t0);
  expectEq(await so.count({ AccountNumber: marker, SystemModstamp: { $gt: since } }), PAGE_ROWS - 1, `> ${since}`);
  const today = jsforce.SfDate.TODAY;
  expectEq(await so.count({ AccountNumber: marker, CreatedDate: today }), PAGE_ROWS - 1, 'CreatedDate = TODAY');
  const yesterday = jsforce.SfDate.YESTERDAY;
  expectEq(await so.count({ AccountNumber: marker, CreatedDate: yesterday }), 0, 'CreatedDate = YESTERDAY');
});

check('sobject.updated_and_deleted', async (ctx) => {
  if (!ctx.pageIds) throw new Skip('needs the inserted rows');
  const so = conn(ctx).sobject('Account');
  const start = new Date(ctx.t0.getTime() - 60e3);
  const end = new Date(Date.now() + 60e3);
  const upd = await so.updated(start, end);
  expect(upd.ids.includes(ctx.pageIds[0]), `created id in /updated (${upd.ids.length} ids)`);
  const del = await so.deleted(start, end);
  expect(del.deletedRecords.some((d) => d.id === ctx.pageIds[11]), `deleted id in /deleted ${short(del)}`);
});

check('query.invalid_field_error', async (ctx) => {
  const err = await rejects(conn(ctx).query('SELECT Id, Foo FROM Account'), 'unknown column');
  expectEq(err.errorCode, 'INVALID_FIELD', 'errorCode');
});

check('concurrency.parallel_single_record_calls', async (ctx) => {
  // jsforce issues single-record calls in parallel (Promise.all, up to maxRequest = 10 at once).
  const c = conn(ctx);
  const tag = `${ctx.run}-par`;
  const made = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    c.sobject('Account').create({ Name: `${tag} ${i}`, AccountNumber: tag })));
  expect(made.every((r) => r.success), `parallel creates ${short(made.filter((r) => !r.success))}`);
  const upd = await Promise.all(made.map((r, i) =>
    c.sobject('Account').update({ Id: r.id, NumberOfEmployees: i })));
  expect(upd.every((r) => r.success), 'parallel updates');
  const agg = await c.query(`SELECT COUNT(Id) n, SUM(NumberOfEmployees) total FROM Account WHERE AccountNumber = '${tag}'`);
  expectEq([agg.records[0].n, agg.records[0].total], [40, (39 * 40) / 2], 'no lost writes');
});

// ------------------------------------------------------------------ collections, composite

check('collections.partial_failure_all_or_none_false', async (ctx) => {
  const tag = `${ctx.run}-aon0`;
  const res = await conn(ctx).sobject('Account').create(
    [{ Name: `${tag} good`, AccountNumber: tag }, { AccountNumber: tag }], { allOrNone: false },
  );
  expectEq(res.map((r) => r.success), [true, false], `results ${short(res)}`);
  expectEq(res[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING', 'statusCode');
  const n = await conn(ctx).query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${tag}'`);
  expectEq(n.totalSize, 1, 'good record saved');
});

check('collections.partial_failure_all_or_none_true', async (ctx) => {
  const tag = `${ctx.run}-aon1`;
  const res = await conn(ctx).sobject('Account').create(
    [{ Name: `${tag} good`, AccountNumber: tag }, { AccountNumber: tag }], { allOrNone: true },
  );
  expectEq(res.map((r) => r.success), [false, false], `results ${short(res)}`);
  expectEq(res.map((r) => r.errors[0]?.statusCode), ['ALL_OR_NONE_OPERATION_ROLLED_BACK', 'REQUIRED_FIELD_MISSING'],
    'statusCodes');
  const n = await conn(ctx).query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${tag}'`);
  expectEq(n.totalSize, 0, 'nothing saved');
});

check('collections.update_retrieve_destroy', async (ctx) => {
  const so = conn(ctx).sobject('Account');
  const created = await so.create([{ Name: `${ctx.run} c1` }, { Name: `${ctx.run} c2` }]);
  const ids = created.map((r) => r.id);
  const upd = await so.update(ids.map((Id) => ({ Id, Industry: 'Retail' })));
  expectEq(upd.map((r) => r.success), [true, true], `update ${short(upd)}`);
  const got = await so.retrieve(ids, { fields: ['Id', 'Industry'] });
  expectEq(got.map((r) => r.Industry), ['Retail', 'Retail'], 'retrieve many');
  const del = await so.destroy(ids);
  expectEq(del.map((r) => [r.id, r.success]), ids.map((id) => [id, true]), 'destroy many');
});

check('composite.references', async (ctx) => {
  const base = `/services/data/v${VERSION}`;
  const res = await conn(ctx).requestPost('/composite', {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'refAccount', body: { Name: `${ctx.run} cmp` } },
      { method: 'POST', url: `${base}/sobjects/Contact`, referenceId: 'refContact',
        body: { LastName: `${ctx.run} cmp child`, AccountId: '@{refAccount.id}' } },
      { method: 'GET', url: `${base}/sobjects/Contact/@{refContact.id}?fields=AccountId`, referenceId: 'refRead' },
    ],
  });
  const subs = res.compositeResponse;
  expectEq(subs.map((s) => s.httpStatusCode), [201, 201, 200], `statuses ${short(subs)}`);
  expectEq(subs[2].body.AccountId, subs[0].body.id, 'reference resolved');
});

check('composite.all_or_none_rolls_back', async (ctx) => {
  const tag = `${ctx.run}-cmprb`;
  const base = `/services/data/v${VERSION}`;
  const res = await conn(ctx).requestPost('/composite', {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'ok', body: { Name: `${tag} a`, AccountNumber: tag } },
      { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'bad', body: { AccountNumber: tag } },
    ],
  });
  const bad = res.compositeResponse[1];
  expectEq([bad.httpStatusCode, bad.body[0].errorCode], [400, 'REQUIRED_FIELD_MISSING'], 'failing subrequest');
  const n = await conn(ctx).query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${tag}'`);
  expectEq(n.totalSize, 0, 'the successful subrequest was rolled back');
});

async function setFaults(ctx, body) {
  const r = await control(ctx, 'PUT', '/faults', body);
  expectEq(r.status, 204, `PUT /__sfemu/faults ${r.text}`);
}

check('faults.request_limit_exceeded', async (ctx) => {
  const usage = (await control(ctx, 'GET', '/api-usage')).json;
  expectEq((await control(ctx, 'PUT', '/limits', { used: usage.max })).status, 204, 'PUT /__sfemu/limits');
  try {
    const err = await rejects(conn(ctx).query('SELECT Id FROM Account LIMIT 1'), 'over the daily limit');
    expectEq([err.errorCode, err.message], ['REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'], 'error');
  } finally {
    await control(ctx, 'POST', '/api-usage/reset');
  }
  await conn(ctx).query('SELECT Id FROM Account LIMIT 1');
});

check('faults.unable_to_lock_row_and_503', async (ctx) => {
  try {
    await setFaults(ctx, { errorRate: { UNABLE_TO_LOCK_ROW: 1.0 }, seed: 1 });
    const err = await rejects(conn(ctx).sobject('Account').create({ Name: 'locked' }), 'injected lock error');
    expectEq(err.errorCode, 'UNABLE_TO_LOCK_ROW', 'errorCode');
    await setFaults(ctx, { offline: true });
    const off = await rejects(conn(ctx).query('SELECT Id FROM Account LIMIT 1'), 'offline org');
    // A JSON error array gives SERVER_UNAVAILABLE; a bare 503 would give ERROR_HTTP_503.
    expect(['SERVER_UNAVAILABLE', 'ERROR_HTTP_503'].includes(off.errorCode), `errorCode ${off.errorCode}`);
  } finally {
    await control(ctx, 'DELETE', '/faults');
  }
  await conn(ctx).query('SELECT Id FROM Account LIMIT 1');
});

check('faults.record_errors_in_collections', async (ctx) => {
  const tag = `${ctx.run}-recf`;
  let res;
  try {
    await setFaults(ctx, { recordErrorRate: { UNABLE_TO_LOCK_ROW: 1.0 }, seed: 7 });
    res = await conn(ctx).sobject('Account').create(
      [0, 1, 2].map((i) => ({ Name: `${tag} ${i}`, AccountNumber: tag })), { allOrNone: false },
    );
  } finally {
    await control(ctx, 'DELETE', '/faults');
  }
  expectEq(res.map((r) => [r.success, r.errors[0]?.statusCode]), [0, 1, 2].map(() => [false, 'UNABLE_TO_LOCK_ROW']),
    'per-record injected errors');
  const n = await conn(ctx).query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${tag}'`);
  expectEq(n.totalSize, 0, 'failed records not saved');
});

check('faults.record_errors_on_single_record_writes', async (ctx) => {
  const tag = `${ctx.run}-recs`;
  try {
    await setFaults(ctx, { recordErrorRate: { UNABLE_TO_LOCK_ROW: 1.0 }, seed: 7 });
    const err = await rejects(conn(ctx).sobject('Account').create({ Name: tag, AccountNumber: tag }),
      'single-record create under recordErrorRate 1.0');
    expectEq(err.errorCode, 'UNABLE_TO_LOCK_ROW', 'errorCode');
  } finally {
    await control(ctx, 'DELETE', '/faults');
  }
  const n = await conn(ctx).query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${tag}'`);
  expectEq(n.totalSize, 0, 'failed record not saved');
});

check('soap.undelete', async (ctx) => {
  const tag = `${ctx.run}-und`;
  const c = conn(ctx);
  const made = await c.sobject('Account').create(
    [0, 1].map((i) => ({ Name: `${tag} ${i}`, AccountNumber: tag })), { allOrNone: true },
  );
  const ids = made.map((r) => r.id);
  await c.sobject('Account').destroy(ids);
  const count = async () => (await c.query(`SELECT COUNT() FROM Account WHERE AccountNumber = '${tag}'`)).totalSize;
  expectEq(await count(), 0, 'deleted');
  // jsforce's partner SOAP call: conn.soap.undelete(ids) → UndeleteResult[] in order.
  const res = await c.soap.undelete(ids.map((id) => id.slice(0, 15)));
  expectEq(res.map((r) => [r.id, r.success]), ids.map((id) => [id, true]), 'results');
  expectEq(await count(), 2, 'restored under their ids');
  const again = await c.soap.undelete([ids[0]]);
  expectEq([again[0].success, again[0].errors[0]?.statusCode, again[0].errors[0]?.message],
    [false, 'UNDELETE_FAILED', 'Entity is not in the recycle bin'], 'a live record');
});

// ------------------------------------------------------------------ sessions (last: they expire tokens)

check('session.revoked_token_is_invalid_session', async (ctx) => {
  const tok = await rawToken(ctx, {
    grant_type: 'password', client_id: ctx.clientId, client_secret: ctx.clientSecret,
    username: ctx.username, password: ctx.password,
  });
  const c = newConn(ctx, { instanceUrl: ctx.base, accessToken: tok.json.access_token });
  await c.query('SELECT Id FROM Account LIMIT 1');
  await c.oauth2.revokeToken(tok.json.access_token);
  const err = await rejects(c.query('SELECT Id FROM Account LIMIT 1'), 'call with a revoked token');
  expectEq(err.errorCode, 'INVALID_SESSION_ID', 'errorCode');
  expectEq(err.message, 'Session expired or invalid', 'message');
});

check('session.expired_tokens_refresh', async (ctx) => {
  const expired = await control(ctx, 'POST', '/tokens/expire');
  expectEq(expired.status, 204, 'control expire');
  // Username/password logins carry a refresh delegate that logs in again.
  const c = conn(ctx);
  const before = c.accessToken;
  const r = await c.query('SELECT COUNT() FROM Account');
  expect(typeof r.totalSize === 'number' && c.accessToken !== before, 'OAuth2 login re-established');
  if (!ctx.soapConn) throw new Error('no SOAP connection to test');
  const sBefore = ctx.soapConn.accessToken;
  await ctx.soapConn.query('SELECT COUNT() FROM Account');
  expect(ctx.soapConn.accessToken !== sBefore, 'SOAP login re-established');
  if (!ctx.refreshToken) throw new Skip('refresh-token part needs the refresh-token check');
  const rc = oauthConn(ctx, { instanceUrl: ctx.base, accessToken: before, refreshToken: ctx.refreshToken });
  await rc.query('SELECT COUNT() FROM Account');
  expect(rc.accessToken !== before, 'refresh token survived token expiry and was used');
  // The write path: a POST answered 401, refresh, the same POST again.
  expectEq((await control(ctx, 'POST', '/tokens/expire')).status, 204, 'control expire (2)');
  const created = await rc.sobject('Account').create({ Name: `${ctx.run} after expiry` });
  expect(created.success, `create after refresh ${short(created)}`);
});

// ------------------------------------------------------------------ main

const { values } = parseArgs({
  options: {
    'base-url': { type: 'string' },
    'jwt-key': { type: 'string' },
    'jwt-client-id': { type: 'string', default: 'sfemu-client' },
    'client-id': { type: 'string', default: 'sfemu-client' },
    'client-secret': { type: 'string', default: 'sfemu-secret' },
    username: { type: 'string', default: 'admin@sfemu.test' },
    password: { type: 'string', default: 'sfemu' },
    tag: { type: 'string' },
    only: { type: 'string', multiple: true, default: [] },
    verbose: { type: 'boolean', default: false },
  },
});
if (!values['base-url']) {
  console.error('usage: node conformance.mjs --base-url http://127.0.0.1:PORT [--jwt-key key.pem] [--tag smoke]');
  process.exit(2);
}
const ctx = {
  base: values['base-url'].replace(/\/+$/, ''),
  jwtKey: values['jwt-key'],
  jwtClientId: values['jwt-client-id'],
  clientId: values['client-id'],
  clientSecret: values['client-secret'],
  username: values.username,
  password: values.password,
  run: `jf${crypto.randomBytes(4).toString('hex')}`,
  verbose: values.verbose,
};
console.log(`jsforce ${jsforce.VERSION} conformance against ${ctx.base} (run ${ctx.run}${values.tag ? `, ${values.tag}` : ''})`);
process.exitCode = await runAll(ctx, { only: values.only, tag: values.tag ?? null });
