//! `notes/reactions/create`, `notes/reactions/delete` and `notes/reactions`: one reaction
//! per user and note, stored as Misskey stores it (`missive_core::reaction`), and the
//! `reaction` event for the note's author (missive's extension).

use missive_core::emission::{self, Body};
use missive_core::model::{Note, User};
use missive_core::packed::{self, NoteOptions, NoteTree, Viewer};
use missive_core::reaction::{self, Reaction};
use missive_core::time::iso8601_ms;
use missive_core::{id, model::Visibility};
use missive_store::{Outbox, ReactionPage, ReactionWrite, StoreError};
use serde_json::{Value, json};

use crate::api::error::ApiError;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};
use crate::{fanout, view};

fn error(code: &'static str, id: &'static str, message: &str) -> ApiError {
    ApiError::client(code, id, message)
}

fn already_reacted() -> ApiError {
    error(
        "ALREADY_REACTED",
        "71efcf98-86d6-4e2b-b2ad-9d032369366b",
        "You are already reacting to that note.",
    )
}

pub async fn create(ctx: &Ctx, call: Call) -> ApiResult {
    let me = call.user()?.user.clone();
    let p = call.check()?;
    let note_id = p.required_str("noteId");
    let requested = p.required_str("reaction");
    let no_such_note = || {
        error(
            "NO_SUCH_NOTE",
            "033d0620-5bfe-4027-965d-980b0c85a3ea",
            "No such note.",
        )
    };
    let Some(note) = ctx.store.note_by_id(&note_id).await? else {
        return Err(no_such_note());
    };
    // Misskey fails with an internal error here; a note the caller may not see is
    // answered as if it did not exist, which tells them nothing more.
    if !may_see(ctx, &me.id, &note).await? {
        return Err(no_such_note());
    }
    if note.is_pure_renote() {
        return Err(error(
            "CANNOT_REACT_TO_RENOTE",
            "eaccdc08-ddef-43fe-908f-d108faad57f5",
            "You cannot react to Renote.",
        ));
    }
    let stored = reaction::stored_reaction(&requested, note.reaction_acceptance.as_deref());
    let previous = ctx
        .store
        .reactions_of_user(&me.id, std::slice::from_ref(&note.id))
        .await?
        .remove(&note.id);
    // Checked here too (the store checks again in its transaction), so that a repeated
    // reaction does not use up the throttle's slot for the note.
    if previous.as_deref() == Some(stored.as_str()) {
        return Err(already_reacted());
    }
    let record = Reaction {
        id: ctx.new_id(),
        note_id: note.id.clone(),
        user_id: me.id.clone(),
        reaction: stored,
    };
    let emissions = emission::reacted(&note.user_id, &me.id);
    let mut outbox = Outbox::default();
    if !emissions.is_empty() {
        let mut tree = view::note_tree(ctx, note.clone(), None).await?;
        tree.reactions =
            tree.reactions
                .with_reaction(&me.id, &record.reaction, previous.as_deref());
        let pack =
            |body, recipient| reaction_body(ctx, &tree, body, recipient, &me, &record.reaction);
        outbox = fanout::outbox(ctx, emissions, pack).await?;
        ctx.reaction_throttle.apply(&note.id, &mut outbox);
    }
    match ctx.store.create_reaction(&record, outbox).await? {
        ReactionWrite::AlreadyReacted => Err(already_reacted()),
        ReactionWrite::Created | ReactionWrite::Replaced(_) => Ok(Reply::NoContent),
    }
}

/// Whether `user_id` may see `note` (Misskey's `isVisibleForMe`).
async fn may_see(ctx: &Ctx, user_id: &str, note: &Note) -> Result<bool, StoreError> {
    let following = if note.visibility == Visibility::Followers && note.user_id != user_id {
        ctx.store
            .followed_among(user_id, std::slice::from_ref(&note.user_id))
            .await?
    } else {
        Default::default()
    };
    let viewer = Viewer {
        id: user_id.to_owned(),
        following,
        reactions: Default::default(),
    };
    Ok(packed::is_visible_to(note, Some(&viewer)))
}

/// The `{note, user, reaction}` body of a `reaction` delivery: the note packed in
/// detail for its author (the recipient), as Misskey packs a `reaction` notification.
async fn reaction_body(
    ctx: &Ctx,
    tree: &NoteTree,
    body: Body,
    recipient: String,
    reactor: &User,
    reaction: &str,
) -> Result<Value, StoreError> {
    debug_assert_eq!(body, Body::Reaction);
    let viewer = view::viewer(ctx, &recipient, &[tree]).await?;
    let now = now_ms();
    let note = packed::note(
        tree,
        Some(&viewer),
        NoteOptions::DETAIL,
        &ctx.config.origin,
        now,
    );
    let user = packed::user_lite(reactor, &ctx.config.origin, now);
    Ok(json!({ "note": note, "user": user, "reaction": reaction }))
}

pub async fn delete(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let note_id = call.check()?.required_str("noteId");
    if ctx.store.note_by_id(&note_id).await?.is_none() {
        return Err(error(
            "NO_SUCH_NOTE",
            "764d9fce-f9f2-4a0e-92b1-6ceac9a7ad37",
            "No such note.",
        ));
    }
    match ctx.store.delete_reaction(&note_id, &me.id).await? {
        Some(_) => Ok(Reply::NoContent),
        None => Err(error(
            "NOT_REACTED",
            "92f4426d-4196-4125-aa5b-02943e2ec8fc",
            "You are not reacting to that note.",
        )),
    }
}

/// The reactions to a note as Misskey's `NoteReaction` objects, newest first.
pub async fn list(ctx: &Ctx, call: Call) -> ApiResult {
    let p = call.check()?;
    let note_id = p.required_str("noteId");
    let page = ReactionPage {
        reaction: p.str("type").filter(|t| !t.is_empty()),
        since_id: p.str("sinceId"),
        until_id: p.str("untilId"),
        limit: p.int("limit").unwrap_or(10),
    };
    // Misskey lists the reactions to any note, even one the caller may not see, and
    // answers `[]` for a note that does not exist; missive answers `[]` for both.
    let visible = match ctx.store.note_by_id(&note_id).await? {
        None => false,
        Some(note) => match &call.me {
            Some(me) => may_see(ctx, &me.user.id, &note).await?,
            None => packed::is_visible_to(&note, None),
        },
    };
    if !visible {
        return Reply::json(&Vec::<Value>::new());
    }
    let reactions = ctx.store.reactions_to_note(&note_id, &page).await?;
    let mut user_ids: Vec<String> = reactions.iter().map(|r| r.user_id.clone()).collect();
    user_ids.sort();
    user_ids.dedup();
    let users = ctx.store.users_by_ids(&user_ids).await?;
    let now = now_ms();
    let packed: Vec<Value> = reactions
        .iter()
        .filter_map(|r| {
            let user = users.iter().find(|u| u.id == r.user_id)?;
            Some(json!({
                "id": r.id,
                "createdAt": iso8601_ms(id::created_at_ms(&r.id).unwrap_or(0)),
                "user": packed::user_lite(user, &ctx.config.origin, now),
                "type": r.reaction,
            }))
        })
        .collect();
    Reply::json(&packed)
}
