// Alerts on every page of the dashboard (issue 20): for a new acute case, or a relative who
// asks for a person while nobody is in their conversation, a handler who is available for
// chats hears a short tone (Web Audio: no audio file), gets a desktop notification (the
// Notification API, only when they allowed it), sees the tab's title change and a line on
// the page with a link to the case.
//
// The page asks alerts.json (case numbers and times only) every few seconds. Each alert
// has a key (kind, number, since when: a case that opens again or a new request for a
// person is a new key); the keys already seen are kept per tab (sessionStorage), and the
// first answer in a tab only records them: opening the dashboard or moving between its
// pages does not ring for old cases. A notification names the kind and the case number
// only, never what anyone wrote.
"use strict";

// In a scope of its own: every page loads all the dashboard's scripts, whose top-level
// names would otherwise be one global namespace (supervisor.js has a `caseLink` too).
(() => {
  const ALERT_POLL_MILLISECONDS = 5000;
  const SEEN_KEY = "vv_alerts_seen";
  const MAX_NOTIFICATIONS_AT_ONCE = 3;
  const MAX_KEYS_KEPT = 1000;

  let audioContext = null;
  let unseenAlerts = 0;
  let originalTitle = document.title;

  function seenKeys() {
    try {
      const stored = window.sessionStorage.getItem(SEEN_KEY);
      return stored === null ? null : new Set(JSON.parse(stored));
    } catch {
      return null;
    }
  }

  function rememberKeys(keys) {
    try {
      const newest = [...keys].slice(-MAX_KEYS_KEPT);
      window.sessionStorage.setItem(SEEN_KEY, JSON.stringify(newest));
    } catch {
      // Storage full or refused: at worst an old case rings once more.
    }
  }

  // What alerts.json lists, each with its key: "acute:12:<opened>", "person:12:<asked>".
  function alertsOf(data) {
    const of = (kind) => (entry) => ({ key: `${kind}:${entry.id}:${entry.since}`, kind, id: entry.id });
    return [...data.acute.map(of("acute")), ...data.person.map(of("person"))];
  }

  // Browsers start audio only after the person has used the page: the context is made (or
  // resumed) on their first click or key press, and then can ring in the background.
  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      if (!audioContext) audioContext = new Context();
      if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
    } catch {
      audioContext = null;
    }
  }

  function ring() {
    unlockAudio();
    if (!audioContext) return;
    try {
      const start = audioContext.currentTime;
      for (const [offset, pitch] of [[0, 880], [0.25, 660]]) {
        const tone = audioContext.createOscillator();
        const volume = audioContext.createGain();
        tone.type = "sine";
        tone.frequency.value = pitch;
        volume.gain.setValueAtTime(0.0001, start + offset);
        volume.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
        volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.2);
        tone.connect(volume).connect(audioContext.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.22);
      }
    } catch {
      // No sound device: the title, the line and the notification still tell.
    }
  }

  function headline(alert, words) {
    return `${alert.kind === "acute" ? words.acute : words.person} – ${words.number} ${alert.id}`;
  }

  function caseLink(alert) {
    return `/escalations/${encodeURIComponent(alert.id)}`;
  }

  function notify(alert, words) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const notification = new Notification(headline(alert, words), {
        tag: alert.key,
        body: words.site,
      });
      notification.onclick = () => {
        window.focus();
        window.location.assign(caseLink(alert));
        notification.close();
      };
    } catch {
      // Some browsers allow notifications only from a service worker: the page still tells.
    }
  }

  function addLine(alert, words) {
    const lines = document.getElementById("alert-lines");
    if (!lines) return;
    const line = document.createElement("p");
    line.className = `alert-line alert-${alert.kind}`;
    const link = text("a", headline(alert, words));
    link.href = caseLink(alert);
    const close = text("button", words.close);
    close.type = "button";
    close.addEventListener("click", () => line.remove());
    line.append(link, " ", close);
    lines.prepend(line);
  }

  function drawTheEye(count, first, words) {
    unseenAlerts += count;
    document.title = `(${unseenAlerts}) ${headline(first, words)} – ${originalTitle}`;
  }

  function restoreTitle() {
    if (unseenAlerts === 0) return;
    unseenAlerts = 0;
    document.title = originalTitle;
  }

  function raise(fresh, words) {
    ring();
    drawTheEye(fresh.length, fresh[0], words);
    for (const alert of fresh) addLine(alert, words);
    for (const alert of fresh.slice(0, MAX_NOTIFICATIONS_AT_ONCE)) notify(alert, words);
  }

  async function checkAlerts(words) {
    const response = await fetch("/alerts.json", { credentials: "same-origin" });
    if (!response.ok) return response.status !== 401; // logged out: stop asking
    const data = await response.json();
    const current = alertsOf(data);
    const seen = seenKeys();
    if (seen === null) {
      rememberKeys(new Set(current.map((alert) => alert.key))); // a new tab: nothing is new
      return true;
    }
    const fresh = current.filter((alert) => !seen.has(alert.key));
    for (const alert of fresh) seen.add(alert.key);
    rememberKeys(seen);
    if (fresh.length && data.available) raise(fresh, words);
    return true;
  }

  function describePermission(button, state) {
    if (!("Notification" in window)) {
      button.hidden = true;
      return;
    }
    const permission = Notification.permission;
    button.hidden = permission !== "default";
    state.textContent = permission === "granted" ? state.dataset.granted
      : permission === "denied" ? state.dataset.denied : "";
  }

  function startPermissionButton() {
    const button = document.getElementById("desktop-alerts-on");
    const state = document.getElementById("desktop-alerts-state");
    if (!button || !state) return;
    describePermission(button, state);
    button.addEventListener("click", async () => {
      unlockAudio();
      try {
        await Notification.requestPermission();
      } catch {
        // An old browser's callback form: the state below still says what it is.
      }
      describePermission(button, state);
    });
  }

  function startAlerts() {
    const section = document.getElementById("alerts");
    if (!section) return;
    const read = (name) => JSON.parse(section.dataset[name]);
    const words = {
      acute: read("acute"),
      person: read("person"),
      number: read("number"),
      site: read("site"),
      close: read("close"),
    };
    originalTitle = document.title;
    startPermissionButton();
    for (const event of ["click", "keydown"]) {
      document.addEventListener(event, unlockAudio, { passive: true });
      document.addEventListener(event, restoreTitle, { passive: true });
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") window.setTimeout(restoreTitle, 3000);
    });
    let timer = null;
    const poll = () =>
      checkAlerts(words)
        .then((goOn) => {
          if (!goOn) window.clearInterval(timer);
        })
        .catch(() => {});
    poll();
    timer = window.setInterval(poll, ALERT_POLL_MILLISECONDS);
  }

  document.addEventListener("DOMContentLoaded", startAlerts);
})();
