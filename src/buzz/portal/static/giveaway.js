// The giveaway page is complete without this file; with it, the entries table refreshes itself
// every few seconds from /portal/giveaway/entries (the table's body, as HTML), while the tab is
// visible. A session that has ended stops the refreshing and says so.
"use strict";

(function () {
  const EVERY_MS = 4000;

  function start(table) {
    const url = table.getAttribute("data-live");
    const note = table.querySelector("[data-live-note]");
    const count = document.getElementById("entry-count");
    let timer = null;
    let busy = false;

    function say(text) {
      if (note) {
        note.textContent = text;
      }
    }

    async function refresh() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      try {
        const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        if (!response.ok) {
          stop();
          say(response.status === 401
            ? " (no longer refreshed: the session has ended; open a new portal link)"
            : " (no longer refreshed: reload the page)");
          return;
        }
        const template = document.createElement("template");
        template.innerHTML = (await response.text()).trim();
        const fresh = template.content.querySelector("tbody#entries");
        const current = table.querySelector("tbody#entries");
        if (fresh && current) {
          current.replaceWith(fresh);
          if (window.buzzPortal) {
            window.buzzPortal.localTimes(fresh);
          }
          if (count) {
            const n = fresh.getAttribute("data-count");
            if (count.textContent !== n) {
              count.textContent = n;
            }
          }
          say(" · refreshed every few seconds");
        }
      } catch (error) {
        say(" (not refreshed: the server could not be reached; retrying)");
      } finally {
        busy = false;
      }
    }

    function stop() {
      if (timer !== null) {
        window.clearInterval(timer);
        timer = null;
      }
    }

    say(" · refreshed every few seconds");
    timer = window.setInterval(refresh, EVERY_MS);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && timer !== null) {
        refresh();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const table of document.querySelectorAll("table[data-live]")) {
      start(table);
    }
  });
})();
