// Small line charts drawn on a canvas sized to its CSS box.

function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * ratio)) canvas.width = Math.round(w * ratio);
  if (canvas.height !== Math.round(h * ratio)) canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// series: [{values, color, width}] over the shared x values `xs`.
export function lineChart(canvas, xs, series, { log = false, label = "" } = {}) {
  const { ctx, w, h } = fit(canvas);
  const pad = { l: 34, r: 6, t: 6, b: 14 };
  const finite = (v) => v !== null && Number.isFinite(v) && (!log || v > 0);
  const all = series.flatMap((s) => s.values.filter(finite));
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#66717d";
  if (!all.length || !xs.length) {
    ctx.fillText(label || "no data yet", pad.l, h / 2);
    return;
  }
  const tf = log ? Math.log10 : (v) => v;
  let lo = log ? Math.min(...all.map(tf)) : 0;
  let hi = Math.max(...all.map(tf));
  if (hi - lo < 1e-12) hi = lo + 1;
  const x0 = xs[0];
  const x1 = Math.max(xs[xs.length - 1], x0 + 1);
  const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * (w - pad.l - pad.r);
  const Y = (v) => pad.t + (1 - (tf(v) - lo) / (hi - lo)) * (h - pad.t - pad.b);
  ctx.strokeStyle = "#dde3ea";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(pad.l, pad.t);
  ctx.lineTo(pad.l, h - pad.b);
  ctx.lineTo(w - pad.r, h - pad.b);
  ctx.stroke();
  const fmt = (v) => (log ? (10 ** v).toExponential(0) : v.toPrecision(2));
  ctx.textAlign = "right";
  ctx.fillText(fmt(hi), pad.l - 3, pad.t + 8);
  ctx.fillText(fmt(lo), pad.l - 3, h - pad.b);
  ctx.textAlign = "left";
  ctx.fillText(String(x0), pad.l, h - 2);
  ctx.textAlign = "right";
  ctx.fillText(String(x1), w - pad.r, h - 2);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    if (s.values.filter(finite).length === 1) {
      const i = s.values.findIndex(finite);
      ctx.fillRect(X(xs[i]) - 1.5, Y(s.values[i]) - 1.5, 3, 3); // a lone point has no line
    }
    ctx.lineWidth = s.width || 1.5;
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (!finite(v)) {
        pen = false;
        return;
      }
      if (pen) ctx.lineTo(X(xs[i]), Y(v));
      else ctx.moveTo(X(xs[i]), Y(v));
      pen = true;
    });
    ctx.stroke();
  }
}
