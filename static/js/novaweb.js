// The little the page needs beyond htmx: Enter to send, copy buttons, scrolling, reconnect.
(function () {
  "use strict";

  function composer() { return document.getElementById("composer"); }
  function messages() { return document.getElementById("messages"); }

  // Enter sends, Shift+Enter breaks the line (and IME composition is left alone): in the composer, and in the
  // wording of a message being edited (its image links take one per line). Escape closes the editor.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.isComposing || !target.closest) return;
    var editor = target.closest(".edit-form");
    if (editor && event.key === "Escape") { closeEditor(editor.closest("details")); return; }
    var form = target.id === "message" ? composer() : editor && target.name === "message" ? editor : null;
    if (!form || event.key !== "Enter" || event.shiftKey) return;
    event.preventDefault();
    if (target.value.trim()) form.requestSubmit();
  });

  // Keep the newest text in view while the reader is at the bottom; leave them be if they scrolled up, and
  // offer a way back down (#to-latest) for as long as they are away from it.
  var stick = true;
  function setStick(value) {
    stick = value;
    var down = document.getElementById("to-latest");
    if (down) down.hidden = stick;
  }
  document.addEventListener("scroll", function (event) {
    var box = messages();
    if (event.target === box) setStick(box.scrollHeight - box.scrollTop - box.clientHeight < 80);
  }, true);
  function follow() { var box = messages(); if (box && stick) box.scrollTop = box.scrollHeight; }
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#to-latest")) return;
    setStick(true);
    follow();
  });

  // Code blocks get a copy button (added here, so the sanitiser never has to allow buttons).
  function addCopyButtons(root) {
    (root || document).querySelectorAll(".md pre").forEach(function (pre) {
      if (pre.parentElement.classList.contains("code-wrap")) return;
      var wrap = document.createElement("div");
      wrap.className = "code-wrap";
      pre.parentNode.insertBefore(wrap, pre);
      wrap.appendChild(pre);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
      wrap.appendChild(button);
    });
  }
  // Times come in UTC; each reader sees them on their own clock, the whole date on hover. A message: "14:32"
  // today, "12 Nov, 14:32" before, with the year when it is not this one. A chat in the sidebar: "14:32"
  // today, then "Yesterday", then "12 Nov" (and the year).
  function localTimes(root) {
    var now = new Date(), yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    (root || document).querySelectorAll("time.msg-time:not([data-local]), time.when:not([data-local])").forEach(function (time) {
      var when = new Date(time.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var today = when.toDateString() === now.toDateString(), row = time.classList.contains("when");
      var shown = today || !row ? { hour: "2-digit", minute: "2-digit" } : {};
      if (!today) {
        shown.day = "numeric"; shown.month = "short";
        if (when.getFullYear() !== now.getFullYear()) shown.year = "numeric";
      }
      time.textContent = row && when.toDateString() === yesterday.toDateString() ? "Yesterday" : when.toLocaleString(undefined, shown);
      time.title = when.toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
      time.dataset.local = "";
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy");
    if (!button) return;
    var code = button.parentElement.querySelector("pre").innerText;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(code).then(done, function () {});
    else {
      var area = document.createElement("textarea");
      area.value = code; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { area.remove(); }
    }
  });

  // Edit: opening puts the cursor at the end of the message's text; Cancel closes it unchanged.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.classList || !details.classList.contains("edit-message") || !details.open) return;
    var area = details.querySelector("textarea");
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }, true);
  function closeEditor(details) {
    details.querySelector("form").reset();
    details.open = false;
    details.querySelector("summary").focus();  // where a keyboard user opened it
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-close-details]");
    if (button) closeEditor(button.closest("details"));
  });

  // A reply's Copy button: the page shows the reply rendered, so its text as written (Markdown) is asked of
  // the server. The clipboard is handed the promise at once, while the click still counts as the person's
  // (ClipboardItem); a browser without it writes the text once it has arrived.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy-url]");
    if (!button) return;
    var label = button.dataset.label || (button.dataset.label = button.textContent);
    var say = function (text) { button.textContent = text; setTimeout(function () { button.textContent = label; }, 1500); };
    if (!navigator.clipboard || !window.isSecureContext) { say("Couldn’t copy"); return; }  // plain http
    var text = fetch(button.dataset.copyUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    });
    var copied;
    if (window.ClipboardItem && navigator.clipboard.write) {
      var blob = text.then(function (t) { return new Blob([t], { type: "text/plain" }); });
      copied = navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
    } else copied = text.then(function (t) { return navigator.clipboard.writeText(t); });
    copied.then(function () { say("Copied"); }, function () { say("Couldn’t copy"); });
  });

  // A copy button for a field (an invite link): data-copy names the field whose value it copies.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var field = button && document.querySelector(button.dataset.copy);
    if (!field) return;
    var label = button.dataset.label || (button.dataset.label = button.textContent);
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = label; }, 1500); };
    var fallback = function () { field.select(); try { if (document.execCommand("copy")) done(); } catch (e) { /* left selected to copy by hand */ } };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(field.value).then(done, fallback);
    else fallback();
  });

  // The server accepted a send: it sent a fresh client id, so the composer can be cleared safely.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "client-id") {
      var box = document.getElementById("message");
      var images = document.getElementById("images");
      if (images) images.value = "";  // image links belong to the message just sent
      if (box) { box.value = ""; box.focus(); }
    }
  });
  // The key picker is drawn again when the person's shared keys change (a grant made or revoked elsewhere):
  // the key they had picked stays picked if it is still there; if it is gone, the options follow the one
  // the picker now shows.
  var pickedKey = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "credential") pickedKey = event.detail.target.value;
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var picker = event.detail.target;
    if (!picker || picker.id !== "credential" || pickedKey === null) return;
    var kept = Array.prototype.some.call(picker.options, function (option) { return option.value === pickedKey; });
    if (kept) picker.value = pickedKey;
    else picker.dispatchEvent(new Event("change", { bubbles: true }));
    pickedKey = null;
  });
  // Each change in the composer's options re-renders them (values come back as the server stored them):
  // a disclosure the person had open stays open. (Image links are kept by hx-preserve.) Swaps settle at
  // once (base.html's defaultSettleDelay), so htmx:load runs before the browser paints the new, closed panel.
  // A save's answer that arrives after the person has typed in the panel again (a slow link) is out of date:
  // drawing it would put the stored values back under their cursor. It is dropped; their next change saves
  // again, and that answer is drawn. (A new key's panel, fetched with GET, is always drawn.)
  var optionEdits = 0, editsAtSave = 0;
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("#composer-options")) optionEdits++;
  }, true);
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "composer-options") editsAtSave = optionEdits;
  });
  var openOptions = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "composer-options") return;
    var saving = event.detail.requestConfig && event.detail.requestConfig.verb === "post";
    if (saving && optionEdits !== editsAtSave) { event.detail.shouldSwap = false; return; }
    openOptions = Array.prototype.map.call(target.querySelectorAll("details[open]"), function (d) { return d.className; });
  });
  document.addEventListener("htmx:load", function (event) {
    var options = event.detail.elt;
    if (!openOptions || !options || options.id !== "composer-options") return;
    options.querySelectorAll("details").forEach(function (d) { if (openOptions.indexOf(d.className) !== -1) d.open = true; });
    openOptions = null;
  });
  document.addEventListener("htmx:wsAfterMessage", function () { addCopyButtons(messages()); follow(); });
  // Whatever htmx draws (the page itself once it starts, a swap, a frame from the socket) shows its times.
  document.addEventListener("htmx:load", function (event) { if (event.detail.elt.querySelectorAll) localTimes(event.detail.elt); });

  // Connection state, and a resync after a reconnect so nothing that happened meanwhile is missed.
  var opened = false;
  function setConnection(text) {
    var el = document.getElementById("connection");
    if (el) el.textContent = text;
    // Send works only over an open socket; until then the button stays disabled, so a click can never
    // fall back to a plain form submission.
    var send = document.querySelector("#composer button.send");
    if (send) send.disabled = Boolean(text);
  }
  document.addEventListener("htmx:wsOpen", function (event) {
    setConnection("");
    // On a reconnect, and on a first open while the page shows a reply streaming: that reply may have ended
    // between the page being drawn and the socket joining, and its last frame would then never arrive.
    if (opened || document.querySelector('#messages [data-state="streaming"]')) {
      event.detail.socketWrapper.send(JSON.stringify({ action: "resync" }));
    }
    opened = true;
  });
  document.addEventListener("htmx:wsClose", function (event) {
    if (!document.getElementById("composer")) return;
    // 4403: an admin took this person's access away; the server said why beside the composer. No reconnecting.
    if (event.detail.event.code === 4403) { setConnection("Disconnected."); return; }
    setConnection("Connection lost — reconnecting…");
    // The extension retries by itself only after abnormal closes; a server going away (1001) is one too.
    if (event.detail.event.code === 1001 || event.detail.event.code === 1000) {
      setTimeout(function () { event.detail.socketWrapper.reconnect(); }, 500 + Math.random() * 1500);
    }
  });

  // The Export menu closes once a format is picked (a download leaves the page where it is) or on a click
  // elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.export-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target) || event.target.closest("a")) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    var menu = event.key === "Escape" && event.target.closest && event.target.closest("details.export-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  // Long conversations show a window of messages. "Show earlier messages" puts older bubbles above the ones
  // being read: keep those where they were on screen.
  var fromBottom = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("load-earlier")) {
      var box = messages();
      fromBottom = box.scrollHeight - box.scrollTop;
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    var box = messages();
    if (!box) return;
    addCopyButtons(box);
    if (fromBottom !== null) { box.scrollTop = box.scrollHeight - fromBottom; fromBottom = null; }
  });
  // A page opened in the middle of a long conversation has "Show later messages" at its end: when a new
  // message arrives below that, the page jumps to the latest messages rather than show a gap.
  document.addEventListener("htmx:wsAfterMessage", function () {
    var later = document.querySelector("#messages > .load-later");
    if (later && later.nextElementSibling) window.location.assign(later.dataset.latest);
  });

  // Opened at one message (a search result links to /c/<id>/?at=<message>#m-<message>): show it, not the end.
  function openAtTarget() {
    var target = location.hash.length > 1 && document.getElementById(location.hash.slice(1));
    if (!target || !messages() || !messages().contains(target)) return false;
    setStick(false);
    target.scrollIntoView({ block: "start" });
    return true;
  }

  // A control changed while htmx was still on its way (a slow link) asked for nothing. The element that
  // listens carries data-catch-up, naming an event it listens for ("change", "submit"); that event is sent
  // now, from the first control inside it that differs from what the page arrived with. ("input changed"
  // would not do: htmx takes the value it finds when it starts listening as the one already asked for.)
  // The sidebar's search box has its own (static/js/search.js), as it also brings a query back.
  function changedSinceLoad(control) {
    if (control.type === "checkbox" || control.type === "radio") return control.checked !== control.defaultChecked;
    if (control.tagName === "SELECT") {
      var initial = 0;  // with no option marked selected, the first one is
      Array.prototype.forEach.call(control.options, function (option, index) { if (option.defaultSelected) initial = index; });
      return control.selectedIndex !== initial;
    }
    return control.value !== control.defaultValue;
  }
  function catchUp() {
    document.querySelectorAll("[data-catch-up]").forEach(function (element) {
      var controls = element.matches("input, select, textarea") ? [element] : element.querySelectorAll("input, select, textarea");
      var changed = Array.prototype.find.call(controls, changedSinceLoad);
      if (!changed) return;
      var name = element.dataset.catchUp;  // a form's submit comes from the form itself
      (name === "submit" ? element : changed).dispatchEvent(new Event(name, { bubbles: true, cancelable: true }));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    addCopyButtons(document);
    if (!openAtTarget()) follow();
    catchUp();  // htmx has bound the page by now: its script comes first, so its handler ran first
  });
})();
