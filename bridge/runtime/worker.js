'use strict';
// One Apps Script execution, in a worker thread: the project's files are loaded into a fresh
// `vm` context holding stand-ins of the services the bridge uses, and one function runs.
//
// The services are synchronous, as in Apps Script. Whatever needs the outside world (an HTTP
// call, the script's triggers, properties and locks, tokens) is asked of the main thread
// (host.js), which owns that state and does the I/O: the worker posts the request and blocks
// in Atomics.wait until the answer is on its reply port (receiveMessageOnPort). So a
// UrlFetchApp.fetch is real HTTP done by the main thread while the script waits, and the main
// thread can stop an execution at its time limit (Worker.terminate ends a blocked wait too).
//
// References (developers.google.com/apps-script/reference/...): script/script-app (newTrigger,
// forUserCalendar, onEventUpdated, create, getProjectTriggers, deleteTrigger, getOAuthToken,
// getIdentityToken: "if the openid scope has been granted", else null), script/trigger
// (getUniqueId, getHandlerFunction, getTriggerSource, getTriggerSourceId, getEventType),
// url-fetch/url-fetch-app (fetch(url, params): method, contentType, payload, headers,
// muteHttpExceptions) and url-fetch/http-response (getResponseCode, getContentText, getHeaders,
// getAllHeaders), lock/lock-service and lock/lock (tryLock, waitLock, releaseLock, hasLock),
// properties/properties-service and properties/properties.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ConferenceData, ConferenceDataService } = require('./conference_data');

const { files, functionName, args, user, flag, replyPort, scopes } = workerData;
const signal = new Int32Array(flag);

function call(op, params) {
  parentPort.postMessage({ type: 'call', op, params });
  Atomics.wait(signal, 0, 0);
  Atomics.store(signal, 0, 0);
  const reply = receiveMessageOnPort(replyPort).message;
  if (reply.error) throw new Error(reply.error);
  return reply.value;
}

function log(level, parts) {
  const text = parts.map((p) => (typeof p === 'string' ? p : safeJson(p))).join(' ');
  parentPort.postMessage({ type: 'log', level, text });
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch (err) {
    return String(value);
  }
}

function enumOf(names) {
  const out = {};
  for (const name of names) out[name] = Object.freeze({ name, toString: () => name, toJSON: () => name });
  return Object.freeze(out);
}

const TriggerSource = enumOf(['SPREADSHEETS', 'CLOCK', 'FORMS', 'DOCUMENTS', 'CALENDAR']);
const EventType = enumOf([
  'CLOCK',
  'ON_OPEN',
  'ON_EDIT',
  'ON_FORM_SUBMIT',
  'ON_CHANGE',
  'ON_EVENT_UPDATED',
]);
const AuthMode = enumOf(['NONE', 'CUSTOM_FUNCTION', 'LIMITED', 'FULL']);

function requireScope(scope, what) {
  if (!scopes.includes(scope)) {
    throw new Error('You do not have permission to call ' + what + '. Required permissions: ' + scope);
  }
}

function trigger(data) {
  return Object.freeze({
    getUniqueId: () => data.uid,
    getHandlerFunction: () => data.handler,
    getTriggerSource: () => TriggerSource[data.source],
    getTriggerSourceId: () => data.sourceId,
    getEventType: () => EventType[data.eventType],
    _uid: data.uid,
  });
}

const SCRIPTAPP_SCOPE = 'https://www.googleapis.com/auth/script.scriptapp';

const ScriptApp = Object.freeze({
  AuthMode,
  EventType,
  TriggerSource,
  getOAuthToken: () => call('oauthToken'),
  getIdentityToken: () => (scopes.includes('openid') ? call('identityToken') : null),
  getProjectTriggers: () => {
    requireScope(SCRIPTAPP_SCOPE, 'ScriptApp.getProjectTriggers');
    return call('listTriggers').map(trigger);
  },
  deleteTrigger: (t) => {
    requireScope(SCRIPTAPP_SCOPE, 'ScriptApp.deleteTrigger');
    call('deleteTrigger', { uid: t && t._uid });
  },
  newTrigger: (handler) => {
    if (typeof handler !== 'string' || !handler) throw new Error('Invalid argument: functionName');
    return Object.freeze({
      forUserCalendar: (calendarId) => {
        if (typeof calendarId !== 'string' || !calendarId) throw new Error('Invalid argument: emailId');
        let eventUpdated = false;
        const builder = {
          onEventUpdated: () => {
            eventUpdated = true;
            return builder;
          },
          create: () => {
            requireScope(SCRIPTAPP_SCOPE, 'ScriptApp.newTrigger');
            if (!eventUpdated) throw new Error('A calendar trigger needs onEventUpdated() before create().');
            return trigger(call('createTrigger', { handler, sourceId: calendarId }));
          },
        };
        return Object.freeze(builder);
      },
      // The bridge needs calendar triggers only; other kinds are not part of this stand-in.
      timeBased: () => {
        throw new Error('timeBased() is not implemented by this stand-in');
      },
    });
  },
});

function httpResponse(answer) {
  const body = Buffer.from(answer.body, 'base64');
  return Object.freeze({
    getResponseCode: () => answer.status,
    getContentText: () => body.toString('utf8'),
    getContent: () => [...body],
    getHeaders: () => ({ ...answer.headers }),
    getAllHeaders: () => ({ ...answer.headers }),
  });
}

const UrlFetchApp = Object.freeze({
  fetch: (url, params = {}) => {
    requireScope('https://www.googleapis.com/auth/script.external_request', 'UrlFetchApp.fetch');
    let payload = params.payload;
    let contentType = params.contentType;
    if (payload !== undefined && payload !== null && typeof payload === 'object') {
      // An object payload is sent as a form (the reference: "treated as a map of form fields").
      payload = new URLSearchParams(Object.entries(payload).map(([k, v]) => [k, String(v)])).toString();
      contentType = contentType || 'application/x-www-form-urlencoded';
    }
    const answer = call('fetch', {
      url: String(url),
      method: String(params.method || 'get').toUpperCase(),
      contentType: contentType || null,
      payload: payload === undefined || payload === null ? null : String(payload),
      headers: params.headers || {},
      followRedirects: params.followRedirects !== false,
    });
    const response = httpResponse(answer);
    if (answer.status >= 400 && !params.muteHttpExceptions) {
      const host = new URL(String(url)).host;
      throw new Error(
        'Request failed for ' + host + ' returned code ' + answer.status + '. Truncated server response: ' +
          response.getContentText().slice(0, 200) + ' (use muteHttpExceptions option to examine full response)',
      );
    }
    return response;
  },
});

function properties(scope) {
  const get = () => call('getProperties', { scope });
  const set = (values, deleteAllOthers = false) => call('setProperties', { scope, values, deleteAllOthers });
  const self = {
    getProperty: (key) => {
      const all = get();
      return Object.prototype.hasOwnProperty.call(all, key) ? all[key] : null;
    },
    getProperties: get,
    getKeys: () => Object.keys(get()),
    setProperty: (key, value) => (set({ [key]: value }), self),
    setProperties: (values, deleteAllOthers) => (set(values, !!deleteAllOthers), self),
    deleteProperty: (key) => (call('deleteProperty', { scope, key }), self),
    deleteAllProperties: () => (set({}, true), self),
  };
  return Object.freeze(self);
}

const PropertiesService = Object.freeze({
  getScriptProperties: () => properties('script'),
  getUserProperties: () => properties('user'),
  getDocumentProperties: () => null, // not bound to a document
});

function lock(scope) {
  const self = {
    tryLock: (timeoutInMillis) => call('lock', { scope, timeout: Number(timeoutInMillis) || 0 }),
    waitLock: (timeoutInMillis) => {
      if (!call('lock', { scope, timeout: Number(timeoutInMillis) || 0 })) {
        throw new Error('Lock timeout: another process was holding the lock for too long.');
      }
    },
    releaseLock: () => call('unlock', { scope }),
    hasLock: () => call('hasLock', { scope }),
  };
  return Object.freeze(self);
}

const LockService = Object.freeze({
  getUserLock: () => lock('user'),
  getScriptLock: () => lock('script'),
  getDocumentLock: () => null,
});

const consoleStandIn = Object.freeze({
  log: (...p) => log('info', p),
  info: (...p) => log('info', p),
  warn: (...p) => log('warning', p),
  error: (...p) => log('error', p),
});

const sandbox = {
  ConferenceDataService,
  ScriptApp,
  UrlFetchApp,
  PropertiesService,
  LockService,
  console: consoleStandIn,
  Logger: Object.freeze({ log: (...p) => log('info', p) }),
};
const context = vm.createContext(sandbox);
for (const file of files) {
  vm.runInContext(fs.readFileSync(file, 'utf8'), context, { filename: path.basename(file) });
}

function hostValue(value) {
  if (value instanceof ConferenceData) return { conferenceData: JSON.parse(value.printJson()) };
  return { value: value === undefined ? null : JSON.parse(safeJson(value) || 'null') };
}

const fn = context[functionName];
if (typeof fn !== 'function') {
  parentPort.postMessage({ type: 'done', error: 'Script function not found: ' + functionName });
} else {
  const callArgs = args.map((a) => (a && a.__authMode ? { ...a, authMode: AuthMode[a.__authMode], __authMode: undefined } : a));
  try {
    parentPort.postMessage({ type: 'done', result: hostValue(fn(...callArgs)) });
  } catch (err) {
    parentPort.postMessage({ type: 'done', error: err && err.message ? err.message : String(err) });
  }
}
