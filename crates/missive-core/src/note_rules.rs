//! Misskey's rules for a new note: which reply and renote targets it may have, how they
//! narrow its visibility, and whom it mentions and is visible to.
//!
//! The rules are pure. The API loads the facts they need (`Facts`: the targets, whether
//! the author follows the reply target's author, the users that the mentions and
//! `visibleUserIds` name), `compose` turns the draft into the note to store, and the API
//! maps a `NoteRuleViolation` to Misskey's error object.

use crate::emission::mention_list;
use crate::mention::extract_mentions;
use crate::model::{Note, User, Visibility};
use crate::packed::{self, Viewer};

/// Why a draft cannot become a note. Checked in this order; the first that applies wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteRuleViolation {
    NoSuchRenoteTarget,
    CannotRenoteToAPureRenote,
    /// The target is someone else's followers note, or any specified note.
    CannotRenoteDueToVisibility,
    NoSuchReplyTarget,
    CannotReplyToAPureRenote,
    CannotReplyToAnInvisibleNote,
    /// A reply to a specified note must be specified too.
    CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility,
    ContainsTooManyMentions,
}

/// What `notes/create` asked for, its parameters validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteDraft {
    pub visibility: Visibility,
    pub visible_user_ids: Vec<String>,
    pub cw: Option<String>,
    pub local_only: bool,
    pub reaction_acceptance: Option<String>,
    pub no_extract_mentions: bool,
    pub reply_id: Option<String>,
    pub renote_id: Option<String>,
    /// Trimmed; `None` if nothing was left.
    pub text: Option<String>,
}

/// A note that the draft names by id (`replyId`, `renoteId`), as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The draft names none.
    Unnamed,
    /// The id names no note.
    Missing,
    Found(Box<Note>),
}

/// What the API loaded for a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub renote: Target,
    pub reply: Target,
    /// Whether the author follows the reply target's author.
    pub follows_reply_author: bool,
    /// The users named by `mentioned_usernames`, in any order.
    pub mentioned_users: Vec<User>,
    /// The users of the draft's `visible_user_ids` that exist, in any order. Read only
    /// when the note ends up `specified`.
    pub visible_users: Vec<User>,
}

/// What the rules depend on besides the draft and the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy<'a> {
    /// This server's `host[:port]`: a mention of it is a local mention.
    pub local_host: &'a str,
    /// Misskey's role policy `mentionLimit`.
    pub mention_limit: usize,
}

/// Who may see a note, and whether it stays on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub visibility: Visibility,
    pub local_only: bool,
}

/// The note that `author` posts with `draft`, given the `facts` loaded for it; `id` is
/// the new note's id. The counters start at zero.
pub fn compose(
    id: String,
    author: &str,
    draft: NoteDraft,
    facts: Facts,
    policy: Policy<'_>,
) -> Result<Note, NoteRuleViolation> {
    // Misskey checks the renote before the reply, and the reply against the visibility
    // asked for, before the targets adjust it.
    let renote = check_renote(author, &facts.renote)?;
    let reply = check_reply(
        author,
        draft.visibility,
        &facts.reply,
        facts.follows_reply_author,
    )?;
    let scope = adjust_visibility(
        Scope {
            visibility: draft.visibility,
            local_only: draft.local_only,
        },
        author,
        reply,
        renote,
    );
    let text_mentions = resolve_mentions(
        &mentioned_usernames(&draft, policy.local_host),
        &facts.mentioned_users,
    );
    let specified = scope.visibility == Visibility::Specified;
    let mut visible_user_ids = if specified {
        resolve_visible_users(&draft.visible_user_ids, &facts.visible_users)
    } else {
        Vec::new()
    };
    let mentions = mention_list(
        &text_mentions,
        author,
        reply.map(|r| r.user_id.as_str()),
        &visible_user_ids,
    );
    // Only then does Misskey make a specified reply visible to the reply target's author,
    // even when that is the author themselves (who is therefore listed but not mentioned).
    if specified
        && let Some(reply) = reply
        && !visible_user_ids.contains(&reply.user_id)
    {
        visible_user_ids.push(reply.user_id.clone());
    }
    if mentions.len() > policy.mention_limit {
        return Err(NoteRuleViolation::ContainsTooManyMentions);
    }
    Ok(Note {
        id,
        user_id: author.to_owned(),
        text: draft.text,
        cw: draft.cw,
        visibility: scope.visibility,
        local_only: scope.local_only,
        reaction_acceptance: draft.reaction_acceptance,
        reply_id: reply.map(|r| r.id.clone()),
        renote_id: renote.map(|r| r.id.clone()),
        reply_user_id: reply.map(|r| r.user_id.clone()),
        renote_user_id: renote.map(|r| r.user_id.clone()),
        mentions,
        visible_user_ids,
        replies_count: 0,
        renote_count: 0,
    })
}

/// The renote target, if `author` may renote it.
pub fn check_renote<'t>(
    author: &str,
    target: &'t Target,
) -> Result<Option<&'t Note>, NoteRuleViolation> {
    let target = match target {
        Target::Unnamed => return Ok(None),
        Target::Missing => return Err(NoteRuleViolation::NoSuchRenoteTarget),
        Target::Found(note) => note,
    };
    if target.is_pure_renote() {
        return Err(NoteRuleViolation::CannotRenoteToAPureRenote);
    }
    let hidden_from_others = target.visibility == Visibility::Followers && target.user_id != author;
    if hidden_from_others || target.visibility == Visibility::Specified {
        return Err(NoteRuleViolation::CannotRenoteDueToVisibility);
    }
    Ok(Some(target))
}

/// The reply target, if `author` may reply to it with a note of `visibility`.
pub fn check_reply<'t>(
    author: &str,
    visibility: Visibility,
    target: &'t Target,
    follows_target_author: bool,
) -> Result<Option<&'t Note>, NoteRuleViolation> {
    let target = match target {
        Target::Unnamed => return Ok(None),
        Target::Missing => return Err(NoteRuleViolation::NoSuchReplyTarget),
        Target::Found(note) => note,
    };
    if target.is_pure_renote() {
        return Err(NoteRuleViolation::CannotReplyToAPureRenote);
    }
    let viewer = Viewer {
        id: author.to_owned(),
        following: follows_target_author
            .then(|| target.user_id.clone())
            .into_iter()
            .collect(),
        reactions: Default::default(),
    };
    if !packed::is_visible_to(target, Some(&viewer)) {
        return Err(NoteRuleViolation::CannotReplyToAnInvisibleNote);
    }
    if target.visibility == Visibility::Specified && visibility != Visibility::Specified {
        return Err(NoteRuleViolation::CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility);
    }
    Ok(Some(target))
}

/// Misskey's narrowing of a note's scope by its renote and reply targets: a renote of a
/// home note is at most home, a renote of your own followers note is followers, a reply
/// to anything but a public note is at most home, and a local-only target makes the note
/// local-only.
pub fn adjust_visibility(
    asked: Scope,
    author: &str,
    reply: Option<&Note>,
    renote: Option<&Note>,
) -> Scope {
    let mut scope = asked;
    if let Some(renote) = renote {
        if renote.visibility == Visibility::Home && scope.visibility == Visibility::Public {
            scope.visibility = Visibility::Home;
        }
        if renote.visibility == Visibility::Followers && renote.user_id == author {
            scope.visibility = Visibility::Followers;
        }
        scope.local_only |= renote.local_only;
    }
    if let Some(reply) = reply {
        if reply.visibility != Visibility::Public && scope.visibility == Visibility::Public {
            scope.visibility = Visibility::Home;
        }
        scope.local_only |= reply.local_only;
    }
    scope
}

/// The usernames of the local users named in the text, then the cw, lowercased, in
/// order of first appearance; none with `noExtractMentions`.
pub fn mentioned_usernames(draft: &NoteDraft, local_host: &str) -> Vec<String> {
    if draft.no_extract_mentions {
        return Vec::new();
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
                .is_none_or(|host| host.eq_ignore_ascii_case(local_host));
            let name = mention.username.to_lowercase();
            if local && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The ids of the users named by `names`, in their order; names of nobody are dropped.
pub fn resolve_mentions(names: &[String], users: &[User]) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| {
            users
                .iter()
                .find(|user| user.username.to_lowercase() == *name)
                .map(|user| user.id.clone())
        })
        .collect()
}

/// The ids of `requested` that name one of `existing`, in the order requested.
pub fn resolve_visible_users(requested: &[String], existing: &[User]) -> Vec<String> {
    requested
        .iter()
        .filter(|id| existing.iter().any(|user| &user.id == *id))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
