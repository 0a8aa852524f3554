//! Who receives which event for an action, as Misskey's note and follow services decide.
//!
//! Pure functions from an action to `(event, recipient, body)` triples. The caller
//! finds the recipients' active webhooks subscribed to each event and packs the bodies.

use crate::event::EventType;
use crate::model::Note;

/// What a delivery's `body` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `{note}` packed once with no viewer and no hiding; shared by `note`, `reply` and `renote`.
    SharedNote,
    /// `{note}` packed for the recipient, hiding applied.
    NoteForRecipient,
    /// `{user}`: the followee as `UserDetailedNotMe` seen by the follower.
    Followee,
    /// `{user}`: the follower as `UserLite`.
    Follower,
    /// `{note, user, reaction}`: the note packed for the recipient (its author), the
    /// reacting user as `UserLite` and the stored reaction (missive's extension, shaped
    /// like Misskey's `reaction` notification).
    Reaction,
}

/// One event to deliver to one user's webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emission {
    pub event: EventType,
    pub recipient: String,
    pub body: Body,
}

/// The events of a new note, in Misskey's order: `note`, each `mention`, `reply`, `renote`.
/// `reply_author` and `renote_author` are the authors of the note's targets, if any.
pub fn note_created(
    note: &Note,
    reply_author: Option<&str>,
    renote_author: Option<&str>,
) -> Vec<Emission> {
    let mut out = vec![Emission {
        event: EventType::Note,
        recipient: note.user_id.clone(),
        body: Body::SharedNote,
    }];
    for user in &note.mentions {
        out.push(Emission {
            event: EventType::Mention,
            recipient: user.clone(),
            body: Body::NoteForRecipient,
        });
    }
    if let Some(parent_author) = reply_author {
        // Replying to yourself fires `reply` on your own webhooks, as in Misskey.
        out.push(Emission {
            event: EventType::Reply,
            recipient: parent_author.to_owned(),
            body: Body::SharedNote,
        });
    }
    if let Some(target_author) = renote_author.filter(|a| *a != note.user_id) {
        out.push(Emission {
            event: EventType::Renote,
            recipient: target_author.to_owned(),
            body: Body::SharedNote,
        });
    }
    out
}

/// `follow` for the follower and `followed` for the followee.
pub fn followed(follower: &str, followee: &str) -> Vec<Emission> {
    vec![
        Emission {
            event: EventType::Follow,
            recipient: follower.to_owned(),
            body: Body::Followee,
        },
        Emission {
            event: EventType::Followed,
            recipient: followee.to_owned(),
            body: Body::Follower,
        },
    ]
}

/// `unfollow` for the (former) follower.
pub fn unfollowed(follower: &str) -> Vec<Emission> {
    vec![Emission {
        event: EventType::Unfollow,
        recipient: follower.to_owned(),
        body: Body::Followee,
    }]
}

/// `reaction` for the author of a note that `reactor` reacted to; nothing when the
/// authors react to their own notes.
pub fn reacted(note_author: &str, reactor: &str) -> Vec<Emission> {
    if note_author == reactor {
        return Vec::new();
    }
    vec![Emission {
        event: EventType::Reaction,
        recipient: note_author.to_owned(),
        body: Body::Reaction,
    }]
}

/// The note's `mentions` list: users named in the text (resolved, in order of first
/// appearance), then the reply target's author unless it is the author, then for
/// `specified` notes each visible user. Duplicates are dropped.
pub fn mention_list(
    text_mentions: &[String],
    author: &str,
    reply_author: Option<&str>,
    visible_users: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |id: &str| {
        if !out.iter().any(|x| x == id) {
            out.push(id.to_owned());
        }
    };
    text_mentions.iter().for_each(|id| push(id));
    if let Some(reply_author) = reply_author.filter(|a| *a != author) {
        push(reply_author);
    }
    visible_users.iter().for_each(|id| push(id));
    out
}

#[cfg(test)]
mod tests;
