// The console queue's live notice: what queue-live.js reports ("guichet:queue-changed" events
// on document) is announced in #queue-live-notice (an aria-live status region) with a link to
// refresh the list; a row whose application another agent just took says so. Labels come from
// the page (data-label-*, translated by Django); {reference}, {service} and {change} are
// replaced. No inline script: the console's Content-Security-Policy allows none.

const MAX_MESSAGES = 5;

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

function setUp(notice) {
  const messages = notice.querySelector(".queue-live-messages");
  const actions = notice.querySelector(".queue-live-actions");
  const me = notice.dataset.userId || "";
  const lines = [];

  function show(text) {
    lines.push(text);
    while (lines.length > MAX_MESSAGES) lines.shift();
    messages.textContent = lines.join(" ");
    notice.dataset.active = "true";
    actions.hidden = false;
  }

  notice.querySelector("[data-queue-dismiss]").addEventListener("click", () => {
    lines.length = 0;
    messages.textContent = "";
    delete notice.dataset.active;
    actions.hidden = true;
  });

  document.addEventListener("guichet:queue-changed", (event) => {
    const data = (event.detail && event.detail.data) || {};
    const application = data.application || {};
    const values = {
      reference: application.reference || "",
      service: (data.service && data.service.name) || "",
      change: data.change_label || data.change || "",
    };
    const rows = document.querySelectorAll(
      `[data-application-id="${CSS.escape(String(application.id || ""))}"]`,
    );
    const takenByOther =
      data.change === "taken" && application.assignee_id && application.assignee_id !== me;
    for (const row of rows) {
      let note = row.querySelector(".queue-live-row-note");
      if (!note) {
        note = document.createElement("small");
        note.className = "queue-live-row-note";
        row.append(" ", note);
      }
      note.textContent = takenByOther ? notice.dataset.labelTakenOther : values.change;
    }
    if (data.change === "submitted" && rows.length === 0) {
      show(fill(notice.dataset.labelNew, values));
    } else if (takenByOther) {
      show(fill(notice.dataset.labelChange, { ...values, change: notice.dataset.labelTakenOther }));
    } else {
      show(fill(notice.dataset.labelChange, values));
    }
  });
}

const notice = document.getElementById("queue-live-notice");
if (notice) setUp(notice);
