// mathforge run viewer: draws evaluate runs, their comparison and train curves from the embedded payload.
// Everything is built with DOM calls (model text is never parsed as HTML); code is highlighted by a small
// Python tokenizer below. Large runs: the problem tables are paginated (PAGE_SIZE rows a page); filters
// and search run over every problem.
"use strict";

const PAGE_SIZE = 50;
const FLIP_PAGE_SIZE = 20;  // the comparison's list stays short so the side-by-side view is in sight

// ------------------------------------------------------------------------------------------ small helpers
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

const pct = (x, digits = 1) => (x === null || x === undefined ? "–" : (100 * x).toFixed(digits) + "%");
const points = (x) => (x >= 0 ? "+" : "−") + Math.abs(100 * x).toFixed(1);
const fmtInt = (x) => Number(x || 0).toLocaleString("en-US");
const escapeHtml = (t) => t.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function pill(text, kind) {
  return h("span", { class: `pill ${kind}`, text });
}

async function decodePayload(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

// --------------------------------------------------------------------------------- Python highlighting
const PY_KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else " +
  "except finally for from global if import in is lambda nonlocal not or pass raise return try while with " +
  "yield match case").split(" "));
const PY_BUILTINS = new Set(("print range len int float str list dict set tuple sum min max abs round sorted " +
  "enumerate zip map filter any all isinstance type divmod pow bool reversed Fraction Rational sqrt").split(" "));
const PY_TOKEN = new RegExp([
  /(#[^\n]*)/.source,                                                                  // 1 comment
  /((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))/.source, // 2 string
  /(\b\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?j?|\.\d+(?:[eE][+-]?\d+)?)/.source,             // 3 number
  /([A-Za-z_][A-Za-z0-9_]*)/.source,                                                   // 4 name
  /(\s+|[^\sA-Za-z0-9_#"'])/.source,                                                   // 5 other
].join("|"), "g");

function highlightPython(code) {
  let html = "";
  let previous = "";
  PY_TOKEN.lastIndex = 0;
  let m;
  while ((m = PY_TOKEN.exec(code)) !== null) {
    const [token, comment, string, number, name] = m;
    const text = escapeHtml(token);
    if (comment) html += `<span class="c">${text}</span>`;
    else if (string) html += `<span class="s">${text}</span>`;
    else if (number) html += `<span class="n">${text}</span>`;
    else if (name && PY_KEYWORDS.has(token)) html += `<span class="k">${text}</span>`;
    else if (name && (previous === "def" || previous === "class")) html += `<span class="f">${text}</span>`;
    else if (name && PY_BUILTINS.has(token)) html += `<span class="b">${text}</span>`;
    else html += text;
    if (name) previous = token;
    else if (token.trim()) previous = "";
  }
  return html;
}

// ----------------------------------------------------------------------------------------------- charts
function barChart(title, items, { testid } = {}) {
  // items: {label, value (0..1), note}
  const labelWidth = Math.min(220, 14 + 7 * Math.max(...items.map((i) => i.label.length), 4));
  const barWidth = 260, rowHeight = 20, top = 6;
  const height = top + rowHeight * items.length + 22;
  const svg = s("svg", { width: labelWidth + barWidth + 60, height, role: "img", "aria-label": title });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelWidth + tick * barWidth;
    svg.append(s("line", { class: "grid", x1: x, x2: x, y1: top, y2: height - 18 }));
    svg.append(s("text", { x, y: height - 5, "text-anchor": "middle", class: "muted", text: `${tick * 100}%` }));
  }
  items.forEach((item, i) => {
    const y = top + i * rowHeight;
    const bar = s("rect", { class: "bar", x: labelWidth, y: y + 3, height: rowHeight - 6,
      width: Math.max(0.5, item.value * barWidth) });
    bar.append(s("title", { text: `${item.label}: ${pct(item.value)}${item.note ? " — " + item.note : ""}` }));
    svg.append(
      s("text", { x: labelWidth - 6, y: y + rowHeight / 2 + 4, "text-anchor": "end", text: item.label }),
      bar,
      s("text", { x: labelWidth + item.value * barWidth + 4, y: y + rowHeight / 2 + 4, text: pct(item.value) }),
    );
  });
  svg.append(s("line", { class: "axis", x1: labelWidth, x2: labelWidth, y1: top, y2: height - 18 }));
  return h("div", { class: "chart", "data-testid": testid }, h("h3", { text: title }), svg);
}

function deltaChart(title, items) {
  // items: {label, delta (-1..1)}: bars left (worse) or right (better) of zero
  const labelWidth = Math.min(220, 14 + 7 * Math.max(...items.map((i) => i.label.length), 4));
  const half = 150, rowHeight = 20, top = 6;
  const scale = Math.max(0.05, ...items.map((i) => Math.abs(i.delta)));
  const height = top + rowHeight * items.length + 8;
  const zero = labelWidth + half + 40;
  const svg = s("svg", { width: zero + half + 60, height, role: "img", "aria-label": title });
  items.forEach((item, i) => {
    const y = top + i * rowHeight;
    const w = (Math.abs(item.delta) / scale) * half;
    const x = item.delta >= 0 ? zero : zero - w;
    const bar = s("rect", { class: `bar ${item.delta >= 0 ? "pos" : "neg"}`, x, y: y + 3, width: Math.max(0.5, w),
      height: rowHeight - 6 });
    bar.append(s("title", { text: `${item.label}: ${points(item.delta)} points` }));
    svg.append(
      s("text", { x: labelWidth - 6, y: y + rowHeight / 2 + 4, "text-anchor": "end", text: item.label }),
      bar,
      s("text", { x: item.delta >= 0 ? zero + w + 4 : zero - w - 4, y: y + rowHeight / 2 + 4,
        "text-anchor": item.delta >= 0 ? "start" : "end", text: points(item.delta) }),
    );
  });
  svg.append(s("line", { class: "axis", x1: zero, x2: zero, y1: 0, y2: height }));
  return h("div", { class: "chart" }, h("h3", { text: title }), svg);
}

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((st) => st >= step0);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function lineChart(title, pts, { xLabel, yLabel, testid }) {
  const width = 460, height = 240, left = 52, right = 14, top = 10, bottom = 36;
  const svg = s("svg", { width, height, role: "img", "aria-label": title });
  if (!pts.length) {
    svg.append(s("text", { x: 20, y: 40, class: "muted", text: "no loss was logged for this stage" }));
    return h("div", { class: "chart", "data-testid": testid }, h("h3", { text: title }), svg);
  }
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05;
  y0 = Math.max(0, y0 - pad); y1 += pad;
  const X = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const Y = (y) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
  for (const t of niceTicks(y0, y1)) {
    svg.append(s("line", { class: "grid", x1: left, x2: width - right, y1: Y(t), y2: Y(t) }),
      s("text", { x: left - 5, y: Y(t) + 4, "text-anchor": "end", class: "muted", text: String(t) }));
  }
  for (const t of niceTicks(x0, x1)) {
    svg.append(s("text", { x: X(t), y: height - bottom + 14, "text-anchor": "middle", class: "muted", text: String(t) }));
  }
  svg.append(
    s("line", { class: "axis", x1: left, x2: left, y1: top, y2: height - bottom }),
    s("line", { class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }),
    s("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle", text: xLabel }),
    s("text", { x: 12, y: (top + height - bottom) / 2, "text-anchor": "middle",
      transform: `rotate(-90 12 ${(top + height - bottom) / 2})`, text: yLabel }),
  );
  const path = s("path", { class: "line", d: pts.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("") });
  svg.append(path);
  for (const p of pts.length <= 60 ? pts : []) {
    const dot = s("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.2, fill: "var(--accent)" });
    dot.append(s("title", { text: `step ${p[0]}: loss ${p[1].toFixed(4)}${p[2] != null ? `, lr ${p[2].toExponential(2)}` : ""}` }));
    svg.append(dot);
  }
  return h("div", { class: "chart", "data-testid": testid }, h("h3", { text: title }), svg);
}

// ---------------------------------------------------------------------------------------- trajectories
const STATUS_KIND = { ok: "good", truncated: "warn", timeout: "warn", error: "bad", memory: "bad", killed: "bad" };

function renderSegment(seg, sample) {
  const [kind, text, index, fromRecord] = seg;
  if (kind === "t") return h("div", { class: "seg-text", text });
  if (kind === "c") {
    const pre = h("pre", { "data-lang": "python" });
    pre.innerHTML = highlightPython(text);  // every token is escaped by highlightPython
    const label = index >= 0 ? `python · program ${index + 1}` : "python · not run";
    return h("div", { class: "block code", "data-testid": "code-block" }, h("div", { class: "block-head" }, h("span", { text: label })), pre);
  }
  const exec = index >= 0 ? sample.ex[index] : null;
  const status = exec ? exec[0] : "?";
  const head = h("div", { class: "block-head" },
    h("span", { text: "output" }),
    h("span", { "data-testid": "exec-status", text: exec ? status : "no execution record" }),
    exec ? h("span", { text: `${exec[1].toFixed(3)} s` }) : null,
    exec && exec[2] ? h("span", { text: `${exec[2]} characters not valid text (shown as U+FFFD)` }) : null,
    fromRecord ? h("span", { text: "from the sandbox record (not in the transcript)" }) : null);
  return h("div", { class: `block output st-${status}`, "data-testid": "output-block" }, head, h("pre", { text }));
}

function renderTrajectory(run, item, sample, title) {
  const problem = DATA.problems[item.p];
  const prompt = run.prompt_head + (item.pm ?? problem.q) + run.prompt_tail;
  const statuses = sample.ex.map((e) => e[0]);
  const head = h("div", { class: "traj-head" },
    h("span", { class: "name", text: title }),
    sample.c ? pill("correct", "good") : pill("wrong", "bad"),
    h("span", { class: "muted", text: `finish: ${sample.f || "?"} · ${fmtInt(sample.tok)} tokens · ${statuses.length} program(s)` }),
    sample.m ? pill(sample.m, "plain") : null);
  const verdict = h("div", { class: `verdict ${sample.c ? "good" : "bad"}`, "data-testid": "verdict" },
    h("span", {}, "extracted answer: ", h("b", { text: sample.a ?? "(none)" })),
    h("span", {}, "gold: ", h("b", { text: problem.gold })),
    h("span", {}, "verdict: ", h("b", { text: sample.c ? "correct" : "wrong" }), ` (grader: ${sample.g})`));
  return h("div", { class: "traj", "data-testid": "trajectory" },
    head,
    h("details", { class: "prompt" }, h("summary", { text: `prompt (${fmtInt(prompt.length)} characters)` }), h("pre", { text: prompt })),
    sample.seg.map((seg) => renderSegment(seg, sample)),
    verdict);
}

function problemHead(problem, question) {
  const tags = [problem.dataset, problem.subject, problem.level].filter(Boolean);
  return h("div", { class: "problem-head" },
    h("div", {}, h("b", { text: problem.id }), " ", tags.map((t) => pill(t, "plain")), " gold: ", h("b", { text: problem.gold })),
    h("div", { class: "question", text: question }));
}

// ------------------------------------------------------------------------------------------- pagination
function pager(total, page, onPage, size = PAGE_SIZE) {
  const pages = Math.max(1, Math.ceil(total / size));
  return h("div", { class: "pager" },
    h("button", { disabled: page <= 0, onclick: () => onPage(page - 1), "data-testid": "prev", text: "‹ previous" }),
    h("span", { text: `page ${page + 1} of ${pages} (${size} a page)` }),
    h("button", { disabled: page >= pages - 1, onclick: () => onPage(page + 1), "data-testid": "next", text: "next ›" }));
}

// ------------------------------------------------------------------------------------------------ a run
class RunView {
  constructor(run) {
    this.run = run;
    this.state = { status: "all", subject: "all", level: "all", exec: "all", search: "", page: 0, selected: null };
    this.items = run.problems.map((item) => {
      const problem = DATA.problems[item.p];
      const right = item.s.reduce((n, x) => n + x.c, 0);
      const statuses = new Set(item.s.flatMap((x) => x.ex.map((e) => e[0])));
      return {
        item, problem, right, total: item.s.length, statuses,
        outcome: right === item.s.length ? "correct" : right === 0 ? "incorrect" : "partly",
        haystack: `${problem.id}\n${item.pm ?? problem.q}`.toLowerCase(),
      };
    });
    this.hasSubject = this.items.some((x) => x.problem.subject);
    this.hasLevel = this.items.some((x) => x.problem.level);
  }

  render() {
    const run = this.run, sm = run.summary;
    this.root = h("section", { class: "run", "data-testid": "run-view" });
    this.root.append(h("h2", { text: `${run.name}` }), h("p", { class: "muted", text: run.path }));
    if (run.notes.length) this.root.append(h("ul", { class: "notes" }, run.notes.map((n) => h("li", { text: n }))));
    this.root.append(this.cards(sm), this.settings(), this.charts());
    this.filterBar = this.filters();
    this.tableHost = h("div", {});
    this.detail = h("div", { class: "detail-pane", "data-testid": "detail" });
    this.root.append(h("h2", { text: "Problems" }), this.filterBar, this.tableHost, this.detail);
    this.update();
    return this.root;
  }

  cards(sm) {
    const card = (label, value, detail, extra = {}) =>
      h("div", { class: `card ${extra.warn ? "warn" : ""}`, "data-testid": extra.testid },
        h("div", { class: "label", text: label }), h("div", { class: "value", text: value }),
        h("div", { class: "detail", text: detail }));
    const ex = sm.exec_status;
    const cards = [
      card("accuracy", pct(sm.accuracy), `95% [${pct(sm.interval[0])}, ${pct(sm.interval[1])}] · ${sm.interval_method}; ` +
        `${fmtInt(sm.problems)} problems, ${fmtInt(sm.samples)} samples`, { testid: "card-accuracy" }),
    ];
    for (const [key, value] of Object.entries(sm.scores)) cards.push(card(key, pct(value), key.startsWith("maj") ?
      "majority vote among the first k samples" : "unbiased pass@k estimate", { testid: `card-${key}` }));
    cards.push(
      card("programs per sample", sm.executions_per_sample.toFixed(2), `${fmtInt(sm.executions)} executions: ` +
        Object.entries(ex).map(([k, v]) => `${k} ${fmtInt(v)}`).join(", "), { testid: "card-executions" }),
      card("execution timeouts", fmtInt(ex.timeout || 0), `errors ${fmtInt(ex.error || 0)}, memory ${fmtInt(ex.memory || 0)}, ` +
        `killed ${fmtInt(ex.killed || 0)}`, { warn: (ex.timeout || 0) > 0, testid: "card-timeouts" }),
      card("grader", `${fmtInt(sm.grading.timeout + sm.grading.error)}`, `timeouts ${sm.grading.timeout}, errors ${sm.grading.error}; ` +
        `no answer extracted ${fmtInt(sm.grading.no_answer)}`, { warn: sm.grading.timeout + sm.grading.error > 0, testid: "card-grader" }),
      card("finish", fmtInt(sm.finish.stop || 0) + " stop", Object.entries(sm.finish).map(([k, v]) => `${k} ${fmtInt(v)}`).join(", ")),
    );
    if (sm.failed) cards.push(card("failed samples", fmtInt(sm.failed), "requests that failed; re-run to retry", { warn: true }));
    return h("div", { class: "cards" }, cards);
  }

  settings() {
    const c = this.run.config || {};
    const keys = ["model", "base_url", "dataset", "split", "mode", "n", "temperature", "top_p", "max_tokens",
      "max_rounds", "prompt_format", "solution_format", "seed"];
    const rows = keys.filter((k) => c[k] !== undefined && c[k] !== null).map((k) => h("tr", {}, h("td", { text: k }), h("td", { text: String(c[k]) })));
    if (!rows.length) return h("div", {});
    return h("details", {}, h("summary", { class: "muted", text: "settings of this run" }),
      h("table", { class: "kv" }, h("tbody", {}, rows)),
      h("pre", { class: "muted", text: JSON.stringify(c, null, 2) }));
  }

  charts() {
    const b = this.run.breakdowns;
    const names = { subject: "Accuracy per subject", level: "Accuracy per level", dataset: "Accuracy per dataset" };
    const charts = Object.entries(b).map(([key, groups]) => barChart(names[key], groups.map((g) => ({
      label: g.name, value: g.accuracy, note: `${g.problems} problems, ${g.samples} samples` })), { testid: `chart-${key}` }));
    return charts.length ? h("div", { class: "charts" }, charts) : h("div", {});
  }

  filters() {
    const st = this.state;
    const options = (values) => values.map(([v, label]) => h("option", { value: v, text: label }));
    const select = (name, label, values) => h("label", {}, label, h("select", {
      "data-testid": `filter-${name}`, onchange: (e) => { st[name] = e.target.value; st.page = 0; this.update(); } }, options(values)));
    const distinct = (key) => [...new Set(this.items.map((x) => x.problem[key]).filter(Boolean))].sort();
    const outcomes = [["all", "all"], ["correct", "correct"], ["incorrect", "incorrect"]];
    if (this.run.summary.n > 1) outcomes.push(["partly", "some samples correct"]);
    const statuses = [...new Set(this.items.flatMap((x) => [...x.statuses]))].sort();
    const bar = h("div", { class: "filters" },
      select("status", "outcome", outcomes),
      distinct("subject").length ? select("subject", "subject", [["all", "all"], ...distinct("subject").map((v) => [v, v])]) : null,
      distinct("level").length ? select("level", "level", [["all", "all"], ...distinct("level").map((v) => [v, v])]) : null,
      select("exec", "execution status", [["all", "all"], ["none", "no program run"], ["any", "ran a program"],
        ...statuses.map((v) => [v, `a program: ${v}`])]),
      h("label", {}, "search question or id", h("input", { type: "search", "data-testid": "search", placeholder: "text…",
        oninput: (e) => { st.search = e.target.value.toLowerCase(); st.page = 0; this.update(); } })),
      this.countNode = h("span", { class: "count", "data-testid": "match-count" }));
    return bar;
  }

  matches() {
    const st = this.state;
    return this.items.filter((x) =>
      (st.status === "all" || x.outcome === st.status) &&
      (st.subject === "all" || x.problem.subject === st.subject) &&
      (st.level === "all" || x.problem.level === st.level) &&
      (st.exec === "all" || (st.exec === "none" ? x.statuses.size === 0 : st.exec === "any" ? x.statuses.size > 0 : x.statuses.has(st.exec))) &&
      (!st.search || x.haystack.includes(st.search)));
  }

  update() {
    const found = this.matches();
    const st = this.state;
    this.countNode.replaceChildren(h("b", { text: fmtInt(found.length) }), ` of ${fmtInt(this.items.length)} problems`);
    this.countNode.dataset.count = found.length;
    const rows = found.slice(st.page * PAGE_SIZE, (st.page + 1) * PAGE_SIZE).map((x) => {
      const first = x.item.s[0];
      const programs = x.item.s.reduce((n, smp) => n + smp.ex.length, 0);
      const bad = [...x.statuses].filter((v) => v !== "ok");
      return h("tr", { class: st.selected === x ? "selected" : "", "data-id": x.problem.id, onclick: () => this.select(x) },
        h("td", { text: x.problem.id }),
        this.hasSubject ? h("td", { text: x.problem.subject || "" }) : null,
        this.hasLevel ? h("td", { text: x.problem.level || "" }) : null,
        h("td", { class: "q", title: (x.item.pm ?? x.problem.q).slice(0, 500), text: (x.item.pm ?? x.problem.q).replace(/\s+/g, " ") }),
        h("td", {}, x.outcome === "correct" ? pill(`${x.right}/${x.total}`, "good") : x.outcome === "incorrect" ?
          pill(`${x.right}/${x.total}`, "bad") : pill(`${x.right}/${x.total}`, "warn")),
        h("td", {}, h("code", { text: first.a ?? "–" }), " / ", h("code", { text: x.problem.gold })),
        h("td", { class: "num" }, String(programs), bad.length ? " " : "", bad.map((v) => pill(v, STATUS_KIND[v] || "plain"))));
    });
    const table = h("table", { class: "problems", "data-testid": "problem-table" },
      h("thead", {}, h("tr", {}, ["id", this.hasSubject && "subject", this.hasLevel && "level", "question", "correct",
        "answer / gold", "programs"].filter(Boolean).map((t) => h("th", { class: t === "programs" ? "num" : "", text: t })))),
      h("tbody", {}, rows));
    this.tableHost.replaceChildren(table, pager(found.length, st.page, (p) => { st.page = p; this.update(); }));
  }

  select(x) {
    this.state.selected = x;
    this.update();
    const question = x.item.pm ?? x.problem.q;
    this.detail.replaceChildren(problemHead(x.problem, question),
      ...x.item.s.map((smp) => renderTrajectory(this.run, x.item, smp, `${this.run.name} · sample ${smp.k}`)));
    this.detail.scrollIntoView({ block: "start" });
  }
}

// -------------------------------------------------------------------------------------- the comparison
const FLIP_LABEL = { fixed: "fixed (wrong → right)", broken: "broken (right → wrong)", both_right: "both right", both_wrong: "both wrong" };

class CompareView {
  constructor(comparisons, runs) {
    this.comparisons = comparisons;
    this.runs = runs;
    this.state = { pair: 0, flip: "fixed", page: 0, selected: null };
    // a problem's item in each run, for the side-by-side view
    this.byRun = runs.map((run) => new Map(run.problems.map((item) => [item.p, item])));
  }

  render() {
    this.root = h("section", { class: "compare", "data-testid": "compare-view" });
    this.root.append(h("h2", { text: "Comparison" }),
      h("p", { class: "muted", text: "Each run is paired with the first run before it that has its problems (its baseline), " +
        "on the problems both have. " +
        "A problem is right in a run when more than half of its samples are correct (one sample: that sample)." }));
    if (this.comparisons.length > 1) {
      this.root.append(h("div", { class: "filters" }, h("label", {}, "pair", h("select", { "data-testid": "pair",
        onchange: (e) => { this.state.pair = Number(e.target.value); this.state.page = 0; this.draw(); } },
        this.comparisons.map((c, i) => h("option", { value: i, text: `${c.base} → ${c.other}` }))))));
    }
    this.body = h("div", {});
    this.root.append(this.body);
    this.draw();
    return this.root;
  }

  draw() {
    const c = this.comparisons[this.state.pair];
    const st = this.state;
    const cell = (flip) => h("td", { class: flip }, h("button", {
      class: st.flip === flip ? "active" : "", "data-testid": `flip-${flip}`, title: FLIP_LABEL[flip],
      onclick: () => { st.flip = flip; st.page = 0; st.selected = null; this.draw(); }, text: fmtInt(c.counts[flip]) }));
    const flipTable = h("table", { class: "flip-table", "data-testid": "flip-table" },
      h("thead", {}, h("tr", {}, h("th", {}), h("th", { text: `${c.other}: right` }), h("th", { text: `${c.other}: wrong` }))),
      h("tbody", {},
        h("tr", {}, h("th", { text: `${c.base}: right` }), cell("both_right"), cell("broken")),
        h("tr", {}, h("th", { text: `${c.base}: wrong` }), cell("fixed"), cell("both_wrong"))));
    const stats = h("div", {},
      h("p", { class: "stat-line", "data-testid": "mcnemar" }, `Exact McNemar test: p = ${formatP(c.p_value)} `,
        h("span", { class: "muted", text: `(${c.counts.fixed} fixed vs ${c.counts.broken} broken of ${fmtInt(c.shared)} shared problems; ` +
          "two-sided binomial test on the discordant pairs)" })),
      h("p", { class: "stat-line", "data-testid": "difference" }, `Accuracy ${pct(c.accuracy[0])} → ${pct(c.accuracy[1])}: `,
        h("b", { text: `${points(c.difference)} points` }),
        c.interval ? h("span", { class: "muted", text: ` (paired bootstrap 95% interval [${points(c.interval[0])}, ${points(c.interval[1])}])` }) : null),
      c.only_base || c.only_other ? h("p", { class: "muted", text: `Not paired: ${c.only_base} problems only in ${c.base}, ` +
        `${c.only_other} only in ${c.other}.` }) : null);
    const groups = [];
    for (const [key, title] of [["subjects", "subject"], ["levels", "level"]]) {
      if (!c[key].length) continue;
      groups.push(h("div", {},
        h("h3", { text: `Per ${title}: ${c.other} − ${c.base}` }),
        h("div", { class: "two-col" },
          h("table", { class: "deltas", "data-testid": `deltas-${key}` },
            h("thead", {}, h("tr", {}, [title, "problems", c.base, c.other, "Δ points", "fixed", "broken"].map((t, i) => h("th", { class: i ? "num" : "", text: t })))),
            h("tbody", {}, c[key].map((g) => h("tr", {},
              h("td", { text: g.name }), h("td", { class: "num", text: g.problems }), h("td", { class: "num", text: pct(g.base) }),
              h("td", { class: "num", text: pct(g.other) }), h("td", { class: "num", text: points(g.delta) }),
              h("td", { class: "num", text: g.fixed }), h("td", { class: "num", text: g.broken }))))),
          deltaChart(`accuracy change per ${title} (points)`, c[key].map((g) => ({ label: g.name, delta: g.delta }))))));
    }
    const list = h("div", { "data-testid": "flip-list" });
    this.detail = h("div", { class: "detail-pane", "data-testid": "side-by-side" });
    this.body.replaceChildren(h("div", { class: "two-col" }, flipTable, stats), ...groups,
      h("h3", { text: `Problems: ${FLIP_LABEL[st.flip]}` }), list, this.detail);
    this.drawList(list, c);
    if (st.selected !== null) this.showProblem(st.selected);
  }

  drawList(list, c) {
    const st = this.state;
    const indices = c.flips[st.flip];
    const baseIndex = this.runs.findIndex((r) => r.name === c.base);
    const otherIndex = this.runs.findIndex((r) => r.name === c.other);
    const hasSubject = DATA.problems.some((p) => p.subject);
    const rows = indices.slice(st.page * FLIP_PAGE_SIZE, (st.page + 1) * FLIP_PAGE_SIZE).map((p) => {
      const problem = DATA.problems[p];
      const score = (ri) => { const it = this.byRun[ri].get(p); return `${it.s.reduce((n, x) => n + x.c, 0)}/${it.s.length}`; };
      const answer = (ri) => this.byRun[ri].get(p).s[0].a ?? "–";
      return h("tr", { class: st.selected === p ? "selected" : "", "data-id": problem.id, onclick: () => { st.selected = p; this.drawList(list, c); this.showProblem(p); } },
        h("td", { text: problem.id }), hasSubject ? h("td", { text: problem.subject || "" }) : null,
        h("td", { class: "q", text: problem.q.replace(/\s+/g, " ") }),
        h("td", {}, h("code", { text: answer(baseIndex) }), ` (${score(baseIndex)})`),
        h("td", {}, h("code", { text: answer(otherIndex) }), ` (${score(otherIndex)})`),
        h("td", {}, h("code", { text: problem.gold })));
    });
    list.replaceChildren(
      h("p", { class: "count", "data-testid": "flip-count", "data-count": indices.length, text: `${fmtInt(indices.length)} problems` }),
      h("table", { class: "problems" },
        h("thead", {}, h("tr", {}, ["id", hasSubject && "subject", "question", c.base, c.other, "gold"].filter(Boolean)
          .map((t) => h("th", { text: t })))),
        h("tbody", {}, rows)),
      pager(indices.length, st.page, (page) => { st.page = page; this.drawList(list, c); }, FLIP_PAGE_SIZE));
  }

  showProblem(p) {
    const problem = DATA.problems[p];
    const columns = this.runs.map((run, ri) => {
      const item = this.byRun[ri].get(p);
      return h("div", { "data-testid": "side-column" }, h("div", { class: "col-head", text: run.name }),
        item ? item.s.map((smp) => renderTrajectory(run, item, smp, `${run.name} · sample ${smp.k}`))
          : h("p", { class: "muted", text: "not in this run" }));
    });
    const grid = h("div", { class: "side-by-side" }, columns);
    grid.style.gridTemplateColumns = `repeat(${columns.length}, minmax(0, 1fr))`;
    this.detail.replaceChildren(problemHead(problem, problem.q), grid);
  }
}

function formatP(p) {
  if (p >= 0.001) return p.toFixed(p >= 0.1 ? 2 : 3);
  return p.toExponential(1);
}

// ------------------------------------------------------------------------------------------------ suite
function suiteView(cells) {
  const datasets = [...new Set(cells.map((c) => c.dataset))];
  const runs = [...new Set(cells.map((c) => c.run))];
  const at = new Map(cells.map((c) => [`${c.dataset}\u0000${c.run}`, c]));
  const cell = (d, r) => at.get(`${d}\u0000${r}`);
  const table = h("table", { class: "deltas", "data-testid": "suite-table" },
    h("thead", {}, h("tr", {}, h("th", { text: "dataset" }), runs.map((r) => h("th", { class: "num", text: r })))),
    h("tbody", {}, datasets.map((d) => h("tr", {}, h("td", { text: d }), runs.map((r) => {
      const c = cell(d, r);
      return h("td", { class: "num", title: c ? `${fmtInt(c.samples)} samples` : "", text: c ? pct(c.accuracy) : "–" });
    })))));
  const charts = runs.map((r) => barChart(`Accuracy per dataset: ${r}`, datasets.filter((d) => cell(d, r))
    .map((d) => ({ label: d, value: cell(d, r).accuracy, note: `${fmtInt(cell(d, r).samples)} samples` }))));
  return h("section", { "data-testid": "suite-view" }, h("h2", { text: "Datasets" }),
    h("p", { class: "muted", text: "Accuracy (percent of samples) of each run on each dataset it covers." }),
    table, h("div", { class: "charts" }, charts));
}

// --------------------------------------------------------------------------------------------- training
function trainView(train) {
  const root = h("section", { class: "train", "data-testid": "train-view" }, h("h2", { text: `Training: ${train.name}` }),
    h("p", { class: "muted", text: train.path }));
  const head = ["stage", "steps", "samples", "by mode", "masked tokens", "trained tokens / epoch", "tokens/s", "runtime s", "final loss"];
  const rows = train.stages.map((st) => h("tr", {},
    h("td", { text: st.stage }), h("td", { class: "num", text: fmtInt(st.global_step) }), h("td", { class: "num", text: fmtInt(st.samples) }),
    h("td", { text: Object.entries(st.by_mode || {}).map(([k, v]) => `${k} ${v}`).join(", ") +
      (Object.keys(st.by_format || {}).length ? ` (${Object.entries(st.by_format).map(([k, v]) => `${k} ${v}`).join(", ")})` : "") }),
    h("td", { class: "num", "data-testid": "masked-fraction", text: st.masked_fraction == null ? "–" : pct(st.masked_fraction) }),
    h("td", { class: "num", text: st.trained_tokens_per_epoch == null ? "–" : `${fmtInt(st.trained_tokens_per_epoch)} of ${fmtInt(st.tokens_per_epoch)}` }),
    h("td", { class: "num", "data-testid": "throughput", text: st.tokens_per_s == null ? "–" : fmtInt(Math.round(st.tokens_per_s)) }),
    h("td", { class: "num", text: st.train_runtime_s == null ? "–" : st.train_runtime_s.toFixed(1) }),
    h("td", { class: "num", text: st.final_loss == null ? "–" : st.final_loss.toFixed(4) })));
  root.append(h("table", { "data-testid": "train-table" }, h("thead", {}, h("tr", {}, head.map((t, i) => h("th", { class: i && i !== 3 ? "num" : "", text: t })))),
    h("tbody", {}, rows)),
  h("p", { class: "muted", text: "Masked tokens: the share of each epoch's tokens the loss does not train on (prompts and interpreter " +
    "outputs): 1 − trained tokens / tokens. Throughput: tokens per second of the stage's own run." }),
  h("div", { class: "charts" }, train.stages.map((st) => lineChart(`loss: ${st.stage}`, st.curve, { xLabel: "step", yLabel: "loss", testid: "loss-chart" }))));
  return root;
}

// ------------------------------------------------------------------------------------------------- page
let DATA = null;

function showTab(id) {
  for (const button of document.querySelectorAll("#tabs button")) button.setAttribute("aria-selected", String(button.dataset.tab === id));
  for (const section of document.querySelectorAll("#app > .tab")) section.hidden = section.id !== id;
}

function build() {
  const app = document.getElementById("app");
  const tabs = document.getElementById("tabs");
  const sections = [];
  const add = (id, label, render) => {
    tabs.append(h("button", { role: "tab", "data-tab": id, "data-testid": `tab-${id}`, onclick: () => showTab(id), text: label }));
    sections.push({ id, render });
  };
  DATA.runs.forEach((run, i) => add(`run-${i}`, run.name, () => new RunView(run).render()));
  if (DATA.suite.length) add("suite", "datasets", () => suiteView(DATA.suite));
  if (DATA.comparisons.length) add("compare", `compare (${DATA.runs.length} runs)`, () => new CompareView(DATA.comparisons, DATA.runs).render());
  DATA.trains.forEach((train, i) => add(`train-${i}`, `training: ${train.name}`, () => trainView(train)));
  app.replaceChildren(...sections.map((sec) => h("div", { class: "tab", id: sec.id, hidden: true }, sec.render())));
  if (sections.length) showTab(sections[0].id);
  const counts = [`${DATA.runs.length} run(s)`, DATA.trains.length ? `${DATA.trains.length} training folder(s)` : null];
  document.getElementById("subtitle").textContent = `${counts.filter(Boolean).join(", ")} · written ${DATA.generated} by mathforge ${DATA.version}`;
  document.getElementById("foot").textContent = `Problem tables are paginated (${PAGE_SIZE} rows a page, ${FLIP_PAGE_SIZE} in the ` +
    "comparison's list); filters and search run over every problem. " +
    `Blocks longer than ${fmtInt(DATA.max_chars)} characters keep their head and tail (the predictions file has the full text). ` +
    "Accuracies are percentages of samples.";
}

async function main() {
  try {
    DATA = await decodePayload(document.getElementById("payload").textContent.trim());
    build();
  } catch (err) {
    document.getElementById("app").replaceChildren(h("p", { class: "error", text: `This report could not be drawn: ${err}` }));
    throw err;
  } finally {
    performance.mark("view-ready");
    document.body.dataset.ready = DATA ? "1" : "error";
  }
}

main();
