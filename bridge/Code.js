/**
 * The Apps Script bridge (V8 runtime): a thin Calendar conferencing add-on that keeps all
 * logic in the Python backend. Solutions.js (rendered by `flask bridge-manifest --out`) holds
 * the backend URLs and one onCreateFunction per solution, each calling createConference_.
 *
 * - createConference_: forwards the event's calendar id and event id to
 *   POST /bridge/conference/<solution>, with `Authorization: Bearer
 *   ScriptApp.getIdentityToken()` (proves this script and its user to the backend) and
 *   ScriptApp.getOAuthToken() (the user's token, which the backend uses for Calendar). The
 *   answer is the backend's ConferenceDataMarkup, turned here into ConferenceDataService
 *   builder calls, errors included. The calendar gets one onEventUpdated trigger, unless it
 *   has one.
 * - onCalendarEventUpdated: that trigger. It forwards {calendarId} with the same two tokens
 *   to POST /bridge/notification and returns; the backend enqueues the sync and keeps the
 *   sync tokens, one per calendar (nothing is kept in this script's properties).
 *
 * Apps Script limits this stays within (developers.google.com/apps-script/guides/services/
 * quotas): 30 s per add-on execution (one lock wait of at most LOCK_WAIT_MS, one UrlFetch,
 * whose time is the backend's answer time); 20 triggers per user per script, hence at most 20
 * synced calendars per user (checked before the backend is asked, so no meeting is made for a
 * calendar that cannot be synced); one UrlFetch per pick and per calendar change against the
 * daily UrlFetch quota (20,000 consumer / 100,000 Google Workspace accounts).
 *
 * References: conference-data/* (builders and enums), script/script-app, url-fetch/*,
 * lock/lock, workspace/add-ons/calendar/conferencing/create-conference (the onCreateFunction
 * argument carries eventData.calendarId and eventData.eventId) and the installable calendar
 * trigger's event object (calendarId, authMode, triggerUid).
 */

var MAX_TRIGGERS_PER_USER = 20;
var LOCK_WAIT_MS = 10000;
var TRIGGER_HANDLER = 'onCalendarEventUpdated';
var ERROR_TYPES = ['AUTHENTICATION', 'CONFERENCE_SOLUTION_FORBIDDEN', 'PERMANENT', 'PERMISSION_DENIED', 'TEMPORARY', 'UNKNOWN'];
var ENTRY_CODES = {
  accessCode: 'setAccessCode',
  meetingCode: 'setMeetingCode',
  passcode: 'setPasscode',
  password: 'setPassword',
  pin: 'setPin',
};

/**
 * A solution's onCreateFunction (called from Solutions.js).
 * @param {string} solutionId The conference solution id (as in the manifest).
 * @param {Object} arg What Calendar passes: arg.eventData.calendarId, arg.eventData.eventId.
 * @return {ConferenceData}
 */
function createConference_(solutionId, arg) {
  var eventData = (arg && arg.eventData) || {};
  var calendarId = eventData.calendarId;
  var eventId = eventData.eventId;
  if (!calendarId || !eventId) return errorData_(solutionId, 'PERMANENT');
  // One pick at a time per user: the trigger check and the trigger creation must not race
  // (two picks on a new calendar would install two triggers).
  var lock = LockService.getUserLock();
  if (!lock.tryLock(LOCK_WAIT_MS)) return errorData_(solutionId, 'TEMPORARY');
  try {
    var hasTrigger = triggerFor_(calendarId) !== null;
    if (!hasTrigger && ScriptApp.getProjectTriggers().length >= MAX_TRIGGERS_PER_USER) {
      console.warn('no trigger left for calendar ' + calendarId + ': ' + MAX_TRIGGERS_PER_USER + ' calendars are synced already');
      return errorData_(solutionId, 'PERMANENT');
    }
    var url = BRIDGE_CONFERENCE_URL.replace('{solution_id}', encodeURIComponent(solutionId));
    var answer = post_(url, { calendarId: calendarId, eventId: eventId, userOAuthToken: ScriptApp.getOAuthToken() });
    if (!answer.ok) return errorData_(solutionId, answer.status === 0 || answer.status >= 500 ? 'TEMPORARY' : 'PERMANENT');
    var markup = conferenceMarkup_(answer.body);
    if (markup === null) return errorData_(solutionId, 'UNKNOWN');
    var data;
    try {
      data = toConferenceData_(markup, solutionId);
    } catch (err) {
      console.error('the backend answered conference data Apps Script refuses: ' + err.message);
      return errorData_(solutionId, 'UNKNOWN');
    }
    if (!markup.error && !hasTrigger) {
      try {
        ScriptApp.newTrigger(TRIGGER_HANDLER).forUserCalendar(calendarId).onEventUpdated().create();
      } catch (err) {
        // The meeting exists and is returned; the calendar is not synced until a later pick
        // installs its trigger. Reached only if Apps Script counts triggers we do not see.
        console.error('could not install the sync trigger of ' + calendarId + ': ' + err.message);
      }
    }
    return data;
  } finally {
    lock.releaseLock();
  }
}

/**
 * The installable trigger of every synced calendar: Calendar changed, the backend syncs.
 * @param {Object} e The event object: e.calendarId, e.authMode, e.triggerUid.
 */
function onCalendarEventUpdated(e) {
  var calendarId = e && e.calendarId;
  if (!calendarId) return;
  var answer = post_(BRIDGE_NOTIFICATION_URL, { calendarId: calendarId, userOAuthToken: ScriptApp.getOAuthToken() });
  if (!answer.ok) {
    // Nothing to retry here: the backend lists every change since its last sync token, so the
    // next change of this calendar brings this one along.
    console.warn('the backend answered ' + answer.status + ' to the change of ' + calendarId);
  }
}

/** The triggers of this script and user that sync calendarId, or null. */
function triggerFor_(calendarId) {
  var triggers = ScriptApp.getProjectTriggers();
  for (var i = 0; i < triggers.length; i++) {
    var t = triggers[i];
    if (t.getTriggerSource() === ScriptApp.TriggerSource.CALENDAR && t.getTriggerSourceId() === calendarId && t.getHandlerFunction() === TRIGGER_HANDLER) {
      return t;
    }
  }
  return null;
}

/** POST JSON with the identity token; {ok, status (0: no answer), body (parsed or null)}. */
function post_(url, body) {
  var idToken = ScriptApp.getIdentityToken();
  if (!idToken) throw new Error('No identity token: the manifest must list the openid scope.');
  try {
    var response = UrlFetchApp.fetch(url, {
      method: 'post',
      contentType: 'application/json',
      payload: JSON.stringify(body),
      headers: { Authorization: 'Bearer ' + idToken },
      muteHttpExceptions: true,
    });
    var status = response.getResponseCode();
    var parsed = null;
    try {
      parsed = JSON.parse(response.getContentText());
    } catch (err) {
      parsed = null;
    }
    return { ok: status >= 200 && status < 300, status: status, body: parsed };
  } catch (err) {
    console.warn('the backend did not answer: ' + err.message);
    return { ok: false, status: 0, body: null };
  }
}

/** The ConferenceDataMarkup inside the backend's answer (the HTTP add-on's shape), or null. */
function conferenceMarkup_(body) {
  var path = ['renderActions', 'hostAppAction', 'calendarAction', 'createConferenceDataActionMarkup', 'createConferenceData'];
  var node = body;
  for (var i = 0; i < path.length; i++) {
    if (!node || typeof node !== 'object') return null;
    node = node[path[i]];
  }
  return node && typeof node === 'object' ? node : null;
}

/** ConferenceDataMarkup -> ConferenceData through the builders (they validate). */
function toConferenceData_(markup, solutionId) {
  var builder = ConferenceDataService.newConferenceDataBuilder().setConferenceSolutionId(solutionId);
  if (markup.error) {
    return builder.setError(conferenceError_(markup.error.type, markup.error.authenticationUrl)).build();
  }
  builder.setConferenceId(markup.conferenceId);
  (markup.entryPoints || []).forEach(function (point) {
    var entry = ConferenceDataService.newEntryPoint()
      .setEntryPointType(ConferenceDataService.EntryPointType[point.type])
      .setUri(point.uri);
    Object.keys(ENTRY_CODES).forEach(function (key) {
      if (point[key]) entry[ENTRY_CODES[key]](point[key]);
    });
    if (point.regionCode) entry.setRegionCode(point.regionCode);
    (point.features || []).forEach(function (feature) {
      entry.addFeature(ConferenceDataService.EntryPointFeature[feature]);
    });
    builder.addEntryPoint(entry);
  });
  (markup.parameters || []).forEach(function (parameter) {
    builder.addConferenceParameter(ConferenceDataService.newConferenceParameter().setKey(parameter.key).setValue(parameter.value));
  });
  if (markup.note) builder.setNotes(markup.note);
  return builder.build();
}

function conferenceError_(type, authenticationUrl) {
  var known = ERROR_TYPES.indexOf(type) >= 0 ? type : 'UNKNOWN';
  var error = ConferenceDataService.newConferenceError().setConferenceErrorType(ConferenceDataService.ConferenceErrorType[known]);
  if (known === 'AUTHENTICATION' && authenticationUrl) error.setAuthenticationUrl(authenticationUrl);
  return error;
}

function errorData_(solutionId, type) {
  return ConferenceDataService.newConferenceDataBuilder()
    .setConferenceSolutionId(solutionId)
    .setError(conferenceError_(type))
    .build();
}
