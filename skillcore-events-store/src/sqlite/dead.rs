//! Dead letters on SQLite: listing them, putting one back in the queue,
//! discarding one.

use super::row::DeadRow;
use super::{sql, SqliteDb};
use crate::shared::now_us;
use crate::{DeadLetter, Result};

impl SqliteDb {
    /// Dead letters in the scope (`all`, `district`), oldest first.
    pub async fn dead_letters(
        &self,
        all: bool,
        district: &str,
        handler: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeadLetter>> {
        let rows: Vec<DeadRow> = sqlx::query_as(sql::DEAD_LETTERS.as_str())
            .bind(handler)
            .bind(limit as i64)
            .bind(all)
            .bind(district)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(DeadLetter::from).collect())
    }

    /// Puts a dead letter in the scope back in the queue; how many rows
    /// changed.
    pub async fn retry_dead(&self, all: bool, district: &str, id: i64) -> Result<u64> {
        self.exec_dead(sql::RETRY_DEAD.as_str(), all, district, id)
            .await
    }

    /// Discards a dead letter in the scope; how many rows changed.
    pub async fn discard_dead(&self, all: bool, district: &str, id: i64) -> Result<u64> {
        self.exec_dead(sql::DISCARD_DEAD.as_str(), all, district, id)
            .await
    }

    // An update of one dead letter: binds (now, id) and the scope.
    async fn exec_dead(
        &self,
        sql: &'static str,
        all: bool,
        district: &str,
        id: i64,
    ) -> Result<u64> {
        Ok(sqlx::query(sql)
            .bind(now_us())
            .bind(id)
            .bind(all)
            .bind(district)
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }
}
