// The sidebar's search box (htmx does the requests): Escape clears it; "Include archived" ticks that filter; a
// conversation opened from a result scrolls to the message, highlights the words that matched, and keeps the
// results in the sidebar.
(function () {
  "use strict";

  var KEY = "novaweb-search";

  function remember(value) {
    try { sessionStorage.setItem(KEY, value); } catch (e) { /* storage disabled */ }
  }

  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (box.id !== "search-q" || event.key !== "Escape" || !box.value) return;
    event.preventDefault();
    box.value = "";
    var form = box.form;
    var narrowed = ["model", "folder", "date_from", "date_to"].some(function (name) {
      return form && form.elements[name] && form.elements[name].value;
    });
    // The list is back at once, unless filters still select conversations (they are listed instead).
    if (!narrowed) document.getElementById("search-results").replaceChildren();
    box.dispatchEvent(new Event("input", { bubbles: true }));  // and htmx drops any search in flight
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "search-q") remember(event.target.value);
  });
  // "Include archived" under a search that found only archived chats: ticks the filter (shown open, so the
  // person sees what changed), and its change searches again. Without scripts the link does the same search.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.include-archived");
    var form = document.getElementById("search-form");
    var box = link && form && form.elements.archived;
    if (!box) return;
    event.preventDefault();
    form.querySelector(".search-filters").open = true;
    box.checked = true;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // Ranges of `words` (as they were shown in the result, so case aside they are the text itself) inside
  // the text of `root`, for the CSS Custom Highlight API: nothing is inserted into the message.
  function ranges(root, words) {
    var out = [];
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var text = node.data.toLowerCase();
      if (text.length !== node.data.length) continue;  // lowercasing moved the offsets (e.g. "İ")
      words.forEach(function (word) {
        for (var at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + word.length)) {
          var range = new Range();
          range.setStart(node, at);
          range.setEnd(node, at + word.length);
          out.push(range);
        }
      });
    }
    return out;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("search-q");
    var target = location.hash.length > 1 && document.getElementById(location.hash.slice(1));
    var opened = target && target.classList.contains("msg");
    if (box && opened && !box.value) {
      // Opened from a result: the results stay in the sidebar, to open the next one.
      try { box.value = sessionStorage.getItem(KEY) || ""; } catch (e) { /* storage disabled */ }
    }
    // A query typed before the page had loaded (htmx was not listening yet), or brought back above, is
    // searched now (htmx has bound the form: its handler ran first, its script being first).
    var results = document.getElementById("search-results");
    if (box && box.value.trim() && results && !results.childElementCount) box.dispatchEvent(new Event("search"));
    if (!opened) return;
    // After the page's own scroll to the newest message: this one is what the person asked for.
    target.scrollIntoView({ block: "center" });
    var words = (new URLSearchParams(location.search).get("hl") || "").toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length && window.CSS && CSS.highlights && window.Highlight) {
      CSS.highlights.set("search-match", new Highlight(...ranges(target.querySelector(".msg-body") || target, words)));
    }
  });
})();
