//! The link-time table `#[handler]` fills, read by
//! `EventBusBuilder::register_all`.

use super::{BoxHandler, HandlerOptions, MissingState, States};
use crate::EventInfo;
use std::any::TypeId;

/// The state type a registered handler needs.
#[derive(Clone, Copy, Debug)]
pub struct StateType {
    /// `TypeId::of::<T>` (a function: `TypeId::of` is not usable in statics).
    pub type_id: fn() -> TypeId,
    /// `std::any::type_name::<T>`, for error messages.
    pub type_name: fn() -> &'static str,
}

/// One entry of the link-time handler table, written by `#[handler]`.
///
/// `EventBusBuilder::register_all` reads every entry linked into the binary.
#[derive(Clone, Copy, Debug)]
pub struct HandlerRegistration {
    /// The event name.
    pub event: &'static str,
    /// The stable handler id (`name = "…"`, else module path and function name).
    pub id: &'static str,
    /// The options from the attribute.
    pub options: HandlerOptions,
    /// The state the handler needs, if any.
    pub state: Option<StateType>,
    /// The catalog entry of the event.
    pub info: fn() -> &'static EventInfo,
    /// Builds the handler from the bus's states.
    pub build: fn(&States) -> Result<BoxHandler, MissingState>,
    /// `file:line` of the handler function.
    pub location: &'static str,
}

/// Every handler registered with `#[handler]` in this binary, in link order.
pub fn registered_handlers() -> &'static [HandlerRegistration] {
    &HANDLERS
}

/// The link-time table itself.
#[linkme::distributed_slice]
pub static HANDLERS: [HandlerRegistration];
