//! Indexes of payload fields on PostgreSQL (see `field_index.rs`), built
//! with `CONCURRENTLY`: publishers and workers go on while one is made.

use super::PgDb;
use crate::field_index::FieldIndex;
use crate::Result;
use sqlx::AssertSqlSafe;

impl PgDb {
    /// Makes the index without blocking writes and records it, or does
    /// nothing if a valid one is there. A concurrent build that failed
    /// leaves an invalid index behind, which no query uses: it is dropped
    /// and built again.
    pub async fn create_field_index(&self, index: &FieldIndex) -> Result<()> {
        let FieldIndex {
            event_type,
            field,
            index: name,
        } = index;
        let valid: Option<bool> = sqlx::query_scalar(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        if valid == Some(false) {
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {name}"
            )))
            .execute(&self.pool)
            .await?;
        }
        if valid != Some(true) {
            sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} \
                 ON skc_events ((payload->>'{field}'), seq) WHERE event_type = '{event_type}'"
            )))
            .execute(&self.pool)
            .await?;
        }
        sqlx::query(
            "INSERT INTO skc_field_indexes (event_type, field, index_name) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(event_type)
        .bind(field)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops the index (without blocking writes) and its record; whether it
    /// was recorded.
    pub async fn drop_field_index(&self, index: &FieldIndex) -> Result<bool> {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            index.index
        )))
        .execute(&self.pool)
        .await?;
        let n = sqlx::query("DELETE FROM skc_field_indexes WHERE event_type = $1 AND field = $2")
            .bind(&index.event_type)
            .bind(&index.field)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn field_indexes(&self) -> Result<Vec<FieldIndex>> {
        Ok(sqlx::query_as(crate::field_index::LIST)
            .fetch_all(&self.pool)
            .await?)
    }
}
