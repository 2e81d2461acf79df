'use strict';
// Stand-in for Apps Script's Conference Data service (ConferenceDataService), with the
// validation its reference pages describe (developers.google.com/apps-script/reference/
// conference-data: ConferenceDataBuilder, EntryPoint, ConferenceParameter, ConferenceError):
//
// * setters throw at once on what the reference says they throw on: conference id and
//   conference solution id over 512 characters, notes over 2048, more than 300 entry points
//   or parameters, an entry point URI over 1300 or without the prefix of its type (tel: for
//   PHONE, sip: for SIP, http(s): for VIDEO and MORE), access/meeting codes, passcode,
//   password and PIN over 128, a feature on an entry point that is not PHONE, a parameter key
//   over 50 or value over 1024, an authentication URL that is not http(s) or over 1800;
// * build() throws when the whole is invalid. Google documents only "if the built conference
//   data is not valid"; the rules below (BUILD_RULES) are our reading of the Calendar API's
//   conferenceData rules and of the markup reference (SPEC.md section 3), kept in this one
//   place: a conference solution id is required (Google Workspace add-ons); without an error,
//   a conference id and at least one entry point are required, at most one VIDEO, one SIP and
//   one MORE, and MORE alone is not a conference; an error carries no entry points; an
//   AUTHENTICATION error needs its authentication URL.
//
// Error texts are ours (Google does not publish them); each says what was wrong.

const LIMITS = Object.freeze({
  conferenceId: 512,
  solutionId: 512,
  notes: 2048,
  entryPoints: 300,
  parameters: 300,
  uri: 1300,
  code: 128,
  parameterKey: 50,
  parameterValue: 1024,
  authenticationUrl: 1800,
});

function enumOf(names) {
  const out = {};
  for (const name of names) {
    out[name] = Object.freeze({ name, toString: () => name, toJSON: () => name });
  }
  return Object.freeze(out);
}

const EntryPointType = enumOf(['VIDEO', 'PHONE', 'MORE', 'SIP']);
const EntryPointFeature = enumOf(['UNKNOWN_FEATURE', 'TOLL', 'TOLL_FREE']);
const ConferenceErrorType = enumOf([
  'AUTHENTICATION',
  'CONFERENCE_SOLUTION_FORBIDDEN',
  'PERMANENT',
  'PERMISSION_DENIED',
  'TEMPORARY',
  'UNKNOWN',
]);
const URI_SCHEMES = { VIDEO: ['http:', 'https:'], MORE: ['http:', 'https:'], PHONE: ['tel:'], SIP: ['sip:', 'sips:'] };

function invalid(what) {
  return new Error('Invalid argument: ' + what);
}

function text(value, name, limit) {
  if (typeof value !== 'string') throw invalid(name + ' must be a string');
  if (value.length > limit) throw invalid(name + ' is longer than ' + limit + ' characters');
  return value;
}

function enumName(value, enumeration, name) {
  const key = value && typeof value === 'object' ? value.name : value;
  if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(enumeration, key)) {
    throw invalid(name + ' must be one of ' + Object.keys(enumeration).join(', '));
  }
  return key;
}

function checkUri(type, uri) {
  const scheme = uri.slice(0, uri.indexOf(':') + 1).toLowerCase();
  if (!URI_SCHEMES[type].includes(scheme) || uri.length <= scheme.length) {
    throw invalid('a ' + type + ' entry point URI must start with ' + URI_SCHEMES[type].join(' or '));
  }
}

class EntryPoint {
  constructor() {
    this._data = { features: [] };
  }
  setEntryPointType(type) {
    const name = enumName(type, EntryPointType, 'entry point type');
    if (this._data.uri !== undefined) checkUri(name, this._data.uri);
    if (this._data.features.length && name !== 'PHONE') throw invalid('features apply to PHONE entry points only');
    this._data.type = name;
    return this;
  }
  setUri(uri) {
    text(uri, 'uri', LIMITS.uri);
    if (this._data.type) checkUri(this._data.type, uri);
    this._data.uri = uri;
    return this;
  }
  addFeature(feature) {
    const name = enumName(feature, EntryPointFeature, 'feature');
    if (name === 'UNKNOWN_FEATURE') throw invalid('UNKNOWN_FEATURE is not a feature to set');
    if (this._data.type && this._data.type !== 'PHONE') throw invalid('features apply to PHONE entry points only');
    if (!this._data.features.includes(name)) this._data.features.push(name);
    return this;
  }
  setRegionCode(code) {
    this._data.regionCode = text(code, 'region code', 2);
    return this;
  }
}
for (const [method, key] of [
  ['setAccessCode', 'accessCode'],
  ['setMeetingCode', 'meetingCode'],
  ['setPasscode', 'passcode'],
  ['setPassword', 'password'],
  ['setPin', 'pin'],
]) {
  EntryPoint.prototype[method] = function (value) {
    this._data[key] = text(value, key, LIMITS.code);
    return this;
  };
}

class ConferenceParameter {
  constructor() {
    this._data = {};
  }
  setKey(key) {
    this._data.key = text(key, 'parameter key', LIMITS.parameterKey);
    return this;
  }
  setValue(value) {
    this._data.value = text(value, 'parameter value', LIMITS.parameterValue);
    return this;
  }
}

class ConferenceError {
  constructor() {
    this._data = {};
  }
  setConferenceErrorType(type) {
    this._data.type = enumName(type, ConferenceErrorType, 'conference error type');
    return this;
  }
  setAuthenticationUrl(url) {
    text(url, 'authentication URL', LIMITS.authenticationUrl);
    if (!/^https?:\/\/[^/]+/i.test(url)) throw invalid('the authentication URL must be an http(s) URL');
    this._data.authenticationUrl = url;
    return this;
  }
}

class ConferenceData {
  constructor(data) {
    this._data = data;
    Object.freeze(this);
  }
  printJson() {
    return JSON.stringify(this._data);
  }
}

// The build() rules Google does not spell out (see the header): one place, one list.
const BUILD_RULES = [
  (d) => (d.conferenceSolutionId ? null : 'a conference solution id is required'),
  (d) => (d.error && d.entryPoints.length ? 'a conference with an error has no entry points' : null),
  (d) =>
    d.error && d.error.type === 'AUTHENTICATION' && !d.error.authenticationUrl
      ? 'an AUTHENTICATION error needs an authentication URL'
      : null,
  (d) => (!d.error && !d.conferenceId ? 'a conference id is required unless an error is set' : null),
  (d) => (!d.error && !d.entryPoints.length ? 'at least one entry point is required' : null),
  (d) => {
    for (const single of ['VIDEO', 'SIP', 'MORE']) {
      if (d.entryPoints.filter((e) => e.type === single).length > 1) return 'at most one ' + single + ' entry point';
    }
    return null;
  },
  (d) =>
    d.entryPoints.length && d.entryPoints.every((e) => e.type === 'MORE')
      ? 'a MORE entry point cannot be the only one'
      : null,
];

class ConferenceDataBuilder {
  constructor() {
    this._entryPoints = [];
    this._parameters = [];
    this._fields = {};
  }
  addConferenceParameter(parameter) {
    if (!(parameter instanceof ConferenceParameter)) throw invalid('not a ConferenceParameter');
    const p = parameter._data;
    if (p.key === undefined || p.value === undefined) throw invalid('a parameter needs a key and a value');
    if (this._parameters.length >= LIMITS.parameters) throw invalid('more than ' + LIMITS.parameters + ' parameters');
    this._parameters.push({ key: p.key, value: p.value });
    return this;
  }
  addEntryPoint(entryPoint) {
    if (!(entryPoint instanceof EntryPoint)) throw invalid('not an EntryPoint');
    const e = entryPoint._data;
    if (!e.type || e.uri === undefined) throw invalid('an entry point needs a type and a URI');
    if (this._entryPoints.length >= LIMITS.entryPoints) throw invalid('more than ' + LIMITS.entryPoints + ' entry points');
    this._entryPoints.push(JSON.parse(JSON.stringify(e)));
    return this;
  }
  setConferenceId(id) {
    this._fields.conferenceId = text(id, 'conference id', LIMITS.conferenceId);
    return this;
  }
  setConferenceSolutionId(id) {
    this._fields.conferenceSolutionId = text(id, 'conference solution id', LIMITS.solutionId);
    return this;
  }
  setNotes(notes) {
    this._fields.notes = text(notes, 'notes', LIMITS.notes);
    return this;
  }
  setError(error) {
    if (!(error instanceof ConferenceError) || !error._data.type) throw invalid('not a ConferenceError with a type');
    this._fields.error = { ...error._data };
    return this;
  }
  build() {
    const data = { ...this._fields, entryPoints: this._entryPoints, parameters: this._parameters };
    for (const rule of BUILD_RULES) {
      const problem = rule(data);
      if (problem) throw new Error('Invalid conference data: ' + problem);
    }
    for (const e of data.entryPoints) {
      if (!e.features.length) delete e.features;
    }
    return new ConferenceData(JSON.parse(JSON.stringify(data)));
  }
}

const ConferenceDataService = Object.freeze({
  ConferenceErrorType,
  EntryPointFeature,
  EntryPointType,
  newConferenceDataBuilder: () => new ConferenceDataBuilder(),
  newConferenceError: () => new ConferenceError(),
  newConferenceParameter: () => new ConferenceParameter(),
  newEntryPoint: () => new EntryPoint(),
});

module.exports = { ConferenceData, ConferenceDataService, LIMITS, BUILD_RULES };
