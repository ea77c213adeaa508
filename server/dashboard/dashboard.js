// Galaxy's admin dashboard: logs in, then polls the admin endpoints and runs console
// lines. Every value from the server is written with textContent, never as markup.
"use strict";

const STATUS_EVERY_MS = 1000;
const PLAYERS_EVERY_MS = 2000;
const HISTORY_EVERY_MS = 10000;
const AUDIT_EVERY_MS = 5000;
const TOKEN_KEY = "galaxy-admin-token";

const $ = (id) => document.getElementById(id);
let timers = [];

/// Shows one of the three views and records it for tests in `<body data-state>`.
function show(state) {
  document.body.dataset.state = state;
  $("login-view").hidden = state !== "login";
  $("refused-view").hidden = state !== "refused";
  $("dashboard-view").hidden = state !== "ready";
  $("logout").hidden = state === "login";
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/// Calls the API; a 401 (expired or revoked session) goes back to the login view,
/// a 403 (no longer an admin) to the refusal view.
async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "content-type": "application/json", authorization: `Bearer ${token()}` },
  });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (response.status === 401) {
    logOut();
    throw new Error(body.error);
  }
  if (response.status === 403) {
    refuse(body.error);
    throw new Error(body.error);
  }
  if (!response.ok) {
    throw new Error(body.error || `HTTP ${response.status}`);
  }
  return body;
}

/// Runs one console line, as the in-game console and galaxy-admin do.
function run(line) {
  return api("/api/admin/command", { method: "POST", body: JSON.stringify({ line }) });
}

/// Runs a line and shows its answer under the controls.
async function act(line) {
  const reply = $("reply");
  try {
    const answer = await run(line);
    reply.textContent = `${line}: ${answer.output}`;
    reply.classList.toggle("refused", !answer.ok);
  } catch (error) {
    reply.textContent = `${line}: ${error.message}`;
    reply.classList.add("refused");
  }
  refreshStatus();
  refreshPlayers();
  refreshAudit();
}

async function logIn(event) {
  event.preventDefault();
  const message = $("login-error");
  message.textContent = "";
  const credentials = { username: $("username").value.trim(), password: $("password").value };
  try {
    const response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(credentials),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      message.textContent = body.error || `login failed (HTTP ${response.status})`;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, body.token);
    $("password").value = "";
    $("who").textContent = `${credentials.username} (${body.role})`;
    if (body.role !== "admin") {
      refuse("This account is a player account: the dashboard is for admins.");
      return;
    }
    start();
  } catch (error) {
    message.textContent = `cannot reach the server: ${error.message}`;
  }
}

function refuse(why) {
  stop();
  $("refusal").textContent = why;
  show("refused");
}

function logOut() {
  stop();
  sessionStorage.removeItem(TOKEN_KEY);
  $("who").textContent = "";
  show("login");
}

function stop() {
  timers.forEach(clearInterval);
  timers = [];
}

function start() {
  show("ready");
  stop();
  const every = (ms, refresh) => {
    refresh();
    timers.push(setInterval(refresh, ms));
  };
  every(STATUS_EVERY_MS, refreshStatus);
  every(PLAYERS_EVERY_MS, refreshPlayers);
  every(HISTORY_EVERY_MS, refreshHistory);
  every(AUDIT_EVERY_MS, refreshAudit);
}

function upOrDown(element, up, words) {
  element.textContent = up === null ? "none" : words[up ? 0 : 1];
  element.className = up === null ? "" : up ? "up" : "down";
}

async function refreshStatus() {
  let status;
  try {
    status = (await run("status")).data;
  } catch {
    return;
  }
  if (!status) {
    return;
  }
  $("date").textContent = status.date;
  $("warp").textContent = `×${status.time_scale} (${status.warp_reason}; cap ×${status.warp_cap})`;
  upOrDown($("clock"), !status.paused, ["running", "paused"]);
  $("ticks").textContent = `${status.tick_p50_ms.toFixed(2)} / ${status.tick_p99_ms.toFixed(2)} ms`;
  $("overruns").textContent = `${status.overruns} / ${status.dropped}`;
  $("online").textContent = status.players_online;
  $("ships").textContent = status.ships;
  $("snapshot-age").textContent =
    status.snapshot_age_s === null ? "none yet" : `${Math.round(status.snapshot_age_s)} s ago`;
  upOrDown($("database"), status.database_up, ["up", "down"]);
  const warpInput = $("warp-input");
  if (document.activeElement !== warpInput) {
    warpInput.value = status.warp_cap;
  }
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) {
    td.className = className;
  }
  return td;
}

function button(label, onClick, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (className) {
    b.className = className;
  }
  b.addEventListener("click", onClick);
  return b;
}

/// A ban needs a second click within three seconds.
function banButton(name) {
  const b = button("ban", () => {
    if (b.classList.contains("armed")) {
      act(`ban ${name}`);
      return;
    }
    b.classList.add("armed");
    b.textContent = "confirm ban";
    setTimeout(() => {
      b.classList.remove("armed");
      b.textContent = "ban";
    }, 3000);
  }, "danger");
  return b;
}

function actions(player) {
  const td = document.createElement("td");
  td.className = "actions";
  const name = player.name;
  for (const verb of ["kick", "refuel", "reset"]) {
    td.append(button(verb, () => act(`${verb} ${name}`)));
  }
  td.append(button(player.role === "admin" ? "demote" : "promote", () =>
    act(`${player.role === "admin" ? "demote" : "promote"} ${name}`)));
  td.append(banButton(name));
  const body = document.createElement("input");
  body.value = "Earth";
  body.setAttribute("aria-label", `teleport ${name}: body`);
  const altitude = document.createElement("input");
  altitude.type = "number";
  altitude.min = "0";
  altitude.value = "400";
  altitude.setAttribute("aria-label", `teleport ${name}: altitude in km`);
  td.append(body, altitude, button("teleport", () =>
    act(`teleport ${name} ${body.value.trim()} ${altitude.value}`)));
  return td;
}

let shownPlayers = "";

async function refreshPlayers() {
  let rows;
  try {
    rows = (await run("players")).data || [];
  } catch {
    return;
  }
  // Rebuilding the rows would drop what an admin is typing into a teleport field.
  const key = JSON.stringify(rows);
  if (key === shownPlayers) {
    return;
  }
  shownPlayers = key;
  const tbody = $("players").tBodies[0];
  tbody.replaceChildren(...rows.map((player) => {
    const tr = document.createElement("tr");
    tr.dataset.player = player.name;
    const ship = player.ship;
    tr.append(
      cell(player.name),
      cell(player.id),
      cell(player.role),
      cell(ship ? `${Math.round(ship.throttle * 100)} %` : "–"),
      cell(ship ? `${Math.round(ship.fuel_kg)} kg` : "–"),
      cell(ship ? ship.flight : "no ship"),
      actions(player),
    );
    return tr;
  }));
  $("no-players").hidden = rows.length > 0;
}

async function refreshAudit() {
  const filter = $("audit-filter").value;
  let entries;
  try {
    entries = (await api(`/api/admin/audit?limit=200&q=${encodeURIComponent(filter)}`)).entries;
  } catch {
    return;
  }
  if ($("audit-filter").value !== filter) {
    return;
  }
  $("audit").tBodies[0].replaceChildren(...entries.map((entry) => {
    const tr = document.createElement("tr");
    tr.append(
      cell(new Date(entry.at * 1000).toLocaleString()),
      cell(entry.actor),
      cell(entry.line),
      cell(entry.output, entry.ok ? "" : "failed"),
    );
    return tr;
  }));
}

async function refreshHistory() {
  let history;
  try {
    history = await api("/api/admin/history");
  } catch {
    return;
  }
  const samples = history.samples;
  drawChart($("tick-chart"), samples, [
    { value: (s) => s.tick_p50_ms, colour: "#5fb3ff" },
    { value: (s) => s.tick_p99_ms, colour: "#ffb347" },
  ], "ms");
  drawChart($("player-chart"), samples, [
    { value: (s) => s.players, colour: "#5fb3ff" },
    { value: (s) => s.ships, colour: "#ffb347" },
  ], "");
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

/// Draws series over the last hour: time runs from an hour ago (left) to now
/// (right), the value axis from zero to a round number above the largest value.
function drawChart(chart, samples, series, unit) {
  const [width, height, left, bottom, top] = [600, 150, 42, 18, 8];
  const now = Date.now() / 1000;
  const hour = 3600;
  const largest = Math.max(1e-9, ...samples.flatMap((s) => series.map((line) => line.value(s))));
  const ceiling = niceCeiling(largest);
  const x = (t) => left + ((t - (now - hour)) / hour) * (width - left - 4);
  const y = (v) => height - bottom - (v / ceiling) * (height - bottom - top);
  const parts = [];
  for (const fraction of [0, 0.5, 1]) {
    const v = ceiling * fraction;
    parts.push(svg("line", { class: "grid", x1: left, x2: width - 4, y1: y(v), y2: y(v) }));
    parts.push(svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, `${+v.toPrecision(3)}${unit}`));
  }
  parts.push(svg("text", { x: left, y: height - 4 }, "−60 min"));
  parts.push(svg("text", { x: width - 4, y: height - 4, "text-anchor": "end" }, "now"));
  for (const line of series) {
    const points = samples
      .filter((s) => s.unix_s >= now - hour)
      .map((s) => `${x(s.unix_s).toFixed(1)},${y(line.value(s)).toFixed(1)}`)
      .join(" ");
    parts.push(svg("polyline", { points, stroke: line.colour }));
  }
  chart.replaceChildren(...parts);
  chart.dataset.samples = samples.length;
}

/// 1, 2 or 5 times a power of ten, at least `value`.
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((c) => c >= value);
}

function wire() {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  $("pause").addEventListener("click", () => act("pause"));
  $("resume").addEventListener("click", () => act("resume"));
  $("snapshot").addEventListener("click", () => act("snapshot"));
  $("warp-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const force = $("warp-force").checked ? "force " : "";
    act(`timescale ${force}${$("warp-input").value}`);
  });
  $("audit-filter").addEventListener("input", refreshAudit);
  if (token()) {
    start();
  } else {
    show("login");
  }
}

wire();
