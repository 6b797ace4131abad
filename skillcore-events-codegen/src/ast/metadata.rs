//! The shape of `metadata:` (catalog-wide or an event's): which payload field
//! each envelope metadata key is taken from.

use super::{Args, Reader, Spanned, METADATA_KEYS};
use crate::yaml::Node;

impl Reader<'_> {
    /// `metadata: { district: districtId, school: schoolId, user: gradedById }`:
    /// metadata key -> payload field (wire name), both with their spans.
    pub(super) fn metadata(
        &mut self,
        v: &Node,
        whose: Args<'_>,
    ) -> Vec<(Spanned<String>, Spanned<String>)> {
        let Some(pairs) = self.mapping(v, format_args!("the `metadata` of {whose}")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, k, val) in self.keys(
            pairs,
            METADATA_KEYS,
            format_args!("the `metadata` of {whose}"),
        ) {
            let Some(field) = self.text(val, format_args!("`metadata.{key}` of {whose}")) else {
                continue;
            };
            out.push((
                Spanned {
                    value: key.to_string(),
                    span: k.span,
                },
                field,
            ));
        }
        out
    }
}
