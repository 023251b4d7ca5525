// The playground page: one WebSocket to deltaprop, which trains; this page only draws and asks.

import { CLASS_COLORS, cellColors, css, decode, diverging, drawCells, drawUnit } from "./colors.js";
import { lineChart } from "./charts.js";
import { NetworkView } from "./network.js";

const $ = (id) => document.getElementById(id);
const DATASET_LABELS = {
  circle: "circle", xor: "xor", gauss: "gauss", spiral: "spiral", moons: "moons", plane: "plane", bumps: "bumps",
};
const LAYER_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"];

const page = {
  socket: null,
  setup: null,
  settings: null,
  frame: null,
  hash: null,
  playing: false,
  hover: null, // {h, j} shown large on the output map
  point: null, // {set, index} of the inspected point
  inspect: null,
  lastInspect: 0,
  want: null, // which export download was asked for
};
window.playground = page; // for the browser tests and the curious

// ------------------------------------------------------------------ socket
function send(message) {
  if (page.socket && page.socket.readyState === WebSocket.OPEN) page.socket.send(JSON.stringify(message));
}

function connect() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  page.socket = socket;
  socket.addEventListener("open", () => send({ type: "hello", hash: location.hash.slice(1) }));
  socket.addEventListener("message", (ev) => receive(JSON.parse(ev.data)));
  socket.addEventListener("close", () => {
    showMessage("The connection to the playground server was lost. Is `deltaprop playground` still running? Reload the page to reconnect.");
    setPlaying(false);
  });
}

function receive(m) {
  if (m.type === "setup") onSetup(m);
  else if (m.type === "settings") onSettings(m.settings, m.hash);
  else if (m.type === "frame") onFrame(m);
  else if (m.type === "inspect") onInspect(m);
  else if (m.type === "export") onExport(m);
  else if (m.type === "error") showMessage(m.message);
}

let messageTimer = null;
function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => (box.hidden = true), 8000);
}

// ------------------------------------------------------------ settings
function setHash(hash) {
  page.hash = hash;
  if (location.hash.slice(1) !== hash) history.replaceState(null, "", `#${hash}`);
}

function onSettings(settings, hash) {
  page.settings = settings;
  setHash(hash);
  for (const id of ["learning_rate", "reg_rate"]) selectValue($(id), settings[id]);
  for (const id of ["activation", "optimizer", "regularization"]) $(id).value = settings[id];
  for (const id of ["classes", "train_percent", "noise", "points", "batch_size"]) {
    $(id).value = settings[id];
    $(`${id}-out`).textContent = settings[id];
  }
  const nTrain = page.setup ? page.setup.train.length : settings.points;
  $("batch_size").max = String(nTrain);
  $("batch_size-out").textContent = settings.batch_size >= nTrain ? `${nTrain} (all: batch GD)` : settings.batch_size;
  $("train_percent-out").textContent = `${settings.train_percent}%`;
  $("noise-out").textContent = `${settings.noise}%`;
  $("reg_rate").disabled = settings.regularization === "none";
  $("show_test").checked = settings.show_test;
  $("discretize").checked = settings.discretize;
  $("classes-row").hidden = !["gauss", "spiral"].includes(settings.dataset);
  for (const b of $("datasets").querySelectorAll("button")) b.classList.toggle("active", b.dataset.name === settings.dataset);
  const L = settings.hidden.length;
  $("layer-count").textContent = `${L} hidden ${L === 1 ? "layer" : "layers"}`;
  drawOutput();
}

// A select shows the server's number even when it is not one of its options.
function selectValue(select, value) {
  const match = [...select.options].find((o) => Number(o.value) === value);
  if (!match) {
    const o = document.createElement("option");
    o.value = String(value);
    o.textContent = String(value);
    select.appendChild(o);
    select.value = o.value;
  } else select.value = match.value;
}

function change(changes) {
  send({ type: "set", changes });
}

function onSetup(m) {
  page.setup = m;
  net.selected = null;
  page.point = null;
  page.inspect = null;
  page.hover = null;
  const act = $("activation");
  if (act.options.length !== m.activations.length) {
    act.innerHTML = "";
    for (const name of m.activations) act.appendChild(new Option(name, name));
  }
  $("task").textContent = m.task === "regression" ? "Regression: identity output, squared error" : `Classification, K = ${m.classes}: softmax, cross-entropy`;
  onSettings(m.settings, m.hash);
  net.build(m, m.settings);
  const D = m.sizes.length - 1;
  const shapes = m.sizes.slice(1).map((M, h) => `W<sup>(${h + 1})</sup> ${M}×${m.sizes[h]}`);
  $("net-sizes").innerHTML = `sizes = [${m.sizes.join(", ")}], D = ${D}: ${shapes.join(", ")}; σ = ${m.settings.activation}, output ${m.task === "regression" ? "identity" : "softmax"}`;
  drawLegend();
  renderInspect();
}

// --------------------------------------------------------------- frames
function onFrame(f) {
  page.frame = f;
  setPlaying(f.playing);
  $("epoch").textContent = String(f.epoch).padStart(6, "0").replace(/(\d{3})(\d{3})$/, "$1,$2");
  $("test-loss").textContent = fmt(f.test_loss);
  $("train-loss").textContent = fmt(f.train_loss);
  net.draw(f);
  drawOutput();
  lineChart($("loss-chart"), f.curve.epoch, [
    { values: f.curve.train, color: "#9aa5b1" },
    { values: f.curve.test, color: "#1f2933", width: 2 },
  ]);
  const D = f.W.length;
  const norms = Array.from({ length: D }, (_, l) => ({ values: f.curve.grad_norms.map((n) => n[l]), color: LAYER_COLORS[l % 7] }));
  lineChart($("grad-chart"), f.curve.epoch, norms, { log: true });
  $("grad-legend").innerHTML = norms.map((_, l) => `<span><i style="background:${LAYER_COLORS[l % 7]}"></i>W<sup>(${l + 1})</sup></span>`).join("");
  $("dead").innerHTML = f.dead
    .map((d, l) => `<div>Layer ${l + 1}: ${d === null ? "not ReLU" : `<b>${d.length}</b> of ${page.setup.sizes[l + 1]} units dead (a<sup>(${l + 1})</sup> ≤ 0 on every training point)`}</div>`)
    .join("") || "<div>No hidden layers.</div>";
  if (f.problem) showMessage(f.problem);
  const now = performance.now();
  if (page.point && (!f.playing || now - page.lastInspect > 400)) {
    page.lastInspect = now;
    send({ type: "inspect", set: page.point.set, index: page.point.index });
  }
}

// a loss: three decimals, two digits when small, powers of ten when huge
const fmt = (v) => (v === null || v === undefined ? "diverged" : v >= 1000 ? v.toExponential(2) : v >= 0.01 ? v.toFixed(3) : v.toPrecision(2));

function setPlaying(playing) {
  page.playing = playing;
  const b = $("play");
  b.classList.toggle("playing", playing);
  b.setAttribute("aria-label", playing ? "pause" : "play");
}

// ------------------------------------------------------------ output map
function mapXY(canvas, x1, x2) {
  const d = page.setup.domain;
  return [((x1 + d) / (2 * d)) * canvas.width, ((d - x2) / (2 * d)) * canvas.height];
}

function pointColor(value) {
  if (page.setup.task === "regression") return diverging(value);
  return CLASS_COLORS[Math.round(value)] || CLASS_COLORS[0];
}

function drawOutput() {
  const canvas = $("output-map");
  const f = page.frame;
  const s = page.settings;
  if (!f || !page.setup || !s) return;
  const size = Math.round((canvas.clientWidth || 300) * (window.devicePixelRatio || 1));
  if (canvas.width !== size) {
    canvas.width = size;
    canvas.height = size;
  }
  const caption = $("map-caption");
  if (page.hover && page.hover.h < f.units.length && f.units[page.hover.h][page.hover.j]) {
    drawUnit(canvas, f.units[page.hover.h][page.hover.j], page.setup.unit_grid);
    const scale = f.units[page.hover.h][page.hover.j].scale;
    const name = page.hover.h === 0 ? page.setup.features[page.hover.j] : `z<sup>(${page.hover.h})</sup><sub>${page.hover.j + 1}</sub>`;
    caption.innerHTML = `${name} on the plane, colours ±${scale.toPrecision(2)}`;
  } else {
    const G = page.setup.output_grid;
    drawCells(canvas, cellColors(decode(f.output.grid), G, f.output.channels, s.discretize, 0.7), G);
    caption.innerHTML = page.hover ? `f<sub>${page.hover.j + 1}</sub>(x)` : "";
    if (page.hover) {
      const grid = decode(f.output.grid);
      const one = new Uint8Array(G * G);
      for (let c = 0; c < G * G; c++) one[c] = f.output.channels === 1 ? grid[c] : grid[f.output.channels * c + page.hover.j];
      drawCells(canvas, cellColors(one, G, 1, false, 0.7), G);
    }
  }
  const ctx = canvas.getContext("2d");
  const r = Math.max(2.5, canvas.width / 110);
  const draw = (points, stroke, set) => {
    points.forEach((p, i) => {
      const [x, y] = mapXY(canvas, p[0], p[1]);
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = css(pointColor(p[2]));
      ctx.fill();
      ctx.lineWidth = page.point && page.point.set === set && page.point.index === i ? r : Math.max(1, r / 3);
      ctx.strokeStyle = page.point && page.point.set === set && page.point.index === i ? "#111" : stroke;
      ctx.stroke();
    });
  };
  draw(page.setup.train, "#fff", "train");
  if (s.show_test) draw(page.setup.test, "#111", "test");
}

function drawLegend() {
  const m = page.setup;
  if (m.task === "regression") {
    $("legend").innerHTML = `<span>−1</span><canvas class="bar" width="110" height="10" id="legend-bar"></canvas><span>+1</span><span>target and f(x)</span>`;
    const ctx = $("legend-bar").getContext("2d");
    for (let x = 0; x < 110; x++) {
      ctx.fillStyle = css(diverging((x / 109) * 2 - 1));
      ctx.fillRect(x, 0, 1, 10);
    }
  } else {
    $("legend").innerHTML = Array.from({ length: m.classes }, (_, k) => `<span><i style="background:${css(CLASS_COLORS[k])}"></i>class ${k}</span>`).join("") + "<span>○ white rim: training, dark rim: test</span>";
  }
}

$("output-map").addEventListener("click", (ev) => {
  if (!page.setup) return;
  const canvas = $("output-map");
  const rect = canvas.getBoundingClientRect();
  const px = ((ev.clientX - rect.left) / rect.width) * canvas.width;
  const py = ((ev.clientY - rect.top) / rect.height) * canvas.height;
  let best = null;
  const sets = page.settings.show_test ? ["train", "test"] : ["train"];
  for (const set of sets) {
    page.setup[set].forEach((p, i) => {
      const [x, y] = mapXY(canvas, p[0], p[1]);
      const d = Math.hypot(x - px, y - py);
      if (!best || d < best.d) best = { d, set, index: i };
    });
  }
  if (best && best.d < canvas.width / 15) {
    page.point = { set: best.set, index: best.index };
    send({ type: "inspect", set: best.set, index: best.index });
    drawOutput();
  }
});

// ----------------------------------------------------- the lecture's view
function onInspect(m) {
  page.inspect = m;
  renderInspect();
}

const num = (v) => (v === null || v === undefined ? "–" : Math.abs(v) >= 1e5 ? Number(v).toExponential(3) : Number(v).toFixed(4));

function renderInspect() {
  const m = page.inspect;
  const box = $("unit-table");
  if (!m || !page.setup) {
    box.innerHTML = "";
    $("trace").textContent = "";
    $("inspect-hint").hidden = false;
    return;
  }
  $("inspect-hint").hidden = true;
  const D = m.layers.length;
  const sel = net.selected && net.selected.h >= 1 ? net.selected : { h: D, j: 0 };
  const layer = m.layers[sel.h - 1];
  const target = page.setup.task === "regression" ? `y = ${num(m.y[0])}` : `class ${m.y.indexOf(1)} (Y one-hot)`;
  const rows = layer.a.map((a, j) => `<tr class="${j === sel.j ? "sel" : ""}"><td>${j + 1}</td><td>${num(a)}</td><td>${num(layer.z[j])}</td><td>${layer.sigma_prime ? num(layer.sigma_prime[j]) : "(output)"}</td><td>${num(layer.delta[j])}</td></tr>`);
  const h = sel.h;
  const eq = h === D
    ? `δ<sup>(${D})</sup> = f(x) − Y (output layer, canonical link)`
    : `δ<sup>(${h})</sup> = σ'(a<sup>(${h})</sup>) ∘ (W<sup>(${h + 1})</sup>)<sup>T</sup> δ<sup>(${h + 1})</sup>`;
  box.innerHTML = `<p>${m.set === "train" ? "Training" : "Test"} point ${m.index + 1} at x = (${m.point.map(num).join(", ")}), ${target}.
    Layer h = ${h}${h === D ? " (the output)" : ""}; click another unit to see its layer.</p>
    <p class="hint">a<sup>(${h})</sup> = W<sup>(${h})</sup> z<sup>(${h - 1})</sup> + b<sup>(${h})</sup>, z<sup>(${h})</sup> = σ(a<sup>(${h})</sup>), ${eq}.</p>
    <table class="q"><thead><tr><th>unit j</th><th>a<sup>(${h})</sup><sub>j</sub></th><th>z<sup>(${h})</sup><sub>j</sub></th><th>σ'(a<sup>(${h})</sup><sub>j</sub>)</th><th>δ<sup>(${h})</sup><sub>j</sub></th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  $("trace").textContent = m.trace;
  box.insertAdjacentHTML("beforeend", `<p class="worked">${worked(m, h, sel.j)}</p>`);
}

// The selected unit's delta worked out with the numbers: the lecture's recursion, one unit.
function worked(m, h, j) {
  const D = m.layers.length;
  const L = m.layers[h - 1];
  const u = `<sup>(${h})</sup><sub>${j + 1}</sub>`;
  if (h === D) {
    return `δ${u} = f<sub>${j + 1}</sub>(x) − Y<sub>${j + 1}</sub> = ${num(L.z[j])} − ${num(m.y[j])} = <b>${num(L.delta[j])}</b>`;
  }
  const above = m.layers[h].delta;
  const W = m.W[h]; // W^(h+1), shape (M_{h+1}, M_h)
  const factor = (v) => (v < 0 ? `(${num(v)})` : num(v));
  const terms = above.map((d, k) => `${factor(W[k][j])}·${factor(d)}`);
  const sum = above.reduce((acc, d, k) => acc + W[k][j] * d, 0);
  return `δ${u} = σ'(a${u}) · Σ<sub>k</sub> W<sup>(${h + 1})</sup><sub>k,${j + 1}</sub> δ<sup>(${h + 1})</sup><sub>k</sub> = ${num(L.sigma_prime[j])} · (${terms.join(" + ")}) = ${num(L.sigma_prime[j])} · ${factor(sum)} = <b>${num(L.delta[j])}</b>`;
}

// ------------------------------------------------------------- editing
let editing = null;
function openEditor(label, value, ev, apply) {
  editing = apply;
  $("editor-label").textContent = label;
  const input = $("editor-value");
  input.value = Number(value).toFixed(3);
  const box = $("editor");
  box.hidden = false;
  box.style.left = `${Math.min(ev.clientX + 8, window.innerWidth - 260)}px`;
  box.style.top = `${ev.clientY + 8}px`;
  input.focus();
  input.select();
}
function closeEditor() {
  $("editor").hidden = true;
  editing = null;
}
function applyEditor() {
  const value = Number($("editor-value").value);
  if (editing && $("editor-value").value.trim() !== "" && Number.isFinite(value)) editing(value);
  else showMessage("Type a number.");
  closeEditor();
}
$("editor-ok").addEventListener("click", applyEditor);
$("editor-value").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") applyEditor();
  if (ev.key === "Escape") closeEditor();
});
document.addEventListener("mousedown", (ev) => {
  if (!$("editor").hidden && !$("editor").contains(ev.target) && !ev.target.closest(".links, .bias")) closeEditor();
});

function tip(text, ev) {
  const t = $("tooltip");
  if (!text) {
    t.hidden = true;
    return;
  }
  t.textContent = text;
  t.hidden = false;
  t.style.left = `${ev.clientX + 12}px`;
  t.style.top = `${ev.clientY + 12}px`;
}

const net = new NetworkView($("net"), $("links"), {
  toggleFeature(f) {
    const features = page.settings.features.includes(f) ? page.settings.features.filter((x) => x !== f) : [...page.settings.features, f];
    if (!features.length) return showMessage("Keep at least one input feature.");
    change({ features });
  },
  addUnit(h) {
    const hidden = [...page.settings.hidden];
    if (hidden[h - 1] >= 8) return showMessage("At most 8 units per layer.");
    hidden[h - 1] += 1;
    change({ hidden });
  },
  removeUnit(h) {
    const hidden = [...page.settings.hidden];
    if (hidden[h - 1] <= 1) return showMessage("A layer keeps at least one unit; remove the layer with the − beside 'hidden layers'.");
    hidden[h - 1] -= 1;
    change({ hidden });
  },
  editWeight(h, to, from, w, ev) {
    openEditor(`W^(${h}) [${to + 1}, ${from + 1}] =`, w, ev, (value) => send({ type: "set_weight", layer: h, to, from, value }));
  },
  editBias(h, j, ev) {
    const v = page.frame ? page.frame.b[h - 1][j] : 0;
    openEditor(`b^(${h}) [${j + 1}] =`, v, ev, (value) => send({ type: "set_bias", layer: h, unit: j, value }));
  },
  hover(h, j) {
    page.hover = h === null ? null : { h, j };
    drawOutput();
  },
  select(h, j) {
    net.selected = { h, j };
    net.markSelected();
    renderInspect();
    if (!page.point) $("inspect-hint").textContent = "Now click a point on the output map to see this unit's a, z, σ'(a) and δ for it.";
  },
  tip,
});

// ------------------------------------------------------------ controls
$("play").addEventListener("click", () => send({ type: page.playing ? "pause" : "play" }));
$("step").addEventListener("click", () => send({ type: "step" }));
$("reset").addEventListener("click", () => send({ type: "reset" }));
$("regenerate").addEventListener("click", () => send({ type: "regenerate" }));
for (const id of ["learning_rate", "reg_rate"]) $(id).addEventListener("change", (ev) => change({ [id]: Number(ev.target.value) }));
for (const id of ["activation", "optimizer", "regularization"]) $(id).addEventListener("change", (ev) => change({ [id]: ev.target.value }));
for (const id of ["classes", "train_percent", "noise", "points", "batch_size"]) {
  $(id).addEventListener("input", (ev) => ($(`${id}-out`).textContent = ev.target.value));
  $(id).addEventListener("change", (ev) => change({ [id]: Number(ev.target.value) }));
}
for (const id of ["show_test", "discretize"]) $(id).addEventListener("change", (ev) => change({ [id]: ev.target.checked }));
$("add-layer").addEventListener("click", () => {
  if (page.settings.hidden.length >= 6) return showMessage("At most 6 hidden layers.");
  change({ hidden: [...page.settings.hidden, 2] });
});
$("remove-layer").addEventListener("click", () => {
  if (!page.settings.hidden.length) return showMessage("No hidden layer left to remove.");
  change({ hidden: page.settings.hidden.slice(0, -1) });
});

function download(name, blob) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
function onExport(m) {
  if (page.want === "model") download(m.model_name, new Blob([decode(m.model)], { type: "application/octet-stream" }));
  else download(m.snippet_name, new Blob([m.snippet], { type: "text/x-python" }));
  page.want = null;
}
$("export-model").addEventListener("click", () => {
  page.want = "model";
  send({ type: "export" });
});
$("export-python").addEventListener("click", () => {
  page.want = "python";
  send({ type: "export" });
});

document.addEventListener("keydown", (ev) => {
  if (ev.target.closest && ev.target.closest("input, select, textarea")) return;
  if (ev.key === " ") {
    ev.preventDefault();
    send({ type: page.playing ? "pause" : "play" });
  } else if (ev.key === "ArrowRight") {
    ev.preventDefault();
    send({ type: "step" });
  }
});

window.addEventListener("hashchange", () => {
  if (location.hash.slice(1) !== page.hash) send({ type: "hello", hash: location.hash.slice(1) });
});
window.addEventListener("resize", () => {
  if (page.setup) {
    net.build(page.setup, page.settings);
    if (page.frame) net.draw(page.frame);
    drawOutput();
  }
});

// ------------------------------------------------- the data set tiles
function drawTile(canvas, name) {
  const ctx = canvas.getContext("2d");
  const n = 36;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const u = (x / n) * 12 - 6;
      const v = 6 - (y / n) * 12;
      const r = Math.hypot(u, v);
      let t;
      if (name === "circle") t = r < 3.7 ? 1 : -1;
      else if (name === "xor") t = u * v < 0 ? 1 : -1;
      else if (name === "gauss") t = Math.hypot(u - 2.2, v - 2.2) < 2.4 ? -1 : Math.hypot(u + 2.2, v + 2.2) < 2.4 ? 1 : 0;
      else if (name === "spiral") t = Math.sin(Math.atan2(v, u) + r * 1.1) > 0 ? 1 : -1;
      else if (name === "moons") t = Math.abs(Math.hypot(u + 1.5, v + 1) - 3) < 1 && v > -1 ? -1 : Math.abs(Math.hypot(u - 1.5, v - 0.5) - 3) < 1 && v < 0.5 ? 1 : 0;
      else if (name === "plane") t = (u + v) / 12;
      else t = Math.exp(-((u + 3) ** 2 + (v - 2.5) ** 2) / 4) - Math.exp(-((u - 2.5) ** 2 + (v - 3) ** 2) / 4) + Math.exp(-((u - 3) ** 2 + (v + 2.5) ** 2) / 4) - Math.exp(-((u + 2.5) ** 2 + (v + 3) ** 2) / 4);
      ctx.fillStyle = css(diverging(t * 0.9));
      ctx.fillRect(x, y, 1, 1);
    }
  }
}

for (const name of Object.keys(DATASET_LABELS)) {
  const b = document.createElement("button");
  b.dataset.name = name;
  b.title = `${name} (${["plane", "bumps"].includes(name) ? "regression" : "classification"})`;
  const c = document.createElement("canvas");
  c.width = 36;
  c.height = 36;
  drawTile(c, name);
  b.appendChild(c);
  b.appendChild(document.createTextNode(DATASET_LABELS[name]));
  b.addEventListener("click", () => change({ dataset: name }));
  $("datasets").appendChild(b);
}

connect();
