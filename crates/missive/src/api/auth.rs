//! Tokens and passwords: who is calling, and proving who you are.

use missive_core::model::User;
use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;
use crate::ctx::{Ctx, now_ms};
use crate::passwords::HashError;
use crate::rate_limit::Limited;

/// An authenticated caller. Every token missive issues is a native (full-rights) token.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
    /// The SHA-256 of the token this call came with (for revoking it).
    pub token_hash: String,
}

/// How long `last_active_at` may lag behind: one write per user per minute at most.
const ACTIVITY_RESOLUTION_MS: i64 = 60_000;

/// Finds the user a token belongs to. The token is looked up by its SHA-256, so the
/// database comparison leaks nothing about the token, then compared in constant time.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Me, ApiError> {
    let hash = token_hash(token);
    let Some((mut user, stored)) = ctx.store.user_by_token_hash(&hash).await? else {
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
    Ok(Me {
        user,
        token_hash: hash,
    })
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

/// Hashes a password on the bounded hashing pool; a full pool is a rate-limit error.
pub async fn hash_password(ctx: &Ctx, password: String) -> Result<String, ApiError> {
    ctx.passwords.hash(password).await.map_err(hashing_failed)
}

/// Checks a password against a stored hash on the bounded hashing pool.
pub async fn verify_password(ctx: &Ctx, password: String, hash: String) -> Result<bool, ApiError> {
    ctx.passwords
        .verify(password, hash)
        .await
        .map_err(hashing_failed)
}

/// A full pool is answered like a rate limit: come back in a second.
fn hashing_failed(e: HashError) -> ApiError {
    match e {
        HashError::Busy => ApiError::from(Limited {
            total: 0,
            reset_at_ms: now_ms() + 1_000,
        }),
        HashError::Failed(cause) => ApiError::internal(&cause),
    }
}
