// Keeps a running job's page up to date: its status, progress bar and message, from the jobs
// API once a second; when the job ends the page is loaded again (with its result, its
// download link or its error).

const card = document.getElementById("job");
const FINAL = new Set(["finished", "failed"]);

async function poll() {
  const answer = await fetch(`/api/v1/jobs/${encodeURIComponent(card.dataset.jobId)}`, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!answer.ok) return;
  const job = await answer.json();
  card.querySelector("progress").value = job.progress;
  card.querySelector("[data-job-progress]").textContent = job.progress;
  card.querySelector("[data-job-message]").textContent = job.message || "";
  const status = card.querySelector("[data-job-status]");
  status.textContent = job.status;
  status.className = `status-${job.status}`;
  if (FINAL.has(job.status)) {
    window.location.reload();
    return;
  }
  setTimeout(poll, 1000);
}

if (card) setTimeout(poll, 1000);
