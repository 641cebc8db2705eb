// Guichet real-time client: one WebSocket to /ws/v1/, authenticated by its first frame,
// subscriptions resumed from the last event id seen, reconnection with backoff, token refresh.
// An ES module without dependencies (no build step, nothing fetched from outside).
//
//   import { GuichetRealtime } from "/static/realtime/guichet-realtime.js";
//   const live = new GuichetRealtime({
//     url: gatewayUrl(),                         // ws(s)://<this host>/ws/v1/ by default
//     getToken: async ({ refresh }) => "...",    // an access token (a fresh one if refresh)
//     subscriptions: [{ stream: "queue" }],      // or { stream: "applications" } / "application"
//     onEvent: (frame) => { ... },               // {id, event, data, subscription}
//     onState: (state) => { ... },               // connecting, ready, caught_up, resync, closed...
//   });
//   live.start();
//
// Protocol, close codes and payloads: asyncapi.yml and docs/realtime.md.

export const CLOSE = Object.freeze({
  TRY_AGAIN_LATER: 1013,
  MESSAGE_TOO_BIG: 1009,
  BAD_REQUEST: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  AUTH_TIMEOUT: 4408,
  TOO_MANY_CONNECTIONS: 4429,
  TOO_MANY_ERRORS: 4430,
  SLOW_CONSUMER: 4431,
  TOKEN_EXPIRED: 4440,
  TOKEN_REVOKED: 4441,
});

/** The gateway's address on this page's host (``port``: another port, as in `make run`). */
export function gatewayUrl(port) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const host = port ? `${window.location.hostname}:${port}` : window.location.host;
  return `${scheme}://${host}/ws/v1/`;
}

function subscriptionKey(sub) {
  return sub.stream === "application" ? `application:${sub.application_id}` : sub.stream;
}

export class GuichetRealtime {
  constructor(options) {
    this.url = options.url || gatewayUrl();
    this.getToken = options.getToken;
    this.subscriptions = options.subscriptions || [];
    this.onEvent = options.onEvent || (() => {});
    this.onState = options.onState || (() => {});
    // The last event id seen per stream: kept across reloads when a storage is given.
    this.storage = options.storage === undefined ? window.sessionStorage : options.storage;
    this.storageKey = options.storageKey || "guichet-realtime-last-ids";
    this.lastIds = this._load();
    this.byServerId = new Map(); // server subscription id -> stream key
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.timers = [];
  }

  start() {
    this.stopped = false;
    this._connect(false);
  }

  stop() {
    this.stopped = true;
    this._clearTimers();
    if (this.ws) this.ws.close(1000);
    this.onState({ type: "stopped" });
  }

  async _connect(refresh) {
    if (this.stopped) return;
    this.onState({ type: "connecting", attempt: this.attempt });
    let token;
    try {
      token = await this.getToken({ refresh });
    } catch (error) {
      this.onState({ type: "token_unavailable", error });
      this._retry();
      return;
    }
    // The token goes in the first frame, never in the URL (addresses end up in logs).
    const ws = new WebSocket(this.url, ["guichet.v1"]);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
    ws.onmessage = (message) => this._receive(JSON.parse(message.data));
    ws.onclose = (closed) => this._closed(closed.code);
  }

  _receive(frame) {
    switch (frame.type) {
      case "ready":
        // Also after a re-authentication on the open connection (a refreshed token).
        this.attempt = 0;
        this._armRefresh(frame.expires_at);
        if (!this.readyOnce) {
          this._ping();
          this._subscribeAll();
        }
        this.readyOnce = true;
        this.onState(frame);
        break;
      case "subscribed":
        this.byServerId.set(frame.subscription, this.pending.shift());
        this.onState(frame);
        break;
      case "event": {
        const key = this.byServerId.get(frame.subscription);
        const last = this.lastIds[key] || 0;
        if (frame.id <= last) return; // at least once: drop what was already seen
        this.lastIds[key] = frame.id;
        this._save();
        this.onEvent(frame);
        break;
      }
      case "resync_required":
        // Events older than the retention window may be missing: reload the list over REST.
        this.onState({ ...frame, stream: this.byServerId.get(frame.subscription) });
        break;
      default:
        this.onState(frame); // caught_up, pong, error, unsubscribed
    }
  }

  _subscribeAll() {
    this.pending = [];
    for (const sub of this.subscriptions) {
      const key = subscriptionKey(sub);
      const frame = { type: "subscribe", ...sub };
      if (this.lastIds[key]) frame.since = this.lastIds[key];
      this.pending.push(key);
      this.ws.send(JSON.stringify(frame));
    }
  }

  _closed(code) {
    this._clearTimers();
    this.readyOnce = false;
    this.byServerId.clear();
    this.onState({ type: "closed", code });
    if (this.stopped) return;
    if (code === CLOSE.TOKEN_REVOKED) {
      this.stopped = true; // signed out: the application asks the person to sign in again
      this.onState({ type: "signed_out" });
      return;
    }
    if (code === CLOSE.TOKEN_EXPIRED || code === CLOSE.UNAUTHENTICATED) {
      this._connect(true); // refresh the token, reconnect at once, resume from lastIds
      return;
    }
    if (code === CLOSE.FORBIDDEN || code === CLOSE.BAD_REQUEST) {
      this.stopped = true; // retrying would not help
      return;
    }
    this._retry();
  }

  _retry() {
    // 1 s, 2 s, 4 s... up to 30 s, with jitter so a restarted gateway is not stampeded.
    const base = Math.min(30000, 1000 * 2 ** this.attempt);
    this.attempt += 1;
    this.timers.push(setTimeout(() => this._connect(false), base / 2 + Math.random() * base));
  }

  _armRefresh(expiresAt) {
    // Re-authenticate on the open connection 30 s before the token expires.
    const delay = Math.max(1000, expiresAt * 1000 - Date.now() - 30000);
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(async () => {
        try {
          const token = await this.getToken({ refresh: true });
          this.ws.send(JSON.stringify({ type: "auth", token }));
        } catch (error) {
          this.onState({ type: "token_unavailable", error });
        }
      }, delay);
  }

  _ping() {
    this.timers.push(
      setInterval(() => {
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
          this.ws.send(JSON.stringify({ type: "ping" }));
        }
      }, 25000),
    );
  }

  _clearTimers() {
    clearTimeout(this.refreshTimer);
    for (const timer of this.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    this.timers = [];
  }

  _load() {
    try {
      return JSON.parse((this.storage && this.storage.getItem(this.storageKey)) || "{}");
    } catch {
      return {};
    }
  }

  _save() {
    if (this.storage) this.storage.setItem(this.storageKey, JSON.stringify(this.lastIds));
  }
}
