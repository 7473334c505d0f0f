// The administration pages (admin/templates/admin/manage/): the import's progress while the upload runs.
// htmx posts the form; its xhr progress events give the bytes sent, then the server checks every row.
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
  var input = document.getElementById("file");
  var label = form.querySelector(".custom-file-label");
  // Bootstrap's file field shows the chosen file's name only with a script.
  input.addEventListener("change", function () {
    if (input.files && input.files.length) { label.textContent = input.files[0].name; }
  });
  var phase = document.getElementById("import-phase");
  function show(percent, text) {
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    phase.textContent = text;
  }
  form.addEventListener("htmx:beforeRequest", function () {
    bar.classList.remove("progress-bar-striped", "progress-bar-animated");
    show(0, phase.dataset.uploading.replace("{p}", "0%"));
  });
  form.addEventListener("htmx:xhr:progress", function (event) {
    var d = event.detail;
    if (!d || !d.lengthComputable || !d.total) { return; }
    var percent = Math.round(100 * d.loaded / d.total);
    if (percent >= 100) {
      bar.classList.add("progress-bar-striped", "progress-bar-animated");
      show(100, phase.dataset.checking);
    } else {
      show(percent, phase.dataset.uploading.replace("{p}", percent + "%"));
    }
  });
})();
