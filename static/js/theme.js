// Applied before first paint so a dark-theme user never sees a white flash.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("novaweb-theme"); } catch (e) { /* storage disabled */ }
  if (saved === "light" || saved === "dark") document.documentElement.dataset.theme = saved;
})();
