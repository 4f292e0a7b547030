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

// The inbox composer and the template previews. Set up on load and again on every piece of
// the page htmx swaps in (the live updates replace the composer when what may be sent changes);
// each element once.
function enhance(root) {
  // In the free-text field Enter sends and Shift+Enter starts a new line (without JavaScript
  // Enter is a new line and the button sends); the hint saying so is shown only where this
  // script runs. Not while an input method composes a word.
  root.querySelectorAll("textarea[data-enter-sends]").forEach(function (field) {
    var hint = document.getElementById("enter-hint");
    if (hint) {
      hint.hidden = false;
    }
    if (field.dataset.enhanced) {
      return;
    }
    field.dataset.enhanced = "1";
    field.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) {
        return;
      }
      event.preventDefault();
      if (field.form && field.value.trim() !== "") {
        field.form.requestSubmit();
      }
    });
  });

  // A template's preview follows the values as they are typed ({{1}}, {{2}}, ... of the synced
  // body; an empty value shows its placeholder, as the server renders it).
  root.querySelectorAll("form.compose-template").forEach(function (form) {
    var preview = form.querySelector(".preview[data-body]");
    if (!preview || form.dataset.enhanced) {
      return;
    }
    form.dataset.enhanced = "1";
    var body = preview.getAttribute("data-body");
    var label = preview.getAttribute("data-placeholder");
    var update = function () {
      preview.textContent = body.replace(/\{\{(\d+)\}\}/g, function (all, n) {
        var input = form.querySelector("input[name='p" + n + "']");
        var value = input ? input.value.trim() : "";
        return value !== "" ? value : "[" + label + " " + n + "]";
      });
    };
    form.addEventListener("input", update);
  });
}

enhance(document);
document.addEventListener("htmx:load", function (event) {
  enhance(event.detail.elt.querySelectorAll ? event.detail.elt : document);
});
