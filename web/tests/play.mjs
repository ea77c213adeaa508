// Plays the browser client as a person would, in Debian's Chromium driven by
// playwright-core: opens the page, clicks the canvas, types a username and a
// password into the login screen, tabs to Register and presses Enter, waits for
// the game to say it is connected, holds Shift (throttle up), measures frame
// times, saves a screenshot, resizes the window and changes the device pixel
// ratio. Every surface texture the game fetches is listed with its status and when
// it arrived. Prints one JSON report line on stdout, then keeps the player connected
// until stdin closes, so the caller can look at the game from outside.
//
// Usage: node web/tests/play.mjs URL USERNAME PASSWORD SCREENSHOT.png
// Environment: GALAXY_CHROMIUM (default /usr/bin/chromium). Playwright gives the
// browser a fresh, empty profile.

import { launchChromium } from "./chromium.mjs";
import { SOFTWARE_GL, measureFrames, registerAndConnect } from "./game.mjs";

const [url, username, password, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error("usage: node web/tests/play.mjs URL USERNAME PASSWORD SCREENSHOT.png");
  process.exit(2);
}
const browser = await launchChromium(SOFTWARE_GL);
const report = { titles: [], console_errors: [], textures: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") report.console_errors.push(m.text()); });
  page.on("pageerror", (e) => report.console_errors.push(String(e)));
  // Milliseconds after navigation, as the page's own titles are timed.
  let navigated = 0;
  page.on("response", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/assets/textures/")) {
      report.textures.push({ path, status: r.status(), ms: Date.now() - navigated });
    }
  });
  // Every title the page shows, with when it showed it (ms after navigation).
  await page.addInitScript(() => {
    window.__titles = [];
    const record = () => {
      const last = window.__titles[window.__titles.length - 1];
      if (!last || last.title !== document.title) {
        window.__titles.push({ title: document.title, ms: performance.now() });
      }
    };
    new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
    document.addEventListener("DOMContentLoaded", record);
    // The longest the page went without a frame once it was connecting: while a
    // frame runs nothing reaches the server, which drops a client silent for 15 s.
    window.__longest_online_frame = 0;
    let last = performance.now();
    const online = ["Galaxy — connecting", "Galaxy — connected"];
    const frame = (now) => {
      if (online.includes(document.title)) {
        window.__longest_online_frame = Math.max(window.__longest_online_frame, now - last);
      }
      last = now;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  navigated = Date.now();
  await page.goto(url);
  await registerAndConnect(page, username, password);

  await page.keyboard.down("Shift");
  await page.waitForTimeout(1500);
  await page.keyboard.up("Shift");

  report.frames = await measureFrames(page, 4000);
  await page.screenshot({ path: screenshot });

  report.resized = await followsTheWindow(page);
  report.titles = await page.evaluate(() => window.__titles);
  report.longest_online_frame_ms = await page.evaluate(() => window.__longest_online_frame);
  report.ships_in_view = Number(await page.evaluate(() => document.body.dataset.ships || 0));
  report.ok = true;
  console.log(JSON.stringify(report));
  // Stay connected until the caller has looked.
  await new Promise((done) => { process.stdin.on("data", () => {}); process.stdin.on("end", done); });
} catch (error) {
  report.ok = false;
  report.error = String(error);
  console.log(JSON.stringify(report));
  process.exitCode = 1;
} finally {
  await browser.close();
}

// The canvas's drawing buffer follows a window resize and a device-pixel-ratio
// change (set through the DevTools protocol, as a browser zoom or a move to
// another screen would).
async function followsTheWindow(page) {
  const backing = () => page.evaluate(() => {
    const c = document.getElementById("galaxy");
    return [c.width, c.height];
  });
  const until = async (expected) => {
    for (let i = 0; i < 100; i++) {
      const size = await backing();
      if (size[0] === expected[0] && size[1] === expected[1]) return size;
      await page.waitForTimeout(100);
    }
    return backing();
  };
  await page.setViewportSize({ width: 960, height: 600 });
  const resized = await until([960, 600]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setDeviceMetricsOverride",
    { width: 640, height: 400, deviceScaleFactor: 2, mobile: false });
  const dense = await until([1280, 800]);
  const ratio = await page.evaluate(() => window.devicePixelRatio);
  await cdp.send("Emulation.clearDeviceMetricsOverride");
  return { after_resize: resized, after_dpr_2: dense, device_pixel_ratio: ratio };
}
