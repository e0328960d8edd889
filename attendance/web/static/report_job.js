// Progress of a monthly report built in the background: polls the job's JSON every second and
// moves the bar; once the job has finished, reloads the page, which offers the download (or says why not).
(function () {
  "use strict";
  var box = document.getElementById("report-job");
  if (!box || box.dataset.finished === "yes") { return; }
  var bar = document.getElementById("report-progress");
  var percent = document.getElementById("report-percent");
  var label = document.getElementById("report-label");
  var state = box.className;
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 3000); return; }
        bar.max = job.steps;
        bar.value = job.step;
        percent.textContent = String(job.percent);
        label.textContent = job.label;
        // The page itself words a finished (or newly running) job in the user's language.
        if (job.finished || "report-job job-" + job.state !== state) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
