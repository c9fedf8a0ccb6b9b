// Drives the sync dashboard in a real headless Chromium (Debian's package) with playwright-core.
// Usage: node checks/dashboard.mjs '{"url": "...", "token": "...", "screenshots": "/dir"}'
// Prints one JSON object with what the pages showed; the Python test compares it with the database.
import { chromium } from "playwright-core";
import { join } from "node:path";

const { url, token, screenshots } = JSON.parse(process.argv[2]);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
  // playwright starts every launch with a fresh, empty profile (its own temporary --user-data-dir)
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}/`);
  out.loginUrl = page.url();
  await page.fill("#token", "not-the-token");
  await page.click("#sign-in");
  out.wrongTokenError = (await page.textContent("#login-error")).trim();
  await page.fill("#token", token);
  await page.click("#sign-in");
  await page.waitForSelector("#health");
  out.afterLoginUrl = page.url();
  out.verdict = (await page.textContent("#verdict")).trim();
  out.summary = await page.$$eval("#summary b[data-k]", (els) => Object.fromEntries(els.map((e) => [e.dataset.k, Number(e.textContent)])));
  out.health = await page.$$eval("#health tbody tr[data-entity]", (rows) => rows.map((r) => ({
    instance: r.dataset.instance, entity: r.dataset.entity, state: r.dataset.state,
    errorRate: r.querySelector("[data-k=error_rate]").textContent.trim(),
    deadLetters: r.querySelector("[data-k=dead_letters]").textContent.trim(),
    outbox: r.querySelector("[data-k=outbox]").textContent.trim().replace(/\s+/g, " "),
    outboxError: r.querySelector("[data-k=outbox] .last-error")?.textContent.trim() ?? null,
  })));
  out.runs = await page.$$eval("#runs tbody tr[data-trace]", (rows) => rows.map((r) => ({
    trace: r.dataset.trace, status: r.dataset.status, error: r.querySelector(".error").textContent.trim(),
    kind: r.dataset.kind, entity: r.dataset.entity,
  })));
  out.failures = await page.$$eval("#failures tbody tr[data-trace]", (rows) => rows.map((r) => ({
    trace: r.dataset.trace, status: r.dataset.status, error: r.querySelector(".error").textContent.trim(),
    kind: r.dataset.kind, entity: r.dataset.entity,
  })));
  out.latency = await page.$$eval("tr[data-series]", (rows) => Object.fromEntries(rows.map((r) => [
    r.dataset.series, [...r.querySelectorAll("td")].map((td) => td.textContent.trim())])));
  out.charts = await page.$$eval("figure[id^=latency-] svg", (svgs) => svgs.map((s) => s.querySelectorAll("polyline").length));
  await page.screenshot({ path: join(screenshots, "dashboard-overview.png"), fullPage: true });

  await page.click("#all-dead-letters");
  await page.waitForSelector("#dead-letters");
  out.letterIds = await page.$$eval("#dead-letters tbody tr[data-id]", (rows) => rows.map((r) => Number(r.dataset.id)));
  const first = out.letterIds[0];
  await page.click(`#dead-letters tr[data-id="${first}"] button.replay-one`);
  await page.waitForSelector("#flash");
  out.replayed = first;
  out.flash = (await page.textContent("#flash")).trim();
  out.lettersAfter = await page.$$eval("#dead-letters tbody tr[data-id]", (rows) => rows.map((r) => Number(r.dataset.id)));
  await page.screenshot({ path: join(screenshots, "dashboard-dead-letters.png"), fullPage: true });

  await page.click("#flash a");
  await page.waitForSelector("#trace");
  out.traceUrl = page.url();
  out.traceSteps = await page.$$eval("#trace tbody tr[data-what]", (rows) => rows.map((r) => r.dataset.what));
  await page.goto(`${url}/dead-letters/${first}`);
  out.payload = (await page.textContent("#payload")).trim();
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
