//! Notes, their counters and their cascading deletion (reactions included).

use missive_core::model::Note;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{IDS_PER_STATEMENT, get, get_bool, join_ids, placeholders, split_ids};
use crate::conn::{Conn, Stmt};
use crate::{Outbox, Result, Store, StoreError};

const NOTE_COLUMNS: &str = "id, user_id, text, cw, visibility, local_only, reaction_acceptance, reply_id, renote_id, \
     reply_user_id, renote_user_id, mentions, visible_user_ids, replies_count, renote_count";

fn note_from_row(row: &AnyRow) -> Result<Note> {
    let visibility: String = get(row, "visibility")?;
    Ok(Note {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        text: get(row, "text")?,
        cw: get(row, "cw")?,
        visibility: visibility
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("visibility {visibility:?}")))?,
        local_only: get_bool(row, "local_only")?,
        reaction_acceptance: get(row, "reaction_acceptance")?,
        reply_id: get(row, "reply_id")?,
        renote_id: get(row, "renote_id")?,
        reply_user_id: get(row, "reply_user_id")?,
        renote_user_id: get(row, "renote_user_id")?,
        mentions: split_ids(&get::<String>(row, "mentions")?),
        visible_user_ids: split_ids(&get::<String>(row, "visible_user_ids")?),
        replies_count: get(row, "replies_count")?,
        renote_count: get(row, "renote_count")?,
    })
}

impl Store {
    /// Inserts a note, bumps the counters it affects and writes `outbox`, in one
    /// transaction whose commit wakes the delivery workers.
    pub async fn create_note(&self, note: &Note, outbox: Outbox) -> Result<()> {
        let store = self.clone();
        let note = note.clone();
        self.commit_hot(outbox, move |conn| {
            Box::pin(async move {
                store.insert_note(conn, &note).await?;
                Ok(Some(()))
            })
        })
        .await?;
        Ok(())
    }

    /// `create_note`'s own writes: the note and the counters it bumps.
    async fn insert_note(&self, conn: &mut Conn<'_>, note: &Note) -> Result<()> {
        let insert = Stmt::new(
            "INSERT INTO notes (id, user_id, text, cw, visibility, local_only, reaction_acceptance, reply_id, renote_id, \
             reply_user_id, renote_user_id, mentions, visible_user_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&note.id)
        .bind(&note.user_id)
        .bind(note.text.clone())
        .bind(note.cw.clone())
        .bind(note.visibility.as_str())
        .bind(i64::from(note.local_only))
        .bind(note.reaction_acceptance.clone())
        .bind(note.reply_id.clone())
        .bind(note.renote_id.clone())
        .bind(note.reply_user_id.clone())
        .bind(note.renote_user_id.clone())
        .bind(join_ids(&note.mentions))
        .bind(join_ids(&note.visible_user_ids));
        self.execute(conn, &insert).await?;
        let author = Stmt::new("UPDATE users SET notes_count = notes_count + 1 WHERE id = $1")
            .bind(&note.user_id);
        self.execute(conn, &author).await?;
        if let Some(reply_id) = &note.reply_id {
            let reply =
                Stmt::new("UPDATE notes SET replies_count = replies_count + 1 WHERE id = $1")
                    .bind(reply_id);
            self.execute(conn, &reply).await?;
        }
        if let Some(renote_id) = &note.renote_id {
            let renote =
                Stmt::new("UPDATE notes SET renote_count = renote_count + 1 WHERE id = $1")
                    .bind(renote_id);
            self.execute(conn, &renote).await?;
        }
        Ok(())
    }

    pub async fn note_by_id(&self, id: &str) -> Result<Option<Note>> {
        let sql = format!("SELECT {NOTE_COLUMNS} FROM notes WHERE id = $1");
        let row = self.query(&sql).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(note_from_row).transpose()
    }

    /// The notes among `ids` that exist, in no particular order.
    pub async fn notes_by_ids(&self, ids: &[String]) -> Result<Vec<Note>> {
        let select = format!("SELECT {NOTE_COLUMNS} FROM notes WHERE id IN");
        self.read_in(&select, ids, note_from_row).await
    }

    /// The newest notes written by any of `authors`, newest first, older than `until_id` if given.
    pub async fn notes_by_authors(
        &self,
        authors: &[String],
        until_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Note>> {
        // Each chunk of authors gives its newest `limit`; the newest `limit` of all of
        // them are among those.
        let mut notes = Vec::new();
        for chunk in authors.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {NOTE_COLUMNS} FROM notes WHERE user_id IN ({}) AND ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
                placeholders(3, chunk.len())
            );
            let mut query = self
                .query(&sql)
                .bind(until_id.map(str::to_owned))
                .bind(limit);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.read).await? {
                notes.push(note_from_row(&row)?);
            }
        }
        if authors.len() > IDS_PER_STATEMENT {
            notes.sort_by(|a: &Note, b: &Note| b.id.cmp(&a.id));
            notes.truncate(usize::try_from(limit).unwrap_or(0));
        }
        Ok(notes)
    }

    /// Deletes a note and, as Misskey's foreign keys do, every reply and renote of it,
    /// recursively; counters are adjusted for everything deleted. Returns the deleted ids.
    pub async fn delete_note(&self, id: &str) -> Result<Vec<String>> {
        let store = self.clone();
        let id = id.to_owned();
        self.write(move |conn| Box::pin(async move { store.delete_note_tree(conn, &id).await }))
            .await
    }

    async fn delete_note_tree(&self, conn: &mut AnyConnection, id: &str) -> Result<Vec<String>> {
        let rows = self
            .query(
                "WITH RECURSIVE doomed(id) AS (SELECT id FROM notes WHERE id = $1 \
                   UNION SELECT n.id FROM notes n JOIN doomed d ON n.reply_id = d.id OR n.renote_id = d.id) \
                 SELECT n.id, n.user_id, n.reply_id, n.renote_id FROM notes n JOIN doomed d ON n.id = d.id",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        let mut doomed = Vec::with_capacity(rows.len());
        for row in &rows {
            doomed.push((
                get::<String>(row, "id")?,
                get::<String>(row, "user_id")?,
                get::<Option<String>>(row, "reply_id")?,
                get::<Option<String>>(row, "renote_id")?,
            ));
        }
        let ids: Vec<String> = doomed.iter().map(|(id, ..)| id.clone()).collect();
        for (note_id, user_id, reply_id, renote_id) in &doomed {
            self.query("DELETE FROM notes WHERE id = $1")
                .bind(note_id)
                .execute(&mut *conn)
                .await?;
            self.query("DELETE FROM note_reactions WHERE note_id = $1")
                .bind(note_id)
                .execute(&mut *conn)
                .await?;
            self.query("UPDATE users SET notes_count = notes_count - 1 WHERE id = $1")
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            if let Some(parent) = reply_id.as_ref().filter(|p| !ids.contains(p)) {
                self.query("UPDATE notes SET replies_count = replies_count - 1 WHERE id = $1")
                    .bind(parent)
                    .execute(&mut *conn)
                    .await?;
            }
            if let Some(target) = renote_id.as_ref().filter(|t| !ids.contains(t)) {
                self.query("UPDATE notes SET renote_count = renote_count - 1 WHERE id = $1")
                    .bind(target)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(ids)
    }
}
