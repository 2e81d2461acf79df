'use strict';
const assert = require('node:assert/strict');
const test = require('node:test');
const { ConferenceDataService: S } = require('../runtime/conference_data');

function video(uri = 'https://meet.example/room') {
  return S.newEntryPoint().setEntryPointType(S.EntryPointType.VIDEO).setUri(uri);
}

test('a full conference builds, and prints as JSON', () => {
  const data = S.newConferenceDataBuilder()
    .setConferenceSolutionId('web-conference')
    .setConferenceId('m-1')
    .addEntryPoint(video().setPasscode('123'))
    .addEntryPoint(S.newEntryPoint().setEntryPointType(S.EntryPointType.PHONE).setUri('tel:+15551234').addFeature(S.EntryPointFeature.TOLL).setPin('42').setRegionCode('US'))
    .addEntryPoint(S.newEntryPoint().setEntryPointType(S.EntryPointType.MORE).setUri('https://meet.example/more'))
    .addConferenceParameter(S.newConferenceParameter().setKey('k').setValue('v'))
    .setNotes('<b>hi</b>')
    .build();
  const json = JSON.parse(data.printJson());
  assert.equal(json.conferenceId, 'm-1');
  assert.deepEqual(json.entryPoints.map((e) => e.type), ['VIDEO', 'PHONE', 'MORE']);
  assert.deepEqual(json.entryPoints[1].features, ['TOLL']);
  assert.deepEqual(json.parameters, [{ key: 'k', value: 'v' }]);
});

test('a conference id is required unless an error is set', () => {
  const builder = S.newConferenceDataBuilder().setConferenceSolutionId('s').addEntryPoint(video());
  assert.throws(() => builder.build(), /conference id is required unless an error is set/);
  const failed = S.newConferenceDataBuilder()
    .setConferenceSolutionId('s')
    .setError(S.newConferenceError().setConferenceErrorType(S.ConferenceErrorType.TEMPORARY))
    .build();
  assert.equal(JSON.parse(failed.printJson()).error.type, 'TEMPORARY');
});

test('the conference solution id is required and at most 512 characters', () => {
  assert.throws(() => S.newConferenceDataBuilder().setConferenceId('m').addEntryPoint(video()).build(), /solution id is required/);
  assert.throws(() => S.newConferenceDataBuilder().setConferenceSolutionId('x'.repeat(513)), /longer than 512/);
  assert.throws(() => S.newConferenceDataBuilder().setConferenceId('x'.repeat(513)), /longer than 512/);
});

test('at most one VIDEO, SIP and MORE; MORE alone is not a conference; one entry point needed', () => {
  const base = () => S.newConferenceDataBuilder().setConferenceSolutionId('s').setConferenceId('m');
  assert.throws(() => base().addEntryPoint(video()).addEntryPoint(video()).build(), /at most one VIDEO/);
  const sip = () => S.newEntryPoint().setEntryPointType(S.EntryPointType.SIP).setUri('sip:a@b');
  assert.throws(() => base().addEntryPoint(sip()).addEntryPoint(sip()).build(), /at most one SIP/);
  const more = () => S.newEntryPoint().setEntryPointType(S.EntryPointType.MORE).setUri('https://x/more');
  assert.throws(() => base().addEntryPoint(video()).addEntryPoint(more()).addEntryPoint(more()).build(), /at most one MORE/);
  assert.throws(() => base().addEntryPoint(more()).build(), /MORE entry point cannot be the only one/);
  assert.throws(() => base().build(), /at least one entry point/);
  const phones = base().addEntryPoint(video());
  for (let i = 0; i < 5; i++) phones.addEntryPoint(S.newEntryPoint().setEntryPointType(S.EntryPointType.PHONE).setUri('tel:+1' + i));
  assert.equal(JSON.parse(phones.build().printJson()).entryPoints.length, 6);
});

test('an error carries no entry points, and AUTHENTICATION needs its URL', () => {
  const auth = S.newConferenceError().setConferenceErrorType(S.ConferenceErrorType.AUTHENTICATION);
  assert.throws(() => S.newConferenceDataBuilder().setConferenceSolutionId('s').setError(auth).build(), /needs an authentication URL/);
  auth.setAuthenticationUrl('https://vendor.example/link');
  assert.equal(JSON.parse(S.newConferenceDataBuilder().setConferenceSolutionId('s').setError(auth).build().printJson()).error.authenticationUrl, 'https://vendor.example/link');
  const withEntry = S.newConferenceDataBuilder().setConferenceSolutionId('s').setError(auth).addEntryPoint(video());
  assert.throws(() => withEntry.build(), /error has no entry points/);
  assert.throws(() => S.newConferenceError().setAuthenticationUrl('ftp://x/y'), /http\(s\) URL/);
  assert.throws(() => S.newConferenceError().setAuthenticationUrl('https://x/' + 'a'.repeat(1800)), /longer than 1800/);
  assert.throws(() => S.newConferenceError().setConferenceErrorType('NOPE'), /must be one of/);
});

test('entry point setters refuse what the reference says they refuse', () => {
  assert.throws(() => video('tel:+1555'), /must start with http: or https:/);
  assert.throws(() => S.newEntryPoint().setEntryPointType(S.EntryPointType.PHONE).setUri('https://x'), /must start with tel:/);
  assert.throws(() => S.newEntryPoint().setUri('https://x/' + 'a'.repeat(1300)), /longer than 1300/);
  assert.throws(() => video().setPin('1'.repeat(129)), /longer than 128/);
  assert.throws(() => video().addFeature(S.EntryPointFeature.TOLL_FREE), /PHONE entry points only/);
  // A URI set before the type is checked when the type comes.
  assert.throws(() => S.newEntryPoint().setUri('sip:a@b').setEntryPointType(S.EntryPointType.VIDEO), /must start with http/);
  assert.throws(() => S.newConferenceDataBuilder().addEntryPoint(S.newEntryPoint().setUri('https://x')), /needs a type and a URI/);
});

test('limits on counts, parameters and notes', () => {
  const builder = S.newConferenceDataBuilder();
  for (let i = 0; i < 300; i++) builder.addEntryPoint(S.newEntryPoint().setEntryPointType(S.EntryPointType.PHONE).setUri('tel:+1' + i));
  assert.throws(() => builder.addEntryPoint(video()), /more than 300 entry points/);
  const params = S.newConferenceDataBuilder();
  for (let i = 0; i < 300; i++) params.addConferenceParameter(S.newConferenceParameter().setKey('k' + i).setValue('v'));
  assert.throws(() => params.addConferenceParameter(S.newConferenceParameter().setKey('x').setValue('v')), /more than 300 parameters/);
  assert.throws(() => S.newConferenceParameter().setKey('k'.repeat(51)), /longer than 50/);
  assert.throws(() => S.newConferenceParameter().setValue('v'.repeat(1025)), /longer than 1024/);
  assert.throws(() => S.newConferenceDataBuilder().setNotes('n'.repeat(2049)), /longer than 2048/);
  assert.throws(() => S.newConferenceDataBuilder().addConferenceParameter(S.newConferenceParameter().setKey('k')), /key and a value/);
});
