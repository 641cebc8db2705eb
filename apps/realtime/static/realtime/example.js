// The browser example of docs/realtime.md: sign in, connect, authenticate, follow, resume.
import { GuichetRealtime, gatewayUrl } from "./guichet-realtime.js";

const log = (line) => {
  const element = document.getElementById("log");
  element.textContent += `${new Date().toISOString().slice(11, 23)} ${line}\n`;
  element.scrollTop = element.scrollHeight;
};

let tokens = null; // {access, refresh} from the token endpoint
let live = null;

async function signIn(form) {
  const body = { login: form.login.value, password: form.password.value, portal: form.portal.value };
  const response = await fetch("/api/v1/auth/token/", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${answer.code}: ${answer.detail}`);
  tokens = answer;
  log(`signed in (${answer.kind}${answer.agency ? `, ${answer.agency}` : ""})`);
}

async function getToken({ refresh }) {
  if (!tokens) throw new Error("sign in first");
  if (refresh && tokens.refresh) {
    const response = await fetch("/api/v1/auth/token/refresh/", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh: tokens.refresh }),
    });
    if (!response.ok) throw new Error(`refresh: ${response.status}`);
    tokens = { ...tokens, ...(await response.json()) };
    log("token refreshed");
  }
  return tokens.access;
}

document.getElementById("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(event.target).catch((error) => log(`sign-in failed: ${error.message}`));
});

document.getElementById("follow").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const subscription = { stream: form.stream.value };
  if (subscription.stream === "application") subscription.application_id = form.application_id.value;
  if (live) live.stop();
  live = new GuichetRealtime({
    url: gatewayUrl(form.port.value),
    getToken,
    subscriptions: [subscription],
    storageKey: `guichet-example-${window.location.host}`,
    onEvent: (frame) => {
      const app = frame.data.application;
      const change = frame.data.change_label ? ` — ${frame.data.change_label}` : "";
      log(`#${frame.id} ${frame.event}: ${app.reference || app.id} ${app.status_label}${change}`);
    },
    onState: (state) => log(`${state.type}${state.code ? ` ${state.code}` : ""}${state.last_id !== undefined ? ` last_id=${state.last_id}` : ""}`),
  });
  live.start();
});

document.getElementById("stop").addEventListener("click", () => live && live.stop());
