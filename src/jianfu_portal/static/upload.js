// The upload progress bar: the only script of the portal. Without it the form posts normally.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-upload]");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var box = form.querySelector(".progress");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-progress-text");
    var button = form.querySelector("button[type=submit]");

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((100 * e.loaded) / e.total);
        bar.value = pct;
        text.textContent = text.dataset.uploading + " " + pct + "%";
        if (e.loaded === e.total) text.textContent = text.dataset.checking;
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL); // the result page the form redirected to
          return;
        }
        // An error page (too large, expired form): show its message in place.
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var alert = doc.querySelector(".alert");
        text.textContent = alert ? alert.textContent : text.dataset.failed + " (" + xhr.status + ")";
        button.disabled = false;
      });
      xhr.addEventListener("error", function () {
        text.textContent = text.dataset.failed;
        button.disabled = false;
      });
      box.hidden = false;
      bar.value = 0;
      button.disabled = true;
      text.textContent = text.dataset.uploading;
      xhr.send(new FormData(form));
    });
  });
})();
