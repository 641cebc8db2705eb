/* Passkeys of the console (apps/accounts/mfa/passkeys.py): add one, or sign in with one.
   A button with data-passkey="create" or "get", data-options-url and data-verify-url; the
   WebAuthn JSON helpers of the browser; the answer goes back with the page's CSRF token. */
(function () {
  "use strict";

  function csrfToken() {
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(text) {
    var out = document.getElementById("mfa-passkey-message");
    if (out) {
      out.textContent = text;
    }
  }

  async function run(button) {
    var creating = button.dataset.passkey === "create";
    try {
      var optionsResponse = await fetch(button.dataset.optionsUrl, { credentials: "same-origin" });
      if (!optionsResponse.ok) {
        throw new Error("options");
      }
      var options = await optionsResponse.json();
      var credential = creating
        ? await navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
          })
        : await navigator.credentials.get({
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
          });
      var answer = await fetch(button.dataset.verifyUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(credential.toJSON()),
      });
      var body = await answer.json();
      if (!answer.ok) {
        say(body.error || button.dataset.errorMessage);
        return;
      }
      window.location.assign(body.redirect);
    } catch (error) {
      say(button.dataset.errorMessage);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-passkey]").forEach(function (button) {
      if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
        button.hidden = true;
        return;
      }
      button.addEventListener("click", function (event) {
        event.preventDefault();
        run(button);
      });
    });
  });
})();
