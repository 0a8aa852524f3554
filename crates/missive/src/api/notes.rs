//! `notes/create`, `notes/show`, `notes/delete`, and the note lists the web pages use.

use std::collections::HashMap;

use missive_core::emission::{self, Body};
use missive_core::mention::extract_mentions;
use missive_core::model::{Note, Visibility};
use missive_core::packed::{self, NoteOptions, NoteTree, Viewer};
use serde_json::json;

use crate::api::account::MENTION_LIMIT;
use crate::api::error::ApiError;
use crate::api::params::{Len, MAX_USER_IDS, Params, is_js_whitespace};
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};
use crate::fanout::Plan;
use crate::view;

/// Misskey's `MAX_NOTE_TEXT_LENGTH`.
const MAX_TEXT: usize = 3000;
const VISIBILITIES: &[&str] = &["public", "home", "followers", "specified"];
const REACTION_ACCEPTANCES: &[&str] = &[
    "likeOnly",
    "likeOnlyForRemote",
    "nonSensitiveOnly",
    "nonSensitiveOnlyForLocalLikeOnlyForRemote",
];

fn error(code: &'static str, id: &'static str, message: &str) -> ApiError {
    ApiError::client(code, id, message)
}

/// The parameters of `notes/create`, validated.
struct Draft {
    visibility: Visibility,
    visible_user_ids: Vec<String>,
    cw: Option<String>,
    local_only: bool,
    reaction_acceptance: Option<String>,
    no_extract_mentions: bool,
    reply_id: Option<String>,
    renote_id: Option<String>,
    text: Option<String>,
}

fn parse_draft(p: &Params) -> Result<Draft, ApiError> {
    // Misskey's schema: unless a renote, files or a poll carry the note, `text` is required
    // and must hold a non-space character. Ajv reports that conditional first.
    let carried = !(p.is_missing("renoteId")
        && p.is_missing("fileIds")
        && p.is_missing("mediaIds")
        && p.is_missing("poll"));
    if !carried {
        let then = p.within("#/then");
        then.require("text")?;
        then.non_blank_string("text", Len::new(1, MAX_TEXT), false)?;
    }
    let visibility = p
        .one_of("visibility", VISIBILITIES, false)?
        .map_or(Visibility::Public, |v| {
            v.parse().unwrap_or(Visibility::Public)
        });
    let visible_user_ids = p
        .id_list("visibleUserIds", Len::new(0, MAX_USER_IDS), true)?
        .unwrap_or_default();
    let cw = p.string("cw", Len::new(1, 100), true)?;
    let local_only = p.boolean("localOnly")?.unwrap_or(false);
    let reaction_acceptance = p.one_of("reactionAcceptance", REACTION_ACCEPTANCES, true)?;
    let no_extract_mentions = p.boolean("noExtractMentions")?.unwrap_or(false);
    p.boolean("noExtractHashtags")?;
    p.boolean("noExtractEmojis")?;
    let reply_id = p.id("replyId", true)?;
    let renote_id = p.id("renoteId", true)?;
    let channel_id = p.id("channelId", true)?;
    let text = p.string("text", Len::new(1, MAX_TEXT), true)?;
    let file_ids = p.id_list("fileIds", Len::new(1, 16), true)?;
    let media_ids = p.id_list("mediaIds", Len::new(1, 16), true)?;
    if file_ids.is_some() || media_ids.is_some() {
        // missive has no drive: no file id can name a file.
        return Err(error(
            "NO_SUCH_FILE",
            "b6992544-63e7-67f0-fa7f-32444b1b5306",
            "Some files are not found.",
        ));
    }
    if !p.is_missing("poll") {
        return Err(error(
            "POLLS_NOT_SUPPORTED",
            "8d3b5b8e-7f0a-4b7c-9c1e-2a6f1e5d4c3b",
            "missive does not support polls.",
        ));
    }
    if channel_id.is_some() {
        return Err(error(
            "NO_SUCH_CHANNEL",
            "b1653923-5453-4edc-b786-7c4f39bb0bbb",
            "No such channel.",
        ));
    }
    // The server trims the text; nothing left means no text (a renote becomes pure).
    let text = text
        .map(|t| t.trim_matches(is_js_whitespace).to_owned())
        .filter(|t| !t.is_empty());
    Ok(Draft {
        visibility,
        visible_user_ids,
        cw,
        local_only,
        reaction_acceptance,
        no_extract_mentions,
        reply_id,
        renote_id,
        text,
    })
}

pub async fn create(ctx: &Ctx, call: Call) -> ApiResult {
    let me = call.user()?.user.clone();
    let mut draft = parse_draft(&call.params)?;

    let renote = match &draft.renote_id {
        None => None,
        Some(id) => {
            let target = ctx.store.note_by_id(id).await?;
            let target = target.ok_or_else(|| {
                error(
                    "NO_SUCH_RENOTE_TARGET",
                    "b5c90186-4ab0-49c8-9bba-a1f76c282ba4",
                    "No such renote target.",
                )
            })?;
            if target.is_pure_renote() {
                return Err(error(
                    "CANNOT_RENOTE_TO_A_PURE_RENOTE",
                    "fd4cc33e-2a37-48dd-99cc-9b806eb2031a",
                    "You can not Renote a pure Renote.",
                ));
            }
            let hidden_from_others =
                target.visibility == Visibility::Followers && target.user_id != me.id;
            if hidden_from_others || target.visibility == Visibility::Specified {
                return Err(error(
                    "CANNOT_RENOTE_DUE_TO_VISIBILITY",
                    "be9529e9-fe72-4de0-ae43-0b363c4938af",
                    "You can not Renote due to target visibility.",
                ));
            }
            Some(target)
        }
    };
    let reply = match &draft.reply_id {
        None => None,
        Some(id) => {
            let target = ctx.store.note_by_id(id).await?;
            let target = target.ok_or_else(|| {
                error(
                    "NO_SUCH_REPLY_TARGET",
                    "749ee0f6-d3da-459a-bf02-282e2da4292c",
                    "No such reply target.",
                )
            })?;
            if target.is_pure_renote() {
                return Err(error(
                    "CANNOT_REPLY_TO_A_PURE_RENOTE",
                    "3ac74a84-8fd5-4bb0-870f-01804f82ce15",
                    "You can not reply to a pure Renote.",
                ));
            }
            let viewer = Viewer {
                id: me.id.clone(),
                following: ctx
                    .store
                    .followed_among(&me.id, std::slice::from_ref(&target.user_id))
                    .await?,
            };
            if !packed::is_visible_to(&target, Some(&viewer)) {
                return Err(error(
                    "CANNOT_REPLY_TO_AN_INVISIBLE_NOTE",
                    "b98980fa-3780-406c-a935-b6d0eeee10d1",
                    "You cannot reply to an invisible Note.",
                ));
            }
            if target.visibility == Visibility::Specified
                && draft.visibility != Visibility::Specified
            {
                return Err(error(
                    "CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY",
                    "ed940410-535c-4d5e-bfa3-af798671e93c",
                    "You cannot reply to a specified visibility note with extended visibility.",
                ));
            }
            Some(target)
        }
    };
    adjust_visibility(&mut draft, &me.id, reply.as_ref(), renote.as_ref());

    let mentions = resolve_mentions(ctx, &draft).await?;
    let mut visible_user_ids = if draft.visibility == Visibility::Specified {
        resolve_visible_users(ctx, &draft).await?
    } else {
        Vec::new()
    };
    let mentions = emission::mention_list(
        &mentions,
        &me.id,
        reply.as_ref().map(|r| r.user_id.as_str()),
        &visible_user_ids,
    );
    // Only then does Misskey make a specified reply visible to the reply target's author,
    // even when that is the author themselves (who is therefore listed but not mentioned).
    if draft.visibility == Visibility::Specified
        && let Some(reply) = &reply
        && !visible_user_ids.contains(&reply.user_id)
    {
        visible_user_ids.push(reply.user_id.clone());
    }
    if mentions.len() > MENTION_LIMIT as usize {
        return Err(error(
            "CONTAINS_TOO_MANY_MENTIONS",
            "4de0363a-3046-481b-9b0f-feff3e211025",
            "Cannot post because it exceeds the allowed number of mentions.",
        ));
    }

    let note = Note {
        id: ctx.new_id(),
        user_id: me.id.clone(),
        text: draft.text,
        cw: draft.cw,
        visibility: draft.visibility,
        local_only: draft.local_only,
        reaction_acceptance: draft.reaction_acceptance,
        reply_id: reply.as_ref().map(|r| r.id.clone()),
        renote_id: renote.as_ref().map(|r| r.id.clone()),
        reply_user_id: reply.as_ref().map(|r| r.user_id.clone()),
        renote_user_id: renote.as_ref().map(|r| r.user_id.clone()),
        mentions,
        visible_user_ids,
        replies_count: 0,
        renote_count: 0,
    };
    let emissions = emission::note_created(
        &note,
        note.reply_user_id.as_deref(),
        note.renote_user_id.as_deref(),
    );
    let author = missive_core::model::User {
        notes_count: me.notes_count + 1,
        ..me.clone()
    };
    let tree = view::note_tree(ctx, note.clone(), Some(author)).await?;
    let plan = Plan::new(ctx, emissions).await?;
    let mut bodies = HashMap::new();
    for (key, recipient) in plan.bodies_needed() {
        let body = match key.0 {
            Body::SharedNote => packed::note(
                &tree,
                None,
                NoteOptions::WEBHOOK,
                &ctx.config.origin,
                now_ms(),
            ),
            _ => {
                let viewer = view::viewer(ctx, &recipient, &[&tree]).await?;
                packed::note(
                    &tree,
                    Some(&viewer),
                    NoteOptions::DETAIL,
                    &ctx.config.origin,
                    now_ms(),
                )
            }
        };
        bodies.insert(key, json!({ "note": body }).to_string());
    }
    let outbox = plan.into_outbox(ctx, bodies);
    ctx.store.create_note(&note, &outbox).await?;
    if !outbox.is_empty() {
        ctx.deliveries_committed.notify_one();
    }
    let viewer = view::viewer(ctx, &me.id, &[&tree]).await?;
    Reply::json(
        &json!({ "createdNote": packed::note(&tree, Some(&viewer), NoteOptions::DETAIL, &ctx.config.origin, now_ms()) }),
    )
}

/// Misskey's visibility adjustments for renotes and replies.
fn adjust_visibility(draft: &mut Draft, me: &str, reply: Option<&Note>, renote: Option<&Note>) {
    if let Some(renote) = renote {
        if renote.visibility == Visibility::Home && draft.visibility == Visibility::Public {
            draft.visibility = Visibility::Home;
        }
        if renote.visibility == Visibility::Followers && renote.user_id == me {
            draft.visibility = Visibility::Followers;
        }
        if renote.local_only {
            draft.local_only = true;
        }
    }
    if let Some(reply) = reply {
        if reply.visibility != Visibility::Public && draft.visibility == Visibility::Public {
            draft.visibility = Visibility::Home;
        }
        if reply.local_only {
            draft.local_only = true;
        }
    }
}

/// The local users named in the text and cw, in order of first appearance.
async fn resolve_mentions(ctx: &Ctx, draft: &Draft) -> Result<Vec<String>, ApiError> {
    if draft.no_extract_mentions {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = Vec::new();
    for source in [draft.text.as_deref(), draft.cw.as_deref()]
        .into_iter()
        .flatten()
    {
        for mention in extract_mentions(source) {
            let local = mention
                .host
                .as_deref()
                .is_none_or(|h| h.eq_ignore_ascii_case(&ctx.config.origin.host));
            let name = mention.username.to_lowercase();
            if local && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let users = ctx.store.users_by_usernames(&names).await?;
    Ok(names
        .iter()
        .filter_map(|name| {
            users
                .iter()
                .find(|u| u.username.to_lowercase() == *name)
                .map(|u| u.id.clone())
        })
        .collect())
}

/// The existing users of `visibleUserIds`, in the order given (unknown ids are dropped).
async fn resolve_visible_users(ctx: &Ctx, draft: &Draft) -> Result<Vec<String>, ApiError> {
    let found = ctx.store.users_by_ids(&draft.visible_user_ids).await?;
    Ok(draft
        .visible_user_ids
        .iter()
        .filter(|id| found.iter().any(|u| &u.id == *id))
        .cloned()
        .collect())
}

pub async fn show(ctx: &Ctx, call: Call) -> ApiResult {
    let note_id = call.params.required_id("noteId")?;
    let Some(note) = ctx.store.note_by_id(&note_id).await? else {
        return Err(error(
            "NO_SUCH_NOTE",
            "24fcbfc6-2e37-42b6-8388-c29b3861a08d",
            "No such note.",
        ));
    };
    let tree = view::note_tree(ctx, note, None).await?;
    Reply::json(&pack_for(ctx, &call, &[&tree]).await?.remove(0))
}

pub async fn delete(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let note_id = call.params.required_id("noteId")?;
    let Some(note) = ctx.store.note_by_id(&note_id).await? else {
        return Err(error(
            "NO_SUCH_NOTE",
            "490be23f-8c1f-4796-819f-94cb4f9d1630",
            "No such note.",
        ));
    };
    if note.user_id != me.id && !me.is_admin {
        return Err(error(
            "ACCESS_DENIED",
            "fe8d7103-0ea8-4ec3-814d-f8b401dc69e9",
            "Access denied.",
        ));
    }
    ctx.store.delete_note(&note.id).await?;
    Ok(Reply::NoContent)
}

/// The caller's notes and those of everyone they follow, newest first.
pub async fn timeline(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let limit = call.params.integer("limit", 1, 100)?.unwrap_or(10);
    let until_id = call.params.id("untilId", false)?;
    let mut authors = ctx.store.followee_ids(&me.id).await?;
    authors.push(me.id.clone());
    let notes = ctx
        .store
        .notes_by_authors(&authors, until_id.as_deref(), limit)
        .await?;
    list_reply(ctx, &call, notes).await
}

/// One user's notes, newest first.
pub async fn user_notes(ctx: &Ctx, call: Call) -> ApiResult {
    let user_id = call.params.required_id("userId")?;
    let limit = call.params.integer("limit", 1, 100)?.unwrap_or(10);
    let until_id = call.params.id("untilId", false)?;
    let notes = ctx
        .store
        .notes_by_authors(std::slice::from_ref(&user_id), until_id.as_deref(), limit)
        .await?;
    list_reply(ctx, &call, notes).await
}

async fn list_reply(ctx: &Ctx, call: &Call, notes: Vec<Note>) -> ApiResult {
    let trees = view::note_trees(ctx, notes, Vec::new()).await?;
    let refs: Vec<&NoteTree> = trees.iter().collect();
    Reply::json(&pack_for(ctx, call, &refs).await?)
}

/// Packs notes in detail for the caller (anonymous if no token).
async fn pack_for(
    ctx: &Ctx,
    call: &Call,
    trees: &[&NoteTree],
) -> Result<Vec<packed::PackedNote>, ApiError> {
    let viewer = match &call.me {
        Some(me) => Some(view::viewer(ctx, &me.user.id, trees).await?),
        None => None,
    };
    let now = now_ms();
    Ok(trees
        .iter()
        .map(|t| {
            packed::note(
                t,
                viewer.as_ref(),
                NoteOptions::DETAIL,
                &ctx.config.origin,
                now,
            )
        })
        .collect())
}
