//! Tenant metadata taken from the payload: the catalog's `metadata:` key says
//! which payload fields hold the district, the school and the user, so that
//! `bus.publish(payload)` builds the envelope itself, and an envelope whose
//! metadata says otherwise is refused before anything is stored.

use super::{Envelope, Metadata};
use crate::bus::PublishError;
use crate::event::Event;

/// The tenant metadata an event's payload carries, as the catalog's
/// `metadata:` maps it: each entry is the payload field's wire name and its
/// value. Returned by [`Event::tenant`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tenant<'a> {
    /// The district field (`districtId`) and its value.
    pub district: (&'static str, &'a str),
    /// The school field and its value.
    pub school: (&'static str, &'a str),
    /// The user field and its value, when the catalog maps one.
    pub user: Option<(&'static str, &'a str)>,
}

// The values may be sensitive in some catalogs: `Debug` names the fields only.
impl std::fmt::Debug for Tenant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("district", &self.district.0)
            .field("school", &self.school.0)
            .field("user", &self.user.map(|u| u.0))
            .finish_non_exhaustive()
    }
}

impl Tenant<'_> {
    /// The envelope metadata these fields give: district, school and user,
    /// with no correlation or causation.
    pub fn metadata(&self) -> Metadata {
        let mut m = Metadata::new(self.district.1, self.school.1);
        m.user_id = self.user.map(|u| u.1.to_string());
        m
    }
}

/// Implemented by the generated payload types whose catalog entry maps its
/// tenant metadata (`metadata:`, catalog-wide or the event's own): their
/// payloads can be published bare, and [`Envelope::from_payload`] builds
/// their envelope.
pub trait TenantFromPayload: Event {}

/// What `publish` takes: an [`Envelope`], or the bare payload of an event
/// whose tenant metadata comes from its payload ([`TenantFromPayload`]).
pub trait IntoEnvelope {
    /// The event.
    type Event: Event;
    /// The envelope to publish; an explicit envelope whose metadata disagrees
    /// with the payload's mapped fields is refused with
    /// [`PublishError::MetadataMismatch`].
    fn into_envelope(self) -> Result<Envelope<Self::Event>, PublishError>;
}

impl<E: Event> IntoEnvelope for Envelope<E> {
    type Event = E;
    fn into_envelope(mut self) -> Result<Envelope<E>, PublishError> {
        self.agree_with_payload()?;
        Ok(self)
    }
}

impl<E: TenantFromPayload> IntoEnvelope for E {
    type Event = E;
    fn into_envelope(self) -> Result<Envelope<E>, PublishError> {
        Ok(Envelope::from_payload(self))
    }
}

impl<E: TenantFromPayload> Envelope<E> {
    /// An envelope whose metadata (district, school, user) is taken from the
    /// payload's fields, as the catalog's `metadata:` maps them.
    ///
    /// ```
    /// mod events {
    ///     // `metadata: { district: districtId, school: schoolId }`, and
    ///     // `user: gradedById` on this event.
    ///     skillcore_events::catalog!("tests/fixtures/tenant.yaml");
    /// }
    /// use events::gradebook::GradePosted;
    /// let grade = GradePosted {
    ///     result_id: "r-1".into(),
    ///     district_id: "dst-1".into(),
    ///     school_id: "sch-1".into(),
    ///     graded_by_id: "tch-1".into(),
    ///     comment: None,
    /// };
    /// let env = skillcore_events::Envelope::from_payload(grade);
    /// assert_eq!(env.metadata.district_id, "dst-1");
    /// assert_eq!(env.metadata.user_id.as_deref(), Some("tch-1"));
    /// ```
    pub fn from_payload(payload: E) -> Self {
        let metadata = payload.tenant().map(|t| t.metadata()).unwrap_or_default();
        Envelope::new(payload, metadata)
    }
}

impl<E: Event> Envelope<E> {
    /// Checks the envelope's metadata against the payload's mapped fields:
    /// a user missing from the envelope is filled in from the payload; any
    /// other difference is [`PublishError::MetadataMismatch`] (naming the
    /// keys and fields, never their values).
    pub fn agree_with_payload(&mut self) -> Result<(), PublishError> {
        let Some(t) = self.payload.tenant() else {
            return Ok(());
        };
        let mismatch = |key: &'static str, field: &'static str| PublishError::MetadataMismatch {
            event: E::NAME,
            key,
            field,
        };
        if self.metadata.district_id != t.district.1 {
            return Err(mismatch("district_id", t.district.0));
        }
        if self.metadata.school_id != t.school.1 {
            return Err(mismatch("school_id", t.school.0));
        }
        if let Some((field, user)) = t.user {
            match &self.metadata.user_id {
                None => self.metadata.user_id = Some(user.to_string()),
                Some(u) if u != user => return Err(mismatch("user_id", field)),
                Some(_) => {}
            }
        }
        Ok(())
    }
}
