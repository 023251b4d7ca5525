// Colour scales and heatmaps: orange for negative (class 0), blue for positive (class 1).

export const NEG = [245, 147, 34];
export const POS = [8, 119, 189];
const MID = [232, 234, 235];
export const CLASS_COLORS = [NEG, POS, [44, 160, 44], [148, 103, 189], [214, 39, 40], [140, 86, 75]];

const mix = (a, b, t) => [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
export const css = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;

// t in [-1, 1] -> orange .. grey .. blue
export function diverging(t) {
  t = Math.max(-1, Math.min(1, t));
  return t < 0 ? mix(MID, NEG, -t) : mix(MID, POS, t);
}

export function decode(b64) {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

// One colour per cell of a grid of bytes with `channels` values per cell.
//   channels 1: a value in [-1, 1] (bytes 0..255), diverging
//   channels K >= 2: class probabilities; K = 2 diverging on p1, K > 2 the likeliest class
// `strength` < 1 pales the colours (under the points of the output map).
export function cellColors(bytes, cells, channels, discretize, strength = 1) {
  const colors = new Array(cells * cells);
  for (let c = 0; c < cells * cells; c++) {
    if (channels === 1) {
      let t = bytes[c] / 127.5 - 1;
      if (discretize) t = t < 0 ? -0.85 : 0.85;
      colors[c] = diverging(t * strength);
    } else if (channels === 2) {
      let t = (2 * bytes[2 * c + 1]) / 255 - 1;
      if (discretize) t = t < 0 ? -0.85 : 0.85;
      colors[c] = diverging(t * strength);
    } else {
      // the classes' colours weighted by their probabilities, paler where no class is sure
      let best = 0;
      const mean = [0, 0, 0];
      for (let k = 0; k < channels; k++) {
        const p = bytes[channels * c + k] / 255;
        if (p > bytes[channels * c + best] / 255) best = k;
        for (let i = 0; i < 3; i++) mean[i] += p * CLASS_COLORS[k][i];
      }
      const top = bytes[channels * c + best] / 255;
      const confidence = discretize ? 0.8 : Math.max(0, (top - 1 / channels) / (1 - 1 / channels));
      colors[c] = mix(MID, discretize ? CLASS_COLORS[best] : mean, Math.min(1, 0.25 + confidence) * 0.9 * strength);
    }
  }
  return colors;
}

const scratch = document.createElement("canvas");

// Draw cells x cells colours, smoothly scaled, onto the whole of `canvas`.
export function drawCells(canvas, colors, cells) {
  scratch.width = cells;
  scratch.height = cells;
  const sctx = scratch.getContext("2d");
  const image = sctx.createImageData(cells, cells);
  colors.forEach((c, i) => {
    image.data.set([c[0], c[1], c[2], 255], 4 * i);
  });
  sctx.putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

// One unit's grid: bytes 0..255 for z/scale in [-1, 1].
export function drawUnit(canvas, unit, cells) {
  drawCells(canvas, cellColors(decode(unit.grid), cells, 1, false), cells);
}
