// The analytics page's charts, drawn with uPlot (vendor/uplot-1.6.32) from the JSON the page
// carries in <script type="application/json" id="analytics-data">. The page's tables hold the
// same numbers, so without this file (or without uPlot) nothing is missing but the pictures.
"use strict";

(function () {
  // Colors of the kinds: each at least 4.5:1 against white.
  const COLORS = { welcome: "#4433c2", faq: "#106b31", timer: "#8a5a00", api: "#a11d2b" };
  const BOTTOM_UP = ["welcome", "faq", "timer", "api"];
  const INK = "#1c1c28";
  const GRID = "#e2e2ea";
  const dayLabel = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

  function readData() {
    const el = document.getElementById("analytics-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function widthOf(el) {
    return Math.max(260, Math.floor(el.getBoundingClientRect().width));
  }

  function integerSplits(max) {
    // Tick steps for counts: whole numbers only.
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
    return max <= 0 ? [1] : steps;
  }

  function axis(extra) {
    return Object.assign({ stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } }, extra);
  }

  // Messages per day, stacked by kind: each kind is drawn as a bar from 0 to the sum of itself and
  // the kinds below it, tallest first, so what shows of it is its own count.
  function daysChart(el, data) {
    const n = data.days.length;
    const xs = data.days.map((_, i) => i);
    const stacked = {};
    let below = new Array(n).fill(0);
    for (const kind of BOTTOM_UP) {
      below = below.map((v, i) => v + data.counts[kind][i]);
      stacked[kind] = below;
    }
    const top = Math.max(1, Math.ceil(Math.max(...below) * 1.1));
    const drawOrder = BOTTOM_UP.slice().reverse();
    const bars = uPlot.paths.bars({ size: [0.7, 48] });
    const series = [{ label: "Day", value: (u, v) => (v == null || data.days[v] === undefined ? "—" : data.days[v]) }];
    for (const kind of drawOrder) {
      series.push({
        label: data.kinds[kind],
        stroke: COLORS[kind],
        fill: COLORS[kind],
        width: 0,
        paths: bars,
        points: { show: false },
        value: (u, v, si, di) => (di == null ? "—" : String(data.counts[kind][di])),
      });
    }
    const opts = {
      width: widthOf(el),
      height: 260,
      series,
      legend: { live: true },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: () => [0, top] },
      },
      axes: [
        axis({
          space: 44,
          incrs: [1, 2, 7, 14, 28, 56, 91, 182, 364, 728],
          values: (u, splits) => splits.map((i) => (Number.isInteger(i) && data.days[i] ? dayLabel.format(new Date(data.days[i] + "T00:00:00Z")) : "")),
        }),
        axis({ incrs: integerSplits(top), values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) }),
      ],
    };
    return new uPlot(opts, [xs, ...drawOrder.map((kind) => stacked[kind])], el);
  }

  // Top FAQ triggers as bars, the most replies first, each labelled with its keyword.
  function triggersChart(el, data) {
    const rows = data.triggers;
    const n = rows.length;
    const xs = rows.map((_, i) => i);
    const counts = rows.map((t) => t.count);
    const top = Math.max(1, Math.ceil(Math.max(...counts) * 1.1));
    const short = rows.map((t) => (t.keyword.length > 12 ? t.keyword.slice(0, 11) + "…" : t.keyword));
    const opts = {
      width: widthOf(el),
      height: 220,
      series: [
        { label: "Trigger", value: (u, v) => (v == null || rows[v] === undefined ? "—" : rows[v].keyword) },
        {
          label: "Replies",
          stroke: COLORS.faq,
          fill: COLORS.faq,
          width: 0,
          paths: uPlot.paths.bars({ size: [0.6, 64] }),
          points: { show: false },
          value: (u, v) => (v == null ? "—" : String(v)),
        },
      ],
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: () => [0, top] },
      },
      axes: [
        axis({
          grid: { show: false },
          space: 40,
          incrs: [1],
          values: (u, splits) => splits.map((i) => (Number.isInteger(i) && short[i] !== undefined ? short[i] : "")),
        }),
        axis({ incrs: integerSplits(top), values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) }),
      ],
    };
    return new uPlot(opts, [xs, counts], el);
  }

  function keepFitted(chart, el) {
    if (typeof ResizeObserver === "undefined") {
      return;
    }
    let last = widthOf(el);
    new ResizeObserver(() => {
      const width = widthOf(el);
      if (width !== last) {
        last = width;
        chart.setSize({ width, height: chart.height });
      }
    }).observe(el);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = readData();
    if (!data || typeof uPlot === "undefined") {
      return;
    }
    const builders = { days: daysChart, triggers: triggersChart };
    for (const el of document.querySelectorAll("[data-chart]")) {
      const build = builders[el.getAttribute("data-chart")];
      if (build) {
        el.classList.add("drawn");
        keepFitted(build(el, data), el);
      }
    }
  });
})();
