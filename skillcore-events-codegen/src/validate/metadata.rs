//! `metadata:`: where an event's envelope metadata (district, school, user)
//! comes from in its payload, so that publishing a bare payload builds the
//! envelope. Rule `bad-metadata`.
//!
//! A catalog-wide mapping applies to each event that has the named field; an
//! event's own mapping replaces it key by key and must name fields the event
//! has. Every named field must be a required `string`. An event gets a
//! mapping when both `district` and `school` resolve.

use super::example::WithNoteMut;
use super::Validator;
use crate::ast::{RawEvent, RawFile, Spanned};
use crate::diag::Rule;
use crate::model::{BaseType, EventDef, Field, MetadataFields};
use crate::naming::did_you_mean;

type Mapping<'f> = Vec<(&'f Spanned<String>, &'f Spanned<String>)>;

fn is_required_string(f: &Field) -> bool {
    f.ty.base == BaseType::String && !f.ty.optional && f.ty.list_depth == 0
}

impl Validator<'_> {
    /// Resolves each event's `metadata` (see the module docs).
    pub(super) fn resolve_metadata(
        &mut self,
        files: &[RawFile],
        raw: &[&RawEvent],
        events: &mut [EventDef],
    ) {
        let global = self.catalog_metadata(files);
        for (key, field) in &global {
            let used = events
                .iter()
                .any(|e| e.fields.iter().any(|f| f.name == field.value));
            if !used {
                let all: Vec<&str> = events
                    .iter()
                    .flat_map(|e| e.fields.iter().map(|f| f.name.as_str()))
                    .collect();
                let d = self.err(
                    Rule::BadMetadata,
                    field.span,
                    format!(
                        "`metadata.{}` names field `{}`, which no event has",
                        key.value, field.value
                    ),
                );
                d.help = Some(match did_you_mean(&field.value, all) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "name the payload field that holds it, such as `districtId`".into(),
                });
            }
        }
        for e in events.iter_mut() {
            let own: Mapping<'_> = raw
                .iter()
                .find(|r| r.name.span == e.span)
                .map(|r| r.metadata.iter().map(|(k, f)| (k, f)).collect())
                .unwrap_or_default();
            e.metadata = self.event_metadata(e, &global, &own);
        }
    }

    /// The catalog-wide mapping; a key set differently in two files is an error.
    fn catalog_metadata<'f>(&mut self, files: &'f [RawFile]) -> Mapping<'f> {
        let mut out: Mapping<'f> = Vec::new();
        for (k, f) in files.iter().flat_map(|file| &file.metadata) {
            match out.iter().find(|(ok, _)| ok.value == k.value) {
                Some((_, of)) if of.value != f.value => {
                    let note = self.note(of.span);
                    self.err(
                        Rule::BadMetadata,
                        f.span,
                        format!(
                            "`metadata.{}` is `{}` here and `{}` in another file",
                            k.value, f.value, of.value
                        ),
                    )
                    .with_note_mut(note, "set here first")
                    .help = Some("set the catalog-wide `metadata` in one file".into());
                }
                Some(_) => {}
                None => out.push((k, f)),
            }
        }
        out
    }

    fn event_metadata(
        &mut self,
        e: &EventDef,
        global: &Mapping<'_>,
        own: &Mapping<'_>,
    ) -> Option<MetadataFields> {
        let mut found: Vec<(&str, String)> = Vec::new();
        let mut bad = false;
        for key in ["district", "school", "user"] {
            if let Some((_, field)) = own.iter().find(|(k, _)| k.value == key) {
                match e.fields.iter().find(|f| f.name == field.value) {
                    Some(f) if is_required_string(f) => found.push((key, f.name.clone())),
                    Some(f) => {
                        bad = true;
                        self.not_a_string(e, key, f, field, "");
                    }
                    None => {
                        bad = true;
                        let names = e.fields.iter().map(|f| f.name.as_str());
                        let d = self.err(
                            Rule::BadMetadata,
                            field.span,
                            format!(
                                "`metadata.{key}` of event `{}` names field `{}`, which its payload does not have",
                                e.name, field.value
                            ),
                        );
                        d.help = Some(match did_you_mean(&field.value, names) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("add a required `string` field to the payload, or remove `metadata.{key}`"),
                        });
                    }
                }
            } else if let Some((_, field)) = global.iter().find(|(k, _)| k.value == key) {
                match e.fields.iter().find(|f| f.name == field.value) {
                    Some(f) if is_required_string(f) => found.push((key, f.name.clone())),
                    Some(f) => {
                        bad = true;
                        self.not_a_string(e, key, f, field, " (catalog-wide)");
                    }
                    None => {} // the catalog-wide mapping does not apply
                }
            }
        }
        let get = |key: &str| {
            found
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, f)| f.clone())
        };
        match (get("district"), get("school")) {
            _ if bad => None, // reported; no mapping from a broken one
            (Some(district), Some(school)) => Some(MetadataFields {
                district,
                school,
                user: get("user"),
            }),
            (d, s) if !own.is_empty() => {
                let missing = if d.is_none() { "district" } else { "school" };
                let at = own[0].0.span;
                self.err(
                    Rule::BadMetadata,
                    at,
                    format!(
                        "the `metadata` of event `{}` has no `{missing}`{}",
                        e.name,
                        if d.is_none() && s.is_none() {
                            " nor `school`"
                        } else {
                            ""
                        }
                    ),
                )
                .help = Some(format!(
                    "add `{missing}: <payload field>` to it (or to the catalog-wide `metadata`)"
                ));
                None
            }
            _ => None,
        }
    }

    fn not_a_string(
        &mut self,
        e: &EventDef,
        key: &str,
        f: &Field,
        field: &Spanned<String>,
        wide: &str,
    ) {
        let note = self.note(f.span);
        self.err(
            Rule::BadMetadata,
            field.span,
            format!(
                "`metadata.{key}`{wide} names field `{}` of event `{}`, which is `{}`; metadata comes from required `string` fields",
                f.name, e.name, f.ty
            ),
        )
        .with_note_mut(note, "declared here")
        .help = Some(format!("make `{}` a required `string`, or map `{key}` to another field", f.name));
    }
}
