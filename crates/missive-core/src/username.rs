//! Usernames that sign-up refuses: Misskey's default `preservedUsernames`, which keep
//! names that suggest authority or a system role for the administrator to hand out.

/// Misskey's default reserved list, compared without regard to case.
pub const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "system",
    "maintainer",
    "host",
    "mod",
    "moderator",
    "owner",
    "superuser",
    "staff",
    "auth",
    "i",
    "me",
    "everyone",
    "all",
    "mention",
    "mentions",
    "example",
    "user",
    "users",
    "account",
    "accounts",
    "official",
    "help",
    "helps",
    "support",
    "supports",
    "info",
    "information",
    "informations",
    "announce",
    "announces",
    "announcement",
    "announcements",
    "notice",
    "notification",
    "notifications",
    "dev",
    "developer",
    "developers",
    "tech",
    "misskey",
];

/// Whether `username` is reserved (as Misskey compares: trimmed, case-insensitively).
pub fn is_reserved(username: &str) -> bool {
    let wanted = username.trim();
    RESERVED_USERNAMES
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    use super::is_reserved;

    #[test]
    fn reserved_names_are_matched_whatever_their_case() {
        for name in ["admin", "Admin", "ROOT", "system", "i", "Misskey"] {
            assert!(is_reserved(name), "{name}");
        }
        for name in ["alice", "admins", "root_", "sys", "", "myadmin"] {
            assert!(!is_reserved(name), "{name}");
        }
    }
}
