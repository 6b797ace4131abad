//! Events renamed in their catalog (`renamed_from`): every linked catalog
//! lists its (old name, new name) pairs here, so that stored events and
//! relayed envelopes under an old name reach the handlers of the new one and
//! decode into its type.

/// `(old name, current name)` of every renamed event of every linked catalog
/// (filled by `catalog!`, only for catalogs with renamed events).
#[doc(hidden)]
#[linkme::distributed_slice]
pub static RENAMES: [(&'static str, &'static str)];

/// The current name of an event released as `name`, if it was renamed.
pub fn current_name(name: &str) -> Option<&'static str> {
    RENAMES
        .iter()
        .find(|(old, _)| *old == name)
        .map(|(_, new)| *new)
}

/// Whether an envelope naming `name` holds the event now called `event`.
pub fn is_named(name: &str, event: &str) -> bool {
    name == event || current_name(name) == Some(event)
}
