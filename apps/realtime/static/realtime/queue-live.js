// Live queue for the agency console: marks the queue's rows as other agents take, decide or
// receive answers on applications, and announces new submissions, so two agents do not open
// the same file. Include it on the queue page:
//
//   <script type="module" src="{% static 'realtime/queue-live.js' %}"
//           data-token-url="{% url 'console_realtime_token' %}" data-csrf-token="{{ csrf_token }}"
//           data-gateway-port="8001"></script>
//
// Rows are the elements carrying data-application-id="<uuid>"; each may hold an element with
// data-realtime-status (its text becomes the status label) and gets data-realtime-change
// (submitted, taken, decided, answered...) and data-realtime-assignee. A
// "guichet:queue-changed" CustomEvent (detail: the event frame) is dispatched on document
// for anything else the page wants to do (a "new submissions" banner, say).
//
// The token: the console is signed in with a session, the gateway takes access tokens. The
// script POSTs to data-token-url (same origin, /admin/realtime-token/ in the console, with the
// CSRF token: data-csrf-token, else the page's csrfmiddlewaretoken field, else the cookie, which
// the console keeps HttpOnly) and expects {"access": "<staff access token>"}; see
// docs/realtime.md, "The console". data-gateway-port is left out when the gateway is on the
// page's origin (production).

import { GuichetRealtime, gatewayUrl } from "./guichet-realtime.js";

function csrfToken(given) {
  if (given) return given;
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field && field.value) return field.value;
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function applyChange(frame) {
  const app = frame.data.application;
  for (const row of document.querySelectorAll(`[data-application-id="${CSS.escape(app.id)}"]`)) {
    row.dataset.realtimeChange = frame.data.change;
    row.dataset.realtimeAssignee = app.assignee_id || "";
    const status = row.querySelector("[data-realtime-status]");
    if (status) status.textContent = app.status_label;
    row.title = frame.data.change_label;
  }
  document.dispatchEvent(new CustomEvent("guichet:queue-changed", { detail: frame }));
}

export function watchQueue({ tokenUrl, port, url, csrf } = {}) {
  const live = new GuichetRealtime({
    url: url || gatewayUrl(port),
    subscriptions: [{ stream: "queue" }],
    storage: window.sessionStorage,
    storageKey: `guichet-queue-${window.location.host}`,
    getToken: async () => {
      const response = await fetch(tokenUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(csrf), Accept: "application/json" },
      });
      if (!response.ok) throw new Error(`token: ${response.status}`);
      return (await response.json()).access;
    },
    onEvent: applyChange,
    onState: (state) => {
      document.documentElement.dataset.realtime = state.type;
    },
  });
  live.start();
  return live;
}

const script = document.currentScript || document.querySelector("script[data-token-url]");
if (script && script.dataset.tokenUrl) {
  watchQueue({
    tokenUrl: script.dataset.tokenUrl,
    port: script.dataset.gatewayPort,
    csrf: script.dataset.csrfToken,
  });
}
