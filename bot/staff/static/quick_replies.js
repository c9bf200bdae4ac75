// Prepared answers ("snabbsvar") in a live chat (issue 20): the chosen answer's text, filled
// by the server (templates/partials/quick_replies.html), goes into the message box at the
// cursor, as plain text; the handler edits it and sends it with Skicka (live.js).
"use strict";

function insertAtCursor(area, value) {
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  area.setRangeText(value, start, end, "end");
  area.focus();
  // For whatever listens to the message box (the typing indicator).
  area.dispatchEvent(new Event("input", { bubbles: true }));
}

function startQuickReplies() {
  const choice = document.getElementById("quick-reply-choice");
  const insert = document.getElementById("quick-reply-insert");
  const area = document.getElementById("handoff-text");
  if (!choice || !insert || !area) return;
  insert.addEventListener("click", () => {
    const option = choice.selectedOptions[0];
    if (!option || !option.value) {
      choice.focus();
      return;
    }
    insertAtCursor(area, option.dataset.text || "");
    choice.value = "";
  });
}

document.addEventListener("DOMContentLoaded", startQuickReplies);
