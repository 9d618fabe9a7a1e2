// The publish page: follow the migration job's progress through the jobs API.

const box = document.getElementById("job");
if (box) {
  const messages = JSON.parse(box.dataset.messages);
  const bar = box.querySelector("progress");
  const status = box.querySelector("[data-job-status]");
  const poll = async () => {
    const response = await fetch(box.dataset.job, { credentials: "same-origin" });
    if (!response.ok) return;
    const job = await response.json();
    bar.value = job.progress ?? 0;
    if (job.status === "finished") {
      bar.value = 100;
      status.textContent = messages.done;
      box.dataset.state = "finished";
    } else if (job.status === "failed") {
      status.textContent = `${messages.failed} ${job.error || ""}`;
      box.dataset.state = "failed";
    } else {
      setTimeout(poll, 1000);
    }
  };
  poll();
}
