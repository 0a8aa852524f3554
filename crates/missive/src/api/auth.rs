//! Tokens and passwords: who is calling, and proving who you are.

use missive_core::model::User;
use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;
use crate::ctx::{Ctx, now_ms};

/// An authenticated caller. Every token missive issues is a native (full-rights) token.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
}

/// How long `last_active_at` may lag behind: one write per user per minute at most.
const ACTIVITY_RESOLUTION_MS: i64 = 60_000;

/// Finds the user a token belongs to. The token is looked up by its SHA-256, so the
/// database comparison leaks nothing about the token, then compared in constant time.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Me, ApiError> {
    let Some((mut user, stored)) = ctx.store.user_by_token_hash(&token_hash(token)).await? else {
        return Err(ApiError::authentication_failed());
    };
    if !bool::from(stored.as_bytes().ct_eq(token.as_bytes())) {
        return Err(ApiError::authentication_failed());
    }
    let now = now_ms();
    if user
        .last_active_at_ms
        .is_none_or(|last| now - last > ACTIVITY_RESOLUTION_MS)
    {
        ctx.store.touch_user(&user.id, now).await?;
        user.last_active_at_ms = Some(now);
    }
    Ok(Me { user })
}

/// A Misskey-style native token: 16 random alphanumeric characters.
pub fn new_token() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect()
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hashes a password with Argon2id (on a blocking thread: it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::internal(&e))
}

/// Checks a password against a stored Argon2 hash (on a blocking thread).
pub async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| ApiError::internal(&e))
}
