// What the browser scripts share about the game page: logging in from the keyboard
// as a person would, and frame-time statistics from requestAnimationFrame.

export const CONNECT_TIMEOUT_MS = 120_000;

// Chromium's flags for WebGL2 on the CPU (this machine has no GPU).
export const SOFTWARE_GL = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--ignore-gpu-blocklist"];

// Resolves with the page's title once it is `title` or the game gave up.
export function waitForTitle(page, title, timeout = CONNECT_TIMEOUT_MS) {
  return page.waitForFunction((t) => document.title === t || document.title === "Galaxy — disconnected",
    title, { timeout, polling: 50 }).then(() => page.title());
}

export async function message(page) {
  return page.evaluate(() => document.getElementById("message")?.textContent ?? "");
}

// From the login screen to a connected game: focus the game with a click on empty
// space (the form sits in the middle), fill the form from the keyboard (Username
// has the focus, Tab moves on) and press Register.
export async function registerAndConnect(page, username, password) {
  const atLogin = await waitForTitle(page, "Galaxy — login");
  if (atLogin !== "Galaxy — login") throw new Error(`the page stopped: ${await message(page)}`);
  await page.mouse.click(24, 24);
  await page.keyboard.type(username, { delay: 20 });
  await page.keyboard.press("Tab");
  await page.keyboard.type(password, { delay: 20 });
  await page.keyboard.press("Tab"); // Log in
  await page.keyboard.press("Tab"); // Register
  await page.keyboard.press("Enter");
  const connected = await waitForTitle(page, "Galaxy — connected");
  if (connected !== "Galaxy — connected") throw new Error(`not connected: ${await message(page)}`);
}

// Frame intervals over `ms` milliseconds of requestAnimationFrame.
export async function measureFrames(page, ms) {
  const times = await page.evaluate((span) => new Promise((done) => {
    const times = [];
    const start = performance.now();
    const step = (now) => {
      times.push(now);
      if (now - start < span) requestAnimationFrame(step); else done(times);
    };
    requestAnimationFrame(step);
  }), ms);
  const intervals = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  const mean = intervals.reduce((a, b) => a + b, 0) / Math.max(intervals.length, 1);
  return {
    count: intervals.length,
    mean_ms: mean,
    p95_ms: intervals[Math.floor(intervals.length * 0.95)] ?? null,
  };
}
