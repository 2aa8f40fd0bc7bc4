// The portal works without this file; with it, times read in the viewer's zone, the time
// fields of forms are read in that zone too, and a few buttons ask before they act.
"use strict";

(function () {
  const local = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });

  function localTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const when = new Date(el.getAttribute("datetime"));
      if (!Number.isNaN(when.getTime())) {
        el.textContent = local.format(when);
      }
    }
  }

  function zoneFields(root) {
    const offset = String(new Date().getTimezoneOffset());
    for (const el of root.querySelectorAll("input[data-tz]")) {
      el.value = offset;
    }
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
    for (const el of root.querySelectorAll("[data-tz-hint]")) {
      el.textContent = "Times are in " + zone + ".";
    }
  }

  function confirmations(root) {
    for (const form of root.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    }
  }

  // A pending delivery's page follows it: every 1.5 s it reads itself again and swaps in its
  // status, facts and attempts, until the delivery is delivered or failed (or 2 minutes pass).
  function follow(root) {
    const live = root.querySelector("[data-refresh]");
    if (!live) {
      return;
    }
    let tries = 0;
    const timer = window.setInterval(async () => {
      tries += 1;
      try {
        const response = await fetch(window.location.pathname, { credentials: "same-origin" });
        if (!response.ok) {
          window.clearInterval(timer);
          return;
        }
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const id of ["live", "attempts"]) {
          const next = fresh.getElementById(id);
          const now = document.getElementById(id);
          if (next && now) {
            now.replaceWith(next);
            localTimes(next);
          }
        }
        if (!fresh.querySelector("[data-refresh]") || tries >= 80) {
          window.clearInterval(timer);
        }
      } catch (error) {
        window.clearInterval(timer);
      }
    }, 1500);
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    zoneFields(document);
    confirmations(document);
    follow(document);
  });

  window.buzzPortal = { localTimes };
})();
