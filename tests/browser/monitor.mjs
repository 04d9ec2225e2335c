// The Sync Monitor in a real browser: Playwright (playwright-core) driving Debian's chromium,
// headless, against `orgsync demo` (three emulated orgs, the dashboard on a loopback port).
// Logs in, sees the overview; makes a spoke refuse writes (an injected validation error), sees
// the failures under Problems, lifts the fault and Retries them to Synced; pauses and resumes a
// sync on the settings page and sees the status change, Tests an object, adds an object (sees it
// listed as paused, turns it on, and a Contact created in the hub afterwards reaches a spoke —
// no restart of the service), finds a record in the
// explorer by a spoke's local id, removes a sync through its confirmation, starts a quick
// reconcile dry run and sees its report, opens activity,
// conflicts and charts — with no console error on any page. Screenshots of each page go to $SHOTS_DIR (default target/browser-shots).
//
// Env: ORGSYNC_BIN (default target/debug/orgsync), CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.ORGSYNC_BIN ?? join(root, 'target/debug/orgsync');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.SHOTS_DIR ?? join(root, 'target/browser-shots');
mkdirSync(shots, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'orgsync-browser-'));

let demo;
let context;
const started = Date.now();
function log(msg) { console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`); }
async function cleanup() {
  try { await context?.close(); } catch { /* already closed */ }
  if (demo && demo.exitCode === null) {
    // a clean stop (the demo's last lines still have a reader), at most 20 s
    const ended = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGINT');
    await Promise.race([ended, new Promise((r) => setTimeout(r, 20_000))]);
    if (demo.exitCode === null) demo.kill('SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
}
async function fail(msg) {
  console.error(`browser: FAIL ${msg}`);
  await cleanup();
  process.exit(1);
}
setTimeout(() => fail('timed out after 120 s'), 120_000).unref();

// 1. the demo: org URLs, then the dashboard line with its password
demo = spawn(bin, ['demo', '--seconds', '90', '--dir', join(work, 'demo')], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, RUST_LOG: 'warn' },
});
demo.on('exit', (code) => { if (code !== 0 && code !== null) log(`demo exited with ${code}`); });
const orgs = {};
const dashboard = await new Promise((ok, no) => {
  const lines = createInterface({ input: demo.stdout });
  lines.on('line', (line) => { if (process.env.SHOW_DEMO) console.log(`  demo: ${line}`); });
  lines.on('line', (line) => {
    const org = line.match(/^\s+(\S+)\s+(hub|vendor)\s+(http:\/\/127\.0\.0\.1:\d+)/);
    if (org) orgs[org[1]] = { role: org[2], url: org[3] };
    const d = line.match(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\s+\(log in with the admin password (\S+)\)/);
    if (d) ok({ url: d[1], password: d[2] });
  });
  demo.on('exit', () => no(new Error('the demo ended before printing the dashboard line')));
}).catch((e) => fail(e.message));
log(`demo up: ${dashboard.url}`);

// 2. the browser: a fresh profile directory, no network beyond loopback
context = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const page = context.pages()[0] ?? await context.newPage();
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
const url = (path) => new URL(path, dashboard.url).toString();
async function shot(name) { await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true }); }
async function expectText(text, what, timeout = 10_000) {
  await page.getByText(text).first().waitFor({ timeout }).catch(() => fail(`${what}: "${text}" not on ${page.url()}`));
}
/** Click a form's button and wait for the server's answer to the POST (htmx submits boosted
 *  forms in the page: a navigation right after the click would cancel it). */
async function submit(button, path) {
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST');
  await button.click();
  const res = await answered;
  if (res.status() >= 400) await fail(`POST ${path} answered ${res.status()}`);
}
/** Reload `path` until `text` shows (the engine is live). */
async function eventually(path, text, what, limit = 20_000) {
  const until = Date.now() + limit;
  for (;;) {
    await page.goto(url(path));
    if (await page.getByText(text).count() > 0) return;
    if (Date.now() > until) {
      const body = await page.locator("main").innerText().catch(() => "");
      await fail(`${what}: "${text}" never showed on ${path}:\n${body.slice(0, 4000)}`);
    }
    await page.waitForTimeout(500);
  }
}

// 3. log in through the form
await page.goto(dashboard.url);
await page.waitForURL(/\/login$/);
await page.fill('input[name=password]', dashboard.password);
await page.fill('input[name=name]', 'browser-test');
await page.click('button[type=submit]');
await page.getByRole('heading', { name: 'Overview' }).waitFor().catch(() => fail('no overview after login'));
const cards = await page.locator('section.card').count();
if (cards !== 3) await fail(`overview: ${cards} org cards, expected 3`);
await eventually('/', 'Active', 'overview shows Active syncs');
const routes = await page.locator('svg.topology g.edge').count();
if (routes !== 2) await fail(`overview: ${routes} routes in the topology, expected hub to each of 2 spokes`);
if (await page.locator('svg.topology g.edge.ok').count() !== 2) await fail('overview: a route of the healthy demo is not ok');
await shot('overview');
log('logged in; overview with 3 org cards');

// 4. problems: make writes to a spoke fail (an injected validation error on every record),
//    see them under Problems, fix the cause (lift the fault), Retry all, see everything synced
const spokes = Object.values(orgs).filter((o) => o.role === 'vendor');
if (spokes.length === 0) await fail('no vendor org in the demo output');
const faults = (body) => fetch(`${spokes[0].url}/__sfemu/faults`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});
await faults({ recordErrorRate: { FIELD_CUSTOM_VALIDATION_EXCEPTION: 1.0 } });
await page.click('header a[href="/problems"]');
await page.getByRole('heading', { name: 'Problems' }).waitFor();
await eventually('/problems', 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'an injected failure under Problems', 40_000);
// the spoke's syncs whose writes fail show Error (not Active), the row red with the error
await eventually('/', /writes? failed: FIELD_CUSTOM_VALIDATION_EXCEPTION/, 'a sync in Error with its failed writes');
if (await page.locator('tr.red').count() < 1) await fail('overview: no sync row red while a spoke refuses writes');
if (await page.locator('svg.topology g.edge.failing').count() < 1) await fail('overview: no route failing while a spoke refuses writes');
await shot('overview-failing');
await page.goto(url('/problems'));
await shot('problems');
log('problems: writes refused by the spoke are listed');
await faults({});
await submit(page.locator('form[action="/problems/retry-all"] button'), '/problems/retry-all');
await eventually('/problems', 'Everything is synced', 'retried to Synced', 40_000);
for (const until = Date.now() + 10_000; ;) {
  await page.goto(url('/'));
  if (await page.getByText(/writes? failed:/).count() === 0) break;
  if (Date.now() > until) await fail('overview: a sync still in Error after its writes were retried to Synced');
  await page.waitForTimeout(500);
}
log('problems: cause fixed, Retry all: everything is synced, the syncs Active again');

// 5. settings: pause a sync and see it Paused, resume it and see it Active; Test an object
await page.goto(url('/settings'));
const row = '#sync-Work_Item__c';
await page.locator(row).waitFor().catch(() => fail('settings: no Work_Item__c row'));
await page.uncheck(`input[name=enabled][form="save-Work_Item__c"]`);
await submit(page.locator('#save-Work_Item__c button'), '/settings/save');
await eventually('/settings', 'Work_Item__c: Paused', 'pausing Work_Item__c');
log('settings: Work_Item__c paused');
await shot('settings-paused');
await page.check(`input[name=enabled][form="save-Work_Item__c"]`);
await submit(page.locator('#save-Work_Item__c button'), '/settings/save');
await eventually('/settings', 'Work_Item__c: Active', 'resuming Work_Item__c');
log('settings: Work_Item__c resumed');
await page.locator(`${row} form[action="/settings/test"] button`).first().click();
await expectText('Connection successful', 'Test of Work_Item__c', 20_000);
await shot('settings');
log('settings: Test says Connection successful');

// 5b. add an object: the objects in every org, the fields writable in every org; vetting
//     names a field that cannot be written; the sync is created disabled (Contact has no
//     change events in the demo's orgs: polling), listed as Paused, and can be turned on
await page.click('a#add-object');
await page.getByRole('heading', { name: 'Add object' }).waitFor().catch(() => fail('no Add object page'));
if (await page.locator('select[name=object] option[value="Account"]').count() !== 0) await fail('add: Account is synced already but offered');
await page.selectOption('select[name=object]', 'Contact').catch(() => fail('add: Contact is not offered'));
await page.click('form[action="/settings/add"][method=get] button');
await page.locator('input[name=field][value=LastName]').waitFor().catch(() => fail('add: no LastName field offered'));
if (await page.locator('input[name=field][value=AccountId]').count() !== 0) await fail('add: a lookup is offered');
await page.check('input[name=field][value=LastName]');
await page.check('input[name=field][value=Email]');
await shot('add-object');
await submit(page.locator('#add-form button'), '/settings/add');
await expectText('Added Contact with LastName, Email', 'adding Contact');
await expectText('polling will be used', 'adding Contact: the capture method');
await expectText('Contact: Paused', 'the added sync is listed as paused');
if (await page.isChecked('input[name=enabled][form="save-Contact"]')) await fail('add: Contact was created enabled');
await shot('settings-added');
log('settings: Contact added, disabled, polling');
// turned on with a 5 s interval: the service restarts its engine with it (no process
// restart), and a Contact created in the hub afterwards reaches the spokes
await page.check('input[name=enabled][form="save-Contact"]');
await page.fill('input[name=interval][form="save-Contact"]', '5s');
await submit(page.locator('#save-Contact button'), '/settings/save');
await eventually('/settings', 'Contact: Active', 'the added Contact running once turned on', 30_000);
if (await page.locator('#applying-Contact').count() !== 0) await fail('settings: Contact still shown applying while Active');
log('settings: Contact turned on at 5s — running without a restart of the service');
const hub = Object.entries(orgs).find(([, o]) => o.role === 'hub');
if (!hub) await fail('no hub org in the demo output');
/** A user's REST session on an emulated org (OAuth password flow, as any client would). */
async function rest(base) {
  const form = new URLSearchParams({ grant_type: 'password', client_id: 'sfemu-client',
    client_secret: 'sfemu-secret', username: 'admin@sfemu.test', password: 'sfemu' });
  const t = await (await fetch(`${base}/services/oauth2/token`, { method: 'POST', body: form })).json();
  if (!t.access_token) await fail(`login to ${base}: ${JSON.stringify(t)}`);
  const headers = { authorization: `Bearer ${t.access_token}`, 'content-type': 'application/json' };
  const data = `${t.instance_url ?? base}/services/data/v62.0`;
  return {
    create: async (object, fields) => (await fetch(`${data}/sobjects/${object}`, { method: 'POST', headers, body: JSON.stringify(fields) })).json(),
    query: async (soql) => (await fetch(`${data}/query?q=${encodeURIComponent(soql)}`, { headers })).json(),
  };
}
const lastName = `Browser${Date.now()}`;
const made = await (await rest(hub[1].url)).create('Contact', { LastName: lastName, Email: 'browser@example.com' });
if (!made.id) await fail(`creating a Contact in the hub: ${JSON.stringify(made)}`);
const inSpoke = await rest(spokes[0].url);
for (const until = Date.now() + 30_000; ;) {
  const r = await inSpoke.query(`SELECT Id, Email FROM Contact WHERE LastName = '${lastName}'`);
  if (r.records?.length === 1 && r.records[0].Email === 'browser@example.com') break;
  if (Date.now() > until) await fail(`the Contact created in the hub never reached ${spokes[0].url}: ${JSON.stringify(r)}`);
  await new Promise((ok) => setTimeout(ok, 500));
}
await eventually(`/records?id=${made.id}`, /written to vendor_/, 'the new Contact written, in the explorer');
await shot('record-added-object');
log(`settings: a Contact created in the hub (${made.id}) synced to the spokes`);

// 6. the record explorer, by a spoke's local id of a record orgsync created there
const spoke = spokes[spokes.length - 1];
let localId;
for (const until = Date.now() + 20_000; !localId && Date.now() < until;) {
  const res = await fetch(`${spoke.url}/__sfemu/changes?max=500`);
  const { changes } = await res.json();
  localId = changes.find((c) => c.entity === 'Account' && c.changeType === 'CREATE')?.recordId;
  if (!localId) await new Promise((r) => setTimeout(r, 500));
}
if (!localId) await fail('no Account created in the spoke');
await eventually(`/records?id=${localId}`, 'Global id', `explorer finds ${localId}`);
if (await page.locator('tr.hit').count() !== 1) await fail('explorer: the searched copy is not marked');
await expectText('captured from', 'explorer timeline');
await shot('record');
log(`explorer: found the spoke's ${localId}`);

// 7. remove a sync: the confirmation names what goes; the row leaves, Restore is offered
await page.goto(url('/settings/remove?object=Work_Item_Dependency__c'));
await expectText('Records already in the orgs stay.', 'remove confirmation');
await submit(page.locator('form[action="/settings/remove"] button'), '/settings/remove');
await eventually('/settings', 'Removed', 'the removed sync is listed');
if (await page.locator('#sync-Work_Item_Dependency__c').count() !== 0) await fail('settings: the removed row is still there');
log('settings: Work_Item_Dependency__c removed with its ledger state');

// 7b. reconcile: a quick dry run started from its page, shown running then reported
await page.goto(url('/reconcile'));
await page.getByRole('heading', { name: 'Reconcile' }).waitFor().catch(() => fail('no Reconcile page'));
await submit(page.getByRole('button', { name: 'Quick check (dry run)' }), '/reconcile/start');
await eventually('/reconcile', /quick · dry-run · [\d.]+ s/, 'the quick check\'s report', 60_000);
if (await page.locator('#running').count() !== 0) await fail('reconcile: still shown running with its report');
await shot('reconcile');
log('reconcile: a quick dry run started from the page and reported');

// 8. activity shows what was done, with who; conflicts and charts render
await page.goto(url('/activity'));
await expectText('paused sync Work_Item__c', 'activity');
await expectText('removed sync Work_Item_Dependency__c', 'activity');
await expectText('added sync Contact', 'activity');
await expectText('changed sync Contact: interval 5s, enabled', 'activity');
await expectText('retried every failed item', 'activity');
await expectText('started a quick reconcile (dry-run)', 'activity');
await expectText('dashboard:browser-test', 'activity who');
await shot('activity');
await page.goto(url('/conflicts'));
await page.getByRole('heading', { name: 'Conflicts' }).waitFor();
await page.goto(url('/charts'));
if (await page.locator('svg.chart').count() !== 6) await fail('charts: expected 6 SVG charts');
await expectText('by the layer that told', 'charts: echoes per layer');
await expectText('API calls to each org per hour', 'charts: API calls per org');
await shot('charts');
log('activity, conflicts and charts render');

// 9. the org cards' budget forecast once the service has sampled a while (the demo samples
//    every 5 s); the overview screenshot is taken again with it
await eventually('/', /within budget|the daily limit of \d+ is reached/, 'the budget forecast on the org cards', 45_000);
await shot('overview');
log('overview: budget forecast shown');

if (errors.length > 0) await fail(`console errors:\n  ${errors.join('\n  ')}`);
await cleanup();
console.log(`browser: ok — every page loaded with no console error (${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${shots})`);
process.exit(0);
