//! The static HTML catalog.

use crate::model::Catalog;
use crate::settings::Settings;
use crate::source::Sources;

/// Every file of the site as `(relative path, content)`.
pub fn site(catalog: &Catalog, _sources: &Sources, settings: &Settings) -> Vec<(String, String)> {
    let _ = (catalog, settings);
    Vec::new()
}
