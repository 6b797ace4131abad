// The dashboard in headless Chromium, driven by playwright-core (run by
// tests/browser.rs, which serves the dashboard, fills the store and judges
// what this script reports). It never downloads a browser: it launches the
// Chromium the plan names.
//
// Input: the environment variable SKC_E2E_PLAN, a JSON object (see
// tests/browser.rs, `Plan`). Output on stdout, one line each, prefixed `E2E `:
//   E2E {"ready":"overview", ...}   the overview is open: publish now
//   E2E {"summary": {...}}          the last line: every step's observations
// Every wait is bounded; a step that fails records its error and the script
// goes on with the next one where it can, so one run reports every failure.
"use strict";
import { createRequire } from "node:module";
import path from "node:path";
import fs from "node:fs";

const plan = JSON.parse(process.env.SKC_E2E_PLAN || "{}");
const require = createRequire(path.join(plan.nodeDir, "package.json"));
const { chromium } = require("playwright-core");

const say = (obj) => process.stdout.write("E2E " + JSON.stringify(obj) + "\n");
const summary = { steps: {}, dialogs: [], pageErrors: [], consoleErrors: [], screenshots: [] };
const base = plan.base; // http://127.0.0.1:PORT/admin/events
const digits = (s) => Number(String(s ?? "").replace(/[^0-9-]/g, "") || "NaN");

let browser;
try {
  browser = await chromium.launch({
    executablePath: plan.chromium,
    headless: true,
    timeout: 20000,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
} catch (e) {
  summary.launchError = String(e && e.message || e);
  say({ summary });
  process.exit(0);
}

const context = await browser.newContext({
  viewport: { width: 1280, height: 800 },
  colorScheme: "dark",
});
const page = await context.newPage();
page.setDefaultTimeout(10000);
page.setDefaultNavigationTimeout(15000);

// Dialogs: the only one expected is the confirmation of the retry (then
// accepted); any other (an alert from a payload) is recorded and dismissed.
let expectConfirm = null;
page.on("dialog", async (d) => {
  const entry = { type: d.type(), message: d.message(), url: page.url() };
  const expected = expectConfirm !== null && d.type() === "confirm" && d.message().startsWith(expectConfirm);
  entry.expected = expected;
  summary.dialogs.push(entry);
  if (expected) await d.accept(); else await d.dismiss();
});
page.on("pageerror", (e) => summary.pageErrors.push({ message: String(e.message || e), url: page.url() }));
page.on("console", (m) => {
  if (m.type() === "error" || m.type() === "warning") summary.consoleErrors.push({ type: m.type(), text: m.text(), url: page.url() });
});

// One screenshot per page, dark (the default scheme) and light.
async function shot(name) {
  for (const scheme of ["dark", "light"]) {
    await page.emulateMedia({ colorScheme: scheme });
    const file = path.join(plan.shots, scheme === "dark" ? `${name}.png` : `${name}-light.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10000 });
    summary.screenshots.push(file);
  }
  await page.emulateMedia({ colorScheme: "dark" });
}

async function step(name, fn) {
  const out = { ok: false };
  summary.steps[name] = out;
  const t0 = Date.now();
  try {
    Object.assign(out, await fn());
    out.ok = true;
  } catch (e) {
    out.error = String(e && e.stack || e).split("\n").slice(0, 4).join("\n");
    try { out.url = page.url(); } catch {}
  }
  out.ms = Date.now() - t0;
}

/// What the page holds that a value from the store could have injected.
const injected = () => page.evaluate(() => ({
  inlineScripts: document.querySelectorAll("script:not([src])").length,
  scripts: [...document.querySelectorAll("script")].map((s) => s.getAttribute("src")),
  imgX: document.querySelectorAll('img[src="x"], img[onerror]').length,
  textareas: document.querySelectorAll("textarea").length,
  xssFlag: window.__skc_xss === true,
}));

const goto = async (p) => {
  const res = await page.goto(base + p, { waitUntil: "domcontentloaded" });
  return res ? res.status() : null;
};

// --- sign-in -----------------------------------------------------------------
await step("signin", async () => {
  const status = await goto("");
  const form = page.locator('input[name="token"]');
  await form.waitFor({ state: "visible" });
  await shot("signin");
  await form.fill("not-the-token");
  await Promise.all([
    page.waitForURL((u) => u.pathname.endsWith("/login"), { timeout: 15000 }),
    page.locator('main.signin button[type="submit"]').click(),
  ]);
  const refusal = (await page.locator("main.signin .error").textContent({ timeout: 5000 })) ?? "";
  await shot("signin-refused");
  await page.locator('input[name="token"]').fill(plan.token);
  await Promise.all([
    page.waitForURL((u) => u.pathname === new URL(base).pathname, { timeout: 15000 }),
    page.locator('main.signin button[type="submit"]').click(),
  ]);
  await page.locator(".headline").waitFor();
  const cookie = (await context.cookies()).find((c) => c.name === plan.sessionCookie);
  return {
    firstStatus: status,
    refusal: refusal.trim(),
    landedOn: new URL(page.url()).pathname,
    sessionCookie: cookie ? { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, path: cookie.path } : null,
  };
});

// --- overview: the counters move while the test publishes -----------------------
await step("overview", async () => {
  const total = page.locator('[data-total="waiting"]');
  await total.waitFor();
  const readRow = (h) => page.locator(`tr[data-handler="${h}"] [data-k="waiting"]`).textContent({ timeout: 2000 }).then(digits, () => null);
  const readTotals = () => page.locator("[data-total]").evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.total, Number(e.textContent.replace(/[^0-9-]/g, ""))])));
  // Problems stand out: the classes that colour them.
  const readClasses = () => page.evaluate((h) => {
    const cell = (k) => { const td = document.querySelector(`tr[data-handler="${h}"] [data-k="${k}"]`); return td ? td.className : null; };
    return {
      cards: Object.fromEntries([...document.querySelectorAll("[data-total]")].map((e) => [e.dataset.total, e.closest(".stat").className])),
      deadCell: cell("dead"), stalledCell: cell("stalled"),
    };
  }, plan.troubleHandler);
  const handlers = await page.locator("tr[data-handler]").evaluateAll((trs) => trs.map((t) => t.dataset.handler));
  const problemRows = await page.locator("tr.problem[data-handler]").evaluateAll((trs) => trs.map((t) => t.dataset.handler));
  const totals = await readTotals();
  const rowBefore = await readRow(plan.watchHandler);
  const classes = await readClasses();
  const watchDeadClass = await page.locator(`tr[data-handler="${plan.watchHandler}"] [data-k="dead"]`).getAttribute("class");
  await shot("overview");
  say({ ready: "overview", totals });
  // Bounded: the page polls every few seconds; the test changed the store
  // once (a dead letter, a stalled lease, new grades) and says by how much.
  const want = Object.fromEntries(Object.entries(plan.liveDelta).map(([k, d]) => [k, totals[k] + d]));
  let timedOut = false;
  await page.waitForFunction(
    (want) => Object.entries(want).every(([k, n]) => {
      const el = document.querySelector(`[data-total="${k}"]`);
      return el && Number(el.textContent.replace(/[^0-9-]/g, "")) === n;
    }),
    want,
    { timeout: plan.liveTimeoutMs, polling: 200 },
  ).catch(() => { timedOut = true; });
  const totalsAfter = await readTotals();
  const rowAfter = await readRow(plan.watchHandler);
  const classesAfter = await readClasses();
  const updated = (await page.locator("[data-updated]").textContent()) ?? "";
  await shot("overview-live");
  return { handlers, problemRows, totals, totalsAfter, want, timedOut, classes, classesAfter, watchDeadClass, rowBefore, rowAfter, updated: updated.trim() };
});

// --- catalog health and the catalog ---------------------------------------------
await step("health", async () => {
  await goto("/health");
  await page.locator("h1").waitFor();
  const notServed = await page.locator("table.grid tbody tr td:first-child").allTextContents();
  const h1 = await page.locator("h1").textContent();
  const cards = await page.locator(".headline .stat").evaluateAll((els) => els.map((e) => ({ label: e.querySelector(".l").textContent, className: e.className })));
  await shot("health");
  await goto("/catalog");
  const types = await page.locator("table.grid tbody tr td:first-child a").allTextContents();
  await shot("catalog");
  await goto("/catalog/" + encodeURIComponent(plan.searchType));
  const fields = await page.locator("table.grid").first().locator("tbody tr td:first-child").allTextContents();
  await shot("catalog-event");
  return { h1: h1.trim(), cards, notServed: notServed.map((s) => s.trim()), types, fields: fields.map((s) => s.trim()) };
});

// --- events: filtered by a payload field ------------------------------------------
await step("events", async () => {
  await goto("/events");
  await page.locator('select[name="type"]').selectOption(plan.searchType);
  // The field list follows the chosen type (app.js), from the catalog.
  await page.locator(`select[name="field"] option[value="${plan.searchField}"]`).waitFor({ state: "attached", timeout: 5000 });
  const offered = await page.locator('select[name="field"] option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
  await page.locator('select[name="field"]').selectOption(plan.searchField);
  await page.locator('input[name="value"]').fill(plan.searchValue);
  await Promise.all([
    page.waitForURL((u) => u.searchParams.get("value") === plan.searchValue, { timeout: 15000 }),
    page.locator('form.filters button[type="submit"]').click(),
  ]);
  await page.locator("table.events, p.muted, p.error").first().waitFor();
  const rows = await page.locator("table.events tbody tr").evaluateAll((trs) => trs.map((tr) => ({
    type: tr.children[1].querySelector("a").textContent.trim(),
    aggregate: tr.children[2].textContent.trim(),
    id: tr.children[4].textContent.trim(),
  })));
  const query = Object.fromEntries(new URL(page.url()).searchParams);
  await shot("events");
  return { offered, rows, query };
});

// --- event detail and its causation tree ------------------------------------------
await step("detail", async () => {
  // From the search's result, as a person would.
  await Promise.all([
    page.waitForURL((u) => u.pathname.endsWith("/events/" + plan.rootEvent), { timeout: 15000 }),
    page.locator(`table.events a.mono:text-is("${plan.rootEvent}")`).click(),
  ]);
  await page.locator("ul.tree").first().waitFor();
  const readTree = () => page.evaluate(() => {
    const walk = (ul) => [...ul.children].filter((li) => li.tagName === "LI").map((li) => {
      const a = li.querySelector(":scope > a");
      const sub = li.querySelector(":scope > ul.tree");
      return { type: a.textContent.trim(), id: a.getAttribute("href").split("/").pop(), me: li.classList.contains("me"), children: sub ? walk(sub) : [] };
    });
    const top = document.querySelector("main ul.tree");
    return top ? walk(top) : [];
  });
  const tree = await readTree();
  const deliveries = await page.locator("main table.grid tbody tr").evaluateAll((trs) => trs.map((tr) => ({
    handler: tr.children[0].textContent.trim(), state: tr.children[1].textContent.trim(),
  })));
  const payloadVisible = await page.locator("details[open] pre.json").first().isVisible();
  const payload = (await page.locator("details pre.json").first().textContent()) ?? "";
  await shot("event-detail");
  // Down the tree to a leaf: it is marked as the event shown, under its cause.
  await Promise.all([
    page.waitForURL((u) => u.pathname.endsWith("/events/" + plan.leafEvent), { timeout: 15000 }),
    page.locator(`ul.tree a[href$="/events/${plan.leafEvent}"]`).click(),
  ]);
  await page.locator("ul.tree li.me").waitFor();
  const leafTree = await readTree();
  const causedBy = ((await page.locator('table.kv tr:has(th:text-is("caused by")) td').textContent()) ?? "").trim();
  await shot("event-detail-leaf");
  await goto(plan.aggregatePath);
  const stream = await page.locator("ol.stream > li a").allTextContents();
  await shot("aggregate");
  return { tree, leafTree, causedBy, deliveries, payloadVisible, payloadRedacted: payload.includes("[redacted]"), stream };
});

// --- XSS: values from the store stay text ------------------------------------------
await step("xss", async () => {
  const dialogsBefore = summary.dialogs.length;
  await goto("/events/" + plan.xssEvent);
  await page.locator("pre.json").first().waitFor();
  const payloadText = (await page.locator("details[open] pre.json").first().textContent()) ?? "";
  const literalVisible = await page.getByText("<script>alert(1)</script>", { exact: false }).first().isVisible();
  const onEvent = await injected();
  await shot("event-xss");
  await goto("/dead-letters");
  await page.locator("h1").waitFor();
  const errors = await page.locator("table.letters code.err").allTextContents();
  const errorVisible = await page.locator("table.letters code.err", { hasText: "</textarea>" }).first().isVisible();
  const onDead = await injected();
  return {
    payloadText, literalVisible, onEvent, errors, errorVisible, onDead,
    dialogsDuring: summary.dialogs.length - dialogsBefore,
  };
});

// --- dead letters: retry one, see it leave the list ---------------------------------
await step("retry", async () => {
  await goto("/dead-letters");
  const ids = () => page.locator('table.letters input[name="id"]').evaluateAll((cs) => cs.map((c) => Number(c.value)));
  const before = await ids();
  const badge = digits(await page.locator("h1 .badge").textContent());
  const badgeClass = await page.locator("h1 .badge").getAttribute("class");
  const groups = await page.locator("main table.grid").first().locator("tbody tr").evaluateAll((trs) => trs.map((tr) => ({
    handler: tr.children[0].textContent.trim(), error: tr.children[1].textContent.trim(), count: Number(tr.children[2].textContent.replace(/[^0-9]/g, "")),
  })));
  await shot("dead-letters");
  await page.locator(`table.letters input[name="id"][value="${plan.retryDelivery}"]`).check();
  expectConfirm = "Retry 1 selected";
  await Promise.all([
    page.waitForURL((u) => u.searchParams.has("done"), { timeout: 15000 }),
    page.locator('button[name="action"][value="retry"]').click(),
  ]);
  expectConfirm = null;
  await page.locator("h1").waitFor();
  const after = await ids();
  const done = ((await page.locator("main p.okay").first().textContent({ timeout: 3000 }).catch(() => "")) ?? "").trim();
  const badgeAfter = digits(await page.locator("h1 .badge").textContent());
  await shot("dead-letters-after-retry");
  return { before, after, badge, badgeClass, badgeAfter, done, groups };
});

// --- replays: start one, see its progress ------------------------------------------
await step("replays", async () => {
  await goto("/replays");
  await page.locator("h1").waitFor();
  await shot("replays");
  await page.locator('select[name="handler"]').selectOption(plan.replayHandler);
  await page.locator('select[name="type"]').selectOption(plan.searchType);
  await Promise.all([
    page.waitForURL((u) => u.searchParams.has("batch"), { timeout: 15000 }),
    page.locator('form.filters button[type="submit"]').click(),
  ]);
  const card = page.locator('section.card[data-poll="replay"]');
  await card.waitFor();
  const total = digits(await card.locator('[data-k="total"]').textContent());
  const state = ((await card.locator('[data-k="state"]').textContent()) ?? "").trim();
  await shot("replay-progress");
  return { total, state, query: Object.fromEntries(new URL(page.url()).searchParams) };
});

// --- the live tail -------------------------------------------------------------------
await step("live", async () => {
  await goto("/live");
  // Its first poll answers (rows or the status line changes): bounded.
  await page.waitForFunction(() => {
    const s = document.querySelector("[data-tail-status]");
    return s && !s.textContent.startsWith("waiting");
  }, null, { timeout: 8000, polling: 200 });
  say({ ready: "live" });
  // The test publishes; the tail's next polls show them (bounded).
  await page.waitForFunction((n) => document.querySelectorAll("[data-tail-rows] tr").length >= n,
    plan.liveRows, { timeout: plan.liveTimeoutMs, polling: 200 });
  const rows = await page.locator("[data-tail-rows] tr").count();
  const status = ((await page.locator("[data-tail-status]").textContent()) ?? "").trim();
  await shot("live");
  return { rows, status };
});

await browser.close().catch(() => {});
say({ summary });
fs.writeFileSync(path.join(plan.shots, "summary.json"), JSON.stringify(summary, null, 2));
