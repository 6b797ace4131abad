//! Build 2 of the replay catalog (`fixtures/replay/b2/`, its lock holding
//! build 1's versions): publishes version 2 of its events (version 1 of
//! `lab.badge.awarded`, unchanged) to a durable store. Driven by
//! `tests/replay_e2e.rs`.
//!
//! ```text
//! evolve_b2 publish --db sqlite:PATH|postgres://URL [--schema NAME]
//! ```

mod events {
    skillcore_events::catalog!("fixtures/replay/b2/replay.yaml");
}

/// The hand-written step named in the catalog under `upcast:`.
mod upcast {
    use super::events::lab;

    /// `tags` was comma-separated text, `minutes` a whole number.
    pub fn visit_v1(old: lab::v1::VisitLogged) -> lab::VisitLogged {
        lab::VisitLogged {
            visit_id: old.visit_id,
            tags: old
                .tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            minutes: old.minutes as f64,
        }
    }
}

#[allow(dead_code)]
#[path = "../../fixtures/replay/values.rs"]
mod values;

#[path = "../../fixtures/replay/bin.rs"]
mod bin;

use events::lab;
use skillcore_events::EventBus;
use std::time::Duration;

fn main() {
    bin::run(&["publish"], |args| async move {
        let bus = bin::backend(EventBus::builder(), &args.db, false)
            .build()
            .map_err(|e| e.to_string())?;
        let n = bin::publish::<lab::ScoreRecorded>(&bus, 2).await?
            + bin::publish::<lab::NoteWritten>(&bus, 2).await?
            + bin::publish::<lab::VisitLogged>(&bus, 2).await?
            + bin::publish::<lab::BadgeAwarded>(&bus, 2).await?;
        bus.shutdown(Duration::from_secs(5)).await;
        println!("published {n}");
        Ok(())
    });
}
