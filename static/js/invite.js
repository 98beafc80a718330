// An invite link carries its token after "#", which browsers never send: it reaches no access log or proxy.
// This page posts it instead, and first takes it out of the address bar and the history.
(function () {
  var form = document.getElementById("invite-form");
  var token = location.hash.slice(1);
  if (!form || !token) return;
  history.replaceState(null, "", location.pathname + location.search);
  try { token = decodeURIComponent(token); } catch (e) { /* not encoded: use it as it is */ }
  form.elements.token.value = token;
  form.submit();
})();
