'use strict';
const assert = require('node:assert/strict');
const test = require('node:test');
const { LockTable, MESSAGES, ScriptState } = require('../runtime/state');

test('a 21st trigger of one user throws what Apps Script throws; other users are not affected', () => {
  const state = new ScriptState();
  for (let i = 0; i < 20; i++) state.createTrigger('a@example.com', 'onCalendarEventUpdated', 'cal' + i);
  assert.throws(() => state.createTrigger('a@example.com', 'onCalendarEventUpdated', 'cal20'), {
    message: 'This script has too many triggers. Triggers must be deleted from the script before more can be added.',
  });
  assert.equal(state.listTriggers('a@example.com').length, 20);
  state.createTrigger('b@example.com', 'onCalendarEventUpdated', 'cal0');
  const [first] = state.listTriggers('a@example.com');
  assert.equal(state.deleteTrigger('b@example.com', first.uid), null, 'a user cannot delete another user\'s trigger');
  assert.ok(state.deleteTrigger('a@example.com', first.uid));
  state.createTrigger('a@example.com', 'onCalendarEventUpdated', 'cal20');
});

test('the UrlFetch quota is per user per day and resets 24 hours after the first call', () => {
  let now = 0;
  const state = new ScriptState({ limits: { urlFetchPerDay: 2 }, clock: () => now });
  state.countUrlFetch('a');
  state.countUrlFetch('a');
  assert.throws(() => state.countUrlFetch('a'), { message: MESSAGES.urlFetchQuota });
  state.countUrlFetch('b');
  now = 24 * 3600 * 1000 - 1;
  assert.throws(() => state.countUrlFetch('a'));
  now += 1;
  state.countUrlFetch('a');
});

test('at most 30 executions of one user run at once', () => {
  const state = new ScriptState();
  for (let i = 0; i < 30; i++) state.startExecution('a');
  assert.throws(() => state.startExecution('a'), { message: MESSAGES.tooManyExecutions });
  state.startExecution('b');
  state.endExecution('a');
  state.startExecution('a');
});

test('trigger runtime per day runs out', () => {
  const state = new ScriptState({ limits: { triggerRuntimeSecondsPerDay: 1 } });
  assert.ok(state.triggerRuntimeLeft('a'));
  state.addTriggerRuntime('a', 1000);
  assert.equal(state.triggerRuntimeLeft('a'), false);
  assert.ok(state.triggerRuntimeLeft('b'));
});

test('a lock is held by one execution; the next waiter gets it on release, a late one times out', async () => {
  const locks = new LockTable();
  assert.ok(await locks.acquire('user:a', 1, 0));
  assert.ok(locks.tryAcquire('user:a', 1), 're-entrant for its holder');
  assert.equal(locks.tryAcquire('user:a', 2), false);
  const waiting = locks.acquire('user:a', 2, 10000);
  assert.equal(await locks.acquire('user:a', 3, 0), false);
  locks.release('user:a', 1);
  assert.ok(await waiting);
  assert.ok(locks.holds('user:a', 2));
  locks.releaseAll(2);
  assert.ok(locks.tryAcquire('user:a', 3));
});

test('properties: 9 KB a value, 500 KB in all, per user and per script', () => {
  const state = new ScriptState();
  state.setProperties('user', 'a', { k: 'v' });
  assert.deepEqual(state.getProperties('user', 'a'), { k: 'v' });
  assert.deepEqual(state.getProperties('user', 'b'), {});
  assert.throws(() => state.setProperties('script', 'a', { big: 'x'.repeat(9 * 1024 + 1) }), { message: MESSAGES.propertyTooLarge });
  const many = {};
  for (let i = 0; i < 60; i++) many['k' + i] = 'x'.repeat(9000);
  assert.throws(() => state.setProperties('script', 'a', many), { message: MESSAGES.propertiesFull });
  assert.deepEqual(state.getProperties('script', 'a'), {}, 'a refused write changes nothing');
});
