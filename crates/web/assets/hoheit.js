// hoheit's only own script (served from the binary; CSP script-src 'self'). The server renders
// the session time-out warnings hidden, each with data-warn-in = seconds until it applies
// (computed with the server's clock, so a wrong clock in the browser does not matter); this
// shows each one when its time has come, so a person can extend the session before losing work.
// Without JavaScript the header still says until when the session is active.
"use strict";
document.querySelectorAll("[data-warn-in]").forEach(function (banner) {
  var seconds = Number(banner.getAttribute("data-warn-in"));
  // setTimeout fires at once beyond 2^31 ms (24.8 days): a warning that far ahead is never due
  // before the page is left
  if (!isFinite(seconds) || seconds > 2000000) {
    return;
  }
  window.setTimeout(function () {
    banner.hidden = false;
  }, Math.max(0, seconds) * 1000);
});
