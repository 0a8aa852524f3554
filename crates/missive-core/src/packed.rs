//! Misskey's packed JSON shapes (`UserLite`, `UserDetailedNotMe`, `MeDetailed`, `Note`),
//! built by hand from domain records.
//!
//! These types are a wire contract: their keys, types and presence follow what Misskey
//! emits for local users (its `models/json-schema/*.ts`), and tests validate them against
//! Misskey's JSON schemas. Field order follows Misskey's packers.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::id;
use crate::model::{Note, User, Visibility};
use crate::reaction::NoteReactions;
use crate::time::iso8601_ms;

/// The public origin of this server, used in avatar URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `scheme://host[:port]`, without a trailing slash.
    pub url: String,
    /// `host[:port]`.
    pub host: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserLite {
    pub id: String,
    pub name: Option<String>,
    pub username: String,
    pub host: Option<String>,
    pub avatar_url: String,
    pub avatar_blurhash: Option<String>,
    pub avatar_decorations: Vec<Value>,
    pub is_bot: bool,
    pub is_cat: bool,
    pub emojis: Map<String, Value>,
    pub online_status: &'static str,
    pub badge_roles: Vec<Value>,
}

/// The keys `UserDetailedNotMe` adds to `UserLite` (without the relation block).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetails {
    pub url: Option<String>,
    pub uri: Option<String>,
    pub moved_to: Option<String>,
    pub also_known_as: Option<Vec<String>>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub last_fetched_at: Option<String>,
    pub banner_url: Option<String>,
    pub banner_blurhash: Option<String>,
    pub is_locked: bool,
    pub is_silenced: bool,
    pub is_suspended: bool,
    pub description: Option<String>,
    pub location: Option<String>,
    pub birthday: Option<String>,
    pub lang: Option<String>,
    pub fields: Vec<Value>,
    pub verified_links: Vec<String>,
    pub followers_count: i64,
    pub following_count: i64,
    pub notes_count: i64,
    pub pinned_note_ids: Vec<String>,
    pub pinned_notes: Vec<Value>,
    pub pinned_page_id: Option<String>,
    pub pinned_page: Option<Value>,
    pub public_reactions: bool,
    pub following_visibility: &'static str,
    pub followers_visibility: &'static str,
    pub chat_scope: &'static str,
    pub can_chat: bool,
    pub roles: Vec<Value>,
    pub memo: Option<String>,
}

/// How the viewer relates to the packed user; present only when the viewer is someone else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// The viewer follows the user.
    pub is_following: bool,
    /// The user follows the viewer.
    pub is_followed: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RelationBlock {
    is_following: bool,
    is_followed: bool,
    has_pending_follow_request_from_you: bool,
    has_pending_follow_request_to_you: bool,
    is_blocking: bool,
    is_blocked: bool,
    is_muted: bool,
    is_renote_muted: bool,
    notify: &'static str,
    with_replies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    followed_message: Option<Option<String>>,
}

/// The keys Misskey adds to a detailed user when the viewer is a moderator (`iAmModerator`):
/// the moderation note, and the security summary a user otherwise sees only about themselves.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModeratorBlock {
    moderation_note: String,
    two_factor_enabled: bool,
    use_password_less_login: bool,
    security_keys: bool,
}

impl ModeratorBlock {
    const EMPTY: ModeratorBlock = ModeratorBlock {
        moderation_note: String::new(),
        two_factor_enabled: false,
        use_password_less_login: false,
        security_keys: false,
    };
}

#[derive(Debug, Clone, Serialize)]
pub struct UserDetailedNotMe {
    #[serde(flatten)]
    pub lite: UserLite,
    #[serde(flatten)]
    pub details: UserDetails,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    moderator: Option<ModeratorBlock>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    relation: Option<RelationBlock>,
}

impl UserDetailedNotMe {
    /// Adds what a moderator viewer sees (`moderationNote`, `twoFactorEnabled`,
    /// `usePasswordLessLogin`, `securityKeys`; schema `UserDetailedNotMeOnly`).
    pub fn seen_by_moderator(mut self, viewer_is_moderator: bool) -> UserDetailedNotMe {
        if viewer_is_moderator {
            self.moderator = Some(ModeratorBlock::EMPTY);
        }
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MeDetailed {
    #[serde(flatten)]
    pub lite: UserLite,
    #[serde(flatten)]
    pub details: UserDetails,
    #[serde(flatten)]
    me: Map<String, Value>,
}

/// Settings that shape what a user's own profile says about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeSettings {
    pub webhook_limit: u32,
    pub mention_limit: u32,
    /// `i`, `signup` and `admin/accounts/create` with a native token include e-mail and security keys.
    pub with_secrets: bool,
}

/// Packs a local user as `UserLite`.
pub fn user_lite(user: &User, origin: &Origin, now_ms: i64) -> UserLite {
    UserLite {
        id: user.id.clone(),
        name: user.name.clone(),
        username: user.username.clone(),
        host: None,
        avatar_url: format!(
            "{}/identicon/{}@{}",
            origin.url,
            user.username.to_lowercase(),
            origin.host
        ),
        avatar_blurhash: None,
        avatar_decorations: Vec::new(),
        is_bot: false,
        is_cat: false,
        emojis: Map::new(),
        online_status: online_status(user.last_active_at_ms, now_ms),
        badge_roles: Vec::new(),
    }
}

/// Packs a user as `UserDetailedNotMe`; `relation` is `Some` when the viewer is another user.
pub fn user_detailed_not_me(
    user: &User,
    origin: &Origin,
    now_ms: i64,
    relation: Option<Relation>,
) -> UserDetailedNotMe {
    UserDetailedNotMe {
        lite: user_lite(user, origin, now_ms),
        details: user_details(user),
        moderator: None,
        relation: relation.map(|r| RelationBlock {
            is_following: r.is_following,
            is_followed: r.is_followed,
            has_pending_follow_request_from_you: false,
            has_pending_follow_request_to_you: false,
            is_blocking: false,
            is_blocked: false,
            is_muted: false,
            is_renote_muted: false,
            notify: "none",
            with_replies: false,
            followed_message: r.is_following.then_some(None),
        }),
    }
}

/// Packs the viewer's own account as `MeDetailed`.
pub fn me_detailed(user: &User, origin: &Origin, now_ms: i64, settings: MeSettings) -> MeDetailed {
    let mut me = json!({
        "avatarId": null,
        "bannerId": null,
        "followedMessage": null,
        "isModerator": user.is_admin,
        "isAdmin": user.is_admin,
        "injectFeaturedNote": true,
        "receiveAnnouncementEmail": true,
        "alwaysMarkNsfw": false,
        "autoSensitive": false,
        "carefulBot": false,
        "autoAcceptFollowed": true,
        "noCrawle": false,
        "preventAiLearning": true,
        "isExplorable": true,
        "isDeleted": false,
        "twoFactorBackupCodesStock": "none",
        "hideOnlineStatus": false,
        "hasUnreadSpecifiedNotes": false,
        "hasUnreadMentions": false,
        "hasUnreadAnnouncement": false,
        "unreadAnnouncements": [],
        "hasUnreadAntenna": false,
        "hasUnreadChannel": false,
        "hasUnreadChatMessages": false,
        "hasUnreadNotification": false,
        "hasPendingReceivedFollowRequest": false,
        "unreadNotificationsCount": 0,
        "mutedWords": [],
        "hardMutedWords": [],
        "mutedInstances": [],
        "mutingNotificationTypes": [],
        "notificationRecieveConfig": {},
        "emailNotificationTypes": ["follow", "receiveFollowRequest"],
        "achievements": [],
        "loggedInDays": user.logged_in_days,
        "policies": policies(settings),
        "twoFactorEnabled": false,
        "usePasswordLessLogin": false,
        "securityKeys": false,
    });
    if user.is_admin {
        // The viewer is the user here, and Misskey shows moderators the moderation note of
        // every detailed user they look at, themselves included.
        me["moderationNote"] = json!("");
    }
    if settings.with_secrets {
        me["email"] = Value::Null;
        me["emailVerified"] = Value::Bool(false);
        me["securityKeysList"] = json!([]);
    }
    let Value::Object(me) = me else {
        unreachable!("json! object literal")
    };
    MeDetailed {
        lite: user_lite(user, origin, now_ms),
        details: user_details(user),
        me,
    }
}

fn user_details(user: &User) -> UserDetails {
    UserDetails {
        url: None,
        uri: None,
        moved_to: None,
        also_known_as: None,
        created_at: iso8601_ms(id::created_at_ms(&user.id).unwrap_or(0)),
        updated_at: None,
        last_fetched_at: None,
        banner_url: None,
        banner_blurhash: None,
        is_locked: false,
        is_silenced: false,
        is_suspended: false,
        description: None,
        location: None,
        birthday: None,
        lang: None,
        fields: Vec::new(),
        verified_links: Vec::new(),
        followers_count: user.followers_count,
        following_count: user.following_count,
        notes_count: user.notes_count,
        pinned_note_ids: Vec::new(),
        pinned_notes: Vec::new(),
        pinned_page_id: None,
        pinned_page: None,
        public_reactions: true,
        following_visibility: "public",
        followers_visibility: "public",
        chat_scope: "mutual",
        can_chat: true,
        roles: Vec::new(),
        memo: None,
    }
}

/// Misskey's `DEFAULT_POLICIES`, with the limits missive enforces.
pub fn policies(settings: MeSettings) -> Value {
    json!({
        "gtlAvailable": true,
        "ltlAvailable": true,
        "canPublicNote": true,
        "mentionLimit": settings.mention_limit,
        "canInvite": false,
        "inviteLimit": 0,
        "inviteLimitCycle": 10080,
        "inviteExpirationTime": 0,
        "canManageCustomEmojis": false,
        "canManageAvatarDecorations": false,
        "canSearchNotes": false,
        "canSearchUsers": true,
        "canUseTranslator": true,
        "canHideAds": false,
        "canCreateChannel": true,
        "driveCapacityMb": 100,
        "maxFileSizeMb": 30,
        "uploadableFileTypes": ["text/*", "application/json", "image/*", "video/*", "audio/*"],
        "alwaysMarkNsfw": false,
        "canUpdateBioMedia": true,
        "pinLimit": 5,
        "antennaLimit": 5,
        "wordMuteLimit": 200,
        "webhookLimit": settings.webhook_limit,
        "clipLimit": 10,
        "noteEachClipsLimit": 200,
        "userListLimit": 10,
        "userEachUserListsLimit": 50,
        "rateLimitFactor": 1,
        "avatarDecorationLimit": 1,
        "canImportAntennas": false,
        "canImportBlocking": false,
        "canImportFollowing": false,
        "canImportMuting": false,
        "canImportUserLists": false,
        "chatAvailability": "available",
        "noteDraftLimit": 10,
        "scheduledNoteLimit": 1,
        "watermarkAvailable": true
    })
}

/// Misskey's thresholds: online under 10 minutes, active under 3 days.
fn online_status(last_active_at_ms: Option<i64>, now_ms: i64) -> &'static str {
    let Some(last) = last_active_at_ms else {
        return "unknown";
    };
    let idle = now_ms - last;
    if idle < 10 * 60 * 1000 {
        "online"
    } else if idle < 3 * 24 * 60 * 60 * 1000 {
        "active"
    } else {
        "offline"
    }
}

/// A note with its author and, as far as packing needs them, its reply and renote targets.
#[derive(Debug, Clone)]
pub struct NoteTree {
    pub note: Note,
    pub author: User,
    pub reply: Option<Box<NoteTree>>,
    pub renote: Option<Box<NoteTree>>,
    /// The note's reactions (`reactions`, `reactionCount`, `reactionAndUserPairCache`).
    pub reactions: NoteReactions,
}

/// Who is looking at a note, for Misskey's hiding rules.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub id: String,
    /// Ids of the users the viewer follows (at least the authors in the tree being packed).
    pub following: HashSet<String>,
    /// The viewer's reactions to the notes being packed, by note id (`myReaction`).
    pub reactions: HashMap<String, String>,
}

/// How to pack a note (Misskey's `pack` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteOptions {
    /// Embed `reply` and `renote` and add `clippedCount`.
    pub detail: bool,
    /// Show the content even to a viewer who may not see it (webhook bodies do this).
    pub skip_hide: bool,
    /// Add `reactionAndUserPairCache`, to this note and its embedded notes (the `note`,
    /// `reply` and `renote` webhook bodies do this).
    pub with_reaction_and_user_pair_cache: bool,
}

impl NoteOptions {
    /// What `notes/show`, `notes/create` and the `mention` webhook use.
    pub const DETAIL: NoteOptions = NoteOptions {
        detail: true,
        skip_hide: false,
        with_reaction_and_user_pair_cache: false,
    };
    /// What the `note`, `reply` and `renote` webhook bodies use.
    pub const WEBHOOK: NoteOptions = NoteOptions {
        detail: true,
        skip_hide: true,
        with_reaction_and_user_pair_cache: true,
    };
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackedNote {
    pub id: String,
    pub created_at: String,
    pub user_id: String,
    pub user: UserLite,
    pub text: Option<String>,
    pub cw: Option<String>,
    pub visibility: &'static str,
    pub local_only: bool,
    pub reaction_acceptance: Option<String>,
    pub renote_count: i64,
    pub replies_count: i64,
    pub reaction_count: i64,
    pub reactions: Map<String, Value>,
    pub reaction_emojis: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reaction_and_user_pair_cache: Option<Vec<String>>,
    pub file_ids: Vec<String>,
    pub files: Vec<Value>,
    pub reply_id: Option<String>,
    pub renote_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mentions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_user_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clipped_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<Box<PackedNote>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renote: Option<Box<PackedNote>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_reaction: Option<String>,
}

/// Whether `viewer` may see `note` (Misskey's hiding rules for local notes).
pub fn is_visible_to(note: &Note, viewer: Option<&Viewer>) -> bool {
    match note.visibility {
        Visibility::Public | Visibility::Home => true,
        Visibility::Followers => viewer.is_some_and(|v| {
            v.id == note.user_id
                || v.following.contains(&note.user_id)
                || note.reply_user_id.as_deref() == Some(v.id.as_str())
                || note.mentions.contains(&v.id)
        }),
        Visibility::Specified => {
            viewer.is_some_and(|v| v.id == note.user_id || note.visible_user_ids.contains(&v.id))
        }
    }
}

/// Packs a note as Misskey's `Note` for `viewer` (`None` = anonymous).
pub fn note(
    tree: &NoteTree,
    viewer: Option<&Viewer>,
    options: NoteOptions,
    origin: &Origin,
    now_ms: i64,
) -> PackedNote {
    let n = &tree.note;
    let hidden = !options.skip_hide && !is_visible_to(n, viewer);
    let embedded = |target: &Option<Box<NoteTree>>, detail: bool| {
        target.as_ref().filter(|_| options.detail).map(|t| {
            // `withReactionAndUserPairCache` is passed down, so embedded notes carry the
            // pair cache exactly when the outer note does.
            let opts = NoteOptions { detail, ..options };
            Box::new(note(t, viewer, opts, origin, now_ms))
        })
    };
    PackedNote {
        id: n.id.clone(),
        created_at: iso8601_ms(id::created_at_ms(&n.id).unwrap_or(0)),
        user_id: n.user_id.clone(),
        user: user_lite(&tree.author, origin, now_ms),
        text: if hidden { None } else { n.text.clone() },
        cw: if hidden { None } else { n.cw.clone() },
        visibility: n.visibility.as_str(),
        local_only: n.local_only,
        reaction_acceptance: n.reaction_acceptance.clone(),
        renote_count: n.renote_count,
        replies_count: n.replies_count,
        reaction_count: tree.reactions.total(),
        reactions: tree.reactions.map(),
        // Only remote custom emoji have entries, and missive has none.
        reaction_emojis: Map::new(),
        reaction_and_user_pair_cache: options
            .with_reaction_and_user_pair_cache
            .then(|| tree.reactions.pair_cache.clone()),
        file_ids: Vec::new(),
        files: Vec::new(),
        reply_id: n.reply_id.clone(),
        renote_id: n.renote_id.clone(),
        mentions: (!n.mentions.is_empty()).then(|| n.mentions.clone()),
        visible_user_ids: (n.visibility == Visibility::Specified && !hidden)
            .then(|| n.visible_user_ids.clone()),
        is_hidden: hidden.then_some(true),
        clipped_count: options.detail.then_some(0),
        reply: embedded(&tree.reply, false),
        renote: embedded(&tree.renote, true),
        my_reaction: my_reaction(tree, viewer, options),
    }
}

/// `myReaction`: in detailed packs for a viewer, when the note has reactions and one
/// of them is the viewer's (Misskey leaves the key out otherwise).
fn my_reaction(tree: &NoteTree, viewer: Option<&Viewer>, options: NoteOptions) -> Option<String> {
    if !options.detail || tree.reactions.total() == 0 {
        return None;
    }
    viewer?.reactions.get(&tree.note.id).cloned()
}

#[cfg(test)]
mod tests;
