//! Reactions to notes: one per user and note, with the facts packing needs.

use std::collections::HashMap;

use missive_core::reaction::{NoteReactions, PAIR_CACHE_MAX, Reaction};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{IDS_PER_STATEMENT, get, placeholders};
use crate::{Outbox, Result, Store};

/// What `create_reaction` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactionWrite {
    /// The user had not reacted to the note.
    Created,
    /// The user's earlier, different reaction (given) was replaced, as Misskey does.
    Replaced(String),
    /// The user had already reacted with this very reaction: nothing was written.
    AlreadyReacted,
}

/// Which page of a note's reactions `notes/reactions` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReactionPage {
    /// Only reactions of this kind.
    pub reaction: Option<String>,
    /// Only reactions newer than this id; without `until_id` the oldest of them first.
    pub since_id: Option<String>,
    /// Only reactions older than this id.
    pub until_id: Option<String>,
    pub limit: i64,
}

fn reaction_from_row(row: &AnyRow) -> Result<Reaction> {
    Ok(Reaction {
        id: get(row, "id")?,
        note_id: get(row, "note_id")?,
        user_id: get(row, "user_id")?,
        reaction: get(row, "reaction")?,
    })
}

impl Store {
    /// Records `reaction` (replacing the user's other reaction to the note, if any) and
    /// writes `outbox`, in one transaction whose commit wakes the delivery workers. If
    /// the user already reacted with the same reaction, nothing is written.
    pub async fn create_reaction(
        &self,
        reaction: &Reaction,
        outbox: Outbox,
    ) -> Result<ReactionWrite> {
        let store = self.clone();
        let reaction = reaction.clone();
        let done = self
            .commit(outbox, move |conn| {
                Box::pin(async move { store.write_reaction(conn, &reaction).await })
            })
            .await?;
        Ok(done.unwrap_or(ReactionWrite::AlreadyReacted))
    }

    /// `create_reaction`'s writes; `None` (roll back) if the user already reacted so.
    async fn write_reaction(
        &self,
        conn: &mut AnyConnection,
        reaction: &Reaction,
    ) -> Result<Option<ReactionWrite>> {
        let existing: Option<(String, String)> = self
            .query("SELECT id, reaction FROM note_reactions WHERE note_id = $1 AND user_id = $2")
            .bind(&reaction.note_id)
            .bind(&reaction.user_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| Ok::<_, crate::StoreError>((get(&row, "id")?, get(&row, "reaction")?)))
            .transpose()?;
        let outcome = match existing {
            Some((_, same)) if same == reaction.reaction => return Ok(None),
            Some((id, other)) => {
                self.query("DELETE FROM note_reactions WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                ReactionWrite::Replaced(other)
            }
            None => ReactionWrite::Created,
        };
        let inserted = self
            .query(
                "INSERT INTO note_reactions (id, note_id, user_id, reaction) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (note_id, user_id) DO NOTHING",
            )
            .bind(&reaction.id)
            .bind(&reaction.note_id)
            .bind(&reaction.user_id)
            .bind(&reaction.reaction)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if inserted == 0 {
            // The same user's reaction to the same note, committed meanwhile by another
            // request (PostgreSQL): theirs stands, as Misskey answers a duplicate key.
            return Ok(None);
        }
        Ok(Some(outcome))
    }

    /// Undoes `user_id`'s reaction to `note_id`. Returns the reaction undone, or `None`
    /// if there was none.
    pub async fn delete_reaction(&self, note_id: &str, user_id: &str) -> Result<Option<String>> {
        let store = self.clone();
        let (note_id, user_id) = (note_id.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                let row = store
                    .query("DELETE FROM note_reactions WHERE note_id = $1 AND user_id = $2 RETURNING reaction")
                    .bind(&note_id)
                    .bind(&user_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                // Undoing a reaction causes no event: there is no outbox.
                row.as_ref().map(|row| get(row, "reaction")).transpose()
            })
        })
        .await
    }

    /// The reactions of each of `note_ids` that has any, for packing.
    pub async fn note_reactions(
        &self,
        note_ids: &[String],
    ) -> Result<HashMap<String, NoteReactions>> {
        let mut out: HashMap<String, NoteReactions> = HashMap::new();
        for chunk in note_ids.chunks(IDS_PER_STATEMENT) {
            let list = placeholders(1, chunk.len());
            let counts = format!(
                "SELECT note_id, reaction, COUNT(*) AS n FROM note_reactions WHERE note_id IN ({list}) GROUP BY note_id, reaction"
            );
            let mut query = self.query(&counts);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                let note_id: String = get(&row, "note_id")?;
                out.entry(note_id)
                    .or_default()
                    .counts
                    .push((get(&row, "reaction")?, get(&row, "n")?));
            }
            // The newest pairs of each note, listed oldest first as they were added.
            let pairs = format!(
                "SELECT note_id, user_id, reaction FROM ( \
                   SELECT note_id, user_id, reaction, id, \
                     ROW_NUMBER() OVER (PARTITION BY note_id ORDER BY id DESC) AS newness \
                   FROM note_reactions WHERE note_id IN ({}) \
                 ) ranked WHERE newness <= $1 ORDER BY id",
                placeholders(2, chunk.len())
            );
            let mut query = self.query(&pairs).bind(PAIR_CACHE_MAX);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                let note_id: String = get(&row, "note_id")?;
                let user_id: String = get(&row, "user_id")?;
                let reaction: String = get(&row, "reaction")?;
                out.entry(note_id)
                    .or_default()
                    .pair_cache
                    .push(format!("{user_id}/{reaction}"));
            }
        }
        Ok(out)
    }

    /// `user_id`'s reactions to any of `note_ids`, by note id.
    pub async fn reactions_of_user(
        &self,
        user_id: &str,
        note_ids: &[String],
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in note_ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT note_id, reaction FROM note_reactions WHERE user_id = $1 AND note_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = self.query(&sql).bind(user_id);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                out.insert(get(&row, "note_id")?, get(&row, "reaction")?);
            }
        }
        Ok(out)
    }

    /// A page of the reactions to `note_id`: newest first, except that a page with
    /// only `since_id` starts from the oldest after it (Misskey's pagination).
    pub async fn reactions_to_note(
        &self,
        note_id: &str,
        page: &ReactionPage,
    ) -> Result<Vec<Reaction>> {
        let order = if page.since_id.is_some() && page.until_id.is_none() {
            "ASC"
        } else {
            "DESC"
        };
        let sql = format!(
            "SELECT id, note_id, user_id, reaction FROM note_reactions WHERE note_id = $1 \
             AND ($2 IS NULL OR reaction = $2) AND ($3 IS NULL OR id > $3) AND ($4 IS NULL OR id < $4) \
             ORDER BY id {order} LIMIT $5"
        );
        let rows = self
            .query(&sql)
            .bind(note_id)
            .bind(page.reaction.clone())
            .bind(page.since_id.clone())
            .bind(page.until_id.clone())
            .bind(page.limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(reaction_from_row).collect()
    }
}
