// Charts, drawn by Chart.js (vendored, loaded as a classic script before
// the modules). Every chart has axes, a legend and tooltips, takes its
// colours from the theme, and is an image with a text description for
// assistive technology (the data is also in the page's tables).

const charts = new Set();

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const palette = () => [1, 2, 3, 4, 5].map((i) => css(`--series-${i}`));

function baseOptions({ stacked = false, horizontal = false } = {}) {
  const text = css('--text');
  const grid = css('--grid');
  const axis = (title) => ({
    ticks: { color: text, maxRotation: 0, autoSkip: true },
    grid: { color: grid },
    title: title ? { display: true, text: title, color: text } : undefined,
    stacked,
  });
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    indexAxis: horizontal ? 'y' : 'x',
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: { labels: { color: text } },
      tooltip: { enabled: true },
    },
    scales: { x: axis(), y: { ...axis(), beginAtZero: true } },
  };
}

/**
 * Draws a chart into `box` (an element). spec: {type: 'line'|'bar',
 * labels: [...], series: [{label, data: [...]}], xTitle, yTitle, title,
 * horizontal, stacked}. Returns the canvas.
 */
export function drawChart(box, spec) {
  const canvas = document.createElement('canvas');
  const points = spec.series.reduce((n, s) => n + s.data.length, 0);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', describe(spec));
  canvas.dataset.points = String(points);
  canvas.textContent = describe(spec);
  box.replaceChildren(canvas);
  if (!window.Chart) {
    box.replaceChildren(document.createTextNode('The chart library did not load.'));
    return canvas;
  }
  const colors = palette();
  const options = baseOptions(spec);
  if (spec.xTitle) options.scales.x.title = { display: true, text: spec.xTitle, color: css('--text') };
  if (spec.yTitle) options.scales.y.title = { display: true, text: spec.yTitle, color: css('--text') };
  const chart = new window.Chart(canvas, {
    type: spec.type,
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s, i) => ({
        label: s.label,
        data: s.data,
        borderColor: colors[i % colors.length],
        backgroundColor: spec.type === 'line' ? colors[i % colors.length] : `${colors[i % colors.length]}cc`,
        borderWidth: 2,
        pointRadius: spec.labels.length > 60 ? 0 : 2,
        tension: 0.2,
      })),
    },
    options,
  });
  charts.add(chart);
  return canvas;
}

function describe(spec) {
  const first = spec.series[0];
  if (!first || spec.labels.length === 0) return `${spec.title || 'Chart'}: no data`;
  const values = first.data.filter((v) => typeof v === 'number');
  const max = values.length ? Math.max(...values) : 0;
  const kind = spec.type === 'line' ? 'Line chart' : 'Bar chart';
  return `${kind}: ${spec.title || first.label}, ${spec.labels.length} points from ${spec.labels[0]} to ${spec.labels[spec.labels.length - 1]}, highest ${max}`;
}

/** Destroys every chart (the page is being replaced). */
export function clearCharts() {
  charts.forEach((c) => c.destroy());
  charts.clear();
}

/** Redraws charts in the new theme's colours. */
export function retheme() {
  const colors = palette();
  const text = css('--text');
  const grid = css('--grid');
  charts.forEach((c) => {
    c.data.datasets.forEach((d, i) => {
      d.borderColor = colors[i % colors.length];
      d.backgroundColor = c.config.type === 'line' ? colors[i % colors.length] : `${colors[i % colors.length]}cc`;
    });
    for (const axis of Object.values(c.options.scales)) {
      axis.ticks.color = text;
      axis.grid.color = grid;
      if (axis.title) axis.title.color = text;
    }
    c.options.plugins.legend.labels.color = text;
    c.update();
  });
}
