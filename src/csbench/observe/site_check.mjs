// Drive headless Chromium over a published csbench site with the network off.
//   node site_check.mjs BASE_URL SCREENSHOT.png PAGE...
// Prints JSON: per page, the errors (uncaught exceptions, console errors, failed
// requests), every request that tried to leave localhost (aborted), and the page's text.
// Playwright comes from csbench's tools prefix ($CSBENCH_NODE_MODULES), Chromium from Debian.
import { createRequire } from "node:module";

const { chromium } = createRequire(`${process.env.CSBENCH_NODE_MODULES}/`)("playwright-core");

const [base, screenshot, ...pages] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CSBENCH_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = {};
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const local = new URL(base).host;
  for (const path of pages) {
    const page = await context.newPage();
    const entry = (report[path] = { errors: [], external: [], text: "" });
    // Network off: anything not served by the local server is aborted and recorded.
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.host === local || url.protocol === "data:") return route.continue();
      entry.external.push(url.href);
      return route.abort();
    });
    page.on("pageerror", (err) => entry.errors.push(`pageerror: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") entry.errors.push(`console: ${msg.text()}`);
    });
    page.on("response", (res) => {
      if (res.status() >= 400) entry.errors.push(`http ${res.status()}: ${res.url()}`);
    });
    page.on("requestfailed", (req) => {
      if (new URL(req.url()).host === local) entry.errors.push(`requestfailed: ${req.url()}`);
    });
    const response = await page.goto(base + path, { waitUntil: "networkidle" });
    if (!response || !response.ok()) entry.errors.push(`status ${response?.status()} for ${path}`);
    await page.waitForTimeout(500); // asv renders after loading its JSON
    entry.text = await page.innerText("body");
    entry.svg = await page.locator("svg.plot").count();
    if (path.startsWith("targets")) await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
