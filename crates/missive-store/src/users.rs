//! Accounts and their tokens.

use missive_core::model::User;
use sqlx::any::AnyRow;

use crate::codec::{get, get_bool};
use crate::{Result, Store};

const USER_COLUMNS: &str = "id, username, name, is_admin, followers_count, following_count, notes_count, last_active_at, logged_in_days";

/// An account to create. The token is stored with its SHA-256 so that it can be looked
/// up by hash and compared in constant time by the caller.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub token: String,
    pub token_hash: String,
}

/// What sign-in needs.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub token: String,
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        username: get(row, "username")?,
        name: get(row, "name")?,
        is_admin: get_bool(row, "is_admin")?,
        followers_count: get(row, "followers_count")?,
        following_count: get(row, "following_count")?,
        notes_count: get(row, "notes_count")?,
        last_active_at_ms: get(row, "last_active_at")?,
        logged_in_days: get(row, "logged_in_days")?,
    })
}

impl Store {
    /// Creates an account. The first account ever created becomes the administrator
    /// (the `root_user_id` row is claimed in the same transaction, so two concurrent first
    /// sign-ups cannot both win). A taken username is `StoreError::Conflict`.
    pub async fn create_user(&self, new: &NewUser) -> Result<User> {
        let store = self.clone();
        let new_user = new.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let new = &new_user;
                let claimed_root = store
                    .query("INSERT INTO instance (key, value) VALUES ('root_user_id', $1) ON CONFLICT (key) DO NOTHING")
                    .bind(&new.id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
                    == 1;
                store
                    .query(
                        "INSERT INTO users (id, username, username_lower, password_hash, token, token_hash, is_admin) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&new.id)
                    .bind(&new.username)
                    .bind(new.username.to_lowercase())
                    .bind(&new.password_hash)
                    .bind(&new.token)
                    .bind(&new.token_hash)
                    .bind(i64::from(claimed_root))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await?;
        self.user_by_id(&new.id)
            .await?
            .ok_or_else(|| crate::StoreError::Other("user vanished after insert".into()))
    }

    /// Whether the first (administrator) account exists.
    pub async fn has_root_user(&self) -> Result<bool> {
        let row = self
            .query("SELECT COUNT(*) AS n FROM instance WHERE key = 'root_user_id'")
            .fetch_one(&self.read)
            .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = self.query(&sql).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The users among `ids` that exist, in no particular order.
    pub async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>> {
        let select = format!("SELECT {USER_COLUMNS} FROM users WHERE id IN");
        self.read_in(&select, ids, user_from_row).await
    }

    /// Looks a user up by username, case-insensitively.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_lower = $1");
        let row = self
            .query(&sql)
            .bind(username.to_lowercase())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Resolves usernames (case-insensitively) to users; unknown names are skipped.
    pub async fn users_by_usernames(&self, usernames: &[String]) -> Result<Vec<User>> {
        let lower: Vec<String> = usernames.iter().map(|name| name.to_lowercase()).collect();
        let select = format!("SELECT {USER_COLUMNS} FROM users WHERE username_lower IN");
        self.read_in(&select, &lower, user_from_row).await
    }

    pub async fn credentials_by_username(&self, username: &str) -> Result<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, password_hash, token FROM users WHERE username_lower = $1"
        );
        let row = self
            .query(&sql)
            .bind(username.to_lowercase())
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Credentials {
            user: user_from_row(&row)?,
            password_hash: get(&row, "password_hash")?,
            token: get(&row, "token")?,
        }))
    }

    /// The user whose token hashes to `token_hash`, with the stored token for a
    /// constant-time comparison.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS}, token FROM users WHERE token_hash = $1");
        let row = self
            .query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((user_from_row(&row)?, get(&row, "token")?)))
    }

    /// Replaces a user's token if `old_token_hash` is still the current one's hash.
    /// Every request looks its token up afresh, so the old token stops working at once
    /// on every node. Returns whether the token was replaced.
    pub async fn replace_token(
        &self,
        id: &str,
        old_token_hash: &str,
        token: &str,
        token_hash: &str,
    ) -> Result<bool> {
        let replaced = self
            .execute_write(
                "UPDATE users SET token = $3, token_hash = $4 WHERE id = $1 AND token_hash = $2",
                vec![
                    id.into(),
                    old_token_hash.into(),
                    token.into(),
                    token_hash.into(),
                ],
            )
            .await?;
        Ok(replaced == 1)
    }

    /// The stored password hash of a user, for re-checking a password.
    pub async fn password_hash(&self, id: &str) -> Result<Option<String>> {
        let row = self
            .query("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| get(&row, "password_hash")).transpose()
    }

    /// Records API activity (drives `onlineStatus`).
    pub async fn touch_user(&self, id: &str, now_ms: i64) -> Result<()> {
        self.execute_write(
            "UPDATE users SET last_active_at = $2 WHERE id = $1",
            vec![id.into(), now_ms.into()],
        )
        .await?;
        Ok(())
    }

    /// Counts a new day on which the user called `i` (Misskey's `loggedInDays`).
    pub async fn record_login_day(&self, id: &str, day: i64) -> Result<()> {
        self.execute_write(
            "UPDATE users SET logged_in_days = logged_in_days + 1, last_logged_in_day = $2 \
             WHERE id = $1 AND (last_logged_in_day IS NULL OR last_logged_in_day < $2)",
            vec![id.into(), day.into()],
        )
        .await?;
        Ok(())
    }

    /// All users, newest first, for the web pages' user list.
    pub async fn recent_users(&self, limit: i64) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id DESC LIMIT $1");
        self.query(&sql)
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }
}
