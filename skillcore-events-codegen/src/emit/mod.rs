//! Stage 4: emitters. Each is a pure function of the validated [`crate::model::Catalog`]
//! (plus [`crate::settings::Settings`]).

pub mod rust;
