// The supervisor's view (issue 20): /supervisor.json every few seconds, the table redrawn
// with text nodes only (the transcript lines are what relatives wrote: hostile input). The
// words come from the page (templates/supervisor.html, data-words).
"use strict";

const SUPERVISOR_MILLISECONDS = 5000;

function cell(row, ...children) {
  const td = document.createElement("td");
  for (const child of children) if (child) td.appendChild(child);
  row.appendChild(td);
  return td;
}

function caseLink(item, words) {
  const link = text("a", `${words.case} ${item.id}`);
  link.href = `/escalations/${encodeURIComponent(item.id)}`;
  return link;
}

function lastLines(item, words) {
  if (item.conversation_gone) return document.createTextNode(words.gone);
  const list = document.createElement("ol");
  list.className = "last-lines";
  for (const line of item.lines) {
    const entry = document.createElement("li");
    entry.className = `from-${line.speaker}`;
    entry.appendChild(text("span", `${words.speakers[line.speaker] || line.speaker}:`, "speaker"));
    entry.appendChild(document.createTextNode(" "));
    entry.appendChild(text("span", line.text, "text"));
    list.appendChild(entry);
  }
  return list;
}

// As the queue shows it: never colour alone, an icon and a word beside it.
function waitingText(item, words) {
  const minutes = item.waiting_minutes;
  if (minutes === null || minutes === undefined) return text("span", words.not_waiting, "wait wait-none");
  const span = document.createElement("span");
  span.className = `wait wait-${item.waiting_class}`;
  const icon = words.wait_icon[item.waiting_class];
  if (icon) {
    const mark = text("span", `${icon} `);
    mark.setAttribute("aria-hidden", "true");
    span.appendChild(mark);
  }
  const amount = minutes >= 60
    ? `${Math.floor(minutes / 60)} ${words.hours} ${minutes % 60} ${words.minutes}`
    : `${minutes} ${words.minutes}`;
  span.appendChild(document.createTextNode(amount));
  const word = words.wait_word[item.waiting_class];
  if (word) {
    span.appendChild(document.createTextNode(" "));
    span.appendChild(text("span", `(${word})`, "wait-word"));
  }
  return span;
}

function supervisorRow(item, words) {
  const row = document.createElement("tr");
  row.className = `level-${item.level}`;
  row.dataset.id = String(item.id);
  const first = cell(row, caseLink(item, words));
  if (item.wants_person) {
    first.appendChild(document.createTextNode(" "));
    first.appendChild(text("span", words.wants_person, "badge"));
  }
  cell(row, document.createTextNode(words.levels[item.level] || item.level)).className = `level-${item.level}`;
  const who = item.in_conversation ? `${words.in_conversation} ${item.in_conversation}` : words.not_in_conversation;
  cell(row, document.createTextNode(`${item.holder || ""} `), text("span", who, "small"));
  const since = text("time", formatTime(item.since, false));
  since.setAttribute("datetime", item.since);
  cell(row, since);
  cell(row, waitingText(item, words));
  cell(row, document.createTextNode(words.presence[item.presence || "unknown"]));
  cell(row, lastLines(item, words));
  return row;
}

async function refreshSupervisor(table, rows, status, words, last) {
  const response = await fetch("/supervisor.json", { credentials: "same-origin" });
  if (response.status === 401) {
    window.location.assign("/login");
    return last;
  }
  if (!response.ok) {
    status.textContent = words.failed;
    return last;
  }
  const body = await response.text();
  status.textContent = `${words.updated} ${formatTime(new Date().toISOString(), false)}`;
  // Redrawn only when something changed, so a link the keyboard is on keeps its focus.
  if (body === last) return last;
  const data = JSON.parse(body);
  const fresh = data.conversations.map((item) => supervisorRow(item, words));
  if (!fresh.length) {
    const empty = document.createElement("tr");
    empty.className = "empty";
    cell(empty, document.createTextNode(words.empty)).colSpan = 7;
    fresh.push(empty);
  }
  rows.replaceChildren(...fresh);
  return body;
}

function startSupervisor() {
  const table = document.getElementById("supervisor");
  const rows = document.getElementById("supervisor-rows");
  const status = document.getElementById("supervisor-updated");
  if (!table || !rows || !status) return;
  const words = JSON.parse(table.dataset.words);
  let last = null;
  const tick = async () => {
    try {
      last = await refreshSupervisor(table, rows, status, words, last);
    } catch (error) {
      status.textContent = words.failed;
    }
  };
  tick();
  setInterval(tick, SUPERVISOR_MILLISECONDS);
}

document.addEventListener("DOMContentLoaded", startSupervisor);
