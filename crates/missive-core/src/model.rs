//! Domain records: users, notes and webhooks as missive stores them.

use std::fmt;
use std::str::FromStr;

use crate::event::EventType;

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub is_admin: bool,
    pub followers_count: i64,
    pub following_count: i64,
    pub notes_count: i64,
    /// When the user last called the API with their token; `None` if never.
    pub last_active_at_ms: Option<i64>,
    pub logged_in_days: i64,
}

/// Who may see a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Home,
    Followers,
    Specified,
}

impl Visibility {
    pub const ALL: [Visibility; 4] = [
        Visibility::Public,
        Visibility::Home,
        Visibility::Followers,
        Visibility::Specified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Home => "home",
            Visibility::Followers => "followers",
            Visibility::Specified => "specified",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the four visibilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVisibility;

impl FromStr for Visibility {
    type Err = UnknownVisibility;

    fn from_str(s: &str) -> Result<Visibility, UnknownVisibility> {
        Visibility::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(UnknownVisibility)
    }
}

/// A note as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub id: String,
    pub user_id: String,
    pub text: Option<String>,
    pub cw: Option<String>,
    pub visibility: Visibility,
    pub local_only: bool,
    pub reaction_acceptance: Option<String>,
    pub reply_id: Option<String>,
    pub renote_id: Option<String>,
    /// The author of the reply target, kept so hiding rules need no extra lookup.
    pub reply_user_id: Option<String>,
    pub renote_user_id: Option<String>,
    /// Resolved local users, in Misskey's order (see `emission::mention_list`).
    pub mentions: Vec<String>,
    pub visible_user_ids: Vec<String>,
    pub replies_count: i64,
    pub renote_count: i64,
}

impl Note {
    /// A renote with nothing of its own (Misskey's `isPureRenote`); anything else with a
    /// `renote_id` is a quote.
    pub fn is_pure_renote(&self) -> bool {
        self.renote_id.is_some()
            && self.text.is_none()
            && self.cw.is_none()
            && self.reply_id.is_none()
    }
}

/// A user's webhook registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub on: Vec<EventType>,
    pub url: String,
    pub secret: String,
    pub active: bool,
    pub latest_sent_at_ms: Option<i64>,
    pub latest_status: Option<i64>,
    /// Deliveries that failed in a row, none succeeding since (`consecutiveFailures`).
    pub consecutive_failures: i64,
    /// Why it was switched off automatically (`health::DisabledReason::as_str`), if it was.
    pub disabled_reason: Option<String>,
    pub disabled_at_ms: Option<i64>,
}

impl Webhook {
    pub fn subscribes_to(&self, event: EventType) -> bool {
        self.on.contains(&event)
    }
}
