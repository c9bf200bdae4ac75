// The queue page: it updates itself every few seconds.
"use strict";

const POLL_MILLISECONDS = 5000;

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
