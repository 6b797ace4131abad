#!/usr/bin/env node
// BullMQ's side of the side-by-side harness (../side-by-side): the original
// system's pattern, measured the way ../durable measures our durable bus.
//
//   node bench.js --port 6390 --scenario drain --concurrency 8 [--events 50000] [--label aof]
//   node bench.js --port 6390 --scenario single [--events 3000]
//   node bench.js --port 6390 --scenario batch [--events 20000]
//
// The original system (seed: "Async Event Processing"): one job per event,
// `queue.add('process-event', {eventType, eventId, payload}, {attempts: 3,
// backoff: {type: 'exponential', delay: 2000}})`, and a worker whose processor
// runs every handler of the event type with `Promise.all`. Here the handlers
// are 3 no-ops, as on our side. Jobs are kept when done (the original set no
// `removeOnComplete`). Redis is flushed before each scenario. The publish
// scenarios time `--events` publishes after 100 untimed ones.
//
// Prints one JSON line: {"system":"bullmq","label":...,"scenario":...,
// "concurrency":C|null,"events":N,"seconds":S,"events_per_s":R,"cpu_ms":P,
// "redis_cpu_ms":Q}: P the CPU time of this process and Q that of the Redis
// server during the timed part (a figure the machine's other load barely moves).
'use strict';

const { Queue, Worker } = require('bullmq');
const Redis = require('ioredis');
const { randomUUID } = require('node:crypto');

function usage(msg) {
  process.stderr.write(
    `bench.js: ${msg}\n` +
      'usage: node bench.js --port PORT --scenario single|batch|drain ' +
      '[--concurrency C (drain: events in flight)] [--events N] [--label TEXT]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: null, scenario: null, concurrency: null, events: null, label: 'redis' };
  for (let i = 0; i < argv.length; i += 1) {
    const key = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${key} needs a value`);
    i += 1;
    switch (key) {
      case '--port':
        opts.port = positive(key, value);
        break;
      case '--scenario':
        if (!['single', 'batch', 'drain'].includes(value)) {
          usage(`--scenario ${value}: expected single, batch or drain`);
        }
        opts.scenario = value;
        break;
      case '--concurrency':
        opts.concurrency = positive(key, value);
        break;
      case '--events':
        opts.events = positive(key, value);
        break;
      case '--label':
        opts.label = value;
        break;
      default:
        usage(`unknown option ${key}`);
    }
  }
  if (opts.port === null) usage('--port is required (the Redis on 127.0.0.1 to use)');
  if (opts.scenario === null) usage('--scenario is required');
  if (opts.scenario === 'drain' && opts.concurrency === null) {
    usage('--scenario drain needs --concurrency (events in flight)');
  }
  if (opts.events === null) {
    opts.events = { single: 3000, batch: 20000, drain: 50000 }[opts.scenario];
  }
  return opts;
}

function positive(key, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`${key} ${value}: expected a whole number above 0`);
  return n;
}

// The job options of the original EventBus.publish.
const JOB_OPTS = { attempts: 3, backoff: { type: 'exponential', delay: 2000 } };

// The same event our side publishes: gradebook.grade.posted.
function job(n) {
  return {
    name: 'process-event',
    data: {
      eventType: 'gradebook.grade.posted',
      eventId: randomUUID(),
      payload: {
        resultId: randomUUID(),
        lineItemId: 'li-456',
        studentId: `stu-${n % 500}`,
        classId: 'cls-101',
        pointsEarned: 42.5,
        pointsPossible: 100.0,
        scorePercent: 85.0,
        letterGrade: 'B',
        previousScore: null,
        gradedById: 'tch-111',
        postedAt: '2025-11-17T14:03:00Z',
        districtId: 'dst-222',
        schoolId: 'sch-333',
        comment: null,
      },
      metadata: { districtId: 'dst-222', schoolId: 'sch-333', userId: 'tch-111' },
    },
    opts: JOB_OPTS,
  };
}

// Publishes made untimed before the timed ones (single and batch), as on our
// side: the first calls load BullMQ's Lua scripts and warm up the JIT.
const WARM_UP = 100;

// The three handlers of the event type: no-ops, as on our side.
const HANDLERS = [async () => {}, async () => {}, async () => {}];

async function processEvent(j) {
  const event = j.data;
  await Promise.all(HANDLERS.map((h) => h(event)));
}

async function single(queue, n) {
  for (let i = 0; i < WARM_UP; i += 1) {
    const { name, data, opts } = job(n + i);
    await queue.add(name, data, opts);
  }
  await mark.start();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) {
    const { name, data, opts } = job(i);
    await queue.add(name, data, opts);
  }
  const seconds = elapsed(start);
  await mark.stop();
  return seconds;
}

async function addBulk(queue, n, chunk) {
  for (let i = 0; i < n; i += chunk) {
    const jobs = [];
    for (let k = i; k < Math.min(i + chunk, n); k += 1) jobs.push(job(k));
    await queue.addBulk(jobs);
  }
}

async function batch(queue, n) {
  await addBulk(queue, WARM_UP, 100);
  await mark.start();
  const start = process.hrtime.bigint();
  await addBulk(queue, n, 100);
  const seconds = elapsed(start);
  await mark.stop();
  return seconds;
}

async function drain(queue, connection, n, concurrency) {
  await addBulk(queue, n, 1000);
  const waiting = await queue.getWaitingCount();
  if (waiting !== n) throw new Error(`filled ${waiting} jobs, expected ${n}`);
  let done = 0;
  let failed = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  await mark.start();
  const start = process.hrtime.bigint();
  const worker = new Worker(queue.name, processEvent, { connection, concurrency });
  worker.on('completed', () => {
    done += 1;
    if (done === n) finish();
  });
  worker.on('failed', () => {
    failed += 1;
  });
  worker.on('error', (e) => process.stderr.write(`bench.js: worker error: ${e.message}\n`));
  await finished;
  const seconds = elapsed(start);
  await mark.stop();
  await worker.close();
  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active');
  if (counts.completed !== n || failed !== 0) {
    throw new Error(`not all handled: ${JSON.stringify(counts)}, ${failed} failures`);
  }
  return seconds;
}

function elapsed(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// CPU time so far, in ms: this process (all its threads) and the Redis
// server (main and background threads, from INFO cpu).
async function cpuNow(redis) {
  const { user, system } = process.cpuUsage();
  const info = await redis.info('cpu');
  const field = (name) => Number((info.match(new RegExp(`^${name}:([0-9.]+)`, 'm')) || [])[1]);
  const server = (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  if (!Number.isFinite(server)) throw new Error('INFO cpu gave no used_cpu_user/used_cpu_sys');
  return { process: (user + system) / 1000, redis: server };
}

// The CPU readings around the timed part of a scenario (set up in main).
const mark = { start: null, stop: null, from: null, to: null };

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const connection = { host: '127.0.0.1', port: opts.port, maxRetriesPerRequest: null };
  // An empty Redis for each scenario (the harness's own server, never another).
  const admin = new Redis(connection);
  await admin.flushall();
  mark.start = async () => {
    mark.from = await cpuNow(admin);
  };
  mark.stop = async () => {
    mark.to = await cpuNow(admin);
  };
  const queue = new Queue(`events-${opts.scenario}`, { connection });
  await queue.waitUntilReady();
  let seconds;
  if (opts.scenario === 'single') seconds = await single(queue, opts.events);
  else if (opts.scenario === 'batch') seconds = await batch(queue, opts.events);
  else seconds = await drain(queue, connection, opts.events, opts.concurrency);
  await queue.close();
  await admin.quit();
  const row = {
    system: 'bullmq',
    label: opts.label,
    scenario: opts.scenario,
    concurrency: opts.scenario === 'drain' ? opts.concurrency : null,
    events: opts.events,
    seconds,
    events_per_s: opts.events / seconds,
    cpu_ms: mark.to.process - mark.from.process,
    redis_cpu_ms: mark.to.redis - mark.from.redis,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench.js: ${e.stack || e}\n`);
  process.exit(1);
});
