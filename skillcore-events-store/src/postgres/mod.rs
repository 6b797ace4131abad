//! The PostgreSQL dialect of the store, cut by role (the rest of its
//! statements still live in `lib.rs` until the cut by dialect is finished).

pub(crate) mod migrate;
