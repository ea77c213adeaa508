// Uses the admin dashboard as an operator would, in Debian's Chromium driven by
// playwright-core: a player account is refused, the admin logs in, pauses and sees
// the game date stop, resumes and sees it move, kicks a player and sees the row go,
// reads the audit log newest first and filters it, waits for the charts, and saves
// a screenshot. Prints one JSON report line on stdout, then waits for stdin to
// close.
//
// Usage: node web/tests/dashboard.mjs URL ADMIN ADMIN_PASSWORD PLAYER PLAYER_PASSWORD KICKED SCREENSHOT.png
// Environment: GALAXY_CHROMIUM (default /usr/bin/chromium).

import { launchChromium } from "./chromium.mjs";

const [url, admin, adminPassword, player, playerPassword, kicked, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error("usage: node web/tests/dashboard.mjs URL ADMIN ADMIN_PASSWORD PLAYER PLAYER_PASSWORD KICKED SCREENSHOT.png");
  process.exit(2);
}
const STEP_MS = 15_000;

const browser = await launchChromium(["--disable-gpu"]);
const report = { console_errors: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on("console", (m) => { if (m.type() === "error") report.console_errors.push(m.text()); });
  page.on("pageerror", (e) => report.console_errors.push(String(e)));
  const state = (s) => page.waitForSelector(`body[data-state="${s}"]`);
  const text = (selector) => page.locator(selector).innerText();
  const logIn = async (name, password) => {
    await page.fill("#username", name);
    await page.fill("#password", password);
    await page.click("#login-form button[type=submit]");
  };

  await page.goto(`${url}/admin`);
  await state("login");

  // A player account gets the refusal view, not the dashboard.
  await logIn(player, playerPassword);
  await state("refused");
  report.refusal = await text("#refusal");
  await page.click("#logout");
  await state("login");

  await logIn(admin, adminPassword);
  await state("ready");
  await page.waitForFunction(() => document.getElementById("date").textContent !== "–");

  // Pause: the clock says so and the game date stands still.
  await page.click("#pause");
  await page.waitForFunction(() => document.getElementById("clock").textContent === "paused");
  const pausedAt = await text("#date");
  await page.waitForTimeout(2500);
  report.paused = { first: pausedAt, later: await text("#date") };

  // Resume: the date moves again.
  await page.click("#resume");
  await page.waitForFunction(() => document.getElementById("clock").textContent === "running");
  await page.waitForFunction((before) => document.getElementById("date").textContent !== before, pausedAt);
  report.resumed = { from: pausedAt, to: await text("#date") };

  // Kick: the player's row goes.
  const row = page.locator(`#players tr[data-player="${kicked}"]`);
  await row.waitFor();
  report.players_before = await page.locator("#players tbody tr").count();
  await row.locator("button", { hasText: "kick" }).click();
  await row.waitFor({ state: "detached" });
  report.kicked_row_gone = true;
  report.players_after = await page.locator("#players tbody tr").count();

  // The audit log, newest first, then filtered.
  await page.waitForFunction((line) => {
    const first = document.querySelector("#audit tbody tr td:nth-child(3)");
    return first && first.textContent === line;
  }, `kick ${kicked}`);
  report.audit_newest = await text("#audit tbody tr:first-child td:nth-child(3)");
  await page.fill("#audit-filter", "pause");
  await page.waitForFunction(() => {
    const lines = [...document.querySelectorAll("#audit tbody tr td:nth-child(3)")];
    return lines.length > 0 && lines.every((td) => td.textContent.includes("pause"));
  });
  report.audit_filtered = await page.locator("#audit tbody tr td:nth-child(3)").allInnerTexts();
  await page.fill("#audit-filter", "");

  // The charts have drawn at least two samples (one every ten seconds).
  await page.waitForFunction(() => Number(document.getElementById("tick-chart").dataset.samples) >= 2,
    null, { timeout: 40_000 });
  report.chart_samples = Number(await page.locator("#tick-chart").getAttribute("data-samples"));
  report.chart_points = await page.locator("#tick-chart polyline").first().getAttribute("points");

  await page.screenshot({ path: screenshot, fullPage: true });
  report.ok = true;
} catch (error) {
  report.ok = false;
  report.error = String(error);
}
console.log(JSON.stringify(report));
process.stdin.resume();
await new Promise((done) => process.stdin.on("end", done));
await browser.close();
