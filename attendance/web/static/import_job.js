// Progress of an import: polls the job's JSON every second, reloads the page once it has finished.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box || box.dataset.finished === "yes") { return; }
  var bar = document.getElementById("import-progress");
  var bytes = document.getElementById("import-bytes");
  var state = box.className;
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 3000); return; }
        if (job.total) { bar.max = job.total; }
        bar.value = job.state === "done" ? job.total : job.done;
        bytes.textContent = job.done.toLocaleString("en-US");
        // The page itself says what a finished (or newly running) job means, in the user's language.
        if (job.finished || "import-job job-" + job.state !== state) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
