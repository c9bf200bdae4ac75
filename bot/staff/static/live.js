// One escalation: the conversation as it happens, and the handler's messages.
"use strict";

const LIVE_MILLISECONDS = 1500;
const SPEAKERS = { relative: "Anhörig", staff: "Personal", bot: "Vägvisaren" };

function transcriptLine(line) {
  const item = document.createElement("li");
  item.className = `from-${line.speaker}`;
  item.appendChild(text("span", SPEAKERS[line.speaker] || line.speaker, "speaker"));
  const time = text("time", formatTime(line.at, false));
  time.setAttribute("datetime", line.at);
  item.appendChild(time);
  item.appendChild(document.createTextNode(" "));
  item.appendChild(text("span", line.text, "text"));
  return item;
}

function presenceText(data) {
  if (data.conversation === "gone") return "Samtalet finns inte längre (raderat av den anhöriga eller efter lagringstiden).";
  if (data.relative_connected === true) return "Den anhöriga har chatten öppen.";
  if (data.relative_connected === false) {
    return `Den anhöriga har lämnat chatten (${formatTime(data.presence_since, false)}).`;
  }
  return "";
}

// "Den anhöriga skriver …" (partials/typing.html) while the relative types; the text is
// changed only when it changes, so a screen reader says it once.
function showRelativeTyping(typing) {
  const indicator = document.getElementById("relative-typing");
  if (!indicator) return;
  const wanted = typing ? indicator.dataset.text : "";
  if (indicator.textContent !== wanted) indicator.textContent = wanted;
}

async function refreshLive(section, list, presence) {
  const id = encodeURIComponent(section.dataset.escalation);
  const response = await fetch(`/escalations/${id}/live.json?after=${section.dataset.after}`, {
    credentials: "same-origin",
  });
  if (response.status === 401) {
    window.location.assign("/login");
    return;
  }
  if (!response.ok) return;
  const data = await response.json();
  for (const line of data.lines) {
    list.appendChild(transcriptLine(line));
    section.dataset.after = String(line.id);
  }
  if (data.lines.length) list.lastElementChild.scrollIntoView({ block: "nearest" });
  presence.textContent = presenceText(data);
  showRelativeTyping(data.relative_typing === true);
  const mine = data.handoff_mine ? "yes" : "no";
  if (mine !== section.dataset.mine) window.location.reload();
}

function startHandoffForm(form, csrf) {
  const textarea = document.getElementById("handoff-text");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = textarea.value;
    if (!value.trim()) return;
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": csrf,
      },
      body: JSON.stringify({ text: value }),
    });
    if (response.ok) {
      textarea.value = "";
      textarea.focus();
    } else {
      const notice = document.getElementById("presence");
      const answer = await response.json().catch(() => ({}));
      notice.textContent = answer.message || "Meddelandet kunde inte skickas. Försök igen.";
    }
  });
}

function startLive() {
  const section = document.getElementById("handoff");
  const list = document.getElementById("transcript");
  const presence = document.getElementById("presence");
  if (!section || !list || !presence) return;
  const form = document.getElementById("handoff-form");
  if (form) startHandoffForm(form, form.querySelector('input[name="csrf"]').value);
  refreshLive(section, list, presence).catch(() => {});
  setInterval(() => refreshLive(section, list, presence).catch(() => {}), LIVE_MILLISECONDS);
}

document.addEventListener("DOMContentLoaded", startLive);
