// The administration pages (admin/templates/admin/manage/): the import's progress while the upload runs.
// htmx posts the form; its xhr progress events give the bytes sent; then the server checks every row and
// writes them, and /admin/import/progress/<token>/ says how far (admin/manage_progress.py).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  // A refused file (422: the row errors) or a refused import (409) is an answer to show, not a failure.
  if (window.htmx) {
    window.htmx.config.responseHandling = [
      {code: "204", swap: false}, {code: "[23]..", swap: true}, {code: "40[39]", swap: true},
      {code: "422", swap: true}, {code: "[45]..", swap: false, error: true}
    ];
  }
  var bar = document.getElementById("import-bar");
  var phase = document.getElementById("import-phase");
  var input = document.getElementById("file");
  var label = form.querySelector(".custom-file-label");
  var token = document.getElementById("progress-token");
  var timer = null;
  var uploaded = false;
  // Bootstrap's file field shows the chosen file's name only with a script.
  input.addEventListener("change", function () {
    if (input.files && input.files.length) { label.textContent = input.files[0].name; }
  });
  function show(percent, text, moving) {
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    bar.classList.toggle("progress-bar-striped", moving);
    bar.classList.toggle("progress-bar-animated", moving);
    phase.textContent = text;
  }
  function words(name, percent) {
    return phase.dataset[name].replace("{p}", percent + "%");
  }
  function ask() {
    fetch(token.dataset.url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (p) {
        if (timer === null || !uploaded || !p.phase) { return; }
        show(p.percent, words(p.phase === "write" ? "write" : "validate", p.percent), false);
      })
      .catch(function () { /* the next ask will tell */ });
  }
  form.addEventListener("htmx:beforeRequest", function () {
    uploaded = false;
    show(0, words("uploading", 0), false);
    timer = window.setInterval(ask, 800);
  });
  form.addEventListener("htmx:xhr:progress", function (event) {
    var d = event.detail;
    if (uploaded || !d || !d.lengthComputable || !d.total) { return; }
    var percent = Math.round(100 * d.loaded / d.total);
    if (percent >= 100) {
      uploaded = true;
      show(100, phase.dataset.checking, true);
    } else {
      show(percent, words("uploading", percent), false);
    }
  });
  form.addEventListener("htmx:afterRequest", function () {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  });
})();
