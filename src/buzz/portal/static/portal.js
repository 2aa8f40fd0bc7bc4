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

  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    zoneFields(document);
    confirmations(document);
  });

  window.buzzPortal = { localTimes };
})();
