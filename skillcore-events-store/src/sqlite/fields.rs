//! Indexes of payload fields on SQLite (see `field_index.rs`): made and
//! dropped on the writer, in one transaction with their record.

use super::SqliteDb;
use crate::field_index::{sqlite_expr, FieldIndex};
use crate::Result;
use sqlx::{AssertSqlSafe, Connection};

impl SqliteDb {
    /// Makes the index (reading every event of the type once; writers wait
    /// for it) and records it, or does nothing if it is there.
    pub async fn create_field_index(&self, index: &FieldIndex) -> Result<()> {
        let FieldIndex {
            event_type,
            field,
            index: name,
        } = index;
        let expr = sqlite_expr("payload", field);
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE INDEX IF NOT EXISTS {name} ON skc_events ({expr}) \
             WHERE event_type = '{event_type}'"
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO skc_field_indexes (event_type, field, index_name) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )
        .bind(event_type)
        .bind(field)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops the index and its record; whether it was recorded.
    pub async fn drop_field_index(&self, index: &FieldIndex) -> Result<bool> {
        let mut conn = self.writer.lock().await;
        let mut tx = conn.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP INDEX IF EXISTS {}",
            index.index
        )))
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query("DELETE FROM skc_field_indexes WHERE event_type = ?1 AND field = ?2")
            .bind(&index.event_type)
            .bind(&index.field)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    pub async fn field_indexes(&self) -> Result<Vec<FieldIndex>> {
        Ok(sqlx::query_as(crate::field_index::LIST)
            .fetch_all(&self.read)
            .await?)
    }
}
