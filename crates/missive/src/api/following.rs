//! `following/create` and `following/delete`, with the `follow`, `followed` and
//! `unfollow` events they cause.

use missive_core::emission::{self, Body};
use missive_core::model::User;
use missive_core::packed::{self, Relation};
use missive_store::Outbox;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};
use crate::fanout;

/// The error ids, which Misskey gives each endpoint its own of.
struct Errors {
    yourself: &'static str,
    no_such_user: &'static str,
}

pub async fn create(ctx: &Ctx, call: Call) -> ApiResult {
    let errors = Errors {
        yourself: "26fbe7bb-a331-4857-af17-205b426669a9",
        no_such_user: "fcd2eef9-a9b2-4c4f-8624-038099e90aa5",
    };
    let already = || {
        ApiError::client(
            "ALREADY_FOLLOWING",
            "35387507-38c7-4cb9-9197-300b93783fa0",
            "You are already following that user.",
        )
    };
    let (me, followee, relation) = parties(ctx, &call, &errors).await?;
    if relation.is_following {
        return Err(already());
    }
    let after = After::new(me, &followee, relation, 1);
    let outbox = follow_outbox(ctx, emission::followed(&me.id, &followee.id), &after).await?;
    if !ctx
        .store
        .create_follow(&me.id, &followee.id, now_ms(), outbox)
        .await?
    {
        return Err(already());
    }
    answer(ctx, &after)
}

pub async fn delete(ctx: &Ctx, call: Call) -> ApiResult {
    let errors = Errors {
        yourself: "d9e400b9-36b0-4808-b1d8-79e707f1296c",
        no_such_user: "5b12c78d-2b28-4dca-99d2-f56139b42ff8",
    };
    let not_following = || {
        ApiError::client(
            "NOT_FOLLOWING",
            "5dbf82f5-c92b-40b1-87d1-6c8c0741fd09",
            "You are not following that user.",
        )
    };
    let (me, followee, relation) = parties(ctx, &call, &errors).await?;
    if !relation.is_following {
        return Err(not_following());
    }
    let after = After::new(me, &followee, relation, -1);
    let outbox = follow_outbox(ctx, emission::unfollowed(&me.id), &after).await?;
    if !ctx
        .store
        .delete_follow(&me.id, &followee.id, outbox)
        .await?
    {
        return Err(not_following());
    }
    answer(ctx, &after)
}

/// The caller, the user named by `userId`, and how the caller relates to them.
async fn parties<'c>(
    ctx: &Ctx,
    call: &'c Call,
    errors: &Errors,
) -> Result<(&'c User, User, Relation), ApiError> {
    let me = &call.user()?.user;
    let followee_id = call.check()?.required_str("userId");
    if followee_id == me.id {
        return Err(ApiError::client(
            "FOLLOWEE_IS_YOURSELF",
            errors.yourself,
            "Followee is yourself.",
        ));
    }
    let Some(followee) = ctx.store.user_by_id(&followee_id).await? else {
        return Err(ApiError::client(
            "NO_SUCH_USER",
            errors.no_such_user,
            "No such user.",
        ));
    };
    let relation = ctx.store.relation(&me.id, &followee.id).await?;
    Ok((me, followee, relation))
}

/// Both users and their relation as they are once the follow is created (`delta` 1) or
/// deleted (`delta` -1): the bodies and the answer show the counters after the change.
struct After {
    follower: User,
    followee: User,
    relation: Relation,
}

impl After {
    fn new(follower: &User, followee: &User, relation: Relation, delta: i64) -> After {
        After {
            follower: User {
                following_count: follower.following_count + delta,
                ..follower.clone()
            },
            followee: User {
                followers_count: followee.followers_count + delta,
                ..followee.clone()
            },
            relation: Relation {
                is_following: delta > 0,
                is_followed: relation.is_followed,
            },
        }
    }
}

/// Answers the followee as `UserLite`.
fn answer(ctx: &Ctx, after: &After) -> ApiResult {
    Reply::json(&packed::user_lite(
        &after.followee,
        &ctx.config.origin,
        now_ms(),
    ))
}

/// The outbox of a follow or unfollow, with its `{user}` bodies: the followee as the
/// follower sees them, or the follower.
async fn follow_outbox(
    ctx: &Ctx,
    emissions: Vec<emission::Emission>,
    after: &After,
) -> missive_store::Result<Outbox> {
    let After {
        follower,
        followee,
        relation,
    } = after;
    let origin = &ctx.config.origin;
    let now = now_ms();
    let pack = |body, _recipient| async move {
        let user = match body {
            // Packed as the follower sees the followee, moderator keys included.
            Body::Followee => json!(
                packed::user_detailed_not_me(followee, origin, now, Some(*relation))
                    .seen_by_moderator(follower.is_admin)
            ),
            _ => json!(packed::user_lite(follower, origin, now)),
        };
        Ok(json!({ "user": user }))
    };
    fanout::outbox(ctx, emissions, pack).await
}
