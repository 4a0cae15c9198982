// The site dashboard: overview, devices, one device's chart, alarms; live
// through /api/v1/events. Plain script, no build step, no CDN.
"use strict";

const TEXT = {
  zh: { title: "社区设备", overview: "总览", devices: "设备", alarms: "告警", logout: "退出",
    token: "访问令牌", login: "登录", disconnected: "未连接", offline: "离线", live: "实时", bad_token: "令牌无效",
    kind: "类型", status: "状态", device: "设备", last: "最近数据", age: "持续", severity: "级别",
    event: "事件", acked_by: "确认人", actions: "操作", ack: "确认", arrive: "到场",
    all: "全部", search: "搜索", none: "无", open_alarms: "未消除告警", recent: "最近读数",
    elevator: "电梯", ev_charger: "充电桩", parking: "停车位", drainage: "排水", gateway: "网关",
    online: "在线", unknown: "未知", role: "角色", availability: "本月可用率" },
  en: { title: "Community devices", overview: "Overview", devices: "Devices", alarms: "Alarms", logout: "Log out",
    token: "Access token", login: "Log in", disconnected: "Not connected", offline: "Offline", live: "Live", bad_token: "Invalid token",
    kind: "Kind", status: "Status", device: "Device", last: "Last reading", age: "Age", severity: "Severity",
    event: "Event", acked_by: "Acknowledged by", actions: "Actions", ack: "Acknowledge", arrive: "Arrived",
    all: "All", search: "Search", none: "None", open_alarms: "Open alarms", recent: "Recent readings",
    elevator: "Elevator", ev_charger: "EV charger", parking: "Parking", drainage: "Drainage", gateway: "Gateway",
    online: "Online", unknown: "Unknown", role: "Role", availability: "Availability this month" },
};
const RANK = { viewer: 0, technician: 1, operator: 2, admin: 3 };
const state = { lang: localStorage.getItem("lang") || "zh", token: sessionStorage.getItem("token"),
  role: null, devices: [], detail: null, sla: null, filter: { kind: "", status: "", q: "" } };
const $ = (sel) => document.querySelector(sel);
const t = (key) => TEXT[state.lang][key] || key;
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");

async function api(path, options = {}) {
  const headers = { Authorization: "Bearer " + state.token, ...(options.headers || {}) };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) { logout(); throw new Error(t("bad_token")); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.status);
  return body;
}

function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("#lang").textContent = state.lang === "zh" ? "English" : "中文";
}

function age(ts) {
  const s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
  if (s < 90) return Math.round(s) + "s";
  if (s < 5400) return Math.round(s / 60) + "min";
  return (s / 3600).toFixed(1) + "h";
}

function openAlarms() {
  return state.devices.flatMap((d) => d.open_alarms)
    .sort((a, b) => String(b.ts).localeCompare(String(a.ts)));
}

function alarmRows(alarms) {
  if (!alarms.length) return `<tr><td colspan="6">${t("none")}</td></tr>`;
  const mayArrive = RANK[state.role] >= RANK.technician, mayAck = RANK[state.role] >= RANK.operator;
  return alarms.map((a) => `<tr data-alarm="${esc(a.alarm_id)}">
    <td><a href="#/device/${esc(a.device)}">${esc(a.device)}</a></td><td>${esc(a.event)}</td>
    <td><span class="${esc(a.severity)}">${esc(a.severity)}</span></td><td>${age(a.ts)}</td>
    <td class="acked-by">${esc(a.acked_by || "—")}${a.arrived_by ? " · " + t("arrive") + ": " + esc(a.arrived_by) : ""}</td>
    <td>${mayAck ? `<button class="ack" data-id="${esc(a.alarm_id)}">${t("ack")}</button>` : ""}
        ${mayArrive ? `<button class="arrive" data-id="${esc(a.alarm_id)}">${t("arrive")}</button>` : ""}</td></tr>`).join("");
}

function alarmTable(alarms) {
  return `<table id="alarm-table"><thead><tr><th>${t("device")}</th><th>${t("event")}</th><th>${t("severity")}</th>
    <th>${t("age")}</th><th>${t("acked_by")}</th><th>${t("actions")}</th></tr></thead><tbody>${alarmRows(alarms)}</tbody></table>`;
}

function renderOverview() {
  const counts = {};
  for (const d of state.devices) {
    const c = counts[d.kind] || (counts[d.kind] = { total: 0, online: 0, offline: 0, unknown: 0 });
    c.total += 1; c[d.status] = (c[d.status] || 0) + 1;
  }
  const availability = (kind) => {
    const f = state.sla && state.sla.kinds.find((k) => k.kind === kind);
    const pct = f && f.availability_pct;
    return typeof pct === "number" ? pct.toFixed(2) + "%" : "—";
  };
  const cards = Object.entries(counts).map(([kind, c]) => `<div class="card" data-kind="${esc(kind)}">
    ${t(kind)}<b class="total">${c.total}</b><span class="online">${t("online")} <span class="n-online">${c.online}</span></span>
    · <span class="offline">${t("offline")} <span class="n-offline">${c.offline}</span></span>
    <small class="availability">${t("availability")} ${availability(kind)}</small></div>`).join("");
  return `<div class="cards" id="overview-counts">${cards}</div><h2>${t("open_alarms")}</h2>${alarmTable(openAlarms())}`;
}

function renderDevices() {
  const f = state.filter;
  const kinds = [...new Set(state.devices.map((d) => d.kind))];
  const rows = state.devices.filter((d) => (!f.kind || d.kind === f.kind) && (!f.status || d.status === f.status)
      && (!f.q || d.id.includes(f.q)))
    .map((d) => `<tr data-device="${esc(d.id)}"><td><a href="#/device/${esc(d.id)}">${esc(d.id)}</a></td>
      <td>${t(d.kind)}</td><td class="${esc(d.status)}">${t(d.status)}</td>
      <td>${d.last_reading ? age(d.last_reading.ts) : "—"}</td><td>${d.open_alarms.length}</td></tr>`).join("");
  const opt = (v, label, cur) => `<option value="${esc(v)}"${v === cur ? " selected" : ""}>${esc(label)}</option>`;
  return `<div class="filters">
    <select id="f-kind">${opt("", t("all"), f.kind)}${kinds.map((k) => opt(k, t(k), f.kind)).join("")}</select>
    <select id="f-status">${["", "online", "offline", "unknown"].map((s) => opt(s, s ? t(s) : t("all"), f.status)).join("")}</select>
    <input id="f-q" placeholder="${t("search")}" value="${esc(f.q)}"></div>
    <table id="device-table"><thead><tr><th>${t("device")}</th><th>${t("kind")}</th><th>${t("status")}</th>
    <th>${t("last")}</th><th>${t("alarms")}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function chart(readings) {
  const series = {};
  for (const r of readings) for (const [k, v] of Object.entries(r.metrics || {})) {
    if (typeof v === "number") (series[k] || (series[k] = [])).push([Date.parse(r.ts), v]);
  }
  const [name, points] = Object.entries(series).sort((a, b) => b[1].length - a[1].length)[0] || [];
  if (!points) return `<p>${t("none")}</p>`;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const px = (x) => 40 + ((x - x0) / Math.max(1, x1 - x0)) * 540, py = (y) => 200 - ((y - y0) / ((y1 - y0) || 1)) * 180;
  const line = points.map(([x, y]) => px(x).toFixed(1) + "," + py(y).toFixed(1)).join(" ");
  return `<svg class="chart" viewBox="0 0 600 220" data-metric="${esc(name)}" data-points="${points.length}">
    <text x="4" y="14">${esc(name)} ${y1}</text><text x="4" y="210">${y0}</text><polyline points="${line}"/></svg>`;
}

function renderDevice(id) {
  const d = state.detail && state.detail.id === id ? state.detail : null;
  if (!d) return "…";
  return `<h2>${esc(d.id)} <small class="${esc(d.status)}">${t(d.status)}</small></h2>${chart(d.recent)}
    <h3>${t("open_alarms")}</h3>${alarmTable(d.open_alarms)}`;
}

async function renderAlarms() {
  const page = await api("/api/v1/alarms?state=active&limit=1000");
  return alarmTable(page.alarms);
}

async function render() {
  translate();
  const route = location.hash.replace(/^#/, "") || "/";
  let html;
  if (route.startsWith("/device/")) {
    const id = decodeURIComponent(route.slice(8));
    if (!state.detail || state.detail.id !== id) state.detail = await api("/api/v1/devices/" + encodeURIComponent(id));
    html = renderDevice(id);
  } else if (route === "/devices") html = renderDevices();
  else if (route === "/alarms") html = await renderAlarms();
  else html = renderOverview();
  $("#view").innerHTML = html;
  $("#view").dataset.route = route;
}

let pending = false;
function rerender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render().catch(showError); });
}

function apply(reading) {
  const d = state.devices.find((x) => x.id === reading.device);
  const targets = [d, state.detail && state.detail.id === reading.device ? state.detail : null].filter(Boolean);
  for (const x of targets) {
    if (reading.metrics) x.last_reading = reading;
    if (reading.status) x.status = reading.status;
    if (reading.event && reading.alarm_id) {
      x.open_alarms = x.open_alarms.filter((a) => a.alarm_id !== reading.alarm_id);
      if (reading.state === "raised") x.open_alarms.push(reading);
    }
    for (const field of ["acked_by", "arrived_by"]) {
      if (reading[field] === undefined) continue;
      x.open_alarms.forEach((a) => { if (a.alarm_id === reading.alarm_id) a[field] = reading[field]; });
    }
  }
  const isReading = reading.metrics || reading.event || reading.status;
  if (isReading && state.detail && state.detail.id === reading.device) state.detail.recent.push(reading);
  rerender();
}

async function follow() {
  while (state.token) {
    try {
      const res = await fetch("/api/v1/events", { headers: { Authorization: "Bearer " + state.token } });
      if (!res.ok) throw new Error(res.status);
      $("#live").textContent = t("live");
      const reader = res.body.getReader(), decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (block.includes("event: reading") && data) apply(JSON.parse(data));
          if (block.includes("event: lagged")) await load();
        }
      }
    } catch (e) { /* reconnect below */ }
    $("#live").textContent = t("disconnected");
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function loadSla() {
  const now = new Date();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  try {
    state.sla = await api(`/api/v1/sla?from=${month.toISOString()}&to=${now.toISOString()}`);
  } catch (e) { state.sla = null; }
}

async function load() {
  state.devices = (await api("/api/v1/devices")).devices;
  await loadSla();
  state.detail = null;
  rerender();
}

function showError(e) { $("#view").innerHTML = `<p class="error">${esc(e.message)}</p>`; }

function logout() {
  sessionStorage.removeItem("token");
  state.token = null; state.role = null;
  $("#login").hidden = false; $("#logout").hidden = true; $("#who").textContent = "";
}

async function start() {
  translate();
  if (!state.token) { logout(); return; }
  try {
    state.role = (await api("/api/v1/whoami")).role;
  } catch (e) { $("#login-error").textContent = e.message; return; }
  $("#login").hidden = true; $("#logout").hidden = false;
  $("#who").textContent = t("role") + ": " + state.role;
  await load();
  follow();
  setInterval(() => loadSla().then(rerender), 60000);
}

$("#login").addEventListener("submit", (e) => {
  e.preventDefault();
  state.token = $("#token").value.trim();
  sessionStorage.setItem("token", state.token);
  start();
});
$("#logout").addEventListener("click", () => { logout(); $("#view").innerHTML = ""; });
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh"; localStorage.setItem("lang", state.lang); rerender();
});
$("#view").addEventListener("change", (e) => {
  if (e.target.id === "f-kind") state.filter.kind = e.target.value;
  if (e.target.id === "f-status") state.filter.status = e.target.value;
  rerender();
});
$("#view").addEventListener("input", (e) => {
  if (e.target.id === "f-q") { state.filter.q = e.target.value; rerender(); }
});
$("#view").addEventListener("click", async (e) => {
  const action = e.target.classList.contains("ack") ? "ack" : e.target.classList.contains("arrive") ? "arrive" : null;
  if (!action) return;
  try {
    await api(`/api/v1/alarms/${encodeURIComponent(e.target.dataset.id)}/${action}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ by: state.role }) });
  } catch (err) { showError(err); }
});
window.addEventListener("hashchange", rerender);
start();
