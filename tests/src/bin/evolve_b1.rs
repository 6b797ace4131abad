//! Build 1 of the replay catalog (`fixtures/replay/b1/`): publishes version 1
//! of its four events to a durable store. Driven by `tests/replay_e2e.rs`.
//!
//! ```text
//! evolve_b1 publish --db sqlite:PATH|postgres://URL [--schema NAME]
//! ```

mod events {
    skillcore_events::catalog!("fixtures/replay/b1/replay.yaml");
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
        let n = bin::publish::<lab::ScoreRecorded>(&bus, 1).await?
            + bin::publish::<lab::NoteAdded>(&bus, 1).await?
            + bin::publish::<lab::VisitLogged>(&bus, 1).await?
            + bin::publish::<lab::BadgeAwarded>(&bus, 1).await?;
        bus.shutdown(Duration::from_secs(5)).await;
        println!("published {n}");
        Ok(())
    });
}
