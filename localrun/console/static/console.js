// The console's only script: post action forms without reloading, and refresh the live
// parts (events, sync state, log) every two seconds. Without it, forms still work
// (the server redirects back) and a reload shows the latest state.
(function () {
  "use strict";
  const body = document.body;
  const liveUrl = body.dataset.liveUrl;
  const toasts = document.getElementById("toasts");
  const errors = document.getElementById("errors");
  const liveAt = document.getElementById("live-at");
  const auto = document.getElementById("auto-refresh");
  let inFlight = false;

  // Toasts sit in the bottom-right corner, over the live log's end (never over an event
  // card's buttons), live a few seconds and go away on a click.
  const TOAST_MS = { ok: 3500, error: 7000 };

  function dismiss(el) {
    el.classList.add("fade");
    setTimeout(() => el.remove(), 300);
  }

  function schedule(el, ok) {
    setTimeout(() => dismiss(el), ok ? TOAST_MS.ok : TOAST_MS.error);
  }

  function toast(message, ok) {
    const el = document.createElement("div");
    el.className = "toast " + (ok ? "toast-ok" : "toast-error");
    el.dataset.testid = "toast";
    el.title = "click to dismiss";
    el.textContent = message;
    toasts.prepend(el);
    // Keep the last three: a burst of actions must not bury the page.
    for (const old of Array.from(toasts.children).slice(3)) old.remove();
    schedule(el, ok);
  }

  toasts.addEventListener("click", (event) => {
    const el = event.target instanceof Element ? event.target.closest(".toast") : null;
    if (el) dismiss(el);
  });

  async function refresh() {
    if (inFlight) return;
    inFlight = true;
    try {
      const response = await fetch(liveUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const parts = await response.json();
      for (const region of document.querySelectorAll("[data-live]")) {
        // Never pull the rug from under someone typing in a form inside the region.
        if (region.contains(document.activeElement) && document.activeElement.tagName === "INPUT") continue;
        const html = parts[region.dataset.live];
        if (typeof html === "string" && region.innerHTML !== html) region.innerHTML = html;
      }
      errors.innerHTML = "";
      for (const message of parts.errors || []) {
        const line = document.createElement("div");
        line.textContent = message;
        errors.append(line);
      }
      errors.classList.toggle("hidden", !(parts.errors || []).length);
      liveAt.textContent = "updated " + parts.at;
      body.dataset.refreshed = parts.at;
    } catch (err) {
      liveAt.textContent = "console unreachable (" + err.message + ")";
    } finally {
      inFlight = false;
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.action) return;
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    body.classList.add("busy");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
      });
      const answer = await response.json();
      toast(answer.message, answer.ok);
      if (answer.ok && form.dataset.action !== "create") form.reset();
    } catch (err) {
      toast("The console did not answer: " + err.message, false);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      body.classList.remove("busy");
      await refresh();
    }
  });

  setInterval(() => {
    if (auto.checked && !document.hidden) refresh();
  }, 2000);
  // Flashed messages from a no-script round trip go like the others.
  for (const el of toasts.querySelectorAll(".toast")) schedule(el, !el.classList.contains("toast-error"));
})();
