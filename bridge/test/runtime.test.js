'use strict';
// The stand-in's execution model: scripts run in worker threads with synchronous services
// served by the host over real HTTP, within Apps Script's limits.
const assert = require('node:assert/strict');
const test = require('node:test');
const { fakeServer, host, SCOPES } = require('./helpers');

test('UrlFetchApp.fetch is real synchronous HTTP, within the allowlist', async (t) => {
  const server = await fakeServer({ 'POST /bridge/echo': (req, body) => [201, { got: body, auth: req.headers.authorization }] });
  t.after(() => server.close());
  const script = `
    function go() {
      var r = UrlFetchApp.fetch(${JSON.stringify(server.url)} + '/bridge/echo', {method: 'post', contentType: 'application/json', payload: JSON.stringify({a: 1}), headers: {Authorization: 'Bearer x'}});
      var out = {code: r.getResponseCode(), body: JSON.parse(r.getContentText())};
      try { UrlFetchApp.fetch(${JSON.stringify(server.url)} + '/bridge/missing'); } catch (e) { out.thrown = e.message; }
      out.muted = UrlFetchApp.fetch(${JSON.stringify(server.url)} + '/bridge/missing', {muteHttpExceptions: true}).getResponseCode();
      try { UrlFetchApp.fetch(${JSON.stringify(server.url)} + '/elsewhere'); } catch (e) { out.refused = e.message; }
      return out;
    }`;
  const h = host(server, { 'Code.js': script });
  const record = await h.run({ user: 'a@example.com', functionName: 'go', args: [], kind: 'addon' });
  assert.equal(record.status, 'completed', record.error);
  const out = record.result.value;
  assert.deepEqual(out.body, { got: { a: 1 }, auth: 'Bearer x' });
  assert.equal(out.code, 201);
  assert.match(out.thrown, /returned code 404/);
  assert.equal(out.muted, 404);
  assert.match(out.refused, /not in the manifest's urlFetchWhitelist/);
  assert.equal(server.requests.filter((r) => r.path.startsWith('/bridge/')).length, 3, 'the refused URL was never called');
});

test('an add-on execution is stopped at its limit, busy or waiting on HTTP', async (t) => {
  const server = await fakeServer({ 'GET /bridge/slow': () => 'hang' });
  t.after(() => server.close());
  const script = `
    function spin() { while (true) {} }
    function wait() { UrlFetchApp.fetch(${JSON.stringify(server.url)} + '/bridge/slow'); return 'answered'; }
    function quick() { return 'ok'; }`;
  const h = host(server, { 'Code.js': script }, { limits: { addonExecutionSeconds: 0.5 } });
  for (const fn of ['spin', 'wait']) {
    const record = await h.run({ user: 'a@example.com', functionName: fn, args: [], kind: 'addon' });
    assert.equal(record.status, 'timedOut', fn);
    assert.equal(record.error, 'Exceeded maximum execution time');
  }
  const ok = await h.run({ user: 'a@example.com', functionName: 'quick', args: [], kind: 'addon' });
  assert.equal(ok.result.value, 'ok');
  assert.equal(h.state.running.get('a@example.com'), 0, 'stopped executions are not counted as running');
});

test('identity tokens need the openid scope; triggers need script.scriptapp', async (t) => {
  const server = await fakeServer();
  t.after(() => server.close());
  const script = `
    function tokens() { return {id: ScriptApp.getIdentityToken(), oauth: ScriptApp.getOAuthToken()}; }
    function trigger() { return ScriptApp.newTrigger('x').forUserCalendar('c@example.com').onEventUpdated().create().getTriggerSourceId(); }`;
  const full = host(server, { 'Code.js': script });
  const got = await full.run({ user: 'a@example.com', functionName: 'tokens', args: [], kind: 'addon' });
  assert.deepEqual(got.result.value, { id: 'id-a@example.com-for-bridge-client.apps.googleusercontent.com', oauth: 'oauth-a@example.com' });
  const narrow = host(server, { 'Code.js': script }, { manifestOverrides: { oauthScopes: SCOPES.filter((s) => s !== 'openid' && !s.endsWith('script.scriptapp')) } });
  const none = await narrow.run({ user: 'a@example.com', functionName: 'tokens', args: [], kind: 'addon' });
  assert.equal(none.result.value.id, null);
  const refused = await narrow.run({ user: 'a@example.com', functionName: 'trigger', args: [], kind: 'addon' });
  assert.equal(refused.status, 'failed');
  assert.match(refused.error, /script\.scriptapp/);
  const made = await full.run({ user: 'a@example.com', functionName: 'trigger', args: [], kind: 'addon' });
  assert.equal(made.result.value, 'c@example.com');
  const watch = server.requests.find((r) => r.path.endsWith('/events/watch'));
  assert.equal(watch.headers.authorization, 'Bearer oauth-a@example.com', 'the channel is the trigger owner\'s');
});

test('LockService: a second execution of the same user waits for the lock, another user does not', async (t) => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const server = await fakeServer({ 'GET /bridge/gate': async () => (await gate, [200, {}]) });
  t.after(() => server.close());
  const script = `
    function hold() { var l = LockService.getUserLock(); l.waitLock(5000); UrlFetchApp.fetch(${JSON.stringify(server.url)} + '/bridge/gate'); l.releaseLock(); return 'held'; }
    function probe() { return LockService.getUserLock().tryLock(0); }
    function waitFor() { var l = LockService.getUserLock(); return l.tryLock(20000) && l.hasLock(); }`;
  const h = host(server, { 'Code.js': script });
  const holder = h.run({ user: 'a@example.com', functionName: 'hold', args: [], kind: 'addon' });
  while (!server.requests.some((r) => r.path === '/bridge/gate')) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await h.run({ user: 'a@example.com', functionName: 'probe', args: [], kind: 'addon' })).result.value, false);
  assert.equal((await h.run({ user: 'b@example.com', functionName: 'probe', args: [], kind: 'addon' })).result.value, true);
  const waiter = h.run({ user: 'a@example.com', functionName: 'waitFor', args: [], kind: 'addon' });
  release();
  assert.equal((await holder).result.value, 'held');
  assert.equal((await waiter).result.value, true);
});

test('properties persist between executions, per user', async (t) => {
  const server = await fakeServer();
  t.after(() => server.close());
  const script = `
    function put(v) { PropertiesService.getUserProperties().setProperty('k', v); }
    function get() { return PropertiesService.getUserProperties().getProperty('k'); }`;
  const h = host(server, { 'Code.js': script });
  await h.run({ user: 'a', functionName: 'put', args: ['one'], kind: 'addon' });
  assert.equal((await h.run({ user: 'a', functionName: 'get', args: [], kind: 'addon' })).result.value, 'one');
  assert.equal((await h.run({ user: 'b', functionName: 'get', args: [], kind: 'addon' })).result.value, null);
});
