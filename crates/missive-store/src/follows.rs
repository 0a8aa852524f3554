//! Follow relations and the counters they drive.

use std::collections::HashSet;

use missive_core::packed::Relation;

use sqlx::AnyConnection;

use crate::codec::{IDS_PER_STATEMENT, get, placeholders};
use crate::{Outbox, Result, Store};

impl Store {
    /// How `viewer` relates to `other`.
    pub async fn relation(&self, viewer: &str, other: &str) -> Result<Relation> {
        let rows = self.query(
            "SELECT follower_id FROM follows WHERE (follower_id = $1 AND followee_id = $2) OR (follower_id = $2 AND followee_id = $1)",
        )
        .bind(viewer)
        .bind(other)
        .fetch_all(&self.read)
        .await?;
        let mut relation = Relation::default();
        for row in rows {
            let follower: String = get(&row, "follower_id")?;
            if follower == viewer {
                relation.is_following = true;
            } else {
                relation.is_followed = true;
            }
        }
        Ok(relation)
    }

    /// The users among `candidates` that `follower` follows.
    pub async fn followed_among(
        &self,
        follower: &str,
        candidates: &[String],
    ) -> Result<HashSet<String>> {
        let mut followed = HashSet::new();
        for chunk in candidates.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT followee_id FROM follows WHERE follower_id = $1 AND followee_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = self.query(&sql).bind(follower);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                followed.insert(get(&row, "followee_id")?);
            }
        }
        Ok(followed)
    }

    /// The ids of everyone `follower` follows.
    pub async fn followee_ids(&self, follower: &str) -> Result<Vec<String>> {
        let rows = self
            .query("SELECT followee_id FROM follows WHERE follower_id = $1")
            .bind(follower)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| get(row, "followee_id")).collect()
    }

    /// Creates a follow, updates both counters and writes `outbox`, in one transaction
    /// whose commit wakes the delivery workers.
    /// Returns `false` (and writes nothing) if the follow already exists.
    pub async fn create_follow(
        &self,
        follower: &str,
        followee: &str,
        now_ms: i64,
        outbox: Outbox,
    ) -> Result<bool> {
        let store = self.clone();
        let (follower, followee) = (follower.to_owned(), followee.to_owned());
        let done = self
            .commit(outbox, move |conn| {
                Box::pin(async move {
                    let inserted = store
                        .query(
                            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (follower_id, followee_id) DO NOTHING",
                        )
                        .bind(&follower)
                        .bind(&followee)
                        .bind(now_ms)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    if inserted == 0 {
                        return Ok(None);
                    }
                    store.adjust_counters(conn, &follower, &followee, "+").await?;
                    Ok(Some(()))
                })
            })
            .await?;
        Ok(done.is_some())
    }

    /// Deletes a follow, updates both counters and writes `outbox`, in one transaction
    /// whose commit wakes the delivery workers.
    /// Returns `false` (and writes nothing) if there was no such follow.
    pub async fn delete_follow(
        &self,
        follower: &str,
        followee: &str,
        outbox: Outbox,
    ) -> Result<bool> {
        let store = self.clone();
        let (follower, followee) = (follower.to_owned(), followee.to_owned());
        let done = self
            .commit(outbox, move |conn| {
                Box::pin(async move {
                    let deleted = store
                        .query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
                        .bind(&follower)
                        .bind(&followee)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    if deleted == 0 {
                        return Ok(None);
                    }
                    store
                        .adjust_counters(conn, &follower, &followee, "-")
                        .await?;
                    Ok(Some(()))
                })
            })
            .await?;
        Ok(done.is_some())
    }

    /// Adjusts the follower's `following_count` and the followee's `followers_count` by
    /// one. The two rows are updated in id order, so that two users following each other
    /// at the same moment cannot deadlock on PostgreSQL.
    async fn adjust_counters(
        &self,
        conn: &mut AnyConnection,
        follower: &str,
        followee: &str,
        sign: &str,
    ) -> Result<()> {
        let mut updates = [(follower, "following_count"), (followee, "followers_count")];
        updates.sort_by_key(|(id, _)| *id);
        for (id, column) in updates {
            self.query(&format!(
                "UPDATE users SET {column} = {column} {sign} 1 WHERE id = $1"
            ))
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}
