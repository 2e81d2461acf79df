'use strict';
// What the stand-in needs from "Google", asked of the local Google (localgoogle's emulator)
// over real HTTP, the way Apps Script's own backends would serve it:
//
// * a user's OAuth token (POST /_emulator/users, as Google's OAuth server would mint one for
//   the manifest's scopes) and an identity token for the script's OAuth client
//   (POST /_emulator/addon/id-token {audience: client id, email}: Google-signed by the
//   emulator's keys, which the backend verifies against the emulator's certs);
// * learning that a calendar changed, so the calendar triggers fire: a Calendar push channel
//   (events.watch) per installed trigger, with the trigger's owner's token, delivering to the
//   host. Apps Script's trigger plumbing is Google-internal and undocumented; a watch channel
//   is the public Calendar mechanism with the same meaning (fires on create, update and
//   delete, and says nothing about what changed);
// * storing the conference data an onCreateFunction returned on the event, as Calendar does
//   after the add-on answered: events.patch with conferenceDataVersion=1, as the user.

async function call(method, url, { token, body, expect = [200] } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (err) {
    parsed = null;
  }
  if (!expect.includes(response.status)) {
    const error = new Error(method + ' ' + url + ' answered ' + response.status + ': ' + text.slice(0, 300));
    error.status = response.status;
    throw error;
  }
  return parsed;
}

class Google {
  constructor({ baseUrl, clientId }) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.clientId = clientId;
    this._oauth = new Map();
  }

  async oauthToken(user) {
    if (!this._oauth.has(user)) {
      const answer = await call('POST', this.baseUrl + '/_emulator/users', { body: { email: user } });
      this._oauth.set(user, answer.accessToken);
    }
    return this._oauth.get(user);
  }

  async identityToken(user) {
    const answer = await call('POST', this.baseUrl + '/_emulator/addon/id-token', {
      body: { audience: this.clientId, email: user },
    });
    return answer.idToken;
  }

  _events(calendarId) {
    return this.baseUrl + '/calendar/v3/calendars/' + encodeURIComponent(calendarId) + '/events';
  }

  async watch(user, calendarId, channelId, address, token) {
    return call('POST', this._events(calendarId) + '/watch', {
      token: await this.oauthToken(user),
      body: { id: channelId, type: 'web_hook', address, token },
    });
  }

  async stopChannel(user, channelId, resourceId) {
    await call('POST', this.baseUrl + '/calendar/v3/channels/stop', {
      token: await this.oauthToken(user),
      body: { id: channelId, resourceId },
      expect: [200, 204, 404],
    });
  }

  // Returns 'applied' or 'eventMissing'.
  async setConferenceData(user, calendarId, eventId, conferenceData) {
    const url = this._events(calendarId) + '/' + encodeURIComponent(eventId) + '?conferenceDataVersion=1';
    try {
      await call('PATCH', url, { token: await this.oauthToken(user), body: { conferenceData } });
      return 'applied';
    } catch (err) {
      if (err.status === 404) return 'eventMissing';
      throw err;
    }
  }
}

// ConferenceData (as built) -> the Calendar API's conferenceData resource, the way Calendar
// stores an add-on's answer (the solution's name and logo come from the manifest).
function toCalendarResource(data, solution) {
  const resource = {
    conferenceId: data.conferenceId,
    conferenceSolution: { key: { type: 'addOn' }, name: solution.name, iconUri: solution.logoUrl },
    entryPoints: data.entryPoints.map((e) => {
      const point = { entryPointType: e.type.toLowerCase(), uri: e.uri };
      for (const key of ['label', 'regionCode', 'meetingCode', 'accessCode', 'passcode', 'password', 'pin']) {
        if (e[key] !== undefined) point[key] = e[key];
      }
      if (e.features) point.entryPointFeatures = e.features.map((f) => f.toLowerCase());
      return point;
    }),
  };
  if (data.parameters && data.parameters.length) {
    resource.parameters = {
      addOnParameters: { parameters: Object.fromEntries(data.parameters.map((p) => [p.key, p.value])) },
    };
  }
  if (data.notes) resource.notes = data.notes;
  return resource;
}

module.exports = { Google, toCalendarResource };
