//! Accounts: `signup`, `signin-flow`, `admin/accounts/create` and `i`.

use axum::http::StatusCode;
use missive_core::packed::{self, MeSettings};
use missive_store::{NewUser, StoreError};
use serde::Serialize;

use crate::api::auth::{hash_password, new_token, token_hash, verify_password};
use crate::api::error::{ApiError, Kind};
use crate::api::params::{Len, Params};
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};

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
    create_account(ctx, &call.params).await
}

pub async fn admin_create(ctx: &Ctx, call: Call) -> ApiResult {
    // Allowed while no administrator exists (initial setup), and afterwards only to the administrator.
    if ctx.store.has_root_user().await? && !call.me.as_ref().is_some_and(|me| me.user.is_admin) {
        return Err(ApiError::client(
            "ACCESS_DENIED",
            "1fb7cb09-d46a-4fff-b8df-057708cce513",
            "Access denied.",
        ));
    }
    create_account(ctx, &call.params).await
}

async fn create_account(ctx: &Ctx, params: &Params) -> ApiResult {
    params.require("username")?;
    params.require("password")?;
    let username = params
        .string("username", Len::new(1, 20), false)?
        .unwrap_or_default();
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ApiError::invalid_param(
            "#/properties/username/pattern",
            "must match pattern \"^\\w{1,20}$\"",
        ));
    }
    let password = params
        .string("password", Len::new(1, 1024), false)?
        .unwrap_or_default();
    let token = new_token();
    let new = NewUser {
        id: ctx.new_id(),
        username,
        password_hash: hash_password(password).await?,
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
    let params = &call.params;
    params.require("username")?;
    let username = params
        .string("username", Len::new(0, 1024), false)?
        .unwrap_or_default();
    let password = params.string("password", Len::new(0, 1024), true)?;
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
    if !verify_password(password, credentials.password_hash).await? {
        return Err(signin_error(
            StatusCode::FORBIDDEN,
            "INCORRECT_PASSWORD",
            "932c904e-9460-45b7-9ce6-7ed33be7eb2c",
            "Incorrect password.",
        ));
    }
    Reply::json(&SigninAnswer::Finished {
        finished: true,
        id: credentials.user.id,
        i: credentials.token,
    })
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
