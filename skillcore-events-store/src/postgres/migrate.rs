//! PostgreSQL migrations: under an advisory lock (serializing concurrent
//! starters, released at commit), the version table, then every step of
//! [`crate::schema::POSTGRES`] not yet applied, each recorded, in one
//! transaction.

use crate::{schema, Result};
use sqlx::PgPool;

const LOCK: &str = "SELECT pg_advisory_xact_lock(7316202611)";
const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS skc_schema_version (version INTEGER NOT NULL)";
const CURRENT: &str = "SELECT COALESCE(MAX(version), 0) FROM skc_schema_version";
const RECORD: &str = "INSERT INTO skc_schema_version (version) VALUES ($1)";

/// Applies the migrations not yet applied.
pub(crate) async fn migrate(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(LOCK).execute(&mut *tx).await?;
    sqlx::raw_sql(VERSION_TABLE).execute(&mut *tx).await?;
    let current: i32 = sqlx::query_scalar(CURRENT).fetch_one(&mut *tx).await?;
    for (i, sql) in schema::POSTGRES.iter().enumerate().skip(current as usize) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await?;
        sqlx::query(RECORD)
            .bind(i as i32 + 1)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
