//! One case of the model test: its steps, run against the store and checked
//! after each (`check.rs`) against what the handlers did (`world.rs`).

use crate::check::{Model, ModelEvent};
use crate::common;
use crate::world::{self, Backend, Rng, Script, Snapshot, TYPES};
use skillcore_events_store::{append_postgres, append_sqlite, NewEvent, Store};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// One event of this type (index into `TYPES`; random if out of range).
    Publish(usize),
    /// Several events in one append; one of them may hold a NUL character.
    Batch,
    /// Appends from several tasks at once (written as one group); one of them
    /// may hold a NUL character, which must fail that append alone.
    Concurrent,
    /// Events appended in the caller's transaction with a row of its own.
    Transaction { commit: bool },
    /// An acknowledged event appended again: nothing new is stored.
    Republish,
    /// A worker runs up to three `run_once` batches.
    WorkOnce,
    /// A worker's `run` loop until nothing is ready, then its shutdown.
    WorkRun,
    /// Waits until every lease held now has run out.
    Expire,
    /// The store is dropped and opened again (another durability mode, maybe).
    Restart,
    /// Percentages of handler calls that retry, give up and crash.
    Odds(u64, u64, u64),
    /// Every delivery is a dead letter by now (after poison steps).
    ExpectAllDead,
    /// An operator retries a dead letter: it waits again, with a fresh set of
    /// attempts.
    RetryDead,
}

impl Op {
    pub fn draw(rng: &mut Rng) -> Op {
        match rng.below(100) {
            0..=19 => Op::Publish(usize::MAX),
            20..=27 => Op::Batch,
            28..=33 => Op::Concurrent,
            34..=41 => Op::Transaction {
                commit: rng.chance(60),
            },
            42..=44 => Op::Republish,
            45..=67 => Op::WorkOnce,
            68..=79 => Op::WorkRun,
            80..=91 => Op::Expire,
            92..=95 => Op::Restart,
            _ => Op::RetryDead,
        }
    }
}

struct Case {
    backend: Backend,
    store: Option<Store>,
    script: Script,
    model: Model,
    rng: Rng,
    /// What was acknowledged, to publish again.
    acked: Vec<NewEvent>,
    history: Vec<String>,
    n: u64,
}

pub async fn run_case(backend: &str, seed: u64, ops: &[Op]) {
    // The shared helpers make the folder or schema (named so that a failed
    // run's leftovers are swept) and open the store a first time.
    let (backend, store) = match backend {
        "sqlite" => {
            let (store, path) = common::sqlite().await;
            (Backend::Sqlite(path), store)
        }
        _ => {
            let (store, schema) = common::postgres().await;
            let url = common::pg_url();
            (Backend::Postgres { url, schema }, store)
        }
    };
    create_domain_table(&store).await;
    let mut case = Case {
        backend,
        store: Some(store),
        script: Script::new(seed),
        model: Model::default(),
        rng: Rng(seed ^ 0x5eed),
        acked: Vec::new(),
        history: Vec::new(),
        n: 0,
    };
    let result = case.run(ops).await;
    let name = case.backend.name();
    case.store = None;
    case.backend.remove().await;
    if let Err(e) = result {
        let from = case.history.len().saturating_sub(25);
        panic!(
            "{name}, seed {seed}: {e}\n\nsteps (last {}):\n  {}\n\nreplay: SKC_MODEL_SEED={seed} \
             cargo test -p skillcore-events-store --test model {name}",
            case.history.len() - from,
            case.history[from..].join("\n  ")
        );
    }
}

async fn create_domain_table(store: &Store) {
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(p), _) => sqlx::raw_sql(world::DOMAIN_TABLE)
            .execute(p)
            .await
            .map(drop),
        (_, Some(p)) => sqlx::raw_sql(world::DOMAIN_TABLE)
            .execute(p)
            .await
            .map(drop),
        _ => unreachable!(),
    }
    .expect("create the caller's table");
}

impl Case {
    fn store(&self) -> &Store {
        self.store.as_ref().expect("the store is open")
    }

    async fn run(&mut self, ops: &[Op]) -> Result<(), String> {
        for (i, op) in ops.iter().enumerate() {
            self.history.push(format!("{i}: {op:?}"));
            self.step(*op).await?;
        }
        // Let the queue settle: every call succeeds from now on, leases run
        // out, workers drain. Each delivery has at most 3 attempts left.
        self.script.all_succeed();
        for round in 0.. {
            self.history.push(format!("settle {round}"));
            self.step(Op::Expire).await?;
            self.step(Op::WorkOnce).await?;
            let s = self.snapshot().await;
            if s.rows
                .values()
                .all(|r| r.status == "done" || r.status == "dead")
            {
                return self.model.check_settled(&s);
            }
            if round == 30 {
                return Err(format!("the queue did not settle: {:?}", unsettled(&s)));
            }
        }
        unreachable!()
    }

    async fn snapshot(&self) -> Snapshot {
        world::snapshot(self.store()).await
    }

    fn next_event(&mut self, ty: usize, nul: bool) -> (NewEvent, usize) {
        let ty = if ty < TYPES.len() {
            ty
        } else {
            self.rng.below(TYPES.len() as u64) as usize
        };
        self.n += 1;
        let aggregate = format!("agg-{}", self.rng.below(3));
        (world::event(TYPES[ty].0, &aggregate, self.n, nul), ty)
    }

    fn record(&mut self, e: &NewEvent, ty: usize, committed: bool) {
        self.model.events.push(ModelEvent {
            id: e.id,
            ty: TYPES[ty].0,
            committed,
        });
        if committed {
            self.acked.push(e.clone());
        }
    }

    async fn step(&mut self, op: Op) -> Result<(), String> {
        let pre = self.snapshot().await;
        let mut worked = false;
        match op {
            Op::Publish(ty) => {
                let (e, ty) = self.next_event(ty, false);
                let r = self
                    .store()
                    .append(std::slice::from_ref(&e), world::subscribers)
                    .await;
                let seqs = r.map_err(|err| format!("a publish failed: {err}"))?;
                if seqs.len() != 1 {
                    return Err(format!("a publish of one event returned {seqs:?}"));
                }
                self.record(&e, ty, true);
            }
            Op::Batch => {
                let k = 2 + self.rng.below(5) as usize;
                let nul_at = self
                    .rng
                    .chance(20)
                    .then(|| self.rng.below(k as u64) as usize);
                let batch: Vec<(NewEvent, usize)> = (0..k)
                    .map(|i| self.next_event(usize::MAX, nul_at == Some(i)))
                    .collect();
                let events: Vec<NewEvent> = batch.iter().map(|(e, _)| e.clone()).collect();
                let r = self.store().append(&events, world::subscribers).await;
                match (&r, nul_at) {
                    (Ok(seqs), None) if seqs.len() == k => {}
                    (Err(_), Some(_)) => {}
                    _ => {
                        return Err(format!(
                            "a batch of {k} events{} gave {:?}; expected {}",
                            if nul_at.is_some() {
                                " (one with a NUL character)"
                            } else {
                                ""
                            },
                            r.as_ref().map_err(|e| e.to_string()),
                            if nul_at.is_some() {
                                "an error, nothing stored (NUL is refused on every backend)"
                            } else {
                                "all stored"
                            }
                        ))
                    }
                }
                for (e, ty) in &batch {
                    self.record(e, *ty, r.is_ok());
                }
            }
            Op::Concurrent => {
                let k = 3 + self.rng.below(6) as usize;
                let nul_at = self
                    .rng
                    .chance(50)
                    .then(|| self.rng.below(k as u64) as usize);
                let mut tasks = tokio::task::JoinSet::new();
                let mut sent = Vec::new();
                for i in 0..k {
                    let (e, ty) = self.next_event(usize::MAX, nul_at == Some(i));
                    let store = self.store().clone();
                    let one = e.clone();
                    tasks.spawn(async move {
                        let r = store
                            .append(std::slice::from_ref(&one), world::subscribers)
                            .await;
                        (i, r.map_err(|e| e.to_string()))
                    });
                    sent.push((e, ty));
                }
                let mut results = vec![None; k];
                while let Some(done) = tasks.join_next().await {
                    let (i, r) = done.map_err(|e| format!("append task: {e}"))?;
                    results[i] = Some(r);
                }
                let mut wrong = Vec::new();
                for (i, ((e, ty), r)) in sent.iter().zip(&results).enumerate() {
                    let r = r.as_ref().expect("every task answered");
                    let nul = nul_at == Some(i);
                    match (r, nul) {
                        (Ok(s), false) if s.len() == 1 => {}
                        (Err(_), true) => {}
                        _ => wrong.push(format!(
                            "append {i}{}: {r:?}",
                            if nul { " (with a NUL character)" } else { "" }
                        )),
                    }
                    self.record(e, *ty, r.is_ok());
                }
                if !wrong.is_empty() {
                    return Err(format!(
                        "of {k} concurrent appends, each must succeed or fail on its own merits \
                         (a NUL character refused on every backend, nobody else's append failed \
                         by it): {}",
                        wrong.join("; ")
                    ));
                }
            }
            Op::Transaction { commit } => {
                let k = 1 + self.rng.below(3) as usize;
                let batch: Vec<(NewEvent, usize)> =
                    (0..k).map(|_| self.next_event(usize::MAX, false)).collect();
                let events: Vec<NewEvent> = batch.iter().map(|(e, _)| e.clone()).collect();
                let domain = uuid::Uuid::now_v7().to_string();
                self.transaction(&domain, &events, commit).await?;
                for (e, ty) in &batch {
                    self.record(e, *ty, commit);
                }
                if commit {
                    self.model.domain_rows += 1;
                }
            }
            Op::Republish => {
                if self.acked.is_empty() {
                    return Ok(());
                }
                let e = self.acked[self.rng.below(self.acked.len() as u64) as usize].clone();
                let r = self
                    .store()
                    .append(std::slice::from_ref(&e), world::subscribers)
                    .await;
                match r {
                    Ok(seqs) if seqs.is_empty() => {}
                    other => {
                        return Err(format!(
                            "publishing stored event {} again gave {:?}; expected Ok([]), nothing stored",
                            e.id,
                            other.map_err(|e| e.to_string())
                        ))
                    }
                }
            }
            Op::WorkOnce => {
                worked = true;
                let batches = 1 + self.rng.below(3);
                let concurrency = 1 + self.rng.below(4) as usize;
                for b in 0..batches {
                    let pre = if b == 0 {
                        pre.clone()
                    } else {
                        self.snapshot().await
                    };
                    let crashed = self.work_once(concurrency).await?;
                    self.after_worker(&pre, crashed).await?;
                    if crashed {
                        break;
                    }
                }
            }
            Op::WorkRun => {
                worked = true;
                let crashed = self.work_run().await?;
                self.after_worker(&pre, crashed).await?;
            }
            Op::Expire => {
                let until = pre.rows.values().filter_map(|r| r.lease_until).max();
                if let Some(until) = until {
                    let wait = until - world::now_us() + 2_000;
                    if wait > 0 {
                        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
                    }
                }
            }
            Op::Restart => {
                self.store = None;
                let strict = self.rng.chance(50);
                self.store = Some(self.backend.open(strict).await);
                self.history.push(format!(
                    "   reopened ({})",
                    if strict {
                        "strict durability"
                    } else {
                        "relaxed durability"
                    }
                ));
            }
            Op::Odds(retry, dead, crash) => self.script.set_odds(retry, dead, crash),
            Op::ExpectAllDead => self.model.check_all_dead(&pre)?,
            Op::RetryDead => {
                let mut dead: Vec<&world::Row> =
                    pre.rows.values().filter(|r| r.status == "dead").collect();
                dead.sort_by_key(|r| r.id);
                if dead.is_empty() {
                    return Ok(());
                }
                let r = dead[self.rng.below(dead.len() as u64) as usize].clone();
                let retried = self
                    .store()
                    .retry_dead(&skillcore_events_store::Scope::AllDistricts, r.id)
                    .await
                    .map_err(|e| format!("retry_dead: {e}"))?;
                let post = self.snapshot().await;
                let key = (r.event, r.handler.clone());
                self.model.retried.insert(key.clone());
                let q = &post.rows[&key];
                if !retried || q.status != "waiting" || q.attempts != 0 {
                    return Err(format!(
                        "retrying dead letter {} gave {retried}; it is now {} with {} attempts \
                         (expected waiting with 0)",
                        r.id, q.status, q.attempts
                    ));
                }
                let mut pre = pre.clone();
                pre.rows.remove(&key);
                let mut rest = post.clone();
                rest.rows.remove(&key);
                self.model.check_untouched(&pre, &rest, world::now_us())?;
                self.model.check_state(&post)?;
                return Ok(());
            }
        }
        if !worked {
            let post = self.snapshot().await;
            self.model.check_untouched(&pre, &post, world::now_us())?;
            self.model.check_state(&post)?;
        }
        Ok(())
    }

    async fn transaction(
        &self,
        domain: &str,
        events: &[NewEvent],
        commit: bool,
    ) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| format!("outbox transaction: {e}");
        let store = self.store();
        if let Some(pool) = store.sqlite_pool() {
            let mut tx = pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| err(&e))?;
            sqlx::query("INSERT INTO model_domain (id) VALUES (?)")
                .bind(domain)
                .execute(&mut *tx)
                .await
                .map_err(|e| err(&e))?;
            append_sqlite(&mut tx, events, &world::subscribers)
                .await
                .map_err(|e| err(&e))?;
            if commit {
                tx.commit().await.map_err(|e| err(&e))?;
                store.notify();
            } else {
                tx.rollback().await.map_err(|e| err(&e))?;
            }
        } else if let Some(pool) = store.postgres_pool() {
            let mut tx = pool.begin().await.map_err(|e| err(&e))?;
            sqlx::query("INSERT INTO model_domain (id) VALUES ($1)")
                .bind(domain)
                .execute(&mut *tx)
                .await
                .map_err(|e| err(&e))?;
            append_postgres(&mut tx, events, &world::subscribers)
                .await
                .map_err(|e| err(&e))?;
            if commit {
                tx.commit().await.map_err(|e| err(&e))?;
            } else {
                tx.rollback().await.map_err(|e| err(&e))?;
            }
        }
        Ok(())
    }

    /// Checks what a worker step did, from the snapshot before it.
    async fn after_worker(&mut self, pre: &Snapshot, crashed: bool) -> Result<(), String> {
        let end = world::now_us();
        let calls = self.script.take_log();
        let post = self.snapshot().await;
        self.history.push(format!(
            "   calls {:?}{}",
            calls
                .iter()
                .map(|c| (c.handler, c.attempt, c.action))
                .collect::<Vec<_>>(),
            if crashed {
                ", then the worker died"
            } else {
                ""
            }
        ));
        self.model
            .check_worker_step(pre, &post, &calls, crashed, end)?;
        self.model.check_state(&post)
    }

    /// Kills a worker's task, as its process dying would.
    async fn kill<T>(&mut self, task: tokio::task::JoinHandle<T>) {
        self.model.killed.push(format!("m{}:", self.n));
        let at = chrono::Utc::now();
        task.abort();
        let _ = task.await;
        world::settle_killed(self.store(), at).await;
    }

    /// One `run_once` batch in a task; if a handler "crashes" its process, the
    /// task is killed with everything it holds (nothing it did is recorded).
    async fn work_once(&mut self, concurrency: usize) -> Result<bool, String> {
        self.n += 1;
        let script = self.script.for_step();
        let w = world::worker(self.store(), &format!("m{}", self.n), &script, concurrency);
        let mut task = tokio::spawn(async move { w.run_once().await.map(|_| ()) });
        tokio::select! {
            done = &mut task => {
                done.map_err(|e| format!("run_once task: {e}"))?
                    .map_err(|e| format!("run_once failed: {e}"))?;
                Ok(false)
            }
            _ = script.crashed.notified() => {
                self.kill(task).await;
                Ok(true)
            }
            _ = tokio::time::sleep(Duration::from_secs(30)) => Err("run_once hung for 30 s".into()),
        }
    }

    /// A worker's `run` loop until no delivery is ready and it holds none (or 3 s),
    /// then its shutdown; killed instead if a handler "crashes" its process.
    async fn work_run(&mut self) -> Result<bool, String> {
        self.n += 1;
        let id = format!("m{}", self.n);
        let script = self.script.for_step();
        let concurrency = 1 + self.rng.below(3) as usize;
        let w = world::worker(self.store(), &id, &script, concurrency);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut task = tokio::spawn(async move {
            w.run(async {
                let _ = stopped.await;
            })
            .await
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            tokio::select! {
                _ = script.crashed.notified() => {
                    self.kill(task).await;
                    return Ok(true);
                }
                _ = tokio::time::sleep(Duration::from_millis(15)) => {}
            }
            let s = self.snapshot().await;
            let mine = format!("{id}:");
            let holds = world::lease_owners(self.store(), &mine).await;
            if (!world::claimable(&s, world::now_us()) && holds == 0)
                || tokio::time::Instant::now() > deadline
            {
                break;
            }
        }
        let _ = stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), &mut task).await {
            Ok(r) => r.map_err(|e| format!("run task: {e}"))?,
            Err(_) => return Err("the worker did not stop within 10 s of its shutdown".into()),
        }
        Ok(false)
    }
}

fn unsettled(s: &Snapshot) -> Vec<&world::Row> {
    s.rows
        .values()
        .filter(|r| r.status != "done" && r.status != "dead")
        .collect()
}
