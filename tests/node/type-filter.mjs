// Types into the docs index's filter box in headless Chromium, key by key, and
// reports what the page shows after each step. A tiny Chrome DevTools Protocol
// client over `--remote-debugging-pipe` (fd 3 in, fd 4 out, messages separated
// by NUL bytes): no websocket library, no network.
//
//   node tests/node/type-filter.mjs CHROMIUM INDEX_HTML TEXT
//
// Prints one JSON object: {initial, typed, cleared}, each {shown, total, count,
// visible: [event names]}. Exits 1 on any failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [chromium, index, text] = process.argv.slice(2);
if (!chromium || !index || !text) {
  console.error('usage: node type-filter.mjs CHROMIUM INDEX_HTML TEXT');
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), 'skc-chromium-'));
const browser = spawn(
  chromium,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    '--remote-debugging-pipe',
    'about:blank',
  ],
  { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
);
let stderr = '';
browser.stderr.on('data', (d) => { stderr += d; });
const out = browser.stdio[3];
const inp = browser.stdio[4];

let nextId = 1;
const pending = new Map();
let buffer = Buffer.alloc(0);
inp.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  let end;
  while ((end = buffer.indexOf(0)) !== -1) {
    const msg = JSON.parse(buffer.subarray(0, end).toString('utf8'));
    buffer = buffer.subarray(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const msg = { id, method, params };
  if (sessionId) msg.sessionId = sessionId;
  out.write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const url = pathToFileURL(index).href;
  const { targetId } = await send('Target.createTarget', { url });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
    if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  for (let i = 0; ; i++) {
    const ready = await evaluate("document.readyState === 'complete' && document.body.hasAttribute('data-shown')");
    if (ready) break;
    if (i > 100) throw new Error('the page did not load');
    await sleep(50);
  }
  const state = () => evaluate(`JSON.stringify({
    shown: Number(document.body.getAttribute('data-shown')),
    total: document.querySelectorAll('article.event').length,
    count: document.getElementById('count').textContent,
    value: document.getElementById('filter').value,
    visible: Array.from(document.querySelectorAll('article.event:not([hidden])')).map(a => a.dataset.name),
  })`).then(JSON.parse);
  const initial = await state();
  await evaluate("document.getElementById('filter').focus()");
  for (const ch of text) {
    await send('Input.dispatchKeyEvent', { type: 'keyDown', key: ch, text: ch, unmodifiedText: ch }, sessionId);
    await send('Input.dispatchKeyEvent', { type: 'keyUp', key: ch }, sessionId);
  }
  const typed = await state();
  await send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Escape', code: 'Escape', windowsVirtualKeyCode: 27 }, sessionId);
  await send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Escape', code: 'Escape', windowsVirtualKeyCode: 27 }, sessionId);
  const cleared = await state();
  console.log(JSON.stringify({ initial, typed, cleared }));
}

const timer = setTimeout(() => {
  console.error('timed out\n' + stderr);
  browser.kill('SIGKILL');
  process.exit(1);
}, 30000);
let code = 0;
try {
  await main();
} catch (e) {
  console.error(String(e) + '\n' + stderr);
  code = 1;
}
const exited = new Promise((r) => browser.once('exit', r));
try { await Promise.race([send('Browser.close'), sleep(2000)]); } catch (e) { /* closing */ }
await Promise.race([exited, sleep(3000)]);
browser.kill('SIGKILL');
clearTimeout(timer);
try {
  rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
} catch (e) { /* a stray helper may still be writing; the directory is in tmp */ }
process.exit(code);
