//! `notes/create`, `notes/show`, `notes/delete`, and the note lists the web pages use.

use missive_core::emission::{self, Body};
use missive_core::model::{Note, User, Visibility};
use missive_core::note_rules::{self, Facts, NoteDraft, NoteRuleViolation, Policy, Target};
use missive_core::packed::{self, NoteOptions, NoteTree};
use missive_store::StoreError;
use serde_json::{Value, json};

use crate::api::account::MENTION_LIMIT;
use crate::api::error::ApiError;
use crate::api::params::is_js_whitespace;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};
use crate::{fanout, view};

fn error(code: &'static str, id: &'static str, message: &str) -> ApiError {
    ApiError::client(code, id, message)
}

/// The parameters of `notes/create`, validated against its schema (`endpoints.rs`).
fn parse_draft(call: &Call) -> Result<NoteDraft, ApiError> {
    let p = call.check()?;
    let visibility = p.str("visibility").map_or(Visibility::Public, |v| {
        v.parse().unwrap_or(Visibility::Public)
    });
    let visible_user_ids = p.ids("visibleUserIds").unwrap_or_default();
    let cw = p.str("cw");
    let local_only = p.bool("localOnly").unwrap_or(false);
    let reaction_acceptance = p.str("reactionAcceptance");
    let no_extract_mentions = p.bool("noExtractMentions").unwrap_or(false);
    let reply_id = p.str("replyId");
    let renote_id = p.str("renoteId");
    let channel_id = p.str("channelId");
    let text = p.str("text");
    let file_ids = p.ids("fileIds");
    let media_ids = p.ids("mediaIds");
    if file_ids.is_some() || media_ids.is_some() {
        // missive has no drive: no file id can name a file.
        return Err(error(
            "NO_SUCH_FILE",
            "b6992544-63e7-67f0-fa7f-32444b1b5306",
            "Some files are not found.",
        ));
    }
    if p.is_given("poll") && !p.is_null("poll") {
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
    Ok(NoteDraft {
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
    let draft = parse_draft(&call)?;
    let facts = load_facts(ctx, &me.id, &draft).await?;
    let policy = Policy {
        local_host: &ctx.config.origin.host,
        mention_limit: MENTION_LIMIT as usize,
    };
    let note =
        note_rules::compose(ctx.new_id(), &me.id, draft, facts, policy).map_err(rule_error)?;
    let emissions = emission::note_created(
        &note,
        note.reply_user_id.as_deref(),
        note.renote_user_id.as_deref(),
    );
    let author = User {
        notes_count: me.notes_count + 1,
        ..me
    };
    let tree = view::new_note_tree(ctx, note.clone(), author).await?;
    let pack = |body, recipient| note_body(ctx, &tree, body, recipient);
    let outbox = fanout::outbox(ctx, emissions, pack).await?;
    ctx.store.create_note(&note, outbox).await?;
    let viewer = view::viewer(ctx, &note.user_id, &[&tree]).await?;
    Reply::json(
        &json!({ "createdNote": packed::note(&tree, Some(&viewer), NoteOptions::DETAIL, &ctx.config.origin, now_ms()) }),
    )
}

/// What the note rules need to know about a draft by `author`.
async fn load_facts(ctx: &Ctx, author: &str, draft: &NoteDraft) -> Result<Facts, StoreError> {
    let renote = target(ctx, draft.renote_id.as_deref()).await?;
    let reply = target(ctx, draft.reply_id.as_deref()).await?;
    let follows_reply_author = match &reply {
        Target::Found(reply) => ctx
            .store
            .followed_among(author, std::slice::from_ref(&reply.user_id))
            .await?
            .contains(&reply.user_id),
        Target::Unnamed | Target::Missing => false,
    };
    let names = note_rules::mentioned_usernames(draft, &ctx.config.origin.host);
    let mentioned_users = ctx.store.users_by_usernames(&names).await?;
    // Read for every specified draft, though a renote may yet make it followers.
    let visible_users = if draft.visibility == Visibility::Specified {
        ctx.store.users_by_ids(&draft.visible_user_ids).await?
    } else {
        Vec::new()
    };
    Ok(Facts {
        renote,
        reply,
        follows_reply_author,
        mentioned_users,
        visible_users,
    })
}

async fn target(ctx: &Ctx, id: Option<&str>) -> Result<Target, StoreError> {
    Ok(match id {
        None => Target::Unnamed,
        Some(id) => ctx
            .store
            .note_by_id(id)
            .await?
            .map_or(Target::Missing, |note| Target::Found(Box::new(note))),
    })
}

/// The `{note}` body of a new note's deliveries: the shared body packed once with no
/// viewer and no hiding, the others packed in detail for their recipient.
async fn note_body(
    ctx: &Ctx,
    tree: &NoteTree,
    body: Body,
    recipient: String,
) -> Result<Value, StoreError> {
    let (viewer, options) = match body {
        Body::SharedNote => (None, NoteOptions::WEBHOOK),
        _ => (
            Some(view::viewer(ctx, &recipient, &[tree]).await?),
            NoteOptions::DETAIL,
        ),
    };
    let note = packed::note(tree, viewer.as_ref(), options, &ctx.config.origin, now_ms());
    Ok(json!({ "note": note }))
}

/// Misskey's error object for a broken note rule.
fn rule_error(violation: NoteRuleViolation) -> ApiError {
    let (code, id, message) = match violation {
        NoteRuleViolation::NoSuchRenoteTarget => (
            "NO_SUCH_RENOTE_TARGET",
            "b5c90186-4ab0-49c8-9bba-a1f76c282ba4",
            "No such renote target.",
        ),
        NoteRuleViolation::CannotRenoteToAPureRenote => (
            "CANNOT_RENOTE_TO_A_PURE_RENOTE",
            "fd4cc33e-2a37-48dd-99cc-9b806eb2031a",
            "You can not Renote a pure Renote.",
        ),
        NoteRuleViolation::CannotRenoteDueToVisibility => (
            "CANNOT_RENOTE_DUE_TO_VISIBILITY",
            "be9529e9-fe72-4de0-ae43-0b363c4938af",
            "You can not Renote due to target visibility.",
        ),
        NoteRuleViolation::NoSuchReplyTarget => (
            "NO_SUCH_REPLY_TARGET",
            "749ee0f6-d3da-459a-bf02-282e2da4292c",
            "No such reply target.",
        ),
        NoteRuleViolation::CannotReplyToAPureRenote => (
            "CANNOT_REPLY_TO_A_PURE_RENOTE",
            "3ac74a84-8fd5-4bb0-870f-01804f82ce15",
            "You can not reply to a pure Renote.",
        ),
        NoteRuleViolation::CannotReplyToAnInvisibleNote => (
            "CANNOT_REPLY_TO_AN_INVISIBLE_NOTE",
            "b98980fa-3780-406c-a935-b6d0eeee10d1",
            "You cannot reply to an invisible Note.",
        ),
        NoteRuleViolation::CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility => (
            "CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY",
            "ed940410-535c-4d5e-bfa3-af798671e93c",
            "You cannot reply to a specified visibility note with extended visibility.",
        ),
        NoteRuleViolation::ContainsTooManyMentions => (
            "CONTAINS_TOO_MANY_MENTIONS",
            "4de0363a-3046-481b-9b0f-feff3e211025",
            "Cannot post because it exceeds the allowed number of mentions.",
        ),
    };
    error(code, id, message)
}

pub async fn show(ctx: &Ctx, call: Call) -> ApiResult {
    let note_id = call.check()?.required_str("noteId");
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
    let note_id = call.check()?.required_str("noteId");
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
    let p = call.check()?;
    let limit = p.int("limit").unwrap_or(10);
    let until_id = p.str("untilId");
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
    let p = call.check()?;
    let user_id = p.required_str("userId");
    let limit = p.int("limit").unwrap_or(10);
    let until_id = p.str("untilId");
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
