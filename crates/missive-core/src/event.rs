//! The webhook event types, in Misskey's order (`webhookEventTypes`).

use std::fmt;
use std::str::FromStr;

/// A type a webhook can subscribe to. Misskey accepts `Reaction` but never emits it;
/// missive emits it (see `emission::reacted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Mention,
    Unfollow,
    Follow,
    Followed,
    Note,
    Reply,
    Renote,
    Reaction,
}

impl EventType {
    /// Every type, in Misskey's enum order.
    pub const ALL: [EventType; 8] = [
        EventType::Mention,
        EventType::Unfollow,
        EventType::Follow,
        EventType::Followed,
        EventType::Note,
        EventType::Reply,
        EventType::Renote,
        EventType::Reaction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Mention => "mention",
            EventType::Unfollow => "unfollow",
            EventType::Follow => "follow",
            EventType::Followed => "followed",
            EventType::Note => "note",
            EventType::Reply => "reply",
            EventType::Renote => "renote",
            EventType::Reaction => "reaction",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the eight event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEventType;

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<EventType, UnknownEventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownEventType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert_eq!("reactions".parse::<EventType>(), Err(UnknownEventType));
    }
}
