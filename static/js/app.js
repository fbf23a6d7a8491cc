// facilitation — small client helpers. No inline script anywhere (Content-Security-Policy), and every
// page works without this file; it only adds live updates and their accessibility.
(function () {
  "use strict";

  function lastSeq() {
    var marker = document.getElementById("live-seq");
    return marker ? parseInt(marker.dataset.seq || "0", 10) : 0;
  }

  // Connection state, shown in words (not colour alone) where the page has a slot for it.
  function showConnection(state) {
    var slot = document.getElementById("connection-state");
    var texts = document.getElementById("connection-messages");
    if (!slot || !texts) return;
    slot.dataset.state = state;
    slot.textContent = state === "online" ? texts.dataset.online : state === "paused" ? (texts.dataset.paused || texts.dataset.offline) : texts.dataset.offline;
  }

  // On every (re)connection, ask for what happened since the last event this page saw: the server
  // replays it, or sends a fresh render when the gap is too long. Nothing is lost across a drop.
  document.addEventListener("htmx:wsOpen", function (evt) {
    live.socket = evt.detail.socketWrapper;
    if (live.complete === null) live.complete = lastSeq();
    resync(true);
    showConnection("online");
  });
  document.addEventListener("htmx:wsClose", function () {
    live.socket = null;
    showConnection("offline");
    Object.keys(sent).forEach(fallBack);  // a change not acked before the socket closed goes over HTTP
  });

  // A vote of an opinion round, and an answer to a question, go over the page's open socket (no
  // request path to pay for): the server stores it as the form's post would and answers with what
  // that post's reply swaps in, then an ack naming the change's key. A change without its ack within a
  // few seconds, or when the socket closes first, is posted over HTTP with the same key (the same key
  // sent twice is stored once). Without a socket, or without this file, the forms post as always.
  var ACK_MS = 3000, MAX_FRAME_BYTES = 12 * 1024;  // the server closes frames past 16 kB
  var VOTE_URL = /\/opinion\/statements\/(\d+)\/vote\/$/, ANSWER_URL = /\/questions\/(\d+)\/answer\/$/;
  var SOCKET_KEY = /^[A-Za-z0-9_-]{8,64}$/;
  var sent = {}, overHttp = {};  // changes waiting for their ack; keys now posted over HTTP
  function voteKey() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "v-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  // Send `frame` over the socket; `post` sends it over HTTP instead (returning htmx's promise),
  // `settle` runs on its ack (or on the fallback). `subject` names what it changes (a statement's
  // vote, a question's answer): a newer change of it replaces one still waiting for its ack (the
  // socket stores them in the order sent; the older one's fallback would put it back after), and its
  // fallback posts go one after the other, so that the later change lands last.
  var posting = {};
  function sendOverSocket(subject, frame, post, settle) {
    var text = JSON.stringify(frame);
    Object.keys(sent).forEach(function (key) {
      if (sent[key].subject === subject) { clearTimeout(sent[key].timer); delete sent[key]; }
    });
    sent[frame.key] = { subject: subject, post: post, settle: settle, timer: setTimeout(function () { fallBack(frame.key); }, ACK_MS) };
    if (posting[subject] || new Blob([text]).size > MAX_FRAME_BYTES) { fallBack(frame.key); return; }
    try { live.socket.send(text); } catch (error) { fallBack(frame.key); }
  }
  function settled(key) {
    var pending = sent[key];
    if (!pending) return null;
    delete sent[key];
    clearTimeout(pending.timer);
    pending.settle();
    return pending;
  }
  function fallBack(key) {
    var pending = settled(key);
    if (!pending || !window.htmx) return;
    var subject = pending.subject, previous = posting[subject] || Promise.resolve();
    var post = previous.then(function () { overHttp[key] = true; return pending.post(); }).catch(function () {}).then(function () {
      delete overHttp[key];
      if (posting[subject] === post) delete posting[subject];
    });
    posting[subject] = post;
  }
  document.addEventListener("htmx:configRequest", function (evt) {
    var path = evt.detail.path || "", elt = evt.detail.elt, params = evt.detail.parameters;
    if (typeof params.key === "string" && overHttp[params.key]) return;  // a fallback post
    if (!live.socket || !elt || !elt.closest) return;
    var match = VOTE_URL.exec(path), panel = match ? elt.closest(".opinion-vote") : null;
    if (panel && !params.key && typeof params.choice === "string") {
      evt.preventDefault();
      var vote = { type: "vote", key: voteKey(), round: parseInt(panel.id.replace("opinion-vote-", ""), 10), statement: parseInt(match[1], 10), choice: params.choice };
      var target = "#" + panel.id;
      panel.setAttribute("aria-busy", "true");
      sendOverSocket("statement-" + vote.statement, vote, function () {
        if (document.querySelector(target)) return htmx.ajax("POST", path, { source: target, target: target, swap: "outerHTML", values: { choice: vote.choice, key: vote.key } });
      }, function () { var now = document.querySelector(target); if (now) now.removeAttribute("aria-busy"); });
      return;
    }
    match = ANSWER_URL.exec(path);
    var form = match ? elt.closest(".answer-form") : null;
    if (form && typeof params.key === "string" && SOCKET_KEY.test(params.key) && typeof params.text === "string") {
      evt.preventDefault();
      var question = parseInt(match[1], 10), card = "#question-" + question;
      var answer = { type: "answer", key: params.key, question: question, kind: typeof params.kind === "string" ? params.kind : "answer", text: params.text };
      // Its key stays the form's until the reply brings the next: a second submit meanwhile would be
      // stored as the first (the same key), so the button waits, as htmx's hx-disabled-elt does.
      var button = form.querySelector("button[type=submit]");
      form.setAttribute("aria-busy", "true");
      rememberFocus();  // disabling the pressed button drops its focus: the reply's button takes it back
      if (button) button.disabled = true;
      sendOverSocket("question-" + question, answer, function () {
        if (document.querySelector(card)) return htmx.ajax("POST", path, { source: card + " .answer-form", target: card, swap: "outerHTML", values: { kind: answer.kind, text: answer.text, key: answer.key } });
      }, function () {
        form.removeAttribute("aria-busy");
        if (button) button.disabled = false;
      });
    }
  });
  var ACK = /data-vote-ack="([A-Za-z0-9_-]+)"/g;
  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var message = evt.detail.message || "", found;
    if (message.indexOf("data-vote-ack") === -1) return;
    ACK.lastIndex = 0;
    while ((found = ACK.exec(message))) settled(found[1]);
  });

  // A gap is always noticed (the channel layer delivers at most once; Redis or a process may drop a
  // message). `complete` is the last event number up to which this page has everything; only a
  // catch-up's closing marker (data-through) moves it for pages that get a part of the events. The
  // console gets a fragment for every event: each live message lists the numbers it carries
  // (data-seqs), and a number still missing a moment later (messages from two processes may cross)
  // triggers the resync, which replays it or renders the live parts afresh. Every page also checks
  // when its stream has been quiet a while: a dropped message with nothing after it is noticed too.
  var live = { socket: null, complete: null, seen: {}, lastMessage: Date.now(), resyncAt: 0, gapTimer: null, recheck: false };
  // A console checks a quiet stream after 3 s: the last messages of a burst may be the ones dropped,
  // and nothing after them would reveal the gap. The check ("check", not "resync") is answered only
  // when the meeting has a later event (the server compares with a number it reads at most twice a
  // second per process, whatever the number of consoles), by the same reply as a resync.
  var GAP_GRACE_MS = 700, RESYNC_SPACING_MS = 2000;
  function everyEvent() {
    var root = document.querySelector("[ws-connect]");
    return !!root && /\/console\/$/.test(root.getAttribute("ws-connect") || "");
  }
  function quietAfterMs() { return everyEvent() ? 3000 : 30000; }
  function resync(now, kind) {
    if (!live.socket || live.complete === null) return;
    var wait = live.resyncAt + RESYNC_SPACING_MS - Date.now();
    if (!now && wait > 0) {  // one resync at a time: its reply brings what the next would ask for
      if (!live.gapTimer) live.gapTimer = setTimeout(function () { live.gapTimer = null; if (needsResync()) resync(); }, wait);
      return;
    }
    live.resyncAt = Date.now();
    live.recheck = false;
    live.socket.send(JSON.stringify({ type: kind || "resync", after: live.complete }));
  }
  function advance() {
    while (live.seen[live.complete + 1]) { delete live.seen[live.complete + 1]; live.complete += 1; }
    Object.keys(live.seen).forEach(function (seq) { if (+seq <= live.complete) delete live.seen[seq]; });
  }
  function hasGap() { return Object.keys(live.seen).length > 0; }
  function needsResync() { return live.recheck || hasGap(); }
  function seqsOf(marker) {
    var seqs = [];
    marker.split(",").forEach(function (range) {
      var bounds = range.split("-"), last = parseInt(bounds[1], 10);
      for (var seq = parseInt(bounds[0], 10); seq <= last; seq++) seqs.push(seq);
    });
    return seqs;
  }
  var MARKER = /<span id="live-seq" data-seq="(\d+)"( data-seqs="([\d,-]+)")?( data-through)?/;
  var THROUGH = /<span id="live-seq" data-seq="(\d+)" data-through/;
  // A live message rendered before a catch-up's reply and delivered after it (Redis or the other
  // process held it) would put back what the reply had already brought up to date: a message whose
  // every event number the page already has complete is stale, and is not swapped in. (A message is
  // rendered once all its events are committed, so one with a newer number is never older.)
  function stale(message) {
    var marker = MARKER.exec(message);
    if (!marker || !marker[3] || marker[4] || live.complete === null || THROUGH.test(message)) return false;
    return seqsOf(marker[3]).every(function (seq) { return seq <= live.complete; });
  }
  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    if (stale(evt.detail.message || "")) { live.lastMessage = Date.now(); evt.preventDefault(); }
  });
  function onLiveMarker(message) {
    // A catch-up is one message: its events' markers, then the closing one (data-through).
    var through = THROUGH.exec(message), marker = through ? null : MARKER.exec(message);
    live.lastMessage = Date.now();
    if ((!through && !marker) || live.complete === null) return;
    if (through) {
      var upTo = parseInt(through[1], 10);
      // Live messages past the reply's number that arrived before it may have been rendered after
      // the reply and swapped in before it: the reply may have put an older state over theirs. Ask
      // again for what follows the reply (a live message crossing a resync: frequent in a flood).
      var crossed = live.complete > upTo || Object.keys(live.seen).some(function (seq) { return +seq > upTo; });
      if (crossed) { live.complete = upTo; live.seen = {}; live.recheck = true; resync(); return; }
      live.complete = upTo;
      advance();
      return;
    }
    if (!marker[3] || !everyEvent()) return;
    seqsOf(marker[3]).forEach(function (seq) { if (seq > live.complete) live.seen[seq] = true; });
    advance();
    if (hasGap() && !live.gapTimer) {
      live.gapTimer = setTimeout(function () { live.gapTimer = null; if (needsResync()) resync(); }, GAP_GRACE_MS);
    }
  }
  // A live message goes to every page of the meeting: a fragment for a part this page does not show
  // (another session's question, a panel it has not rendered) is left out here, rather than htmx
  // reporting an out-of-band swap without a target as an error. Sockets use hx-ext="ws,live-targets".
  function oobTarget(child, earlier) {
    var spec = child.getAttribute("hx-swap-oob") || "true", colon = spec.indexOf(":");
    var selector = colon !== -1 ? spec.slice(colon + 1) : (child.id ? "#" + CSS.escape(child.id) : null);
    if (!selector) return null;
    try {  // in the page, or brought by a fragment before it in the same message (swapped first)
      return document.querySelector(selector) || earlier.reduce(function (found, previous) {
        return found || (previous.matches(selector) ? previous : previous.querySelector(selector));
      }, null);
    } catch (error) {
      return child;  // a selector this browser cannot read: left to htmx, as before
    }
  }
  if (window.htmx) htmx.defineExtension("live-targets", {
    transformResponse: function (text) {
      if (text.indexOf("hx-swap-oob") === -1) return text;
      var template = document.createElement("template");
      template.innerHTML = text;
      var children = Array.prototype.slice.call(template.content.children);
      var kept = [];
      children.forEach(function (child) { if (oobTarget(child, kept)) kept.push(child); });
      if (kept.length === children.length) return text;
      return kept.map(function (child) { return child.outerHTML; }).join("");
    },
  });
  // Reconnect after a drop with full jitter, as htmx's ws extension does, but within 5 s rather than
  // 64 s: a console back from a long network cut is live again seconds after, not a minute after.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) htmx.config.wsReconnectDelay = function (retries) { return Math.min(1000 * Math.pow(2, retries), 5000) * Math.random(); };
  });
  document.addEventListener("htmx:wsAfterMessage", function (evt) {
    var message = evt.detail.message || "";
    // The server's channel layer failed (Redis restarting) and came back: show it, then catch up.
    var state = /data-live-state="(paused|resumed)"/.exec(message);
    if (state && state[1] === "paused") { showConnection("paused"); return; }
    if (state) { showConnection("online"); resync(true); return; }
    onLiveMarker(message);
  });
  setInterval(function () {
    if (live.socket && Date.now() - live.lastMessage > quietAfterMs() && Date.now() - live.resyncAt > quietAfterMs()) resync(true, "check");
  }, 1000);

  // The console's answer cards, per question: a question the first render left closed
  // (data-answers="unloaded") gets no card over the socket (its tally still updates, and the
  // announcer still counts its answers); opening it loads its cards, the ones that arrive meanwhile
  // are kept where their message is newer than the list (data-answers-seq: the meeting's event
  // number before the list was read). A closed question that was loaded keeps receiving its cards.
  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var seq = /<span id="live-seq" data-seq="(\d+)"/.exec(evt.detail.message || "");
    live.messageSeq = seq ? parseInt(seq[1], 10) : 0;
  });
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fragment = evt.detail.fragment, target = evt.detail.target;
    if (target && target.dataset && target.dataset.answers === "unloaded") { evt.preventDefault(); return; }
    if (!fragment || !fragment.children) return;
    Array.prototype.forEach.call(fragment.children, function (child) {
      if (child.classList && child.classList.contains("answer-card")) child.dataset.liveSeq = String(live.messageSeq || 0);
    });
  });
  function answersBox(button) { return document.getElementById(button.getAttribute("aria-controls")); }
  function showAnswers(button, open) {
    var box = answersBox(button);
    if (!box) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    box.hidden = !open;
    if (open && box.dataset.answers === "unloaded") {
      box.dataset.answers = "loading";
      box.setAttribute("aria-busy", "true");
      htmx.ajax("GET", button.dataset.answersUrl, { source: button, target: box, swap: "innerHTML" });
    }
  }
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest("button[data-answers-toggle]") : null;
    if (!button || !window.htmx) return;
    evt.preventDefault();
    showAnswers(button, button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var box = evt.detail.target;
    if (!box || !box.dataset || box.dataset.answers !== "loading") return;
    box.arrived = Array.prototype.filter.call(box.children, function (card) { return !!card.dataset.liveSeq; });
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var box = evt.detail.target;
    if (!box || !box.dataset || box.dataset.answers !== "loading") return;
    var marker = box.querySelector("[data-answers-seq]"), listed = marker ? parseInt(marker.dataset.answersSeq, 10) : 0;
    (box.arrived || []).forEach(function (card) {
      if (parseInt(card.dataset.liveSeq, 10) <= listed) return;  // the list already has it as new
      var same = document.getElementById(card.id);
      if (same) same.replaceWith(card); else box.appendChild(card);
      htmx.process(card);
    });
    box.arrived = null;
    box.dataset.answers = "loaded";
    box.removeAttribute("aria-busy");
    var region = document.getElementById("live-announcer");
    if (region && marker && region.dataset.templateLoaded) {
      region.textContent = region.dataset.templateLoaded.replace("%(count)s", box.querySelectorAll(".answer-card").length);
    }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var box = evt.detail.target;
    if (evt.detail.successful || !box || !box.dataset || box.dataset.answers !== "loading") return;
    box.dataset.answers = "unloaded";  // try again on the next opening
    box.removeAttribute("aria-busy");
    box.arrived = null;
    var button = document.querySelector('[aria-controls="' + box.id + '"]');
    if (button) showAnswers(button, false);
  });
  // A fresh render of the console (after a long gap) closes the questions it does not open: keep
  // each one as the chair had it.
  var consoleLayout = null;
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    if (!evt.detail.target || evt.detail.target.id !== "console-live") return;
    consoleLayout = {};
    evt.detail.target.querySelectorAll("button[data-answers-toggle]").forEach(function (button) {
      consoleLayout[button.getAttribute("aria-controls")] = button.getAttribute("aria-expanded") === "true";
    });
  });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (!consoleLayout) return;
    var layout = consoleLayout;
    consoleLayout = null;
    document.querySelectorAll("button[data-answers-toggle]").forEach(function (button) {
      var open = layout[button.getAttribute("aria-controls")];
      if (open !== undefined && open !== (button.getAttribute("aria-expanded") === "true")) showAnswers(button, open);
    });
  });

  // A replay brings again cards this page may already have (those after a gap): an appended card
  // whose id is already in the page replaces it instead of appearing twice.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fragment = evt.detail.fragment;
    if (!fragment || !fragment.children || !evt.detail.target) return;
    Array.prototype.slice.call(fragment.children).forEach(function (child) {
      var existing = child.id ? document.getElementById(child.id) : null;
      if (existing && existing !== evt.detail.target && !existing.contains(evt.detail.target)) existing.replaceWith(child);
    });
  });

  // Question status and "now discussing" arrive as shared fragments; apply them to this page's forms.
  function applyLiveState() {
    document.querySelectorAll(".question-status[data-status]").forEach(function (status) {
      var id = status.id.replace("qstatus-", "");
      var fieldset = document.getElementById("answer-fieldset-" + id);
      if (fieldset) fieldset.disabled = status.dataset.status !== "open";
    });
    var banner = document.getElementById("now-discussing");
    if (banner) {
      var current = banner.dataset.questionId;
      document.querySelectorAll(".question[data-question-id]").forEach(function (card) {
        card.classList.toggle("is-discussing", card.dataset.questionId === current);
      });
    }
  }

  // Screen readers hear a short summary every few seconds instead of one message per answer.
  var pendingAnswers = 0;
  var announceTimer = null;
  function announceLater() {
    if (announceTimer) return;
    announceTimer = setTimeout(function () {
      var region = document.getElementById("live-announcer");
      if (region && pendingAnswers) {
        region.textContent = (region.dataset.templateAnswer || "%(count)s").replace("%(count)s", pendingAnswers);
      }
      pendingAnswers = 0;
      announceTimer = null;
    }, 4000);
  }

  document.addEventListener("htmx:wsAfterMessage", function (evt) {
    applyLiveState();
    var message = evt.detail.message || "";
    if (message.indexOf('class="answer-card') !== -1) {
      pendingAnswers += (message.match(/class="answer-card/g) || []).length;
      announceLater();
    }
  });
  document.addEventListener("htmx:afterSwap", applyLiveState);

  // Keep keyboard focus when a swap replaces the focused element: go back to the same control in
  // the new content (same id, or same name and value), else to the first control of its container.
  var remembered = null;
  function rememberFocus() {
    var active = document.activeElement;
    // Focus already lost to <body> by an earlier swap whose restore is still pending: keep that memory.
    if (!active || active === document.body) return;
    // Every enclosing element with an id, nearest first: the nearest that survives the swap takes focus.
    var containers = [];
    for (var node = active.parentElement; node; node = node.parentElement) {
      if (node.id) containers.push(node.id);
    }
    remembered = {
      element: active, id: active.id, name: active.getAttribute("name"), value: active.getAttribute("value"),
      tag: active.tagName, type: active.getAttribute("type"), text: (active.textContent || "").trim(), containers: containers,
    };
  }
  function restoreFocus() {
    if (!remembered) return;
    var active = document.activeElement, element = remembered.element;
    if (active && active !== document.body && active !== element) { remembered = null; return; }  // focus moved on
    if (element && element.isConnected) {
      // Still in the page: focus it again once enabled (hx-disabled-elt), else wait for its swap.
      if (!element.disabled) { if (active !== element) element.focus(); remembered = null; }
      return;
    }
    var target = remembered.id ? document.getElementById(remembered.id) : null;
    for (var i = 0; !target && i < remembered.containers.length; i++) {
      var container = document.getElementById(remembered.containers[i]);
      if (!container) continue;
      if (remembered.name) {
        target = container.querySelector('[name="' + remembered.name + '"][value="' + (remembered.value || "") + '"]');
      }
      if (!target && remembered.text) {  // the same button re-rendered, e.g. "Request the floor"
        target = Array.prototype.find.call(container.querySelectorAll(remembered.tag), function (el) {
          return (el.textContent || "").trim() === remembered.text;
        }) || null;
      }
      if (!target && remembered.tag === "BUTTON" && remembered.type === "submit") {
        // The same form's button under a new label: "Submit the answer" comes back as "Update the answer".
        target = container.querySelector('button[type="submit"]:not([disabled])');
      }
      if (!target) target = container.querySelector("button:not([disabled]), textarea, input:not([type=hidden]), select, a[href]");
      if (!target) { container.setAttribute("tabindex", "-1"); target = container; }
    }
    if (target && target.tabIndex < 0 && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    if (target) target.focus();
    remembered = null;
  }
  document.addEventListener("htmx:beforeSwap", rememberFocus);
  // hx-disabled-elt disables the pressed button, which drops its focus: remember it before that.
  document.addEventListener("htmx:beforeRequest", rememberFocus);
  // Out-of-band swaps (most of ours, over HTTP or the socket) fire on their target, which is still in
  // the page even when the form that sent the request was replaced meanwhile.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.contains(document.activeElement)) rememberFocus();
  });
  document.addEventListener("htmx:oobAfterSwap", restoreFocus);
  document.addEventListener("htmx:wsBeforeMessage", rememberFocus);
  document.addEventListener("htmx:afterSettle", restoreFocus);
  // hx-swap="none" requests (their changes arrive out of band) may not settle: restore after them too.
  document.addEventListener("htmx:afterRequest", function () { setTimeout(restoreFocus, 50); });
  document.addEventListener("htmx:wsAfterMessage", restoreFocus);

  // A fresh render sent after a long drop replaces whole forms: carry over what the person typed
  // and has not sent yet (text, and the choice of answer type), so a reconnect never loses a draft.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || !fragment || !target.querySelectorAll) return;
    target.querySelectorAll("textarea[id], input[type=text][id], input[type=url][id]").forEach(function (field) {
      if (field.value === field.defaultValue) return;
      var fresh = fragment.querySelector("#" + CSS.escape(field.id));
      if (!fresh) return;
      if (fresh.tagName === "TEXTAREA") fresh.textContent = field.value;
      else fresh.setAttribute("value", field.value);
    });
    target.querySelectorAll("input[type=radio]:checked[name]").forEach(function (radio) {
      var scope = radio.closest("[id]");
      if (radio.defaultChecked || !scope) return;
      var fresh = fragment.querySelector("#" + CSS.escape(scope.id) + ' input[type=radio][name="' + radio.name + '"][value="' + radio.value + '"]');
      if (!fresh) return;
      fragment.querySelectorAll("#" + CSS.escape(scope.id) + ' input[type=radio][name="' + radio.name + '"]').forEach(function (other) {
        other.removeAttribute("checked");
      });
      fresh.setAttribute("checked", "");
    });
  });

  // The delegation's live status line ("Saved by ... at ...") reaches the page that saved too, before
  // or after the page's own reply: for the same save (data-saved: answer and time), keep the reply's
  // "Your answer was saved."; a later save (a colleague's, another tab's) replaces it.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || !fragment || !target.matches || !target.matches("p.answer-saved[data-saved]")) return;
    var mine = target.querySelector(".saved-now");
    var fresh = fragment.querySelector ? fragment.querySelector("#" + CSS.escape(target.id)) : null;
    if (!mine || !fresh || fresh.querySelector(".saved-now") || fresh.getAttribute("data-saved") !== target.getAttribute("data-saved")) return;
    var hidden = fresh.querySelector(".answer-hidden");  // the moderator's notice stays last
    fresh.insertBefore(document.createTextNode(" "), hidden);
    fresh.insertBefore(mine.cloneNode(true), hidden);
  });

  // A saved answer's reply replaces only the status line, the key and the button (the form stays as
  // the delegate left it): what the form holds now is what is saved, not a draft to carry over.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!evt.detail.successful || !form.matches || !form.matches("form.answer-form")) return;
    form.querySelectorAll("textarea").forEach(function (field) { field.defaultValue = field.value; });
    form.querySelectorAll("input[type=radio]").forEach(function (radio) { radio.defaultChecked = radio.checked; });
  });

  // Every form carries a submission key so a retry is stored once. Pages rendered by the server
  // bring one; forms that arrive over the live connection (rendered once for many people) get theirs
  // here, kept on the form so that a retry of the same form sends the same key.
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function fillKeys(root) {
    (root || document).querySelectorAll("input[data-submission-key]").forEach(function (input) {
      if (!input.value) input.value = newKey();
    });
  }
  document.addEventListener("htmx:load", function (evt) { fillKeys(evt.detail.elt.parentNode || document); });
  document.addEventListener("htmx:configRequest", function (evt) {
    var form = evt.detail.elt.closest ? evt.detail.elt.closest("form") : null;
    var input = form && form.querySelector("input[data-submission-key]");
    if (input && !input.value) {
      input.value = newKey();
      evt.detail.parameters.key = input.value;
    }
  });

  // Speaking countdowns and session clocks tick in the browser. The server sends the end (or start)
  // in epoch seconds with its own time, so a wrong clock on the laptop does not shift them.
  function serverNow(el) {
    if (!el.dataset.offset) el.dataset.offset = String(parseInt(el.dataset.serverNow, 10) * 1000 - Date.now());
    return Date.now() + parseInt(el.dataset.offset, 10);
  }
  function mmss(seconds) {
    var minutes = Math.floor(seconds / 60), rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }
  var announced = {};
  function announce(text) {
    var region = document.getElementById("live-announcer");
    if (region && text) region.textContent = text;
  }
  function tick() {
    document.querySelectorAll("[data-countdown-ends]").forEach(function (el) {
      var ends = parseInt(el.dataset.countdownEnds, 10);
      var left = Math.round(ends - serverNow(el) / 1000);
      var text = left >= 0 ? el.dataset.labelLeft.replace("{time}", mmss(left)) : el.dataset.labelOver.replace("{time}", mmss(-left));
      var slot = el.querySelector(".countdown-time");
      if (slot && slot.textContent !== text) slot.textContent = text;
      el.classList.toggle("is-soon", left >= 0 && left <= 30);
      el.classList.toggle("is-over", left < 0);
      // Two announcements per intervention at most: 30 seconds left, and time up.
      if (left <= 30 && left > 25 && !announced[ends + "soon"]) { announced[ends + "soon"] = true; announce(el.dataset.announceSoon); }
      if (left <= 0 && left > -5 && !announced[ends + "over"]) { announced[ends + "over"] = true; announce(el.dataset.announceOver); }
    });
    document.querySelectorAll("[data-clock-start]").forEach(function (el) {
      var used = Math.max(0, Math.floor((serverNow(el) / 1000 - parseInt(el.dataset.clockStart, 10)) / 60));
      var text = el.dataset.labelUsed.replace("{used}", used);
      if (el.dataset.clockMinutes) {
        var left = parseInt(el.dataset.clockMinutes, 10) - used;
        text += " · " + (left >= 0 ? el.dataset.labelLeft.replace("{left}", left) : el.dataset.labelOver.replace("{over}", -left));
        el.classList.toggle("is-over", left < 0);
      }
      if (el.textContent !== text) el.textContent = text;
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:wsAfterMessage", tick);
  document.addEventListener("htmx:afterSettle", tick);

  // The top bar's menu is a native <details>, which works without this file; aria-expanded on its
  // button says the same for assistive software that reads only ARIA. Escape closes it from inside.
  document.addEventListener("DOMContentLoaded", function () {
    var menu = document.querySelector(".nav-menu"), button = menu && menu.querySelector("summary");
    if (!button) return;
    function sync() { button.setAttribute("aria-expanded", menu.open ? "true" : "false"); }
    sync();
    menu.addEventListener("toggle", sync);
    menu.addEventListener("keydown", function (evt) {
      if (evt.key === "Escape" && menu.open) { menu.open = false; button.focus(); }
    });
  });
  document.addEventListener("DOMContentLoaded", applyLiveState);
  document.addEventListener("DOMContentLoaded", function () { fillKeys(document); tick(); });
})();
