'use strict';
// Test helpers: a small real HTTP server playing the local Google and the backend, and a
// Host running a project written into a temporary folder.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Google } = require('../runtime/google');
const { Host } = require('../runtime/host');

const BRIDGE_DIR = path.resolve(__dirname, '..');
const SCOPES = [
  'https://www.googleapis.com/auth/calendar.addons.execute',
  'https://www.googleapis.com/auth/calendar.events',
  'https://www.googleapis.com/auth/script.external_request',
  'https://www.googleapis.com/auth/script.scriptapp',
  'openid',
  'https://www.googleapis.com/auth/userinfo.email',
];

// routes: {'METHOD /path': (req, body) => [status, jsonBody] | Promise}
async function fakeServer(routes = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch (err) {
        body = text;
      }
      const url = new URL(req.url, 'http://x');
      requests.push({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body });
      const handler = routes[req.method + ' ' + url.pathname] || defaultRoute(req.method, url.pathname);
      if (!handler) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        return res.end('{"error":"not found"}');
      }
      const answer = await handler(req, body);
      if (answer === 'hang') return; // never answers
      const [status, json] = answer;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(json === undefined ? '' : JSON.stringify(json));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = 'http://127.0.0.1:' + server.address().port;
  return {
    url,
    requests,
    routes,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

let channelSeq = 0;
function defaultRoute(method, pathname) {
  if (method === 'POST' && pathname === '/_emulator/users') return (req, body) => [200, { accessToken: 'oauth-' + body.email }];
  if (method === 'POST' && pathname === '/_emulator/addon/id-token') return (req, body) => [200, { idToken: 'id-' + body.email + '-for-' + body.audience }];
  if (method === 'POST' && pathname.endsWith('/events/watch')) return (req, body) => [200, { id: body.id, resourceId: 'res-' + ++channelSeq }];
  if (method === 'POST' && pathname === '/calendar/v3/channels/stop') return () => [204];
  if (method === 'PATCH' && pathname.includes('/events/')) return (req, body) => [200, body];
  return null;
}

function manifest(serverUrl, overrides = {}) {
  return {
    timeZone: 'Etc/UTC',
    runtimeVersion: 'V8',
    oauthScopes: SCOPES,
    urlFetchWhitelist: [serverUrl + '/bridge/'],
    addOns: {
      common: { name: 'Test add-on', logoUrl: 'https://x.example/logo.png' },
      calendar: {
        conferenceSolution: [{ id: 'web-conference', name: 'Web conference', logoUrl: 'https://x.example/l.png', onCreateFunction: 'onCreate_web_conference' }],
        currentEventAccess: 'READ_WRITE',
      },
    },
    ...overrides,
  };
}

function solutionsJs(serverUrl) {
  return [
    'const BRIDGE_CONFERENCE_URL = ' + JSON.stringify(serverUrl + '/bridge/conference/{solution_id}') + ';',
    'const BRIDGE_NOTIFICATION_URL = ' + JSON.stringify(serverUrl + '/bridge/notification') + ';',
    'function onCreate_web_conference(arg) { return createConference_("web-conference", arg); }',
    '',
  ].join('\n');
}

// A project folder: the manifest, and the given files ({name: source}).
function project(files, theManifest) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-test-'));
  fs.writeFileSync(path.join(dir, 'appsscript.json'), JSON.stringify(theManifest));
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
  const listed = Object.keys(files).sort().map((n) => path.join(dir, n));
  return { manifest: theManifest, files: listed, dir };
}

function host(server, files, { manifestOverrides = {}, limits = {} } = {}) {
  const theProject = project(files, manifest(server.url, manifestOverrides));
  return new Host({
    project: theProject,
    google: new Google({ baseUrl: server.url, clientId: 'bridge-client.apps.googleusercontent.com' }),
    limits,
    selfUrl: 'http://127.0.0.1:9/host',
  });
}

function bridgeFiles(serverUrl) {
  return { 'Code.js': fs.readFileSync(path.join(BRIDGE_DIR, 'Code.js'), 'utf8'), 'Solutions.js': solutionsJs(serverUrl) };
}

module.exports = { BRIDGE_DIR, SCOPES, bridgeFiles, fakeServer, host, manifest, project };
