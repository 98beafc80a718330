// Applied before first paint so a dark-theme user never sees a white flash. The toggle lives here too, in
// the one script that is not deferred: it works from the moment its button is on screen, even while the
// page's other scripts are still on their way.
(function () {
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("novaweb-theme"); } catch (e) { /* storage disabled */ }
  if (saved === "light" || saved === "dark") root.dataset.theme = saved;

  // The toggle flips between light and dark and remembers the choice.
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-theme-toggle]")) return;
    var dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    try { localStorage.setItem("novaweb-theme", root.dataset.theme); } catch (e) { /* storage disabled */ }
  });
})();
