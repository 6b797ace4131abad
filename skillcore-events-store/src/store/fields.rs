//! Indexes of payload fields: what lets [`Store::events_by_field`] read the
//! matching events only.

use super::query::check_catalog_field;
use super::{Dialect, Store};
use crate::field_index::{check_type, FieldIndex};
use crate::shared::check_field;
use crate::Result;

impl Store {
    /// Indexes payload field `field` of the events of type `event_type`, so
    /// [`Store::events_by_field`] on them reads the matching events instead
    /// of every event of the type: on a store of 10 million events, a
    /// search for one student's grades takes milliseconds instead of
    /// seconds (`docs/performance.md`). Idempotent: an index already there
    /// is kept. Returns the index made.
    ///
    /// The index is partial: it holds the events of `event_type` only, so it
    /// costs publishes of that type (one more index entry each) and none of
    /// any other. Making it reads every stored event of the type once: on
    /// PostgreSQL it is built `CONCURRENTLY`, publishers and workers going
    /// on meanwhile; on SQLite the store's writes wait for it (seconds per
    /// million events of the type), so make it when the service is quiet or
    /// when the store is new. [`Store::create_catalog_field_index`] checks
    /// the field against the catalog first.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::Scope;
    /// store.create_field_index("gradebook.grade.posted", "studentId").await?;
    /// let grades = store
    ///     .events_by_field(&Scope::district("d-1"), "gradebook.grade.posted", "studentId", "s-42")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_field_index(&self, event_type: &str, field: &str) -> Result<FieldIndex> {
        check_type(event_type)?;
        check_field(field)?;
        let index = FieldIndex::new(event_type, field);
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.create_field_index(&index).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.create_field_index(&index).await?,
        }
        Ok(index)
    }

    /// [`Store::create_field_index`] with the event and the field checked
    /// against the catalog (`EVENTS` of the generated code, or
    /// `AnyEvent::events()`): an unknown one is an error that lists what
    /// exists, and nothing is made.
    pub async fn create_catalog_field_index(
        &self,
        catalog: &[skillcore_events::EventInfo],
        event_type: &str,
        field: &str,
    ) -> Result<FieldIndex> {
        check_catalog_field(catalog, event_type, field)?;
        self.create_field_index(event_type, field).await
    }

    /// Drops the index of `field` of `event_type`; whether there was one.
    /// Searches of the field go on, reading every event of the type again.
    pub async fn drop_field_index(&self, event_type: &str, field: &str) -> Result<bool> {
        check_type(event_type)?;
        check_field(field)?;
        let index = FieldIndex::new(event_type, field);
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.drop_field_index(&index).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.drop_field_index(&index).await,
        }
    }

    /// The indexes of payload fields made by [`Store::create_field_index`],
    /// by event type and field.
    pub async fn field_indexes(&self) -> Result<Vec<FieldIndex>> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.field_indexes().await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.field_indexes().await,
        }
    }
}
