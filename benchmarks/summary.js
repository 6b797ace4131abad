#!/usr/bin/env node
// Reads the JSON lines of one side-by-side sitting (benchmarks/side-by-side)
// and prints one row per (scenario, concurrency): our median [min-max], each
// BullMQ Redis mode's median [min-max], and the ratio of medians (ours /
// BullMQ); then the same for the CPU time per 1,000 events (the bench's
// process, plus the Redis server on BullMQ's side). Concurrency is events in
// flight on both sides.
//
//   node summary.js results.jsonl [--markdown]
'use strict';

const fs = require('node:fs');

const [file, flag] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node summary.js RESULTS.jsonl [--markdown]\n');
  process.exit(2);
}
const markdown = flag === '--markdown';
const rows = fs
  .readFileSync(file, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      process.stderr.write(`summary.js: ${file}:${i + 1}: not a JSON line: ${e.message}\n`);
      process.exit(1);
    }
  });

// Columns: ours, then each BullMQ label in the order first seen.
const systems = [];
for (const r of rows) {
  const key = `${r.system}/${r.label}`;
  if (!systems.includes(key)) systems.push(key);
}
const ours = systems.filter((s) => s.startsWith('ours/'));
const theirs = systems.filter((s) => !s.startsWith('ours/'));

const ORDER = { single: 0, batch: 1, drain: 2 };
const keys = [];
for (const r of rows) {
  const k = `${r.scenario}|${r.concurrency ?? ''}`;
  if (!keys.includes(k)) keys.push(k);
}
keys.sort((a, b) => {
  const [sa, ca] = a.split('|');
  const [sb, cb] = b.split('|');
  return ORDER[sa] - ORDER[sb] || Number(ca) - Number(cb);
});

// CPU ms per 1,000 events in the timed part: the bench's process plus, on
// BullMQ's side, the Redis server. Null when a run did not report it.
const cpuPer1000 = (r) =>
  r.cpu_ms === null || r.cpu_ms === undefined ? null : ((r.cpu_ms + (r.redis_cpu_ms ?? 0)) / r.events) * 1000;

function stats(key, system, measure = (r) => r.events_per_s) {
  const v = rows
    .filter((r) => `${r.scenario}|${r.concurrency ?? ''}` === key && `${r.system}/${r.label}` === system)
    .map(measure)
    .filter((x) => x !== null)
    .sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const cell = (s) => (s ? `${fmt(s.median)} [${fmt(s.min)}-${fmt(s.max)}]` : '-');
const label = (key) => {
  const [s, c] = key.split('|');
  const name = { single: 'publish, 1 event per awaited call', batch: 'publish, batches of 100', drain: 'drain, 3 no-op handlers' }[s];
  return c ? `${name}, ${c} events in flight` : name;
};
const short = (system) => system.split('/')[1];

const header = [
  'scenario',
  ...ours.map((s) => `ours (${short(s)}) events/s`),
  ...theirs.flatMap((s) => [`BullMQ (${short(s)}) events/s`, `ours / BullMQ (${short(s)})`]),
];
const table = keys.map((key) => {
  const mine = stats(key, ours[0]);
  return [
    label(key),
    ...ours.map((s) => cell(stats(key, s))),
    ...theirs.flatMap((s) => {
      const t = stats(key, s);
      return [cell(t), mine && t ? `${(mine.median / t.median).toFixed(2)}x` : '-'];
    }),
  ];
});

const cpuHeader = [
  'CPU ms per 1,000 events',
  ...ours.map((s) => `ours (${short(s)})`),
  ...theirs.flatMap((s) => [`BullMQ (${short(s)}), node + Redis`, `BullMQ / ours (${short(s)})`]),
];
const fmt1 = (x) => x.toFixed(1);
const cpuCell = (s) => (s ? `${fmt1(s.median)} [${fmt1(s.min)}-${fmt1(s.max)}]` : '-');
const cpuTable = keys.map((key) => {
  const mine = stats(key, ours[0], cpuPer1000);
  return [
    label(key),
    ...ours.map((s) => cpuCell(stats(key, s, cpuPer1000))),
    ...theirs.flatMap((s) => {
      const t = stats(key, s, cpuPer1000);
      return [cpuCell(t), mine && t && mine.median > 0 ? `${(t.median / mine.median).toFixed(2)}x` : '-'];
    }),
  ];
});

function print(head, body) {
  if (markdown) {
    console.log(`| ${head.join(' | ')} |`);
    console.log(`|${head.map(() => '---').join('|')}|`);
    for (const row of body) console.log(`| ${row.join(' | ')} |`);
  } else {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
    const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    console.log(line(head));
    for (const row of body) console.log(line(row));
  }
}

const runs = Math.max(...keys.flatMap((k) => systems.map((s) => stats(k, s)?.n ?? 0)));
print(header, table);
console.log(`\nmedian [min-max] of ${runs} round(s); ratio = our median / BullMQ's median (above 1: we are faster)\n`);
print(cpuHeader, cpuTable);
console.log(
  '\nCPU time used in the timed part (ours: the whole process; BullMQ: node plus the Redis server);' +
    "\nratio = BullMQ's median / ours (above 1: we use less CPU per event)",
);
