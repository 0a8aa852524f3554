//! Accounts: `signup`, `signin-flow`, `admin/accounts/create`, `i`, and the native
//! token's `i/regenerate-token` and `i/revoke-token`.

use axum::http::StatusCode;
use missive_core::packed::{self, MeSettings};
use missive_core::username;
use missive_store::{NewUser, StoreError};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::api::auth::{hash_password, new_token, token_hash, verify_password};
use crate::api::error::{ApiError, Kind};
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};
use crate::rate_limit::{Scope, address_key};

/// `MeDetailed` plus the new account's token, as `signup` and `admin/accounts/create` answer.
#[derive(Serialize)]
struct MeWithToken {
    #[serde(flatten)]
    me: packed::MeDetailed,
    token: String,
}

pub async fn signup(ctx: &Ctx, call: Call) -> ApiResult {
    if !ctx.config.signup_open {
        return Err(ApiError::client(
            "SIGNUP_DISABLED",
            "7d8f4b0e-2b5a-4d8c-9a43-3f1f6e0c2a51",
            "Sign-up is closed on this server.",
        ));
    }
    ctx.rate_limiter
        .check(Scope::Signup, &address_key(call.client))?;
    let first = !ctx.store.has_root_user().await?;
    // As in Misskey, the first account (the administrator) may take a reserved name.
    create_account(ctx, &call, first).await
}

pub async fn admin_create(ctx: &Ctx, call: Call) -> ApiResult {
    // Allowed while no administrator exists (initial setup), and afterwards only to the administrator.
    let by_admin = call.me.as_ref().is_some_and(|me| me.user.is_admin);
    if !by_admin {
        if ctx.store.has_root_user().await? {
            return Err(ApiError::client(
                "ACCESS_DENIED",
                "1fb7cb09-d46a-4fff-b8df-057708cce513",
                "Access denied.",
            ));
        }
        ctx.rate_limiter
            .check(Scope::Signup, &address_key(call.client))?;
    }
    // The administrator hands out reserved names, as in Misskey.
    create_account(ctx, &call, true).await
}

async fn create_account(ctx: &Ctx, call: &Call, may_take_reserved: bool) -> ApiResult {
    let p = call.check()?;
    let username = p.required_str("username");
    let password = p.required_str("password");
    if !may_take_reserved && username::is_reserved(&username) {
        return Err(ApiError::client(
            "USED_USERNAME",
            "2e5ba9c4-1d3f-4c8b-9f0e-6a7b8c9d0e12",
            "This username is reserved.",
        ));
    }
    let token = new_token();
    let new = NewUser {
        id: ctx.new_id(),
        username,
        password_hash: hash_password(ctx, password).await?,
        token_hash: token_hash(&token),
        token: token.clone(),
    };
    let user = match ctx.store.create_user(&new).await {
        Ok(user) => user,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::client(
                "DUPLICATED_USERNAME",
                "4c0a6f7e-4d4b-4b8e-bb8c-1f6f1d6f0e31",
                "This username is already taken.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let me = packed::me_detailed(&user, &ctx.config.origin, now_ms(), me_settings(ctx, true));
    Reply::json(&MeWithToken { me, token })
}

#[derive(Serialize)]
#[serde(untagged)]
enum SigninAnswer {
    Finished {
        finished: bool,
        id: String,
        i: String,
    },
    Next {
        finished: bool,
        next: &'static str,
    },
}

pub async fn signin_flow(ctx: &Ctx, call: Call) -> ApiResult {
    let p = call.check()?;
    let username = p.required_str("username");
    let password = p.str("password");
    let Some(credentials) = ctx.store.credentials_by_username(&username).await? else {
        return Err(signin_error(
            StatusCode::NOT_FOUND,
            "NO_SUCH_USER",
            "6cc579cc-885d-43d8-95c2-b8c7fc963280",
            "No such user.",
        ));
    };
    let Some(password) = password else {
        return Reply::json(&SigninAnswer::Next {
            finished: false,
            next: "password",
        });
    };
    // Every password check counts, against the address and against the account, before
    // the (deliberately slow) hash is computed.
    ctx.rate_limiter
        .check(Scope::SigninFromAddress, &address_key(call.client))?;
    ctx.rate_limiter
        .check(Scope::SigninToAccount, &credentials.user.id)?;
    if !verify_password(ctx, password, credentials.password_hash).await? {
        return Err(incorrect_password());
    }
    Reply::json(&SigninAnswer::Finished {
        finished: true,
        id: credentials.user.id,
        i: credentials.token,
    })
}

fn incorrect_password() -> ApiError {
    signin_error(
        StatusCode::FORBIDDEN,
        "INCORRECT_PASSWORD",
        "932c904e-9460-45b7-9ce6-7ed33be7eb2c",
        "Incorrect password.",
    )
}

/// `i/regenerate-token`: a new native token after the password is checked again; the old
/// token stops working at once. Misskey answers a wrong password with a 500; missive
/// answers `INCORRECT_PASSWORD` as `signin-flow` does.
pub async fn regenerate_token(ctx: &Ctx, call: Call) -> ApiResult {
    let me = call.user()?;
    let password = call.check()?.required_str("password");
    ctx.rate_limiter
        .check(Scope::SigninToAccount, &me.user.id)?;
    let hash = ctx
        .store
        .password_hash(&me.user.id)
        .await?
        .ok_or_else(ApiError::authentication_failed)?;
    if !verify_password(ctx, password, hash).await? {
        return Err(incorrect_password().with_status(StatusCode::BAD_REQUEST));
    }
    replace_token(ctx, me).await
}

/// `i/revoke-token`: revokes the given token. Every token missive issues is the account's
/// native token, so `token` naming the caller's own signs it out (a new token is stored
/// for the next sign-in); any other token or `tokenId` names nothing, as in Misskey.
pub async fn revoke_token(ctx: &Ctx, call: Call) -> ApiResult {
    let me = call.user()?;
    // `tokenId` names no token missive issues: only `token` can match.
    if let Some(token) = call.check()?.str("token") {
        let given = token_hash(&token);
        if bool::from(given.as_bytes().ct_eq(me.token_hash.as_bytes())) {
            return replace_token(ctx, me).await;
        }
    }
    Ok(Reply::NoContent)
}

async fn replace_token(ctx: &Ctx, me: &crate::api::auth::Me) -> ApiResult {
    let token = new_token();
    let replaced = ctx
        .store
        .replace_token(&me.user.id, &me.token_hash, &token, &token_hash(&token))
        .await?;
    if !replaced {
        // Revoked meanwhile by another request: the caller's token is no longer valid.
        return Err(ApiError::authentication_failed());
    }
    Ok(Reply::NoContent)
}

/// Misskey's sign-in errors carry only an `id`; missive adds `code`, `message` and `kind`
/// so that clients reading either shape understand them.
fn signin_error(
    status: StatusCode,
    code: &'static str,
    id: &'static str,
    message: &str,
) -> ApiError {
    ApiError {
        status,
        code,
        id,
        message: message.to_owned(),
        kind: Kind::Client,
        info: None,
    }
}

pub async fn i(ctx: &Ctx, call: Call) -> ApiResult {
    let me = call.user()?;
    let now = now_ms();
    ctx.store
        .record_login_day(&me.user.id, now / 86_400_000)
        .await?;
    let user = ctx
        .store
        .user_by_id(&me.user.id)
        .await?
        .ok_or_else(ApiError::authentication_failed)?;
    Reply::json(&packed::me_detailed(
        &user,
        &ctx.config.origin,
        now,
        me_settings(ctx, true),
    ))
}

pub fn me_settings(ctx: &Ctx, with_secrets: bool) -> MeSettings {
    MeSettings {
        webhook_limit: ctx.config.webhook_limit,
        mention_limit: MENTION_LIMIT,
        with_secrets,
    }
}

/// Misskey's default role policy `mentionLimit`.
pub const MENTION_LIMIT: u32 = 20;
