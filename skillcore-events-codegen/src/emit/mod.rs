//! Stage 4: emitters. Each is a pure function of the validated [`crate::model::Catalog`]
//! (plus [`crate::settings::Settings`]).

pub mod asyncapi;
pub mod docs;
pub mod example;
pub mod json;
pub mod released;
pub mod rust;
pub mod schema;
