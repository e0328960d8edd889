// Progress of a background job (an import, a report): polls the job's JSON every second and
// moves the bar and the figures the page marks; once the job has finished (or changed state),
// reloads the page, which words the outcome in the user's language.
//   <div data-job-status-url=".." data-job-state="running" data-finished="no">
//     <progress data-job-max="total" data-job-value="done">   (names of fields of the JSON)
//     <span data-job-field="done" data-job-format="number">
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status-url]");
  if (!box || box.dataset.finished === "yes") { return; }
  var bar = box.querySelector("progress[data-job-value]");
  var fields = box.querySelectorAll("[data-job-field]");
  function show(value, format) {
    return format === "number" ? Number(value).toLocaleString("en-US") : String(value);
  }
  function poll() {
    fetch(box.dataset.jobStatusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 3000); return; }
        if (bar) {
          if (job[bar.dataset.jobMax]) { bar.max = job[bar.dataset.jobMax]; }
          bar.value = job[bar.dataset.jobValue];
        }
        fields.forEach(function (field) {
          field.textContent = show(job[field.dataset.jobField], field.dataset.jobFormat);
        });
        if (job.finished || job.state !== box.dataset.jobState) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
