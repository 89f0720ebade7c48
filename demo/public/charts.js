// The page's line charts, on Chart.js (the global Chart from /vendor/chart.js/chart.umd.js): x in
// seconds on a linear axis, no animation, since they redraw twice a second.

const { Chart } = globalThis

/** One colour per backend, the same on every chart and run. */
export const colors = { offload: '#1a7f37', bcrypt: '#d9730d', 'bcryptjs-sync': '#cf222e', bcryptjs: '#8250df', 'node-rs': '#0969da' }

export function series(label, color, dash = []) {
  return { label, borderColor: color, backgroundColor: color, borderDash: dash, data: [] }
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{ datasets?: object[], xTitle: string, yTitle: string, log?: boolean, x?: object }} o
 *   x: more Chart.js options for the x axis (its ticks, say)
 */
export function lineChart(canvas, { datasets = [], xTitle, yTitle, log = false, x = {} }) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      // Points are given as { x, y }, already sorted by x.
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0 }, line: { borderWidth: 2 } },
      scales: {
        x: { type: 'linear', title: { display: true, text: xTitle }, ...x },
        y: { type: log ? 'logarithmic' : 'linear', beginAtZero: !log, title: { display: true, text: yTitle } },
      },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
    },
  })
}
