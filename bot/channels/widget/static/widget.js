/*
 * Vägvisaren's web chat widget: one <script> tag on any page. This is the loader.
 *
 * Served by the Rasa server (bot/channels/widget/assets.py), which wraps this file with `CONFIG`
 * (the button's texts, the quick-exit address, paths). It makes the chat button and a
 * frame of the bot's own origin (chat.html), in which the chat runs: its interface, its
 * socket and the conversation id in that origin's sessionStorage. A script of the host
 * page cannot read another origin's document or storage, so nothing here holds or passes
 * on any of the conversation.
 *
 * The frame and this loader talk by postMessage, each checking the other's origin and
 * window, and only in actions: from the frame "ready" (with whether the chat is open),
 * "unread", "close" and "exit"; to the frame "open" and "escape" (the host page's Escape
 * presses, so Esc twice leaves wherever the focus is). On "exit" the loader blanks the
 * page and replaces it with the neutral one: only the top page can take the tab's place
 * in its history.
 */
/* global CONFIG */
"use strict";

var MESSAGE_CHANNEL = "vagvisaren";

var script = document.currentScript;
var texts = CONFIG.texts;
var serverOrigin = new URL(script.src, document.baseURI).origin;
var exitUrl = (script.dataset && script.dataset.exitUrl) || CONFIG.exitUrl;

// A shadow root keeps the host page's styles off the button and the frame.
var host = el("div", { id: "vagvisaren-chat", hidden: true });
var shadow = host.attachShadow({ mode: "open" });
var stylesheet = el("link", { rel: "stylesheet", href: serverOrigin + CONFIG.cssPath });
var styled = false;
stylesheet.addEventListener("load", function () {
  styled = true;
  reveal();
});
shadow.appendChild(stylesheet);

// Shown once the stylesheet is there, so the page never flashes an unstyled button, and
// once the chat has loaded in its frame: a site that may not embed it (the frame is
// refused) or a server that is down shows no button that cannot work.
function reveal() {
  if (styled && frameReady) host.hidden = false;
}

var launcherDot = el("span", { className: "vv-dot", hidden: true, "aria-hidden": "true" });
var launcher = el(
  "button",
  { type: "button", className: "vv-launcher", "aria-expanded": "false", "aria-controls": "vv-frame" },
  [el("span", { text: texts.launcher }), launcherDot],
);
// The fragment tells the chat which page it is on (never sent to the server); the chat
// checks it against the allowed sites and talks to no other.
var frame = el("iframe", {
  id: "vv-frame",
  className: "vv-frame",
  title: texts.frame_title,
  src: serverOrigin + CONFIG.chatPath + "#host=" + encodeURIComponent(window.location.origin),
  referrerpolicy: "no-referrer",
  hidden: true,
});

// A complementary landmark: the chat is not part of the page's own content.
var root = el("aside", { className: "vv", lang: "sv", "aria-label": texts.title }, [launcher, frame]);
shadow.appendChild(root);

// ---------------------------------------------------------------- talking to the frame

var frameReady = false; // the chat has loaded in the frame (the button shows only then)

function tellFrame(action) {
  frame.contentWindow.postMessage({ channel: MESSAGE_CHANNEL, action: action }, serverOrigin);
}

function onFrameMessage(event) {
  if (event.source !== frame.contentWindow || event.origin !== serverOrigin) return;
  var data = event.data;
  if (!data || data.channel !== MESSAGE_CHANNEL) return;
  if (data.action === "ready") onFrameReady(data.open === true);
  else if (data.action === "unread") launcherDot.hidden = !frame.hidden;
  else if (data.action === "close") hideFrame();
  else if (data.action === "exit") quickExit();
}

function onFrameReady(open) {
  frameReady = true;
  reveal();
  if (open) showFrame(); // after a reload: open, but focus stays put
}

// ---------------------------------------------------------------- opening and closing

function showFrame() {
  frame.hidden = false;
  launcher.hidden = true;
  launcher.setAttribute("aria-expanded", "true");
  launcherDot.hidden = true;
}

function openChat() {
  showFrame();
  // Focus into the frame; the chat then moves it to where one writes.
  frame.focus();
  tellFrame("open");
}

function hideFrame() {
  frame.hidden = true;
  launcher.hidden = false;
  launcher.setAttribute("aria-expanded", "false");
  launcher.focus();
}

// ---------------------------------------------------------------- quick exit

function quickExit() {
  // Nothing of the chat stays on screen while the neutral page loads...
  try {
    host.remove();
    document.title = "";
    if (document.body) document.body.textContent = "";
  } catch (error) {
    /* leave anyway */
  }
  // ...and replace() takes this page's place in the tab's history: Back does not return.
  window.location.replace(exitUrl);
}

// The chat counts the presses (it knows whether it is in use); focus in the frame sends
// them there directly.
function onKeyDown(event) {
  if (event.key !== "Escape" || event.repeat || !frameReady) return;
  tellFrame("escape");
}

// ---------------------------------------------------------------- wiring

launcher.addEventListener("click", openChat);
window.addEventListener("message", onFrameMessage);
document.addEventListener("keydown", onKeyDown, true);

function mount() {
  document.body.appendChild(host);
}

if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount);
