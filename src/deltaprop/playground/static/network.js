// The network: feature units, hidden units and outputs as small heatmaps, links as SVG paths.

import { css, decode, diverging, drawCells, drawUnit, cellColors, NEG, POS } from "./colors.js";

const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"];
const FEATURE_LABELS = ["x₁", "x₂", "x₁²", "x₂²", "x₁x₂", "sin x₁", "sin x₂"];
const UNIT = 36;
const ROW = 48;
const TOP = 56;
const SVG_NS = "http://www.w3.org/2000/svg";

export class NetworkView {
  constructor(root, svg, actions) {
    this.root = root;
    this.svg = svg;
    this.actions = actions; // {toggleFeature, addUnit, removeUnit, editWeight, editBias, hover, select}
    this.units = []; // units[c][j] = {el, canvas, bias}
    this.selected = null;
  }

  // Build the DOM for a run (setup message) and its settings.
  build(setup, settings) {
    this.setup = setup;
    this.settings = settings;
    for (const el of [...this.root.querySelectorAll(".unit, .feature-label, .layer-head, .out-label")]) el.remove();
    const sizes = setup.sizes;
    const hidden = sizes.slice(1, -1);
    const K = sizes[sizes.length - 1];
    const columns = 2 + hidden.length;
    const gap = this.root.clientWidth < 500 ? 60 : 90; // the least room between columns: a phone gets less
    const width = Math.max(this.root.clientWidth, 130 + gap * (columns - 1));
    const left = 62;
    const right = 26;
    const colX = (c) => left + (c * (width - left - right - UNIT)) / (columns - 1);
    const rows = Math.max(FEATURES.length, ...hidden, K);
    const height = TOP + rows * ROW;
    this.root.style.height = `${height}px`;
    this.root.style.minWidth = `${width}px`;
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    this.units = [];
    this.active = FEATURES.map((f) => settings.features.includes(f));
    // column 0: every feature, the unused ones dimmed
    const inputs = [];
    FEATURES.forEach((f, i) => {
      const y = TOP + i * ROW;
      const el = this._unit(colX(0), y, !this.active[i]);
      el.title = this.active[i] ? `${FEATURE_LABELS[i]}: click to leave it out` : `${FEATURE_LABELS[i]}: click to use it`;
      el.dataset.feature = f;
      el.addEventListener("click", () => this.actions.toggleFeature(f));
      const label = document.createElement("div");
      label.className = "feature-label";
      label.textContent = FEATURE_LABELS[i];
      label.style.left = `${colX(0) - 56}px`;
      label.style.top = `${y + 10}px`;
      this.root.appendChild(label);
      inputs.push({ el, canvas: el.querySelector("canvas"), x: colX(0), y, feature: i });
    });
    this.inputs = inputs;
    this.units.push(inputs.filter((u, i) => this.active[i]));
    // hidden layers and the output layer
    for (let h = 1; h < sizes.length; h++) {
      const x = colX(h);
      const column = [];
      const isOut = h === sizes.length - 1;
      if (!isOut) this._layerHead(x, h, sizes[h]);
      for (let j = 0; j < sizes[h]; j++) {
        const y = TOP + j * ROW;
        const el = this._unit(x, y, false);
        el.dataset.layer = h;
        el.dataset.unit = j;
        const bias = document.createElement("div");
        bias.className = "bias";
        bias.title = `b^(${h})_${j + 1}: click to edit`;
        bias.addEventListener("click", (ev) => {
          ev.stopPropagation();
          this.actions.editBias(h, j, ev);
        });
        el.appendChild(bias);
        el.addEventListener("mouseenter", () => this.actions.hover(h, j));
        el.addEventListener("mouseleave", () => this.actions.hover(null));
        el.addEventListener("click", () => this.actions.select(h, j));
        column.push({ el, canvas: el.querySelector("canvas"), bias, x, y });
      }
      if (isOut) {
        const label = document.createElement("div");
        label.className = "out-label";
        label.style.left = `${x - 6}px`;
        label.style.top = `${TOP - 22}px`;
        label.textContent = setup.task === "regression" ? "f(x)" : "f(x): softmax";
        this.root.appendChild(label);
      }
      this.units.push(column);
    }
    this.markSelected();
  }

  _unit(x, y, off) {
    const el = document.createElement("div");
    el.className = off ? "unit off" : "unit";
    el.style.left = `${x}px`;
    el.style.top = `${y}px`;
    const canvas = document.createElement("canvas");
    canvas.width = 36;
    canvas.height = 36;
    el.appendChild(canvas);
    this.root.appendChild(el);
    return el;
  }

  _layerHead(x, h, units) {
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = `${x + UNIT / 2 - 36}px`;
    head.style.top = "0px";
    const pm = document.createElement("div");
    pm.className = "pm";
    for (const [text, fn, label] of [
      ["+", this.actions.addUnit, "add a unit"],
      ["−", this.actions.removeUnit, "remove a unit"],
    ]) {
      const b = document.createElement("button");
      b.className = "round tiny";
      b.textContent = text;
      b.title = `Layer ${h}: ${label}`;
      b.setAttribute("aria-label", `layer ${h} ${label}`);
      b.addEventListener("click", () => fn(h));
      pm.appendChild(b);
    }
    head.appendChild(pm);
    head.appendChild(document.createTextNode(`${units} ${units === 1 ? "unit" : "units"}`));
    this.root.appendChild(head);
  }

  markSelected() {
    for (const el of this.root.querySelectorAll(".unit.selected")) el.classList.remove("selected");
    if (!this.selected) return;
    const unit = this.units[this.selected.h]?.[this.selected.j];
    if (unit) unit.el.classList.add("selected");
  }

  // Draw a frame: unit heatmaps, biases, links.
  draw(frame) {
    const cells = this.setup.unit_grid;
    // inputs: frame.units[0] has the active features in order
    frame.units[0].forEach((u, i) => drawUnit(this.units[0][i].canvas, u, cells));
    this.inputs.forEach((u, i) => {
      if (!this.active[i]) this.drawInactive(u.canvas, i);
    });
    for (let h = 1; h < frame.units.length; h++) {
      frame.units[h].forEach((u, j) => drawUnit(this.units[h][j].canvas, u, cells));
    }
    const last = this.units.length - 1;
    const out = frame.output;
    const grid = decode(out.grid);
    const G = this.setup.output_grid;
    this.units[last].forEach((u, k) => {
      const one = new Uint8Array(G * G);
      for (let c = 0; c < G * G; c++) one[c] = out.channels === 1 ? grid[c] : grid[out.channels * c + k];
      drawCells(u.canvas, cellColors(one, G, 1, false), G);
    });
    for (let h = 1; h <= frame.b.length; h++) {
      frame.b[h - 1].forEach((v, j) => {
        const t = Math.max(-1, Math.min(1, v));
        this.units[h][j].bias.style.background = css(t < 0 ? NEG : POS);
        this.units[h][j].bias.style.opacity = String(0.25 + 0.75 * Math.abs(t));
      });
    }
    // dead ReLUs: units whose a^(h) <= 0 on every training point
    frame.dead.forEach((dead, i) => {
      this.units[i + 1].forEach((u, j) => u.el.classList.toggle("dead", dead !== null && dead.includes(j)));
    });
    this.drawLinks(frame);
  }

  // A feature not in use: its values drawn faintly from its formula (no network involved).
  drawInactive(canvas, i) {
    const n = 12;
    const colors = [];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const x1 = ((c + 0.5) / n) * 12 - 6;
        const x2 = 6 - ((r + 0.5) / n) * 12;
        const v = [x1 / 6, x2 / 6, (x1 * x1) / 36, (x2 * x2) / 36, (x1 * x2) / 36, Math.sin(x1), Math.sin(x2)][i];
        colors.push(diverging(v));
      }
    }
    drawCells(canvas, colors, n);
  }

  drawLinks(frame) {
    while (this.svg.firstChild) this.svg.removeChild(this.svg.firstChild);
    const half = UNIT / 2;
    frame.W.forEach((W, l) => {
      const h = l + 1;
      W.forEach((row, to) => {
        row.forEach((w, from) => {
          const a = this.units[h - 1][from];
          const b = this.units[h][to];
          const x0 = a.x + UNIT;
          const y0 = a.y + half;
          const x1 = b.x;
          const y1 = b.y + half;
          const mid = (x0 + x1) / 2;
          const d = `M${x0},${y0} C${mid},${y0} ${mid},${y1} ${x1},${y1}`;
          const path = document.createElementNS(SVG_NS, "path");
          path.setAttribute("d", d);
          path.setAttribute("stroke", css(w < 0 ? NEG : POS));
          path.setAttribute("stroke-width", String(Math.min(7, 0.4 + 2.2 * Math.abs(w))));
          path.setAttribute("stroke-opacity", String(Math.min(1, 0.35 + 0.5 * Math.abs(w))));
          const hit = document.createElementNS(SVG_NS, "path");
          hit.setAttribute("d", d);
          hit.setAttribute("class", "hit");
          hit.dataset.layer = h;
          hit.dataset.to = to;
          hit.dataset.from = from;
          const name = `W^(${h})_${to + 1},${from + 1} = ${w.toFixed(3)}`;
          hit.addEventListener("mousemove", (ev) => this.actions.tip(name, ev));
          hit.addEventListener("mouseleave", () => this.actions.tip(null));
          hit.addEventListener("click", (ev) => this.actions.editWeight(h, to, from, w, ev));
          this.svg.appendChild(path);
          this.svg.appendChild(hit);
        });
      });
    });
  }
}
