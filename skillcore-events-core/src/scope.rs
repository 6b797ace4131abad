//! Which tenants (districts) a query or an operator command may see.

/// Which tenants a query may see: one district, or every district when asked
/// for explicitly. The bus's dead letters and every query of the durable store
/// take one, so that district B's events and dead letters never reach a caller
/// working for district A.
///
/// ```
/// use skillcore_events::Scope;
/// let scope = Scope::district("dst-1");
/// assert!(scope.admits("dst-1"));
/// assert!(!scope.admits("dst-2"));
/// assert!(Scope::AllDistricts.admits("dst-2"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One district (tenant): the normal case.
    District(String),
    /// Every district: for administrators and maintenance jobs only.
    AllDistricts,
}

impl Scope {
    /// One district's scope.
    pub fn district(district_id: impl Into<String>) -> Scope {
        Scope::District(district_id.into())
    }

    /// Whether an event of `district_id` is visible in this scope.
    pub fn admits(&self, district_id: &str) -> bool {
        match self {
            Scope::District(d) => d == district_id,
            Scope::AllDistricts => true,
        }
    }
}
