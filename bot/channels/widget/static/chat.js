/*
 * Vägvisaren's web chat, in its frame (chat.html, on the bot's own origin) on the host page.
 *
 * Served by the Rasa server (bot/channels/widget/assets.py), which wraps this file with the
 * Socket.IO client (as `io`, never a global) and `CONFIG` (interface texts from
 * data/texts/widget.yml, the sites allowed to embed it, paths). No build step, no third-party
 * requests, no cookies: the conversation id and the messages live in this tab's
 * sessionStorage of the bot's origin only, out of reach of the host page's scripts.
 *
 * The loader on the host page (widget.js) owns the chat button and the frame. The two
 * talk by postMessage, each checking the other's origin and window, and only in actions:
 * to the loader "ready" (with whether the chat is open), "unread", "close" and "exit";
 * from it "open" and "escape". No conversation text and no id ever goes to the host page.
 *
 * Protocol (bot/channels/socketio.py PrivateSocketIOInput): on every connect the widget sends
 * `session_request` {session_id} and waits for `session_confirm` <id>; the server keeps an
 * id it issued and replaces any other. Messages go out as `user_uttered`
 * {session_id, message} and come back as `bot_uttered` {text, quick_replies?, sender?};
 * `sender: "staff"` marks a message a person on the staff wrote.
 *
 * Typing and the queue for a person: while the relative types, `typing` {session_id} goes
 * out at most every 3 s (that they type, never what). `staff_typing` says a person on the
 * staff is typing ("Personal skriver…" for a few seconds, or until their message). Once the
 * bot has queued the relative for a person, the server sends `queue_changed`; the widget
 * then asks `queue_place` {session_id} (answered with {waiting, place, typical_minutes,
 * handler_available}) at once and every 15 s while they wait, and shows their place until
 * a person joins or the wait ends.
 */
/* global io, CONFIG */
"use strict";

var STORAGE_KEY = "vagvisaren-chat";
var MAX_STORED_MESSAGES = 200;
var ESCAPE_TWICE_MS = 1000;
var TYPING_TIMEOUT_MS = 15000;
var STAFF_TYPING_MS = 6000;
var TYPING_SIGNAL_MS = 3000;
var QUEUE_ASK_MS = 15000;
// What the "show me where to turn" button sends: the request for a person again, which the
// bot answers with the contacts when nobody on the staff is available.
var REQUEST_HUMAN_PAYLOAD = "/request_human";
var DELETE_SETTLE_MS = 1500;
var DELETE_TIMEOUT_MS = 15000;

var MESSAGE_CHANNEL = "vagvisaren";

var texts = CONFIG.texts;

// ---------------------------------------------------------------- the host page

// The page that shows this frame: the loader names it in the address's fragment; where
// the browser tells the real one (location.ancestorOrigins) that one counts. It must be
// one of the allowed sites. A wrong name only silences the frame: postMessage delivers
// nothing to a window of another origin.
var hostOrigin = (function () {
  if (window.parent === window) return null;
  var named = "";
  try {
    named = decodeURIComponent(window.location.hash.replace(/^#host=/, ""));
  } catch (error) {
    /* malformed: no host */
  }
  var ancestors = window.location.ancestorOrigins;
  var origin = ancestors && ancestors.length && ancestors[0] !== "null" ? ancestors[0] : named;
  var allowed = CONFIG.hostOrigins;
  if (!/^https?:\/\/[^/]+$/.test(origin)) return null;
  return allowed.length === 0 || allowed.indexOf(origin) >= 0 ? origin : null;
})();

// Only an action, and whether the chat is open: nothing of the conversation.
function tellHost(action, open) {
  if (!hostOrigin) return;
  window.parent.postMessage({ channel: MESSAGE_CHANNEL, action: action, open: open === true }, hostOrigin);
}

function onHostMessage(event) {
  if (!hostOrigin || event.source !== window.parent || event.origin !== hostOrigin) return;
  var data = event.data;
  if (!data || data.channel !== MESSAGE_CHANNEL) return;
  if (data.action === "open") openPanel();
  else if (data.action === "escape") onEscape();
}

// ---------------------------------------------------------------- storage (this tab only)

var storage = (function () {
  try {
    var probe = "vagvisaren-probe";
    window.sessionStorage.setItem(probe, probe);
    window.sessionStorage.removeItem(probe);
    return window.sessionStorage;
  } catch (error) {
    return null; // storage blocked: the chat still works, it just does not survive a reload
  }
})();

function emptyState() {
  return { sessionId: null, messages: [], open: false, waiting: false };
}

function loadState() {
  if (!storage) return emptyState();
  try {
    var saved = JSON.parse(storage.getItem(STORAGE_KEY) || "null");
    if (saved && Array.isArray(saved.messages)) {
      return {
        sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
        messages: saved.messages.filter(isStoredMessage),
        open: saved.open === true,
        waiting: saved.waiting === true,
      };
    }
  } catch (error) {
    /* unreadable: start afresh */
  }
  return emptyState();
}

function isStoredMessage(message) {
  return message && typeof message.text === "string" && typeof message.from === "string";
}

function saveState() {
  if (!storage) return;
  state.messages = state.messages.slice(-MAX_STORED_MESSAGES);
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(state));
  } catch (error) {
    /* full or blocked: the page still shows the conversation */
  }
}

function wipeState() {
  state = emptyState();
  if (storage) {
    try {
      storage.removeItem(STORAGE_KEY);
    } catch (error) {
      /* nothing stored */
    }
  }
}

var state = loadState();

// ---------------------------------------------------------------- building the interface

var ids = 0;

function uniqueId(name) {
  ids += 1;
  return "vv-" + name + "-" + ids;
}

var titleId = uniqueId("title");
var exitHintId = uniqueId("exit-hint");
var exitButton = el("button", {
  type: "button",
  className: "vv-exit",
  "aria-describedby": exitHintId,
  text: texts.quick_exit,
});
// The name is in the button's text (hidden visually), so it is what a speech user says.
var closeButton = el("button", { type: "button", className: "vv-close", title: texts.close }, [
  el("span", { "aria-hidden": "true", text: "\u2013" }),
  el("span", { className: "vv-sr-only", text: texts.close }),
]);
var header = el("div", { className: "vv-header" }, [
  el("div", { className: "vv-heading" }, [
    el("h2", { id: titleId, className: "vv-title", text: texts.title }),
    el("p", { className: "vv-subtitle", text: texts.subtitle }),
  ]),
  el("div", { className: "vv-header-buttons" }, [exitButton, closeButton]),
  el("p", { id: exitHintId, className: "vv-sr-only", text: texts.quick_exit_hint }),
]);

var statusText = el("span", { className: "vv-status-text" });
var retryButton = el("button", { type: "button", className: "vv-retry", hidden: true, text: texts.retry });
var statusBar = el("div", { className: "vv-status", "data-state": "connecting" }, [
  el("span", { className: "vv-status-light", "aria-hidden": "true" }),
  el("span", { role: "status", "aria-live": "polite" }, [statusText]),
  retryButton,
]);

var log = el("div", { className: "vv-log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
var note = el("p", { className: "vv-note", text: texts.shared_computer_note });
// Focusable, so the conversation can be scrolled with the keyboard.
var scroller = el("div", { className: "vv-scroll", role: "region", tabindex: "0", "aria-label": texts.log_label }, [
  note,
  log,
]);

var typingLabel = el("span", { text: texts.typing });
var typing = el("div", { className: "vv-typing", hidden: true }, [
  el("span", { className: "vv-typing-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
  typingLabel,
]);

// The relative's place in the queue for a person, while they wait. The live region is
// always there (empty when nobody waits), so a screen reader says each new place.
var queueText = el("p", { className: "vv-queue-text", role: "status", "aria-live": "polite" });
var queueContactsButton = el("button", {
  type: "button",
  className: "vv-secondary",
  hidden: true,
  text: texts.queue_contacts,
});
var queueBox = el("div", { className: "vv-queue" }, [queueText, queueContactsButton]);

var notice = el("p", { className: "vv-notice", role: "alert", hidden: true });

var inputId = uniqueId("input");
var input = el("textarea", {
  id: inputId,
  className: "vv-input",
  rows: "2",
  maxlength: String(CONFIG.maxMessageChars),
  placeholder: texts.input_placeholder,
  autocomplete: "off",
});
var sendButton = el("button", { type: "submit", className: "vv-send", text: texts.send });
var form = el("form", { className: "vv-form" }, [
  el("label", { for: inputId, className: "vv-sr-only", text: texts.input_label }),
  input,
  sendButton,
]);

var confirmTextId = uniqueId("confirm");
var confirmYes = el("button", { type: "button", className: "vv-danger", text: texts.delete_confirm });
var confirmNo = el("button", { type: "button", className: "vv-secondary", text: texts.delete_cancel });
var confirmBox = el(
  "div",
  { className: "vv-confirm", role: "group", "aria-labelledby": confirmTextId, hidden: true },
  [
    el("p", { id: confirmTextId, text: texts.delete_confirm_text, tabindex: "-1" }),
    el("div", { className: "vv-confirm-buttons" }, [confirmYes, confirmNo]),
  ],
);

var deleteButton = el("button", { type: "button", className: "vv-delete", text: texts.delete });
var newConversationButton = el("button", {
  type: "button",
  className: "vv-primary",
  hidden: true,
  text: texts.new_conversation,
});
var footer = el("div", { className: "vv-footer" }, [deleteButton, newConversationButton]);

var panel = el(
  "section",
  { id: "vv-panel", className: "vv-panel", role: "dialog", "aria-labelledby": titleId, hidden: true },
  [header, statusBar, scroller, typing, queueBox, notice, confirmBox, form, footer],
);

// The chat is the main content of its own page; on the host page the loader's
// complementary landmark holds the frame.
var root = el("main", { className: "vv", "aria-label": texts.title }, [panel]);

// ---------------------------------------------------------------- messages

var WHO = { user: texts.you, bot: texts.bot, staff: texts.staff };

function timeLabel(iso) {
  var date = new Date(iso);
  if (isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit" });
}

function renderMessage(message, previous) {
  var node = el("div", { className: "vv-msg vv-from-" + message.from });
  if (message.from === "system") {
    node.appendChild(el("p", { className: "vv-text", text: message.text }));
    return node;
  }
  // The sender is always read out; it is shown when it changes.
  var sameSender = previous && previous.from === message.from;
  node.appendChild(
    el("span", { className: sameSender ? "vv-who vv-sr-only" : "vv-who", text: WHO[message.from] + ": " }),
  );
  node.appendChild(el("p", { className: "vv-text", text: message.text }));
  if (message.time) {
    node.appendChild(el("time", { className: "vv-time", datetime: message.time, text: timeLabel(message.time) }));
  }
  if (message.buttons && message.buttons.length) node.appendChild(renderChoices(message.buttons));
  return node;
}

function renderChoices(buttons) {
  var group = el("div", { className: "vv-choices", role: "group", "aria-label": texts.choices_label });
  buttons.forEach(function (button) {
    var choice = el("button", { type: "button", className: "vv-choice", text: button.title });
    choice.addEventListener("click", function () {
      if (sendMessage(button.payload, button.title)) input.focus();
    });
    group.appendChild(choice);
  });
  return group;
}

function renderAll() {
  log.textContent = "";
  state.messages.forEach(function (message, index) {
    log.appendChild(renderMessage(message, state.messages[index - 1]));
  });
  scrollToEnd();
}

function addMessage(message) {
  var previous = state.messages[state.messages.length - 1];
  state.messages.push(message);
  saveState();
  log.appendChild(renderMessage(message, previous));
  scrollToEnd();
  if (panel.hidden && message.from !== "user") tellHost("unread");
}

function removeChoices() {
  var changed = false;
  state.messages.forEach(function (message) {
    if (message.buttons) {
      delete message.buttons;
      changed = true;
    }
  });
  if (changed) saveState();
  Array.prototype.forEach.call(log.querySelectorAll(".vv-choices"), function (group) {
    group.remove();
  });
}

function scrollToEnd() {
  scroller.scrollTop = scroller.scrollHeight;
}

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

// ---------------------------------------------------------------- typing indicator

var typingTimer = null;

// The bot's answer is on its way (after the relative's message), or, with `label`, a person
// on the staff is typing.
function showTyping(label, milliseconds) {
  typingLabel.textContent = label || texts.typing;
  typing.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, milliseconds || TYPING_TIMEOUT_MS);
}

function onStaffTyping() {
  if (deletion) return;
  showTyping(texts.staff_typing, STAFF_TYPING_MS);
}

// That the relative types, never what, at most every TYPING_SIGNAL_MS.
var lastTypingSignal = 0;

function signalTyping() {
  if (!ready || !socket || !input.value.trim()) return;
  var now = Date.now();
  if (now - lastTypingSignal < TYPING_SIGNAL_MS) return;
  lastTypingSignal = now;
  socket.emit("typing", { session_id: state.sessionId });
}

// ---------------------------------------------------------------- the queue for a person

var queueTimer = null;

function askQueuePlace() {
  if (!ready || !socket) return;
  socket.emit("queue_place", { session_id: state.sessionId }, onQueuePlace);
}

function onQueuePlace(answer) {
  if (!answer || typeof answer !== "object" || answer.unknown === true) return; // keep what is shown
  if (answer.waiting !== true) {
    stopWaiting();
    return;
  }
  if (!state.waiting) {
    state.waiting = true;
    saveState();
  }
  if (!queueTimer) queueTimer = setInterval(askQueuePlace, QUEUE_ASK_MS);
  showQueuePlace(answer);
}

function queueWords(answer) {
  if (answer.handler_available !== true) return texts.queue_no_handler;
  var place = texts.queue_place.replace("{place}", String(Number(answer.place) || 1));
  var minutes = Number(answer.typical_minutes);
  var wait = texts.queue_wait_unknown;
  if (minutes === 1) wait = texts.queue_wait_one;
  else if (minutes > 1) wait = texts.queue_wait.replace("{minutes}", String(minutes));
  return place + " " + wait;
}

function showQueuePlace(answer) {
  var words = queueWords(answer);
  if (queueText.textContent !== words) queueText.textContent = words; // said once, not every 15 s
  queueContactsButton.hidden = answer.handler_available === true;
}

function stopWaiting() {
  clearInterval(queueTimer);
  queueTimer = null;
  queueText.textContent = "";
  queueContactsButton.hidden = true;
  if (state.waiting) {
    state.waiting = false;
    saveState();
  }
}

function hideTyping() {
  typing.hidden = true;
  clearTimeout(typingTimer);
}

// ---------------------------------------------------------------- connection

var socket = null;
var ready = false; // connected and the session confirmed: messages can go out
var deletion = null; // while a deletion is under way: {replies, timer}

function setStatus(name, attempt) {
  var label = texts["status_" + name] || "";
  statusText.textContent = label.replace("{attempt}", String(attempt || 1));
  statusBar.setAttribute("data-state", name);
  retryButton.hidden = !(name === "reconnecting" && attempt >= 3) && name !== "offline";
  var blocked = name !== "connected";
  sendButton.disabled = blocked;
  input.setAttribute("aria-disabled", blocked ? "true" : "false");
  Array.prototype.forEach.call(log.querySelectorAll(".vv-choice"), function (choice) {
    choice.disabled = blocked;
  });
}

function connect() {
  if (socket) return;
  setStatus("connecting");
  socket = io(window.location.origin, {
    path: CONFIG.socketPath,
    // A websocket first (no sticky sessions needed behind a load balancer); long-polling
    // when something on the way blocks websockets.
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    withCredentials: false,
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5,
    timeout: 10000,
  });
  socket.on("connect", function () {
    socket.emit("session_request", { session_id: state.sessionId });
  });
  socket.on("session_confirm", onSessionConfirm);
  socket.on(CONFIG.botMessageEvent, onBotMessage);
  socket.on("staff_typing", onStaffTyping);
  socket.on("queue_changed", askQueuePlace);
  socket.on("disconnect", function (reason) {
    ready = false;
    setStatus(navigator.onLine === false ? "offline" : "reconnecting", 1);
    // The server closing the socket on purpose is the one case the client does not retry.
    if (reason === "io server disconnect") setTimeout(function () { if (socket) socket.connect(); }, 2000);
  });
  socket.on("connect_error", function () {
    ready = false;
  });
  socket.io.on("reconnect_attempt", function (attempt) {
    setStatus(navigator.onLine === false ? "offline" : "reconnecting", attempt);
  });
}

function disconnect() {
  ready = false;
  if (socket) {
    socket.removeAllListeners();
    socket.io.removeAllListeners();
    socket.disconnect();
    socket = null;
  }
}

function onSessionConfirm(sessionId) {
  if (typeof sessionId !== "string" || !sessionId) return;
  var replaced = state.sessionId && state.sessionId !== sessionId;
  var isNew = state.sessionId !== sessionId;
  if (replaced) {
    state.messages = [];
    renderAll();
    addMessage({ from: "system", text: texts.session_replaced });
  }
  state.sessionId = sessionId;
  saveState();
  ready = true;
  setStatus("connected");
  if (state.waiting) askQueuePlace(); // after a reload or a reconnect: still waiting?
  // A new conversation starts with the bot's privacy notice, before the relative writes.
  if (isNew) emit(CONFIG.startPayload);
}

function onBotMessage(data) {
  if (!data || typeof data !== "object") return;
  var text = typeof data.text === "string" ? data.text : "";
  var buttons = (Array.isArray(data.quick_replies) ? data.quick_replies : [])
    .filter(function (button) {
      return button && typeof button.title === "string" && typeof button.payload === "string";
    })
    .map(function (button) {
      return { title: button.title, payload: button.payload };
    });
  if (!text && !buttons.length) return;
  var message = {
    from: data.sender === "staff" ? "staff" : "bot",
    text: text,
    time: new Date().toISOString(),
  };
  if (buttons.length) message.buttons = buttons;
  hideTyping();
  // Once a person has joined, the bot's earlier buttons no longer apply.
  if (message.from === "staff") removeChoices();
  if (deletion) {
    deletion.replies.push(message);
    clearTimeout(deletion.timer);
    deletion.timer = setTimeout(finishDeletion, DELETE_SETTLE_MS);
    return;
  }
  addMessage(message);
}

function emit(text) {
  if (!ready || !socket) return false;
  socket.emit(CONFIG.userMessageEvent, { session_id: state.sessionId, message: text });
  return true;
}

// Sends what the relative wrote or chose; `shown` is what appears as their message.
function sendMessage(text, shown) {
  if (!ready) return false;
  if (text.length > CONFIG.maxMessageChars) {
    showNotice(texts.message_too_long);
    return false;
  }
  removeChoices();
  showNotice("");
  emit(text);
  lastTypingSignal = 0; // the next message's typing is said at once
  addMessage({ from: "user", text: shown, time: new Date().toISOString() });
  showTyping();
  return true;
}

// ---------------------------------------------------------------- opening and closing

// The loader has shown the frame and given it focus.
function openPanel(keepFocus) {
  panel.hidden = false;
  state.open = true;
  saveState();
  connect();
  scrollToEnd();
  if (!keepFocus) input.focus();
}

// The loader hides the frame and gives focus back to the chat button.
function closePanel() {
  panel.hidden = true;
  state.open = false;
  saveState();
  tellHost("close");
}

// ---------------------------------------------------------------- deleting

function askToDelete() {
  if (!ready) {
    showNotice(texts.delete_offline);
    return;
  }
  confirmBox.hidden = false;
  confirmBox.querySelector("p").focus();
}

function cancelDelete() {
  confirmBox.hidden = true;
  deleteButton.focus();
}

function confirmDelete() {
  confirmBox.hidden = true;
  if (!emit(CONFIG.deletePayload)) {
    showNotice(texts.delete_offline);
    return;
  }
  showTyping();
  deletion = { replies: [], timer: setTimeout(deletionUnconfirmed, DELETE_TIMEOUT_MS) };
}

function deletionUnconfirmed() {
  // No answer: the conversation may still be stored, so nothing is wiped here.
  deletion = null;
  hideTyping();
  showNotice(texts.delete_offline);
}

function finishDeletion() {
  var replies = deletion ? deletion.replies : [];
  deletion = null;
  stopWaiting();
  disconnect();
  wipeState();
  renderAll();
  // The bot's confirmation (with the emergency number) is shown but not kept.
  replies.concat([{ from: "system", text: texts.deleted }]).forEach(function (reply, index, all) {
    log.appendChild(renderMessage({ from: reply.from, text: reply.text, time: reply.time }, all[index - 1]));
  });
  statusBar.hidden = true;
  form.hidden = true;
  deleteButton.hidden = true;
  newConversationButton.hidden = false;
  newConversationButton.focus();
}

function startNewConversation() {
  log.textContent = "";
  statusBar.hidden = false;
  form.hidden = false;
  deleteButton.hidden = false;
  newConversationButton.hidden = true;
  state.open = true;
  saveState();
  connect();
  input.focus();
}

// ---------------------------------------------------------------- quick exit

// The chat is wiped here; the loader then blanks the host page and replaces it with the
// neutral one (only the top page can take the tab's place in its history).
function quickExit() {
  stopWaiting();
  disconnect();
  wipeState();
  try {
    root.remove();
    document.body.textContent = "";
  } catch (error) {
    /* leave anyway */
  }
  tellHost("exit");
}

var lastEscape = 0;

function onKeyDown(event) {
  if (event.key !== "Escape" || event.repeat) return;
  onEscape();
}

// Escape pressed here or, told by the loader, on the host page: twice within a second
// is a quick exit.
function onEscape() {
  // Only once the chat is in use, so Escape keeps its usual meaning for other visitors.
  if (panel.hidden && !state.sessionId) return;
  var now = Date.now();
  if (now - lastEscape < ESCAPE_TWICE_MS) {
    quickExit();
    return;
  }
  lastEscape = now;
  if (!confirmBox.hidden) cancelDelete();
}

// ---------------------------------------------------------------- wiring

closeButton.addEventListener("click", closePanel);
exitButton.addEventListener("click", quickExit);
retryButton.addEventListener("click", function () {
  if (!socket) return connect();
  socket.disconnect();
  socket.connect();
});
deleteButton.addEventListener("click", askToDelete);
confirmYes.addEventListener("click", confirmDelete);
confirmNo.addEventListener("click", cancelDelete);
newConversationButton.addEventListener("click", startNewConversation);
queueContactsButton.addEventListener("click", function () {
  if (sendMessage(REQUEST_HUMAN_PAYLOAD, texts.queue_contacts)) input.focus();
});
input.addEventListener("input", signalTyping);
form.addEventListener("submit", function (event) {
  event.preventDefault();
  var text = input.value.trim();
  if (!text) return;
  if (sendMessage(text, text)) input.value = "";
});
input.addEventListener("keydown", function (event) {
  // Enter sends, Shift+Enter makes a new line.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
document.addEventListener("keydown", onKeyDown, true);
window.addEventListener("message", onHostMessage);
// The device itself has no network: say so, and try again the moment it is back.
window.addEventListener("offline", function () {
  if (socket && !ready) setStatus("offline");
});
window.addEventListener("online", function () {
  if (socket && !ready) {
    socket.disconnect();
    socket.connect();
  }
});

function mount() {
  document.body.appendChild(root);
  renderAll();
  setStatus("connecting");
  if (state.open) openPanel(true); // after a reload: open, but focus stays put
  else if (state.sessionId) connect(); // so a staff member's message still arrives
  tellHost("ready", state.open);
}

if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount);
