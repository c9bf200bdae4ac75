// The queue page: it updates itself every few seconds from queue.json, drawing the same
// cells as the server's page (templates/queue.html) with the words that page gives it
// (template#labels). The waiting minutes come from the server, counted on its clock, so a
// handler's wrong computer clock changes nothing. Every value is written as text.
"use strict";

// In a scope of its own: every page loads all the dashboard's scripts, whose top-level
// names would otherwise be one global namespace (supervisor.js has a `cell` too).
(() => {
  const POLL_MILLISECONDS = 5000;

  function cell(...children) {
    const element = document.createElement("td");
    for (const child of children) {
      if (child === null || child === undefined) continue;
      element.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return element;
  }

  function badge(value) {
    return text("span", value, "badge");
  }

  // "12 min", "1 h 5 min"; warn and alert also carry an icon and a word (not colour alone).
  function waitingCell(item, labels) {
    const minutes = item.waiting_minutes;
    if (minutes === null || minutes === undefined) return cell(text("span", "–", "wait wait-none"));
    const span = document.createElement("span");
    span.className = `wait wait-${item.waiting_class}`;
    const icon = labels.waitIcon[item.waiting_class];
    if (icon) {
      const mark = text("span", `${icon} `);
      mark.setAttribute("aria-hidden", "true");
      span.appendChild(mark);
    }
    const shown = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
    span.appendChild(document.createTextNode(shown));
    const word = labels.waitWord[item.waiting_class];
    if (word) {
      span.appendChild(document.createTextNode(" "));
      span.appendChild(text("span", `(${word})`, "wait-word"));
    }
    return cell(span);
  }

  function previewCell(item, labels) {
    const element = document.createElement("td");
    element.className = "preview";
    if (item.preview) element.textContent = item.preview;
    else element.appendChild(text("span", item.wants_person ? labels.wantsPerson : "–", "muted"));
    return element;
  }

  function levelCell(item, labels) {
    const link = text("a", `${labels.levels[item.level] || item.level} · ${labels.number} ${item.id}`);
    link.href = `/escalations/${encodeURIComponent(item.id)}`;
    const element = cell(link);
    if (item.wants_person) element.append(" ", badge(labels.wantsPerson));
    if (item.confirmed) element.append(" ", badge(labels.confirmed));
    return element;
  }

  function selectCell(item, labels, checked) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "ids";
    box.value = String(item.id);
    box.setAttribute("form", "bulk");
    box.setAttribute("aria-label", `${labels.select} ${item.id}`);
    box.checked = checked.has(String(item.id));
    return cell(box);
  }

  function queueRow(item, labels, admin, checked) {
    const row = document.createElement("tr");
    row.className = `level-${item.level}`;
    row.dataset.id = String(item.id);
    if (admin) row.appendChild(selectCell(item, labels, checked));
    row.appendChild(levelCell(item, labels));
    row.appendChild(waitingCell(item, labels));
    row.appendChild(previewCell(item, labels));
    row.appendChild(cell(item.subjects.map((s) => labels.subjects[s] || s).join(", ")));
    row.appendChild(cell(labels.presence[item.presence] || "–"));
    const holder = cell(item.claimed_by || "–");
    if (item.in_handoff) holder.append(" ", badge(labels.inConversation));
    row.appendChild(holder);
    row.appendChild(cell(labels.statuses[item.status] || item.status));
    row.appendChild(cell(item.categories.map((c) => labels.categories[c] || c).join(", ")));
    return row;
  }

  function emptyRow(labels, admin) {
    const empty = document.createElement("tr");
    empty.className = "empty";
    const element = cell(labels.empty);
    element.colSpan = admin ? 9 : 8;
    empty.appendChild(element);
    return empty;
  }

  // The boxes a handler has ticked survive the refresh (for the rows still shown).
  function checkedIds(table) {
    const ids = new Set();
    for (const box of table.querySelectorAll('tbody input[name="ids"]:checked')) ids.add(box.value);
    return ids;
  }

  function showWorking(names) {
    const element = document.getElementById("working");
    if (element) element.textContent = names.length ? names.join(", ") : element.dataset.none;
  }

  async function refreshQueue(table, labels) {
    const query = new URLSearchParams();
    if (table.dataset.status) query.set("status", table.dataset.status);
    if (table.dataset.level) query.set("level", table.dataset.level);
    if (table.dataset.sort) query.set("sort", table.dataset.sort);
    const response = await fetch(`/queue.json?${query}`, { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.assign("/login");
      return;
    }
    if (!response.ok) return;
    const data = await response.json();
    const admin = table.dataset.admin === "yes";
    const checked = checkedIds(table);
    const rows = data.items.map((item) => queueRow(item, labels, admin, checked));
    if (rows.length === 0) rows.push(emptyRow(labels, admin));
    table.tBodies[0].replaceChildren(...rows);
    syncSelectAll(table);
    for (const element of document.querySelectorAll("[data-count]")) {
      const value = data.counts[element.dataset.count];
      if (value !== undefined) element.textContent = String(value);
    }
    showWorking(data.working || []);
  }

  // "Select all shown": ticks every row's box; it shows ticked when every row is.
  function syncSelectAll(table) {
    const all = document.getElementById("select-all");
    if (!all) return;
    const boxes = [...table.querySelectorAll('tbody input[name="ids"]')];
    all.checked = boxes.length > 0 && boxes.every((box) => box.checked);
  }

  function startSelectAll(table) {
    const all = document.getElementById("select-all");
    if (!all) return;
    all.addEventListener("change", () => {
      for (const box of table.querySelectorAll('tbody input[name="ids"]')) box.checked = all.checked;
    });
    table.addEventListener("change", (event) => {
      if (event.target !== all) syncSelectAll(table);
    });
  }

  function readLabels(source) {
    const read = (name) => JSON.parse(source.dataset[name]);
    return {
      levels: read("levels"),
      statuses: read("statuses"),
      categories: read("categories"),
      subjects: read("subjects"),
      confirmed: read("confirmed"),
      wantsPerson: read("wantsPerson"),
      inConversation: read("inConversation"),
      presence: read("presence"),
      waitIcon: read("waitIcon"),
      waitWord: read("waitWord"),
      number: read("number"),
      select: read("select"),
      empty: read("empty"),
    };
  }

  function startQueue() {
    const table = document.getElementById("queue");
    const labelSource = document.getElementById("labels");
    if (!table || !labelSource) return;
    const labels = readLabels(labelSource);
    startSelectAll(table);
    setInterval(() => refreshQueue(table, labels).catch(() => {}), POLL_MILLISECONDS);
  }

  document.addEventListener("DOMContentLoaded", startQueue);
})();
