// Vägvisaren staff dashboard: what every page's scripts share. Served from /static (the
// CSP allows no inline script). Every value is written as text, never as HTML, because
// relatives' conversations are hostile input. One file per part of the page: queue.js (the
// queue), live.js (one escalation's live chat), alerts.js, quick_replies.js, typing.js.
"use strict";

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
