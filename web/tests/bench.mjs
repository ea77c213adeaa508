// Frame time of the browser client on this machine's software WebGL2 (Chromium's
// SwiftShader on the CPU): logs in at 1280x800 as the native bench does, waits
// 3 s, then measures 6 s of requestAnimationFrame. Prints "bench: ..." and one
// JSON line.
//
// Usage: node web/tests/bench.mjs URL USERNAME PASSWORD
//   URL may carry the quality, e.g. http://127.0.0.1:18380/?quality=low

import { launchChromium } from "./chromium.mjs";
import { SOFTWARE_GL, measureFrames, registerAndConnect } from "./game.mjs";

const [url, username, password] = process.argv.slice(2);
if (!password) {
  console.error("usage: node web/tests/bench.mjs URL USERNAME PASSWORD");
  process.exit(2);
}
const browser = await launchChromium(SOFTWARE_GL);
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url);
  await registerAndConnect(page, username, password);
  await page.waitForTimeout(3000);
  const frames = await measureFrames(page, 6000);
  console.log(`bench: browser, ${frames.count} frames, mean ${frames.mean_ms.toFixed(1)} ms ` +
    `(${(1000 / frames.mean_ms).toFixed(1)} FPS), p95 ${frames.p95_ms?.toFixed(1)} ms`);
  console.log(JSON.stringify(frames));
} finally {
  await browser.close();
}
