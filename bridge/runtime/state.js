'use strict';
// What Apps Script keeps for one script project between executions, and the limits it
// enforces (developers.google.com/apps-script/guides/services/quotas, "Current limitations"
// and "Current quotas"): installable triggers (20 per user per script), properties (9 KB a
// value, 500 KB in all), locks (LockService), UrlFetch calls per user per day (20,000 for
// consumer accounts, 100,000 for Google Workspace), total trigger runtime per user per day
// (90 min / 6 h) and 30 simultaneous executions per user. Quotas "reset 24 hours after the
// first request". Plain data and synchronous methods: host.js calls them for the executions.
//
// Google's pages give the limits, not the texts of the exceptions; the texts below are the
// ones Apps Script is widely reported to throw (kept in MESSAGES, one place).

const crypto = require('node:crypto');

const MESSAGES = Object.freeze({
  tooManyTriggers:
    'This script has too many triggers. Triggers must be deleted from the script before more can be added.',
  urlFetchQuota: 'Service invoked too many times for one day: urlfetch.',
  triggerRuntimeQuota: 'Service using too much computer time for one day',
  tooManyExecutions: 'There are too many scripts running simultaneously for this Google user account.',
  lockTimeout: 'Lock timeout: another process was holding the lock for too long.',
  propertyTooLarge: 'Argument too large: value',
  propertiesFull: 'You have exceeded the property storage quota. Please remove some properties and try again.',
  timeout: 'Exceeded maximum execution time',
});

const ACCOUNT_LIMITS = Object.freeze({
  consumer: { urlFetchPerDay: 20000, triggerRuntimeSecondsPerDay: 90 * 60 },
  workspace: { urlFetchPerDay: 100000, triggerRuntimeSecondsPerDay: 6 * 3600 },
});

const DEFAULT_LIMITS = Object.freeze({
  triggersPerUser: 20,
  simultaneousExecutions: 30,
  propertyValueBytes: 9 * 1024,
  propertiesTotalBytes: 500 * 1024,
  // Add-on callbacks (onCreateFunction) get 30 s; a script run by a trigger gets 6 min.
  addonExecutionSeconds: 30,
  scriptExecutionSeconds: 6 * 60,
  ...ACCOUNT_LIMITS.consumer,
});

const DAY_MS = 24 * 3600 * 1000;

class AppsScriptError extends Error {}

class DailyCounter {
  // Per user: reset 24 hours after the first counted use.
  constructor(clock) {
    this._clock = clock;
    this._byUser = new Map();
  }
  add(user, amount, limit) {
    const now = this._clock();
    let entry = this._byUser.get(user);
    if (!entry || now - entry.since >= DAY_MS) entry = { since: now, used: 0 };
    if (entry.used + amount > limit) return false;
    entry.used += amount;
    this._byUser.set(user, entry);
    return true;
  }
  used(user) {
    const entry = this._byUser.get(user);
    return entry && this._clock() - entry.since < DAY_MS ? entry.used : 0;
  }
}

class LockTable {
  // A lock is held by one execution; waiters are served in order. Released at the end of
  // the holder's execution too (Apps Script releases a script's locks when it ends).
  constructor() {
    this._holders = new Map();
    this._waiters = new Map();
  }
  tryAcquire(key, execution) {
    const holder = this._holders.get(key);
    if (holder === undefined || holder === execution) {
      this._holders.set(key, execution);
      return true;
    }
    return false;
  }
  // Resolves true when acquired, false after timeoutMs.
  acquire(key, execution, timeoutMs) {
    if (this.tryAcquire(key, execution)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { execution, resolve, timer: null };
      waiter.timer = setTimeout(() => {
        this._remove(key, waiter);
        resolve(false);
      }, Math.max(0, timeoutMs));
      const queue = this._waiters.get(key) || [];
      queue.push(waiter);
      this._waiters.set(key, queue);
    });
  }
  holds(key, execution) {
    return this._holders.get(key) === execution;
  }
  release(key, execution) {
    if (this._holders.get(key) !== execution) return;
    this._holders.delete(key);
    const queue = this._waiters.get(key) || [];
    const next = queue.shift();
    if (next) {
      clearTimeout(next.timer);
      this._holders.set(key, next.execution);
      next.resolve(true);
    }
  }
  releaseAll(execution) {
    for (const [key, holder] of [...this._holders]) {
      if (holder === execution) this.release(key, execution);
    }
    for (const [key, queue] of this._waiters) {
      for (const waiter of queue.filter((w) => w.execution === execution)) {
        clearTimeout(waiter.timer);
        this._remove(key, waiter);
        waiter.resolve(false);
      }
    }
  }
  _remove(key, waiter) {
    const queue = (this._waiters.get(key) || []).filter((w) => w !== waiter);
    this._waiters.set(key, queue);
  }
}

class ScriptState {
  constructor({ limits = {}, clock = Date.now } = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.clock = clock;
    this.reset();
  }

  reset() {
    this.triggers = new Map(); // uid -> trigger
    this.properties = { script: new Map(), user: new Map() }; // user -> Map for "user"
    this.locks = new LockTable();
    this.urlFetches = new DailyCounter(this.clock);
    this.triggerRuntime = new DailyCounter(this.clock);
    this.running = new Map(); // user -> count
  }

  // -- triggers (ScriptApp) -------------------------------------------------------------
  createTrigger(user, handler, sourceId) {
    if (this.listTriggers(user).length >= this.limits.triggersPerUser) {
      throw new AppsScriptError(MESSAGES.tooManyTriggers);
    }
    const uid = String(crypto.randomInt(1e9, 1e10));
    const trigger = { uid, user, handler, source: 'CALENDAR', eventType: 'ON_EVENT_UPDATED', sourceId };
    this.triggers.set(uid, trigger);
    return trigger;
  }
  // "Gets all installable triggers associated with the current project and current user."
  listTriggers(user) {
    return [...this.triggers.values()].filter((t) => t.user === user);
  }
  deleteTrigger(user, uid) {
    const trigger = this.triggers.get(uid);
    if (!trigger || trigger.user !== user) return null;
    this.triggers.delete(uid);
    return trigger;
  }
  calendarTriggers(calendarId) {
    return [...this.triggers.values()].filter((t) => t.source === 'CALENDAR' && t.sourceId === calendarId);
  }

  // -- properties (PropertiesService) ---------------------------------------------------
  _store(scope, user) {
    if (scope === 'script') return this.properties.script;
    if (!this.properties.user.has(user)) this.properties.user.set(user, new Map());
    return this.properties.user.get(user);
  }
  getProperties(scope, user) {
    return Object.fromEntries(this._store(scope, user));
  }
  setProperties(scope, user, values, deleteAllOthers) {
    const store = this._store(scope, user);
    const next = new Map(deleteAllOthers ? [] : store);
    for (const [key, value] of Object.entries(values)) {
      const text = String(value);
      if (Buffer.byteLength(text) > this.limits.propertyValueBytes) throw new AppsScriptError(MESSAGES.propertyTooLarge);
      next.set(String(key), text);
    }
    let total = 0;
    for (const [key, value] of next) total += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (total > this.limits.propertiesTotalBytes) throw new AppsScriptError(MESSAGES.propertiesFull);
    store.clear();
    for (const [key, value] of next) store.set(key, value);
  }
  deleteProperty(scope, user, key) {
    this._store(scope, user).delete(String(key));
  }

  // -- quotas ---------------------------------------------------------------------------
  countUrlFetch(user) {
    if (!this.urlFetches.add(user, 1, this.limits.urlFetchPerDay)) throw new AppsScriptError(MESSAGES.urlFetchQuota);
  }
  // Before a trigger execution: has the user any trigger runtime left today?
  triggerRuntimeLeft(user) {
    return this.triggerRuntime.used(user) < this.limits.triggerRuntimeSecondsPerDay * 1000;
  }
  addTriggerRuntime(user, ms) {
    this.triggerRuntime.add(user, ms, Number.MAX_SAFE_INTEGER);
  }
  startExecution(user) {
    const count = this.running.get(user) || 0;
    if (count >= this.limits.simultaneousExecutions) throw new AppsScriptError(MESSAGES.tooManyExecutions);
    this.running.set(user, count + 1);
  }
  endExecution(user) {
    this.running.set(user, Math.max(0, (this.running.get(user) || 1) - 1));
  }
}

module.exports = { ACCOUNT_LIMITS, AppsScriptError, DEFAULT_LIMITS, LockTable, MESSAGES, ScriptState };
