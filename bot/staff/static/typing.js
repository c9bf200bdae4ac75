// Typing indicators in a live chat (partials/typing.html). While the handler in the
// conversation types in #handoff-text, the dashboard is told at most every 3 s, and it
// tells the relative's channel (the web chat shows "Personal skriver …", Telegram its
// "typing…"). Only that the handler types is sent, never what. A failure is silent: the
// indicator is a convenience. The relative's typing is shown by live.js.
"use strict";

const TYPING_EVERY_MILLISECONDS = 3000;

function startTyping() {
  const textarea = document.getElementById("handoff-text");
  const indicator = document.getElementById("relative-typing");
  const form = document.getElementById("handoff-form");
  if (!textarea || !indicator || !form) return;
  const url = indicator.dataset.typingUrl;
  const csrf = form.querySelector('input[name="csrf"]').value;
  let last = 0;
  textarea.addEventListener("input", () => {
    const now = Date.now();
    if (!textarea.value.trim() || now - last < TYPING_EVERY_MILLISECONDS) return;
    last = now;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    }).catch(() => {});
  });
}

document.addEventListener("DOMContentLoaded", startTyping);
