'use strict';
// The Apps Script stand-in: runs the bridge's project (appsscript.json + its .js files) the way
// Apps Script and Calendar run a conferencing add-on, against the local Google.
//
//   node bridge/runtime/host.js --project DIR --google URL --client-id ID [--port N]
//       [--account consumer|workspace]
//
// * Calendar's side: POST /_control/pick {calendarId, eventId, solutionId, user} runs the
//   manifest's onCreateFunction of that solution as the user with
//   {eventData: {calendarId, eventId}} (what Google's guide says the argument carries), then
//   stores the ConferenceData it returned on the event (google.js), or reports its error.
// * Installable calendar triggers: each one gets a Calendar push channel; a change of that
//   calendar runs its handler as the trigger's owner with {calendarId, authMode, triggerUid}
//   (the onEventUpdated event object). Notifications are answered at once; executions run
//   on their own worker threads, as many at a time as Apps Script allows (30 per user).
// * Limits (state.js): 30 s per add-on execution (onCreateFunction), 6 min per trigger
//   execution, 20 triggers per user, UrlFetch and trigger-runtime daily quotas. An execution
//   past its limit is stopped ("Exceeded maximum execution time").
// * Control, JSON: GET /_control/health, GET /_control/triggers, GET /_control/executions,
//   POST /_control/idle {timeout}, POST /_control/reset, POST /_control/limits {...};
//   POST /_notify receives the push notifications.
//
// Everything the worker threads ask for (worker.js) is served here: tokens, triggers,
// properties, locks and UrlFetch, which is real HTTP from this thread.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { MessageChannel, Worker } = require('node:worker_threads');
const { Google, toCalendarResource } = require('./google');
const { ACCOUNT_LIMITS, AppsScriptError, MESSAGES, ScriptState } = require('./state');

const MAX_LOG = 500;
const MAX_RESPONSE_BYTES = 50 * 1024 * 1024; // UrlFetch response size limit
const MAX_URL_LENGTH = 2 * 1024; // UrlFetch URL length limit
const USER_AGENT = 'Mozilla/5.0 (compatible; Google-Apps-Script; stand-in)';

function loadProject(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'appsscript.json'), 'utf8'));
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(js|gs)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
  return { manifest, files };
}

function allowed(manifest, url) {
  const prefixes = manifest.urlFetchWhitelist;
  // No allowlist: every URL may be fetched (a test deployment); with one, only its prefixes.
  return !Array.isArray(prefixes) || prefixes.some((p) => url.startsWith(p));
}

class Host {
  constructor({ project, google, limits = {}, selfUrl = null }) {
    this.project = project;
    this.google = google;
    this.state = new ScriptState({ limits });
    this.selfUrl = selfUrl;
    this.executions = [];
    this.pending = 0; // executions running or waiting to start
    this._idleWaiters = [];
    this._seq = 0;
  }

  solution(solutionId) {
    const solutions = ((this.project.manifest.addOns || {}).calendar || {}).conferenceSolution || [];
    return solutions.find((s) => s.id === solutionId) || null;
  }

  // -- executions -----------------------------------------------------------------------

  run({ user, functionName, args, kind }) {
    const record = {
      id: ++this._seq,
      user,
      function: functionName,
      kind,
      status: 'running',
      error: null,
      logs: [],
      startedAt: new Date().toISOString(),
      endedAt: null,
    };
    this.executions.push(record);
    if (this.executions.length > MAX_LOG) this.executions.shift();
    this.pending += 1;
    return this._execute(record, args).finally(() => {
      this.pending -= 1;
      record.endedAt = new Date().toISOString();
      if (this.pending === 0) for (const wake of this._idleWaiters.splice(0)) wake();
    });
  }

  async _execute(record, args) {
    const { user, kind } = record;
    try {
      this.state.startExecution(user);
    } catch (err) {
      return this._fail(record, err.message);
    }
    if (kind === 'trigger' && !this.state.triggerRuntimeLeft(user)) {
      this.state.endExecution(user);
      return this._fail(record, MESSAGES.triggerRuntimeQuota);
    }
    const seconds = kind === 'addon' ? this.state.limits.addonExecutionSeconds : this.state.limits.scriptExecutionSeconds;
    const started = Date.now();
    const deadline = started + seconds * 1000;
    const flag = new SharedArrayBuffer(4);
    const signal = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(path.join(__dirname, 'worker.js'), {
      workerData: {
        files: this.project.files,
        functionName: record.function,
        args,
        user,
        flag,
        replyPort: port2,
        scopes: this.project.manifest.oauthScopes || [],
      },
      transferList: [port2],
    });
    const ctx = { record, deadline, worker, execution: record.id };
    try {
      return await new Promise((resolve) => {
        let settled = false;
        const settle = (outcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(outcome);
        };
        const timer = setTimeout(() => {
          record.status = 'timedOut';
          record.error = MESSAGES.timeout;
          worker.terminate();
          settle(record);
        }, Math.max(0, deadline - Date.now()));
        worker.on('message', (message) => {
          if (message.type === 'log') {
            record.logs.push({ level: message.level, text: message.text });
          } else if (message.type === 'call') {
            this._serve(ctx, message).then(
              (value) => reply({ value }),
              (err) => reply({ error: err instanceof AppsScriptError || err.expose ? err.message : 'Exception: ' + err.message }),
            );
          } else if (message.type === 'done') {
            record.status = message.error ? 'failed' : 'completed';
            record.error = message.error || null;
            record.result = message.result || null;
            settle(record);
          }
        });
        worker.on('error', (err) => {
          record.status = 'failed';
          record.error = err.message;
          settle(record);
        });
        worker.on('exit', () => {
          if (!settled) {
            record.status = 'failed';
            record.error = record.error || 'the execution ended without an answer';
            settle(record);
          }
        });
        function reply(answer) {
          if (settled) return;
          port1.postMessage(answer);
          Atomics.store(signal, 0, 1);
          Atomics.notify(signal, 0);
        }
      });
    } finally {
      port1.close();
      await worker.terminate();
      this.state.locks.releaseAll(record.id);
      this.state.endExecution(user);
      if (kind === 'trigger') this.state.addTriggerRuntime(user, Date.now() - started);
    }
  }

  _fail(record, error) {
    record.status = 'failed';
    record.error = error;
    return record;
  }

  // One synchronous service call of a running script.
  async _serve(ctx, { op, params = {} }) {
    const { user } = ctx.record;
    const state = this.state;
    switch (op) {
      case 'oauthToken':
        return this.google.oauthToken(user);
      case 'identityToken':
        return this.google.identityToken(user);
      case 'listTriggers':
        return state.listTriggers(user).map(publicTrigger);
      case 'createTrigger':
        return publicTrigger(await this.createTrigger(user, params.handler, params.sourceId));
      case 'deleteTrigger':
        await this.deleteTrigger(user, params.uid);
        return null;
      case 'fetch':
        return this.fetch(ctx, params);
      case 'getProperties':
        return state.getProperties(params.scope, user);
      case 'setProperties':
        state.setProperties(params.scope, user, params.values || {}, params.deleteAllOthers);
        return null;
      case 'deleteProperty':
        state.deleteProperty(params.scope, user, params.key);
        return null;
      case 'lock': {
        const wait = Math.min(params.timeout, Math.max(0, ctx.deadline - Date.now()));
        return state.locks.acquire(lockKey(params.scope, user), ctx.execution, wait);
      }
      case 'unlock':
        state.locks.release(lockKey(params.scope, user), ctx.execution);
        return null;
      case 'hasLock':
        return state.locks.holds(lockKey(params.scope, user), ctx.execution);
      default:
        throw new Error('unknown service call ' + op);
    }
  }

  async createTrigger(user, handler, calendarId) {
    const trigger = this.state.createTrigger(user, handler, calendarId);
    const channelId = 'apps-script-trigger-' + trigger.uid;
    try {
      const channel = await this.google.watch(user, calendarId, channelId, this.selfUrl + '/_notify', trigger.uid);
      trigger.channel = { id: channel.id, resourceId: channel.resourceId };
    } catch (err) {
      this.state.deleteTrigger(user, trigger.uid);
      const error = new Error('Cannot create a trigger for calendar ' + calendarId + ': ' + err.message);
      error.expose = true;
      throw error;
    }
    return trigger;
  }

  async deleteTrigger(user, uid) {
    const trigger = this.state.deleteTrigger(user, uid);
    if (trigger && trigger.channel) {
      await this.google.stopChannel(user, trigger.channel.id, trigger.channel.resourceId).catch(() => {});
    }
  }

  // UrlFetchApp.fetch: real HTTP, within the execution's time left (Apps Script's UrlFetch has
  // no timeout option: the execution limit is what bounds a call).
  async fetch(ctx, params) {
    const manifest = this.project.manifest;
    if (params.url.length > MAX_URL_LENGTH) throw expose('URLFetch URL Length exceeded.');
    if (!/^https?:\/\//i.test(params.url)) throw expose('Invalid argument: ' + params.url);
    // Google does not publish the text of this refusal; ours names the allowlist.
    if (!allowed(manifest, params.url)) {
      throw expose('Exception: ' + params.url + ' is not in the manifest\'s urlFetchWhitelist.');
    }
    this.state.countUrlFetch(ctx.record.user);
    const headers = { 'User-Agent': USER_AGENT };
    for (const [k, v] of Object.entries(params.headers || {})) headers[k] = String(v);
    if (params.contentType) headers['Content-Type'] = params.contentType;
    const left = ctx.deadline - Date.now();
    let response;
    try {
      response = await fetch(params.url, {
        method: params.method,
        headers,
        body: params.payload === null || params.method === 'GET' ? undefined : params.payload,
        redirect: params.followRedirects ? 'follow' : 'manual',
        // The execution's limit stops the script first; the margin keeps the two apart.
        signal: AbortSignal.timeout(Math.max(1, left) + 1000),
      });
    } catch (err) {
      const host = new URL(params.url).host;
      throw expose(err.name === 'TimeoutError' ? 'Timeout: ' + params.url : 'Address unavailable: ' + host);
    }
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_RESPONSE_BYTES) throw expose('Exception: UrlFetch response too large.');
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: body.toString('base64'),
    };
  }

  // -- Calendar's side ------------------------------------------------------------------

  async pick({ calendarId, eventId, solutionId, user }) {
    const solution = this.solution(solutionId);
    if (!solution) {
      return { status: 404, body: { error: 'no conference solution ' + solutionId + ' in the manifest' } };
    }
    const record = await this.run({
      user,
      functionName: solution.onCreateFunction,
      args: [{ eventData: { calendarId, eventId } }],
      kind: 'addon',
    });
    const answer = { execution: summary(record), conferenceData: null, conferenceError: null, applied: false, eventMissing: false };
    const data = record.status === 'completed' && record.result ? record.result.conferenceData : null;
    if (record.status !== 'completed') return { status: 200, body: answer };
    if (!data) {
      answer.execution.error = 'the onCreateFunction did not return ConferenceData';
      return { status: 200, body: answer };
    }
    if (data.error) {
      answer.conferenceError = data.error;
      return { status: 200, body: answer };
    }
    if (data.conferenceSolutionId !== solutionId) {
      answer.execution.error = 'conferenceSolutionId ' + data.conferenceSolutionId + ' is not the picked ' + solutionId;
      return { status: 200, body: answer };
    }
    const resource = toCalendarResource(data, solution);
    answer.conferenceData = resource;
    const outcome = await this.google.setConferenceData(user, calendarId, eventId, resource);
    answer.applied = outcome === 'applied';
    answer.eventMissing = outcome === 'eventMissing';
    return { status: 200, body: answer };
  }

  // A push notification from Calendar: run the trigger whose channel it names.
  notified(headers) {
    if (headers['x-goog-resource-state'] === 'sync') return;
    const uid = headers['x-goog-channel-token'];
    const trigger = uid ? this.state.triggers.get(uid) : null;
    if (!trigger || !trigger.channel || trigger.channel.id !== headers['x-goog-channel-id']) return;
    this.run({
      user: trigger.user,
      functionName: trigger.handler,
      args: [{ calendarId: trigger.sourceId, triggerUid: trigger.uid, __authMode: 'FULL' }],
      kind: 'trigger',
    }).catch(() => {});
  }

  idle(timeoutMs) {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.pending === 0), timeoutMs);
      this._idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async reset() {
    for (const trigger of [...this.state.triggers.values()]) await this.deleteTrigger(trigger.user, trigger.uid);
    this.state.reset();
    this.executions = [];
  }
}

function expose(message) {
  const error = new Error(message);
  error.expose = true;
  return error;
}

function lockKey(scope, user) {
  return scope === 'script' ? 'script' : 'user:' + user;
}

function publicTrigger(t) {
  return { uid: t.uid, handler: t.handler, source: t.source, eventType: t.eventType, sourceId: t.sourceId };
}

function summary(record) {
  return {
    id: record.id,
    user: record.user,
    function: record.function,
    kind: record.kind,
    status: record.status,
    error: record.error,
    logs: record.logs,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
  };
}

// -- HTTP surface ---------------------------------------------------------------------------

function readJson(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : {});
      } catch (err) {
        reject(new Error('body is not JSON'));
      }
    });
    request.on('error', reject);
  });
}

function send(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

function requireStrings(body, names) {
  for (const name of names) {
    if (typeof body[name] !== 'string' || !body[name]) throw new Error(name + ' must be a non-empty string');
  }
}

function createServer(host) {
  return http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://localhost');
    try {
      if (request.method === 'POST' && url.pathname === '/_notify') {
        host.notified(request.headers);
        request.resume();
        return send(response, 200, {});
      }
      if (request.method === 'GET' && url.pathname === '/_control/health') {
        return send(response, 200, { ok: true, pending: host.pending });
      }
      if (request.method === 'GET' && url.pathname === '/_control/triggers') {
        const user = url.searchParams.get('user');
        const triggers = [...host.state.triggers.values()].filter((t) => !user || t.user === user);
        return send(response, 200, { triggers: triggers.map((t) => ({ ...publicTrigger(t), user: t.user })) });
      }
      if (request.method === 'GET' && url.pathname === '/_control/executions') {
        return send(response, 200, { executions: host.executions.map(summary) });
      }
      if (request.method !== 'POST') return send(response, 404, { error: 'no such control call' });
      const body = await readJson(request);
      switch (url.pathname) {
        case '/_control/pick': {
          requireStrings(body, ['calendarId', 'eventId', 'solutionId', 'user']);
          const answer = await host.pick(body);
          return send(response, answer.status, answer.body);
        }
        case '/_control/idle': {
          const timeout = Math.min(60, Math.max(0, Number(body.timeout ?? 10)));
          return send(response, 200, { idle: await host.idle(timeout * 1000) });
        }
        case '/_control/reset':
          await host.reset();
          return send(response, 200, {});
        case '/_control/limits':
          Object.assign(host.state.limits, body);
          return send(response, 200, { limits: host.state.limits });
        default:
          return send(response, 404, { error: 'no such control call' });
      }
    } catch (err) {
      return send(response, 400, { error: err.message });
    }
  });
}

function parseArgs(argv) {
  const args = { port: 0, account: 'consumer' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    args[key] = argv[i + 1];
  }
  for (const required of ['project', 'google', 'clientId']) {
    if (!args[required]) throw new Error('missing --' + required.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
  }
  if (!ACCOUNT_LIMITS[args.account]) throw new Error('--account must be consumer or workspace');
  return args;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const google = new Google({ baseUrl: args.google, clientId: args.clientId });
  const host = new Host({ project: loadProject(args.project), google, limits: ACCOUNT_LIMITS[args.account] });
  const server = createServer(host);
  server.listen(Number(args.port), '127.0.0.1', () => {
    host.selfUrl = 'http://127.0.0.1:' + server.address().port;
    console.log('apps script stand-in listening on ' + host.selfUrl);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error('error: ' + err.message);
    process.exit(2);
  }
}

module.exports = { Host, createServer, loadProject };
