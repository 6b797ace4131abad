mod events {
    skillcore_events::catalog!("ui/rules/wrong_upcaster.yaml");
}

mod upcast {
    // Takes the current type instead of version 1's.
    pub fn grade_posted_v1(
        old: super::events::gradebook::GradePosted,
    ) -> super::events::gradebook::GradePosted {
        old
    }
}

fn main() {}
