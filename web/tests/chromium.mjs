// Launches Debian's Chromium (GALAXY_CHROMIUM, default /usr/bin/chromium) headless
// through playwright-core, with the flags this closed network needs: no background
// connections, no QUIC, no first-run or sync, no sandbox (tests run as root).

import { chromium } from "playwright-core";

export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.GALAXY_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      ...extraArgs,
    ],
  });
}
