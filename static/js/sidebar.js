// The sidebar's organising: the server renders every state (rows, menus, forms, dialogs) and htmx swaps
// them in; this adds what htmx cannot do: placing and driving the menus by keyboard, Escape and focus for
// the inline fields, the dialogs, the Undo countdown, dragging a chat onto a folder, and keeping focus
// on the chat an action was about.
(function () {
  "use strict";

  var DRAG_TYPE = "application/x-novaweb-conversation";
  var focusAfter = null;  // "#conv-12" or "#folder-3": what the last menu action was about

  function until() {
    var input = document.getElementById("sidebar-until");
    return input ? input.value : "";
  }

  // --- Menus (popovers: the browser gives Escape, outside clicks and the top layer) ---------------------
  // Conversation rows share one menu, #row-menu; `menuRow` is the row it was opened for. Folders have their
  // own menus, driven by htmx attributes.
  var menuRow = null;
  var openMenu = null;  // the menu showing, if any
  function items(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll('[role="menuitem"]:not([disabled]):not([hidden])'));
  }
  function rowUrl(row) { return row.querySelector(".conversation-link").getAttribute("href"); }
  var ROW_ACTIONS = {  // action: [method, path under the row's URL, target ("row": the row), swap, values]
    rename: ["GET", "rename/", "row", "outerHTML"],
    pin: ["POST", "pin/", "#sidebar-lists", "innerHTML", { pinned: "1" }],
    unpin: ["POST", "pin/", "#sidebar-lists", "innerHTML", { pinned: "0" }],
    archive: ["POST", "archive/", "#sidebar-lists", "innerHTML", { archived: "1" }],
    move: ["GET", "move/", "#sidebar-dialog", "innerHTML"],
    delete: ["POST", "delete/", "row", "outerHTML"],
  };
  function rowAction(row, action) {
    var spec = ROW_ACTIONS[action];
    if (!spec) return;
    htmx.ajax(spec[0], rowUrl(row) + spec[1], {
      source: row, target: spec[2] === "row" ? "#" + row.id : spec[2], swap: spec[3],
      values: Object.assign({ until: until() }, spec[4] || {}),
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('.row-menu-button[popovertarget="row-menu"]');
    if (button) menuRow = button.closest(".conv-row");
    var toggle = event.target.closest && event.target.closest(".folder-toggle");
    if (toggle) focusAfter = "#" + toggle.closest(".folder").id;  // the folder is drawn again
  }, true);

  document.addEventListener("beforetoggle", function (event) {
    var menu = event.target;
    if (!menu.classList || !menu.classList.contains("menu")) return;
    var shared = menu.id === "row-menu";
    if (shared && menuRow) menuRow.classList.toggle("menu-open", event.newState === "open");
    if (event.newState !== "open") return;
    var button = shared ? menuRow && menuRow.querySelector(".row-menu-button") : document.querySelector('[popovertarget="' + menu.id + '"]');
    if (!button) { event.preventDefault(); return; }
    if (shared) {
      var pinned = menuRow.hasAttribute("data-pinned");
      menu.querySelector('[data-action="pin"]').hidden = pinned;
      menu.querySelector('[data-action="unpin"]').hidden = !pinned;
      menu.setAttribute("aria-label", button.getAttribute("aria-label"));
    }
    // Below the button, its right edge on the button's; above it when there is no room below. Measured
    // now, shown for a moment with its final contents but no place, so it never appears out of place.
    menu.style.display = "block";
    var height = menu.offsetHeight, width = menu.offsetWidth;
    menu.style.display = "";
    var box = button.getBoundingClientRect();
    var room = box.bottom + 4 + height <= window.innerHeight - 4;
    menu.style.top = (room ? box.bottom + 4 : Math.max(4, box.top - height - 4)) + "px";
    menu.style.left = Math.max(4, Math.min(box.right - width, window.innerWidth - width - 4)) + "px";
    openMenu = menu;
  }, true);

  // Focus goes to the first item once the menu shows; keys pressed before that count from there.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.classList || !menu.classList.contains("menu")) return;
    if (event.newState !== "open") { if (openMenu === menu) openMenu = null; return; }
    var first = items(menu)[0];
    if (first && !menu.contains(document.activeElement)) first.focus();
  }, true);

  document.addEventListener("keydown", function (event) {
    var menu = event.target.closest && event.target.closest('[role="menu"]');
    var early = !menu && openMenu && openMenu.matches(":popover-open") && event.target.matches(".row-menu-button");
    if (early) menu = openMenu;
    if (!menu) return;
    var list = items(menu), at = early ? 0 : list.indexOf(event.target), next = null;
    if (event.key === "ArrowDown") next = list[(at + 1) % list.length];
    else if (event.key === "ArrowUp") next = list[(at - 1 + list.length) % list.length];
    else if (event.key === "Home") next = list[0];
    else if (event.key === "End") next = list[list.length - 1];
    else if (event.key === "Tab") { menu.hidePopover(); return; }
    else if (early && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); list[0].click(); return; }
    if (next) { event.preventDefault(); next.focus(); }
  });

  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest('[role="menuitem"]');
    if (!item) return;
    var menu = item.closest("[popover]");
    var owner = menu && menu.id === "row-menu" ? menuRow : item.closest(".folder");
    focusAfter = owner ? "#" + owner.id : null;
    // Folder menus' items are htmx elements, which have taken the click by now; the shared one acts here.
    if (menu && menu.id === "row-menu" && menuRow && menuRow.isConnected) rowAction(menuRow, item.dataset.action);
    if (menu && menu.matches(":popover-open")) menu.hidePopover();
  });

  // Undo brings the chat back where its Undo was: focus goes to it there.
  document.addEventListener("click", function (event) {
    var undo = event.target.closest && event.target.closest(".undo-row .undo-button");
    if (undo) focusAfter = "#" + undo.closest(".undo-row").id;
  });

  // --- Focus follows the thing an action was about ----------------------------------------------------
  // A swap removes the element that had focus (the menu item, the field); focus goes back to what the action
  // was about, in its new place: its field, its Undo button, its link. Only once, only for the sidebar's own
  // swaps, and never when the person has moved on (say, into the composer).
  document.addEventListener("htmx:afterSettle", function (event) {
    var sidebar = document.querySelector(".sidebar");
    if (!focusAfter || !sidebar || !sidebar.contains(event.detail.elt)) return;
    if (document.querySelector("#sidebar-dialog dialog[open]")) return;  // the dialog has it; then this again
    var active = document.activeElement, owner = document.querySelector(focusAfter);
    focusAfter = null;
    if (active && active !== document.body && !sidebar.contains(active)) return;
    var target = owner && owner.querySelector("input, .undo-button, .conversation-link, .folder-toggle");
    if (target && !owner.contains(active)) target.focus();
  });

  // --- Inline fields: Enter saves (the form submits), Escape cancels, leaving saves a change -----------
  function cancelEdit(form) {
    form.dataset.done = "1";
    focusAfter = form.dataset.cancelTarget;
    if (form.dataset.cancelUrl) {
      htmx.ajax("GET", form.dataset.cancelUrl, { source: form, target: form.dataset.cancelTarget, swap: "outerHTML" });
    } else {
      var slot = document.createElement("li");
      slot.id = "new-folder";
      slot.hidden = true;
      var old = document.querySelector(form.dataset.cancelTarget);
      if (old) old.replaceWith(slot);
      var add = document.querySelector(".section-add");
      if (add) add.focus();
    }
  }
  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("form.inline-edit");
    if (form && event.key === "Escape") { event.preventDefault(); cancelEdit(form); }
  });
  document.addEventListener("focusout", function (event) {
    var input = event.target, form = input.closest && input.closest("form.inline-edit");
    if (!form || form.dataset.done || !document.hasFocus()) return;  // not when the window loses focus
    var value = input.value.trim();
    var unchanged = value === (input.dataset.initial || "").trim();
    var rejected = input.getAttribute("aria-invalid") === "true" && input.value === input.defaultValue;
    if (!(unchanged || rejected || !value)) { form.dataset.done = "1"; form.requestSubmit(); return; }
    // Chrome also reports focus leaving a field that a swap is removing: a field redrawn away was not
    // left, and its cancel (a redraw of its own, answered later) would undo whatever replaced it.
    queueMicrotask(function () { if (form.isConnected && !form.dataset.done) cancelEdit(form); });
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches("form.inline-edit")) {
      form.dataset.done = "1";
      focusAfter = form.dataset.cancelTarget;
    }
  });

  // --- Dialogs (Move to folder, Delete folder): modal while open, gone once closed -------------------
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!dialog.matches || !dialog.matches("dialog[data-modal]")) return;
    dialog.remove();
    var owner = focusAfter && document.querySelector(focusAfter);
    var button = owner && owner.querySelector(".row-menu-button");
    focusAfter = null;
    if (button) button.focus();
  }, true);

  // --- Undo rows: they count down, then go ----------------------------------------------------------
  function expire(row) {
    var label = row.previousElementSibling, next = row.nextElementSibling;
    if (row.contains(document.activeElement)) {
      var link = document.querySelector("#conversation-items .conversation-link");
      if (link) link.focus();
    }
    row.remove();
    // A "Pinned" heading left with nothing under it goes too.
    var after = label && label.nextElementSibling;
    if (label && label.dataset.group === "pinned" && (!after || after.classList.contains("group-label-item"))) label.remove();
    return next;
  }
  function startCountdowns(root) {
    root.querySelectorAll(".undo-row[data-undo-ms]").forEach(function (row) {
      if (row.dataset.counting) return;
      row.dataset.counting = "1";
      var ms = Math.max(0, parseInt(row.dataset.undoMs, 10) || 0);
      // On the bar, not the row: htmx copies a swapped element's style attribute to its successor (the
      // row coming back on Undo), which the Content-Security-Policy refuses.
      var bar = row.querySelector(".undo-timer");
      if (bar) bar.style.setProperty("--undo-ms", ms + "ms");
      setTimeout(function () { if (row.isConnected) expire(row); }, ms);
    });
  }

  // --- Drag a chat onto a folder (or onto the main list: out of its folder) ----------------------------
  var dragged = null;
  function zoneOf(target) { return target.closest && target.closest("[data-drop-folder]"); }
  function clearZones() {
    document.querySelectorAll(".drop-target").forEach(function (zone) { zone.classList.remove("drop-target"); });
  }
  document.addEventListener("dragstart", function (event) {
    var row = event.target.closest && event.target.closest(".conv-row[draggable='true']");
    if (!row) return;
    dragged = row;
    event.dataTransfer.setData(DRAG_TYPE, row.dataset.conversation);
    event.dataTransfer.effectAllowed = "move";
    row.classList.add("dragging");
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearZones();
  });
  document.addEventListener("dragover", function (event) {
    var zone = zoneOf(event.target);
    if (!dragged || !zone || zone.dataset.dropFolder === (dragged.dataset.folder || "")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!zone.classList.contains("drop-target")) { clearZones(); zone.classList.add("drop-target"); }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event.target);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event.target), row = dragged;
    if (!row || !zone || zone.dataset.dropFolder === (row.dataset.folder || "")) return;
    event.preventDefault();
    clearZones();
    focusAfter = "#" + row.id;
    htmx.ajax("POST", rowUrl(row) + "move/", {
      source: row, target: "#sidebar-lists", swap: "innerHTML",
      values: { folder: zone.dataset.dropFolder, until: until() },
    });
  });

  // --- Changes made in another tab: the lists are fetched again -----------------------------------------
  // The conversation page's socket says when (it replaces #sidebar-changed). Not while the person is in the
  // middle of organising (a field, a menu, a dialog, a drag: the redraw would pull it from under them), nor
  // while the tab is hidden: then as soon as they are done. Changes close together make one fetch.
  var stale = false, fetching = false, retry = null;
  var KEEP_FOCUS = ["conversation-link", "folder-toggle", "row-menu-button", "undo-button"];
  function organising() {
    return dragged || (openMenu && openMenu.matches(":popover-open")) ||
      document.querySelector(".sidebar form.inline-edit, #sidebar-dialog dialog[open]");
  }
  function refreshLists() {
    var lists = document.getElementById("sidebar-lists");
    if (!stale || fetching || !lists) return;
    if (document.hidden || organising()) {
      if (!retry) retry = setTimeout(function () { retry = null; refreshLists(); }, 700);
      return;
    }
    stale = false;
    fetching = true;
    // Focus on a row or folder (keyboard use) comes back to the same control in the redrawn lists.
    var active = document.activeElement, holder = null, kind = null;
    if (active && lists.contains(active)) {
      holder = active.closest("[id]");
      kind = KEEP_FOCUS.filter(function (name) { return active.classList.contains(name); })[0];
    }
    function done() {
      fetching = false;
      var again = holder && kind && document.getElementById(holder.id);
      var control = again && again.querySelector("." + kind);
      if (control && (document.activeElement === document.body || !document.activeElement)) control.focus();
      refreshLists();  // a change that came in meanwhile
    }
    htmx.ajax("GET", lists.dataset.listsUrl, {
      source: lists, target: "#sidebar-lists", swap: "innerHTML", values: { until: until() },
    }).then(done, done);
  }
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "sidebar-changed") { stale = true; refreshLists(); }
  });
  // Started organising while the lists were on their way: they wait too (fetched again once done).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var lists = document.getElementById("sidebar-lists");
    if (!fetching || event.detail.elt !== lists || !organising()) return;
    if (event.detail.pathInfo.requestPath.indexOf(lists.dataset.listsUrl) !== 0) return;
    event.detail.shouldSwap = false;
    stale = true;
  });
  // Home and Archived have no socket to hear of changes: they catch up when the person comes back to them
  // (the tab shown again, or the window focused again).
  function cameBack() {
    if (!document.hidden && !document.querySelector("[ws-connect]")) stale = true;
    refreshLists();
  }
  document.addEventListener("visibilitychange", cameBack);
  window.addEventListener("focus", cameBack);

  // --- Whatever arrives: open its dialog, start its countdowns, select the text of its field -----------
  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    if (!root.querySelectorAll) return;
    startCountdowns(root.parentElement || root);
    var dialog = root.matches("dialog[data-modal]") ? root : root.querySelector("dialog[data-modal]");
    if (dialog && !dialog.open) dialog.showModal();
    var field = root.querySelector && root.querySelector("form.inline-edit input[autofocus]");
    if (field) { field.focus(); field.select(); }
  });
  // --- The open chat in view; on a phone, the sidebar as a drawer over the chat (☰ in the chat's header) ---
  function showCurrent() {
    var current = document.querySelector('.conversation-list [aria-current="page"]');
    if (current) current.scrollIntoView({ block: "nearest" });
    return current;
  }
  function setDrawer(open) {
    var app = document.querySelector(".app-chat");
    var toggle = document.querySelector(".sidebar-toggle");
    if (!app || !toggle) return;
    app.classList.toggle("sidebar-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) (showCurrent() || document.querySelector("#sidebar .new-chat button")).focus();
  }
  function drawerOpen() {
    var app = document.querySelector(".app-chat");
    return Boolean(app && app.classList.contains("sidebar-open"));
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".sidebar-toggle")) { setDrawer(!drawerOpen()); return; }
    // A tap beside the drawer (on the shaded chat) closes it.
    if (drawerOpen() && !event.target.closest("#sidebar, dialog, [popover]")) setDrawer(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !drawerOpen() || event.defaultPrevented || openMenu) return;
    if (event.target.closest && event.target.closest("form.inline-edit, dialog")) return;  // theirs first
    setDrawer(false);
    document.querySelector(".sidebar-toggle").focus();
  });

  document.addEventListener("DOMContentLoaded", function () { startCountdowns(document); showCurrent(); });
})();
