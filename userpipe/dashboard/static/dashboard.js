// The one place that turns a Grafana dashboard JSON into panels: lays them on Grafana's grid (gridPos, rows),
// asks /api/query for every panel's data once per refresh, and draws each panel type with Apache ECharts
// (stat and table as HTML, as Grafana does). Units, decimals, thresholds and value mappings follow Grafana's.
"use strict";

const PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A6", "#705DA0",
  "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477"];
const NAMED_COLORS = { green: "#73BF69", red: "#F2495C", orange: "#FF9830", blue: "#5794F2", yellow: "#FADE2A",
  purple: "#B877D9", text: "#ccccdc", transparent: "transparent" };
const RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h"];
const TEXT = "#ccccdc", MUTED = "#8e8e9e", GRID_LINE = "#2c3235";

const state = { doc: null, range: "30m", refreshMs: 0, timer: null, busy: false, again: false, refreshes: 0, charts: new Map(),
  rowOpen: new Map(), last: null };
window.userpipeDashboard = state;

// --- formatting (Grafana's units, decimals, colours) ---------------------------------------------------------

function colorOf(name) {
  if (!name) return TEXT;
  if (name.startsWith("#") || name.startsWith("rgb")) return name;
  return NAMED_COLORS[name.replace(/^(super-light|light|semi-dark|dark)-/, "")] || name;
}

function autoDecimals(value) {
  if (!Number.isFinite(value) || value === 0 || value % 1 === 0) return 0;
  const log10 = Math.floor(Math.log10(Math.abs(value)));
  let dec = -log10 + 1;
  const norm = Math.abs(value) / Math.pow(10, -dec);
  if (norm > 2.25) dec += 1;
  return Math.max(0, dec);
}

function fixed(value, decimals) {
  return value.toFixed(decimals ?? autoDecimals(value));
}

function scaled(value, decimals, factor, suffixes) {
  let step = 0;
  while (Math.abs(value) >= factor && step < suffixes.length - 1) { value /= factor; step += 1; }
  return fixed(value, decimals) + suffixes[step];
}

function pad(n) { return String(n).padStart(2, "0"); }

function isoTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function seconds(value, decimals) {
  const a = Math.abs(value);
  if (a < 1) return fixed(value * 1000, decimals) + " ms";
  if (a < 60) return fixed(value, decimals) + " s";
  if (a < 3600) return fixed(value / 60, decimals) + " min";
  if (a < 86400) return fixed(value / 3600, decimals) + " hour";
  if (a < 604800) return fixed(value / 86400, decimals) + " day";
  return fixed(value / 31536000, decimals) + " year";
}

function formatValue(value, unit, decimals, kind) {
  if (value === null || value === undefined) return "-";
  if (kind === "time" || unit === "dateTimeAsIso" || unit === "dateTimeAsSystem") {
    return typeof value === "number" ? isoTime(value) : String(value);
  }
  if (typeof value !== "number") return String(value);
  switch (unit) {
    case "short": return scaled(value, decimals, 1000, ["", " K", " Mil", " Bil", " Tri"]);
    case "s": return seconds(value, decimals);
    case "ms": return Math.abs(value) < 1000 ? fixed(value, decimals) + " ms" : seconds(value / 1000, decimals);
    case "percent": return fixed(value, decimals) + "%";
    case "percentunit": return fixed(value * 100, decimals) + "%";
    case "bytes": return scaled(value, decimals, 1024, [" B", " KiB", " MiB", " GiB", " TiB"]);
    default: return fixed(value, decimals);
  }
}

function mapped(value, mappings) {
  for (const mapping of mappings || []) {
    const o = mapping.options || {};
    if (mapping.type === "value" && value !== null && Object.hasOwn(o, String(value))) return o[String(value)];
    if (mapping.type === "range" && typeof value === "number" && (o.from == null || value >= o.from)
        && (o.to == null || value <= o.to)) return o.result;
  }
  return null;
}

function thresholdColor(value, thresholds) {
  const steps = (thresholds && thresholds.steps) || [];
  let color = steps.length ? steps[0].color : null;
  for (const step of steps) if (step.value === null || (typeof value === "number" && value >= step.value)) color = step.color;
  return color ? colorOf(color) : null;
}

// --- data ----------------------------------------------------------------------------------------------------

function fieldConfig(panel, name) {
  const config = Object.assign({}, (panel.fieldConfig || {}).defaults || {});
  config.custom = Object.assign({}, config.custom || {});
  for (const override of (panel.fieldConfig || {}).overrides || []) {
    const m = override.matcher || {};
    const hit = (m.id === "byName" && m.options === name) || (m.id === "byRegexp" && new RegExp(m.options).test(name));
    if (!hit) continue;
    for (const p of override.properties || []) {
      if (p.id.startsWith("custom.")) config.custom[p.id.slice(7)] = p.value; else config[p.id] = p.value;
    }
  }
  return config;
}

function reduce(values, calc) {
  const present = values.filter((v) => v !== null && v !== undefined);
  const numbers = present.filter((v) => typeof v === "number");
  switch (calc) {
    case "last": return values.length ? values[values.length - 1] : null;
    case "first": return values.length ? values[0] : null;
    case "firstNotNull": return present.length ? present[0] : null;
    case "sum": return numbers.reduce((a, b) => a + b, 0);
    case "mean": return numbers.length ? numbers.reduce((a, b) => a + b, 0) / numbers.length : null;
    case "max": return numbers.length ? Math.max(...numbers) : null;
    case "min": return numbers.length ? Math.min(...numbers) : null;
    case "count": return values.length;
    default: return present.length ? present[present.length - 1] : null; // lastNotNull
  }
}

function fieldMatcher(spec) {
  if (spec && spec.startsWith("/") && spec.lastIndexOf("/") > 0) {
    const re = new RegExp(spec.slice(1, spec.lastIndexOf("/")), spec.slice(spec.lastIndexOf("/") + 1));
    return (field) => field.type !== "time" && re.test(field.name);
  }
  if (spec) return (field) => field.name === spec;
  return (field) => field.type === "number";
}

// Grafana's "reduceOptions": one value per field (values: false) or one per row (values: true).
function reducedValues(panel, frames) {
  const options = (panel.options || {}).reduceOptions || {};
  const match = fieldMatcher(options.fields);
  const out = [];
  for (const frame of frames) {
    const label = frame.fields.findIndex((f) => f.type === "string");
    frame.fields.forEach((field, i) => {
      if (!match(field)) return;
      const column = frame.rows.map((row) => row[i]);
      if (options.values) {
        frame.rows.forEach((row, r) => out.push({ name: label >= 0 && label !== i ? String(row[label]) : `${field.name} ${r + 1}`,
          value: row[i], field }));
      } else {
        out.push({ name: field.name, value: reduce(column, (options.calcs || [])[0]), field });
      }
    });
  }
  return out.slice(0, options.limit || 5000);
}

// --- renderers -----------------------------------------------------------------------------------------------

function chartIn(panel, body) {
  let holder = body.querySelector(".chart");
  let chart = state.charts.get(panel.id);
  if (!holder || !chart) {
    if (chart) chart.dispose();
    body.replaceChildren();
    holder = document.createElement("div");
    holder.className = "chart";
    body.appendChild(holder);
    chart = echarts.init(holder, null, { renderer: "canvas" });
    state.charts.set(panel.id, chart);
  }
  return chart;
}

function noData(body, text) {
  body.replaceChildren(Object.assign(document.createElement("div"), { className: "no-data", textContent: text || "No data" }));
  return 0;
}

function base(legend) {
  return { color: PALETTE, backgroundColor: "transparent", animation: false, textStyle: { color: TEXT },
    legend: Object.assign({ show: false, textStyle: { color: TEXT }, type: "scroll", pageTextStyle: { color: TEXT } }, legend || {}),
    tooltip: { backgroundColor: "#22252b", borderColor: GRID_LINE, textStyle: { color: TEXT } } };
}

function axisStyle(extra) {
  return Object.assign({ axisLine: { lineStyle: { color: GRID_LINE } }, axisLabel: { color: MUTED },
    splitLine: { lineStyle: { color: GRID_LINE } } }, extra);
}

function renderStat(panel, frames, body) {
  const options = panel.options || {};
  const values = reducedValues(panel, frames);
  if (!values.length) return noData(body);
  const wrap = document.createElement("div");
  wrap.className = "stat";
  for (const item of values) {
    const config = fieldConfig(panel, item.name);
    const mapping = mapped(item.value, config.mappings);
    const text = mapping && mapping.text ? mapping.text : formatValue(item.value, config.unit, config.decimals, item.field.type);
    const color = mapping && mapping.color ? colorOf(mapping.color) : thresholdColor(item.value, config.thresholds) || TEXT;
    const box = document.createElement("div");
    box.className = "stat-item";
    const valueEl = Object.assign(document.createElement("div"), { className: "stat-value", textContent: text });
    valueEl.dataset.value = JSON.stringify(item.value);
    if (options.colorMode === "background") { wrap.classList.add("bg"); wrap.style.background = color; }
    else if (options.colorMode !== "none") valueEl.style.color = color;
    if (values.length > 1 && options.textMode !== "value") {
      box.appendChild(Object.assign(document.createElement("div"), { className: "note", textContent: item.name }));
    }
    box.appendChild(valueEl);
    wrap.appendChild(box);
  }
  body.replaceChildren(wrap);
  fitStat(wrap, body);
  return values.length;
}

function fitStat(wrap, body) {
  const size = Math.max(14, Math.min(48, body.clientHeight * 0.55, body.clientWidth / Math.max(4, wrap.textContent.length) * 1.6));
  wrap.querySelectorAll(".stat-value").forEach((el) => { el.style.fontSize = `${size}px`; });
}

function timeIndex(frame) {
  const named = frame.fields.findIndex((f) => f.name === "time");
  return named >= 0 ? named : frame.fields.findIndex((f) => f.type === "time");
}

function renderTimeseries(panel, frames, body, data) {
  const defaults = fieldConfig(panel, "");
  const legend = (panel.options || {}).legend || {};
  const series = [];
  let points = 0;
  for (const frame of frames) {
    const t = timeIndex(frame);
    if (t < 0) continue;
    frame.fields.forEach((field, i) => {
      if (i === t || field.type !== "number") return;
      const custom = fieldConfig(panel, field.name).custom;
      const draw = custom.drawStyle || "line";
      const fill = custom.fillOpacity ?? (draw === "bars" ? 80 : 0);
      const rows = frame.rows.filter((row) => row[t] !== null).map((row) => [row[t], row[i]]).sort((a, b) => a[0] - b[0]);
      points += rows.filter((row) => row[1] !== null).length;
      series.push({ name: field.name, type: draw === "bars" ? "bar" : draw === "points" ? "scatter" : "line",
        data: rows, showSymbol: rows.length < 3 || custom.showPoints === "always", symbolSize: 5, barMaxWidth: 24,
        stack: custom.stacking && custom.stacking.mode && custom.stacking.mode !== "none" ? "stack" : undefined,
        areaStyle: draw !== "bars" && fill > 0 ? { opacity: fill / 100 } : undefined,
        itemStyle: draw === "bars" ? { opacity: Math.max(0.3, fill / 100) } : undefined,
        lineStyle: { width: custom.lineWidth ?? 1 } });
    });
  }
  if (!points) return noData(body);
  const show = legend.showLegend !== false;
  const fmt = (v) => formatValue(v, defaults.unit, defaults.decimals);
  const option = Object.assign(base({ show, bottom: 0, left: 0 }), {
    grid: { left: 8, right: 16, top: 12, bottom: show ? 28 : 8, containLabel: true },
    xAxis: axisStyle({ type: "time", min: data.from, max: data.to, splitLine: { show: false },
      axisLabel: { color: MUTED, hideOverlap: true, showMinLabel: false, showMaxLabel: false,
        formatter: (ms) => { const d = new Date(ms); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; } } }),
    yAxis: axisStyle({ type: "value", min: defaults.min, max: defaults.max, axisLabel: { color: MUTED, formatter: fmt } }),
    series,
  });
  option.tooltip.trigger = "axis";
  option.tooltip.valueFormatter = fmt;
  chartIn(panel, body).setOption(option, true);
  return points;
}

function renderPie(panel, frames, body) {
  const options = panel.options || {};
  const values = reducedValues(panel, frames).filter((item) => typeof item.value === "number");
  if (!values.length) return noData(body);
  const defaults = fieldConfig(panel, "");
  const legend = options.legend || {};
  const show = legend.showLegend !== false;
  const right = show && legend.placement === "right";
  const labels = options.displayLabels || [];
  const fmt = (v) => formatValue(v, defaults.unit, defaults.decimals);
  const total = values.reduce((a, item) => a + item.value, 0);
  const shown = legend.values || [];
  const option = Object.assign(base({ show, orient: right ? "vertical" : "horizontal", right: right ? 0 : "auto",
    top: right ? "middle" : undefined, bottom: right ? undefined : 0,
    formatter: (name) => {
      const item = values.find((v) => v.name === name);
      const parts = [name];
      if (item && shown.includes("value")) parts.push(fmt(item.value));
      if (item && shown.includes("percent")) parts.push(`${((item.value / total) * 100).toFixed(0)}%`);
      return parts.join("  ");
    } }), {
    series: [{ type: "pie", radius: options.pieType === "donut" ? ["42%", "72%"] : [0, "72%"],
      center: [right ? "34%" : "50%", show && !right ? "45%" : "50%"], itemStyle: { borderColor: "#181b1f", borderWidth: 1 },
      label: { show: labels.length > 0, color: TEXT, position: labels.length ? "inside" : "outside",
        formatter: (p) => labels.map((l) => (l === "percent" ? `${Math.round(p.percent)}%` : l === "name" ? p.name : fmt(p.value))).join(" ") },
      data: values.map((item) => ({ name: item.name, value: item.value })) }],
  });
  option.tooltip.trigger = "item";
  option.tooltip.valueFormatter = fmt;
  chartIn(panel, body).setOption(option, true);
  return values.length;
}

function renderBars(panel, frames, body, horizontal) {
  const options = panel.options || {};
  const frame = frames[0];
  if (!frame || !frame.rows.length) return noData(body);
  let x = frame.fields.findIndex((f) => f.name === options.xField);
  if (x < 0) x = frame.fields.findIndex((f) => f.type === "string" || f.type === "time");
  const defaults = fieldConfig(panel, "");
  const fmt = (v) => formatValue(v, defaults.unit, defaults.decimals);
  const categories = frame.rows.map((row) => (x >= 0 ? formatValue(row[x], null, null, frame.fields[x].type) : ""));
  const series = [];
  frame.fields.forEach((field, i) => {
    if (i === x || field.type !== "number") return;
    series.push({ name: field.name, type: "bar", data: frame.rows.map((row) => row[i]),
      stack: options.stacking && options.stacking !== "none" ? "stack" : undefined,
      label: { show: options.showValue !== "never", position: horizontal ? "right" : "top", color: TEXT, formatter: (p) => fmt(p.value) } });
  });
  if (!series.length) return noData(body);
  const legend = options.legend || {};
  const show = legend.showLegend !== false && series.length > 1;
  const width = options.barWidth ?? 0.97;
  series.forEach((s) => { s.barCategoryGap = `${Math.round((1 - (options.groupWidth ?? 0.7)) * 100)}%`; s.barGap = `${Math.round((1 - width) * 100)}%`; });
  const category = axisStyle({ type: "category", data: categories, splitLine: { show: false } });
  const value = axisStyle({ type: "value", min: defaults.min, max: defaults.max, axisLabel: { color: MUTED, formatter: fmt } });
  const option = Object.assign(base({ show, bottom: 0 }), {
    grid: { left: 8, right: 24, top: 20, bottom: show ? 28 : 8, containLabel: true },
    xAxis: horizontal ? value : category, yAxis: horizontal ? Object.assign(category, { inverse: true }) : value, series });
  option.tooltip.trigger = "axis";
  option.tooltip.valueFormatter = fmt;
  chartIn(panel, body).setOption(option, true);
  return frame.rows.length;
}

function renderBarGauge(panel, frames, body) {
  const values = reducedValues(panel, frames).filter((item) => typeof item.value === "number");
  if (!values.length) return noData(body);
  const frame = { fields: [{ name: "name", type: "string" }, { name: "value", type: "number" }],
    rows: values.map((item) => [item.name, item.value]) };
  return renderBars(Object.assign({}, panel, { options: { xField: "name", showValue: "always" } }), [frame], body,
    (panel.options || {}).orientation !== "vertical");
}

function renderGauge(panel, frames, body) {
  const values = reducedValues(panel, frames).filter((item) => typeof item.value === "number");
  if (!values.length) return noData(body);
  const config = fieldConfig(panel, values[0].name);
  const min = config.min ?? 0, max = config.max ?? 100;
  const steps = ((config.thresholds || {}).steps || []).slice(1);
  const stops = steps.map((s, i) => [Math.min(1, Math.max(0, (s.value - min) / (max - min))), colorOf(((config.thresholds.steps)[i]).color)]);
  stops.push([1, colorOf(((config.thresholds || {}).steps || [{ color: "green" }]).slice(-1)[0].color)]);
  const option = Object.assign(base(), { series: values.map((item, i) => ({ type: "gauge", min, max,
    center: [`${((i + 0.5) / values.length) * 100}%`, "60%"], radius: `${Math.min(90, 180 / values.length)}%`,
    axisLine: { lineStyle: { width: 10, color: stops } }, splitLine: { show: false }, axisTick: { show: false },
    axisLabel: { show: false }, pointer: { width: 4 },
    detail: { color: TEXT, fontSize: 20, formatter: (v) => formatValue(v, config.unit, config.decimals) },
    title: { color: MUTED }, data: [{ value: item.value, name: values.length > 1 ? item.name : "" }] })) });
  chartIn(panel, body).setOption(option, true);
  return values.length;
}

function renderTable(panel, frames, body) {
  const frame = frames[((panel.options || {}).frameIndex) || 0] || frames[0];
  if (!frame || !frame.fields.length) return noData(body);
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  const table = document.createElement("table");
  const configs = frame.fields.map((field) => fieldConfig(panel, field.name));
  const head = table.createTHead().insertRow();
  frame.fields.forEach((field, i) => {
    const th = document.createElement("th");
    th.textContent = configs[i].displayName || field.name;
    if (configs[i].custom.width) th.style.width = `${configs[i].custom.width}px`;
    head.appendChild(th);
  });
  const tbody = table.createTBody();
  for (const row of frame.rows) {
    const tr = tbody.insertRow();
    row.forEach((value, i) => {
      const td = tr.insertCell();
      const field = frame.fields[i], config = configs[i];
      const cell = config.custom.cellOptions || {};
      if (cell.type === "image" && value) {
        const img = document.createElement("img");
        img.src = String(value);
        img.alt = cell.alt || field.name;
        img.loading = "lazy";
        td.appendChild(img);
      } else {
        td.textContent = formatValue(value, config.unit, config.decimals, field.type);
        if (field.type === "number") td.className = "number";
      }
    });
  }
  wrap.appendChild(table);
  body.replaceChildren(wrap);
  return frame.rows.length;
}

function renderText(panel, body) {
  body.replaceChildren(Object.assign(document.createElement("div"), { className: "text-panel",
    textContent: (panel.options || {}).content || "" }));
  return 1;
}

const RENDERERS = {
  stat: renderStat, timeseries: renderTimeseries, piechart: renderPie, table: renderTable, gauge: renderGauge,
  barchart: (panel, frames, body) => renderBars(panel, frames, body, (panel.options || {}).orientation === "horizontal"),
  bargauge: renderBarGauge,
};

function renderPanel(panel, result, data) {
  const el = document.querySelector(`.panel[data-panel-id="${panel.id}"]`);
  if (!el) return;
  const body = el.querySelector(".panel-body");
  if (panel.type === "text") { el.dataset.state = "done"; el.dataset.points = String(renderText(panel, body)); return; }
  if (!result) { el.dataset.state = "done"; el.dataset.points = String(noData(body)); return; }
  if (result.error) {
    const chart = state.charts.get(panel.id);
    if (chart) { chart.dispose(); state.charts.delete(panel.id); }
    el.classList.add("failed");
    body.replaceChildren(Object.assign(document.createElement("div"), { className: "panel-error", textContent: result.error }));
    el.dataset.state = "error";
    return;
  }
  el.classList.remove("failed");
  const render = RENDERERS[panel.type];
  try {
    if (render) el.dataset.points = String(render(panel, result.frames, body, data));
    else {
      el.dataset.points = String(renderTable(panel, result.frames, body));
      body.prepend(Object.assign(document.createElement("div"), { className: "note",
        textContent: `panel type "${panel.type}" is shown as a table here` }));
    }
    el.dataset.state = "done";
  } catch (err) {
    body.replaceChildren(Object.assign(document.createElement("div"), { className: "panel-error", textContent: String(err) }));
    el.dataset.state = "error";
    throw err;
  }
}

// --- layout: Grafana's grid (24 columns, rows of 30 px), rows that fold ------------------------------------

function sections(panels) {
  const sorted = [...panels].sort((a, b) => (a.gridPos.y - b.gridPos.y) || (a.gridPos.x - b.gridPos.x));
  const out = [{ row: null, panels: [] }];
  for (const panel of sorted) {
    if (panel.type === "row") out.push({ row: panel, panels: panel.collapsed ? [...(panel.panels || [])] : [] });
    else out[out.length - 1].panels.push(panel);
  }
  return out;
}

function place(el, x, y, w, h) {
  el.style.gridColumn = `${x + 1} / span ${w}`;
  el.style.gridRow = `${y + 1} / span ${h}`;
}

function panelElement(panel) {
  const el = document.createElement("section");
  el.className = "panel";
  el.dataset.panelId = panel.id;
  el.dataset.type = panel.type;
  el.dataset.title = panel.title || "";
  el.dataset.state = "loading";
  const title = Object.assign(document.createElement("div"), { className: "panel-title", textContent: panel.title || "" });
  if (panel.description) title.title = panel.description;
  el.append(title, Object.assign(document.createElement("div"), { className: "panel-body" }));
  return el;
}

function visiblePanels() {
  const shown = [];
  for (const section of sections(state.doc.panels)) {
    if (!section.row || rowIsOpen(section.row)) shown.push(...section.panels);
  }
  return shown;
}

function rowIsOpen(row) {
  return state.rowOpen.has(row.id) ? state.rowOpen.get(row.id) : !row.collapsed;
}

function layout() {
  const grid = document.getElementById("grid");
  for (const chart of state.charts.values()) chart.dispose();
  state.charts.clear();
  grid.replaceChildren();
  let cursor = 0;
  for (const section of sections(state.doc.panels)) {
    if (section.row) {
      const row = Object.assign(document.createElement("div"), { className: "row" });
      row.dataset.rowId = section.row.id;
      const open = rowIsOpen(section.row);
      row.append(Object.assign(document.createElement("span"), { className: "row-caret", textContent: open ? "▾" : "▸" }),
        Object.assign(document.createElement("span"), { textContent: section.row.title || "" }));
      row.addEventListener("click", () => { state.rowOpen.set(section.row.id, !open); layout(); refresh(); });
      place(row, 0, cursor, 24, 1);
      grid.appendChild(row);
      cursor += 1;
      if (!open) continue;
    }
    if (!section.panels.length) continue;
    const top = Math.min(...section.panels.map((p) => p.gridPos.y));
    let bottom = cursor;
    for (const panel of section.panels) {
      const g = panel.gridPos;
      const el = panelElement(panel);
      place(el, g.x, cursor + g.y - top, g.w, g.h);
      grid.appendChild(el);
      bottom = Math.max(bottom, cursor + g.y - top + g.h);
    }
    cursor = bottom;
  }
}

// --- refresh loop ------------------------------------------------------------------------------------------

function draw(data) {
  const failures = [];
  for (const panel of visiblePanels()) {
    try { renderPanel(panel, data.panels[String(panel.id)], data); } catch (err) { failures.push(err); }
  }
  if (failures.length) throw failures[0];
}

async function refresh() {
  if (state.busy) { state.again = true; return; } // one at a time; one more after it when asked meanwhile
  state.busy = true;
  const status = document.getElementById("status");
  try {
    const width = Math.max(100, Math.round(document.getElementById("grid").clientWidth));
    const shown = visiblePanels().map((panel) => panel.id).join(","); // as in Grafana: folded rows are not queried
    const answer = await fetch(`/api/query?from=now-${state.range}&to=now&width=${width}&panels=${shown}`, { cache: "no-store" });
    const data = await answer.json();
    if (!answer.ok) throw new Error(data.error || answer.statusText);
    state.last = data;
    draw(data);
    state.refreshes += 1;
    document.body.dataset.refreshes = String(state.refreshes);
    status.className = "status";
    status.textContent = `updated ${isoTime(Date.now()).slice(11)} · queries ${Math.round(data.seconds * 1000)} ms`;
  } catch (err) {
    status.className = "status failed";
    status.textContent = `refresh failed: ${err.message || err}`;
  } finally {
    state.busy = false;
    if (state.again) { state.again = false; refresh(); }
  }
}

function durationMs(text) {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text || "");
  return m ? Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2]] : 0;
}

function schedule() {
  clearInterval(state.timer);
  state.timer = state.refreshMs > 0 ? setInterval(refresh, state.refreshMs) : null;
}

function options(select, values, labels, chosen) {
  select.replaceChildren(...values.map((value, i) => Object.assign(document.createElement("option"),
    { value, textContent: labels[i], selected: value === chosen })));
}

async function start() {
  const answer = await fetch("/api/dashboard", { cache: "no-store" });
  state.doc = await answer.json();
  const doc = state.doc;
  document.title = doc.title || "Dashboard";
  document.getElementById("title").textContent = doc.title || "Dashboard";
  const from = /^now-(\w+)$/.exec(((doc.time || {}).from) || "now-30m");
  state.range = from ? from[1] : "30m";
  const ranges = RANGES.includes(state.range) ? RANGES : [...RANGES, state.range];
  const rangeSelect = document.getElementById("range");
  options(rangeSelect, ranges, ranges.map((r) => `Last ${r}`), state.range);
  rangeSelect.addEventListener("change", () => { state.range = rangeSelect.value; refresh(); });
  const intervals = [...(((doc.timepicker || {}).refresh_intervals) || ["5s", "10s", "30s", "1m", "5m"])];
  if (doc.refresh && !intervals.includes(doc.refresh)) intervals.unshift(doc.refresh);
  const refreshSelect = document.getElementById("refresh");
  options(refreshSelect, ["", ...intervals], ["Off", ...intervals], doc.refresh || "");
  state.refreshMs = durationMs(doc.refresh);
  refreshSelect.addEventListener("change", () => { state.refreshMs = durationMs(refreshSelect.value); schedule(); });
  document.getElementById("refresh-now").addEventListener("click", refresh);
  window.addEventListener("resize", () => { for (const chart of state.charts.values()) chart.resize(); });
  layout();
  await refresh();
  schedule();
}

start();
