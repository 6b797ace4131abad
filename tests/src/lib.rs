//! A consumer crate that uses the macros exactly as users do (it lists only
//! `skillcore-events` and `serde_json`). Its tests live in `tests/`.

/// SkillCore's own catalog, the repository's `catalog/` directory.
pub mod skillcore {
    skillcore_events::catalog!("../catalog");
}
