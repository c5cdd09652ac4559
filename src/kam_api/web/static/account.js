// The as-of slider: the range (days since registration) and the date input follow each other;
// the form submits ?as_of=YYYY-MM-DD. Without this script the date input and button work alone.
(function () {
  "use strict";
  var DAY = 86400000;

  function parse(text) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return parts ? Date.UTC(+parts[1], +parts[2] - 1, +parts[3]) : null;
  }

  function format(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function wire(form) {
    var range = form.querySelector("[data-as-of-range]");
    var input = form.querySelector("[data-as-of-date]");
    var start = parse(form.getAttribute("data-registered"));
    if (!range || !input || start === null) {
      return;
    }
    range.addEventListener("input", function () {
      input.value = format(start + Number(range.value) * DAY);
    });
    range.addEventListener("change", function () {
      input.value = format(start + Number(range.value) * DAY);
    });
    input.addEventListener("change", function () {
      var chosen = parse(input.value);
      if (chosen !== null) {
        var days = Math.round((chosen - start) / DAY);
        range.value = String(Math.max(0, Math.min(Number(range.max), days)));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form.as-of");
    for (var i = 0; i < forms.length; i += 1) {
      wire(forms[i]);
    }
  });
})();
