//! Criterion benchmarks of decoding by stored version (issue 13's target:
//! a payload of an older version decoded through a two-step upcast chain
//! costs at most twice a payload of the current version).
//!
//! `cargo bench -p skillcore-events --bench upcast`
//!
//! On `tests/fixtures/evolve` (build 3, with the lock of builds 1 and 2):
//! - `upcast/current_v3`: a version-3 `RawEnvelope` decoded into today's type;
//! - `upcast/v2_one_step`: a version-2 one (the hand-written step 2 -> 3);
//! - `upcast/v1_two_steps`: a version-1 one (the generated step 1 -> 2 —
//!   a rename, a default, a dropped field — then the hand-written 2 -> 3).

use criterion::{criterion_group, criterion_main, Criterion};
use skillcore_events::{Metadata, RawEnvelope};
use std::hint::black_box;

mod events {
    skillcore_events::catalog!("../tests/fixtures/evolve/evolve.yaml");
}

/// The hand-written step named in the catalog under `upcast:`.
mod upcast {
    use super::events::{school, Letter, Points};

    pub fn grade_posted_v2(old: school::v2::GradePosted) -> school::GradePosted {
        school::GradePosted {
            grade_id: old.grade_id,
            points: Points {
                earned: old.points_earned,
                possible: old.points_possible,
            },
            letter: Letter::from(old.letter),
            student_name: old.student_name,
        }
    }
}

use events::school::GradePosted;

fn raw(version: u32, payload: serde_json::Value) -> RawEnvelope {
    RawEnvelope {
        id: skillcore_events::uuid::Uuid::from_u128(7),
        event_type: "school.grade.posted".into(),
        aggregate_id: "0190a3f4-7b1c-7d2e-9f00-0000000000aa".into(),
        aggregate_type: "Grade".into(),
        payload: serde_json::value::to_raw_value(&payload).unwrap(),
        metadata: Metadata::new("dst-1", "sch-1"),
        version,
        occurred_at: skillcore_events::chrono::Utc::now(),
    }
}

fn bench(c: &mut Criterion) {
    let id = "0190a3f4-7b1c-7d2e-9f00-0000000000aa";
    let v3 = raw(
        3,
        serde_json::json!({"gradeId": id, "points": {"earned": 42.5, "possible": 50.0}, "letter": "B", "studentName": "Ada Lovelace"}),
    );
    let v2 = raw(
        2,
        serde_json::json!({"gradeId": id, "pointsEarned": 42.5, "pointsPossible": 50.0, "letter": "B", "studentName": "Ada Lovelace"}),
    );
    let v1 = raw(
        1,
        serde_json::json!({"gradeId": id, "score": 42.5, "letter": "B", "attempts": 2, "studentName": "Ada Lovelace"}),
    );
    for r in [&v3, &v2, &v1] {
        assert!(r.decode::<GradePosted>().is_ok());
    }
    let mut g = c.benchmark_group("upcast");
    g.bench_function("current_v3", |b| {
        b.iter(|| black_box(&v3).decode::<GradePosted>().unwrap())
    });
    g.bench_function("v2_one_step", |b| {
        b.iter(|| black_box(&v2).decode::<GradePosted>().unwrap())
    });
    g.bench_function("v1_two_steps", |b| {
        b.iter(|| black_box(&v1).decode::<GradePosted>().unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
