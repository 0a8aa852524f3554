//! `users/show`: one user by id or username, or several by ids.

use axum::http::StatusCode;
use missive_core::model::User;
use missive_core::packed;
use serde_json::Value;

use crate::api::account::me_settings;
use crate::api::error::ApiError;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};

fn no_such_user() -> ApiError {
    ApiError::client(
        "NO_SUCH_USER",
        "4362f8dc-731f-4ad8-a694-be5a88922a24",
        "No such user.",
    )
    .with_status(StatusCode::NOT_FOUND)
}

pub async fn show(ctx: &Ctx, call: Call) -> ApiResult {
    let p = call.check()?;
    let viewer = call.me.as_ref().map(|me| &me.user);
    if let Some(ids) = p.ids("userIds") {
        let found = ctx.store.users_by_ids(&ids).await?;
        let mut out = Vec::with_capacity(found.len());
        for id in &ids {
            if let Some(user) = found.iter().find(|u| &u.id == id) {
                out.push(pack_detailed(ctx, user, viewer).await?);
            }
        }
        return Reply::json(&out);
    }
    let user_id = p.str("userId");
    let username = p.str("username");
    let host = p.str("host");
    let user = match (user_id, username) {
        (Some(id), _) => ctx.store.user_by_id(&id).await?,
        (None, Some(name)) => {
            // Only local users exist here: a foreign host names nobody.
            let local = host
                .as_deref()
                .is_none_or(|h| h.eq_ignore_ascii_case(&ctx.config.origin.host));
            if local {
                ctx.store.user_by_username(&name).await?
            } else {
                None
            }
        }
        // The schema's `anyOf` requires one of the three.
        (None, None) => None,
    };
    let user = user.ok_or_else(no_such_user)?;
    Reply::json(&pack_detailed(ctx, &user, viewer).await?)
}

/// `MeDetailed` (without secrets) for yourself, `UserDetailedNotMe` for anyone else, with
/// the moderator's keys when the viewer is the administrator.
async fn pack_detailed(ctx: &Ctx, user: &User, viewer: Option<&User>) -> Result<Value, ApiError> {
    let now = now_ms();
    let value = match viewer {
        Some(me) if me.id == user.id => serde_json::to_value(packed::me_detailed(
            user,
            &ctx.config.origin,
            now,
            me_settings(ctx, false),
        )),
        Some(me) => {
            let relation = ctx.store.relation(&me.id, &user.id).await?;
            serde_json::to_value(
                packed::user_detailed_not_me(user, &ctx.config.origin, now, Some(relation))
                    .seen_by_moderator(me.is_admin),
            )
        }
        None => serde_json::to_value(packed::user_detailed_not_me(
            user,
            &ctx.config.origin,
            now,
            None,
        )),
    };
    value.map_err(|e| ApiError::internal(&e))
}
