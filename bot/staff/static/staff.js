// Vägvisaren staff dashboard. Served from /static (the CSP allows no inline script).
// The queue updates itself every few seconds; every value is written as text, never as
// HTML, because relatives' conversations are hostile input.
"use strict";

const POLL_MILLISECONDS = 5000;

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value;
  if (className) element.className = className;
  return element;
}

// Times as the page shows them: the browser's clock zone (the server renders the
// deployment's, STAFF_TIME_ZONE; for Swedish staff both are Swedish time).
function formatTime(iso, withDate = true) {
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (!withDate) return clock;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock}`;
}

function queueRow(item, labels) {
  const row = document.createElement("tr");
  row.className = `level-${item.level}`;
  row.dataset.id = String(item.id);
  const levelCell = document.createElement("td");
  const link = text("a", labels.levels[item.level] || item.level);
  link.href = `/escalations/${encodeURIComponent(item.id)}`;
  levelCell.appendChild(link);
  if (item.confirmed) {
    levelCell.appendChild(document.createTextNode(" "));
    const badge = text("span", labels.confirmed);
    badge.className = "badge";
    levelCell.appendChild(badge);
  }
  row.appendChild(levelCell);
  row.appendChild(text("td", item.categories.map((c) => labels.categories[c] || c).join(", ")));
  row.appendChild(text("td", item.subjects.map((s) => labels.subjects[s] || s).join(", ")));
  row.appendChild(text("td", labels.statuses[item.status] || item.status));
  row.appendChild(text("td", formatTime(item.created_at)));
  row.appendChild(text("td", formatTime(item.updated_at)));
  row.appendChild(text("td", item.claimed_by || ""));
  return row;
}

async function refreshQueue(table, labels) {
  const query = new URLSearchParams();
  if (table.dataset.status) query.set("status", table.dataset.status);
  if (table.dataset.level) query.set("level", table.dataset.level);
  const response = await fetch(`/queue.json?${query}`, { credentials: "same-origin" });
  if (response.status === 401) {
    window.location.assign("/login");
    return;
  }
  if (!response.ok) return;
  const data = await response.json();
  const body = table.tBodies[0];
  const rows = data.items.map((item) => queueRow(item, labels));
  if (rows.length === 0) {
    const empty = document.createElement("tr");
    empty.className = "empty";
    const cell = text("td", "Inga ärenden här just nu.");
    cell.colSpan = 6;
    empty.appendChild(cell);
    rows.push(empty);
  }
  body.replaceChildren(...rows);
  for (const element of document.querySelectorAll("[data-count]")) {
    const value = data.counts[element.dataset.count];
    if (value !== undefined) element.textContent = String(value);
  }
}

function startQueue() {
  const table = document.getElementById("queue");
  const labelSource = document.getElementById("labels");
  if (!table || !labelSource) return;
  const labels = {
    levels: JSON.parse(labelSource.dataset.levels),
    statuses: JSON.parse(labelSource.dataset.statuses),
    categories: JSON.parse(labelSource.dataset.categories),
    subjects: JSON.parse(labelSource.dataset.subjects),
    confirmed: JSON.parse(labelSource.dataset.confirmed),
  };
  setInterval(() => refreshQueue(table, labels).catch(() => {}), POLL_MILLISECONDS);
}

document.addEventListener("DOMContentLoaded", startQueue);

// ---- one escalation: the conversation as it happens, and the handler's messages ----------

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
