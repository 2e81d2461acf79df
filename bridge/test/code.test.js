'use strict';
// The bridge script (Code.js) under the stand-in, against a small backend that answers what
// the real one answers (the Python end-to-end tests run it against the real backend).
const assert = require('node:assert/strict');
const test = require('node:test');
const { bridgeFiles, fakeServer, host } = require('./helpers');

const ALICE = 'alice@example.com';

function markup(conferenceData, subscribe) {
  const calendarAction = { createConferenceDataActionMarkup: { createConferenceData: conferenceData } };
  if (subscribe) calendarAction.calendarSubscriptionActionMarkup = { operation: 'CREATE', calendarId: subscribe };
  return { renderActions: { hostAppAction: { calendarAction } } };
}

const MEETING = {
  conferenceId: 'meeting-1',
  conferenceSolutionId: 'web-conference',
  entryPoints: [
    { type: 'VIDEO', uri: 'https://meet.example/m1', label: 'meet.example/m1', passcode: '99' },
    { type: 'PHONE', uri: 'tel:+15550100', pin: '1234', regionCode: 'US', features: ['TOLL'] },
  ],
  parameters: [{ key: 'owner', value: 'alice' }],
  note: 'Join <b>early</b>',
};

async function backend(answer = () => [200, markup(MEETING, ALICE)]) {
  return fakeServer({
    'POST /bridge/conference/web-conference': (req, body) => answer(req, body),
    'POST /bridge/notification': () => [200, { status: 'queued' }],
  });
}

function pick(h, calendarId = ALICE, eventId = 'evt1') {
  return h.pick({ calendarId, eventId, solutionId: 'web-conference', user: ALICE });
}

test('a pick forwards ids and both tokens, builds the answer and stores it on the event', async (t) => {
  const server = await backend();
  t.after(() => server.close());
  const h = host(server, bridgeFiles(server.url));
  const { body } = await pick(h);
  assert.equal(body.execution.status, 'completed', body.execution.error);
  assert.ok(body.applied);
  const call = server.requests.find((r) => r.path === '/bridge/conference/web-conference');
  assert.equal(call.headers.authorization, 'Bearer id-alice@example.com-for-bridge-client.apps.googleusercontent.com');
  assert.deepEqual(call.body, { calendarId: ALICE, eventId: 'evt1', userOAuthToken: 'oauth-alice@example.com' });
  const patch = server.requests.find((r) => r.method === 'PATCH');
  assert.equal(patch.query, '?conferenceDataVersion=1');
  const data = patch.body.conferenceData;
  assert.equal(data.conferenceId, 'meeting-1');
  assert.deepEqual(data.conferenceSolution, { key: { type: 'addOn' }, name: 'Web conference', iconUri: 'https://x.example/l.png' });
  assert.deepEqual(data.entryPoints[1], { entryPointType: 'phone', uri: 'tel:+15550100', regionCode: 'US', pin: '1234', entryPointFeatures: ['toll'] });
  assert.deepEqual(data.parameters, { addOnParameters: { parameters: { owner: 'alice' } } });
  assert.equal(data.notes, 'Join <b>early</b>');
});

test('the first conference on a calendar installs one trigger; a second calendar gets its own', async (t) => {
  const server = await backend();
  t.after(() => server.close());
  const h = host(server, bridgeFiles(server.url));
  await pick(h, ALICE, 'evt1');
  await pick(h, ALICE, 'evt2');
  await pick(h, 'team@group.calendar.google.com', 'evt3');
  const triggers = h.state.listTriggers(ALICE);
  assert.deepEqual(triggers.map((x) => [x.sourceId, x.handler]).sort(), [
    [ALICE, 'onCalendarEventUpdated'],
    ['team@group.calendar.google.com', 'onCalendarEventUpdated'],
  ]);
});

test('two picks at once on a new calendar install one trigger (the user lock)', async (t) => {
  let calls = 0;
  const server = await backend(async () => {
    calls += 1;
    await new Promise((r) => setTimeout(r, 100));
    return [200, markup(MEETING, ALICE)];
  });
  t.after(() => server.close());
  const h = host(server, bridgeFiles(server.url));
  const answers = await Promise.all([pick(h, ALICE, 'a1'), pick(h, ALICE, 'a2')]);
  assert.deepEqual(answers.map((a) => a.body.applied), [true, true]);
  assert.equal(calls, 2);
  assert.equal(h.state.listTriggers(ALICE).length, 1);
});

test('the 21st calendar is refused before the backend is asked', async (t) => {
  const server = await backend();
  t.after(() => server.close());
  const h = host(server, bridgeFiles(server.url));
  for (let i = 0; i < 20; i++) assert.ok((await pick(h, 'cal' + i + '@example.com')).body.applied);
  const before = server.requests.filter((r) => r.path.startsWith('/bridge/conference')).length;
  const { body } = await pick(h, 'cal20@example.com');
  assert.deepEqual(body.conferenceError, { type: 'PERMANENT' });
  assert.equal(body.applied, false);
  assert.equal(server.requests.filter((r) => r.path.startsWith('/bridge/conference')).length, before);
  assert.equal(h.state.listTriggers(ALICE).length, 20);
  assert.match(body.execution.logs.map((l) => l.text).join('\n'), /20 calendars are synced already/);
  // A calendar that has its trigger still gets conferences.
  assert.ok((await pick(h, 'cal3@example.com', 'another')).body.applied);
});

test('backend errors become ConferenceErrors; no trigger is installed for them', async (t) => {
  const cases = [
    [() => [200, markup({ conferenceSolutionId: 'web-conference', error: { type: 'AUTHENTICATION', authenticationUrl: 'https://vendor.example/link' } })], { type: 'AUTHENTICATION', authenticationUrl: 'https://vendor.example/link' }],
    [() => [200, markup({ conferenceSolutionId: 'web-conference', error: { type: 'CONFERENCE_SOLUTION_FORBIDDEN' } })], { type: 'CONFERENCE_SOLUTION_FORBIDDEN' }],
    [() => [503, { error: { reason: 'certsUnavailable' } }], { type: 'TEMPORARY' }],
    [() => [401, { error: { reason: 'unauthenticated' } }], { type: 'PERMANENT' }],
    [() => [200, { unexpected: true }], { type: 'UNKNOWN' }],
    // Data Apps Script's builders refuse (a MORE entry point alone) is not passed on.
    [() => [200, markup({ ...MEETING, entryPoints: [{ type: 'MORE', uri: 'https://x/more' }] })], { type: 'UNKNOWN' }],
  ];
  for (const [answer, expected] of cases) {
    const server = await backend(answer);
    const h = host(server, bridgeFiles(server.url));
    const { body } = await pick(h);
    await server.close();
    assert.deepEqual(body.conferenceError, expected);
    assert.equal(body.applied, false);
    assert.equal(h.state.listTriggers(ALICE).length, 0);
  }
});

test('an unreachable backend is a TEMPORARY error', async (t) => {
  const server = await backend();
  const h = host(server, bridgeFiles('http://127.0.0.1:9'));
  h.project.manifest.urlFetchWhitelist = ['http://127.0.0.1:9/bridge/'];
  t.after(() => server.close());
  const { body } = await pick(h);
  assert.deepEqual(body.conferenceError, { type: 'TEMPORARY' });
});

test('the trigger forwards the calendar id with both tokens and returns', async (t) => {
  const server = await backend();
  t.after(() => server.close());
  const h = host(server, bridgeFiles(server.url));
  await pick(h);
  const [trigger] = h.state.listTriggers(ALICE);
  h.notified({ 'x-goog-resource-state': 'sync', 'x-goog-channel-id': trigger.channel.id, 'x-goog-channel-token': trigger.uid });
  h.notified({ 'x-goog-resource-state': 'exists', 'x-goog-channel-id': 'someone-elses', 'x-goog-channel-token': trigger.uid });
  h.notified({ 'x-goog-resource-state': 'exists', 'x-goog-channel-id': trigger.channel.id, 'x-goog-channel-token': trigger.uid });
  assert.ok(await h.idle(10000));
  const notes = server.requests.filter((r) => r.path === '/bridge/notification');
  assert.equal(notes.length, 1, 'the sync message and a foreign channel fire nothing');
  assert.deepEqual(notes[0].body, { calendarId: ALICE, userOAuthToken: 'oauth-alice@example.com' });
  assert.match(notes[0].headers.authorization, /^Bearer id-alice@example.com/);
  const run = h.executions.at(-1);
  assert.deepEqual([run.kind, run.function, run.status], ['trigger', 'onCalendarEventUpdated', 'completed']);
});
