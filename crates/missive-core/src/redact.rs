//! What of a URL may be written to a log: scheme, host, port and path. The userinfo and
//! the query are left out, since either may carry a password or a token.

/// `url` without its userinfo, query and fragment; text that does not parse as a URL is
/// replaced by a placeholder rather than printed.
pub fn url_for_logs(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            // Both fail only for URLs that cannot have userinfo, which is fine.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let had_query = parsed.query().is_some() || parsed.fragment().is_some();
            parsed.set_query(None);
            parsed.set_fragment(None);
            let mut shown = parsed.to_string();
            if had_query {
                shown.push_str("?…");
            }
            shown
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::url_for_logs;

    #[test]
    fn credentials_and_queries_are_left_out() {
        let cases = [
            (
                "https://user:hunter2@hooks.example/path?token=s3cret#frag",
                "https://hooks.example/path?…",
            ),
            ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
            (
                "postgres://missive:secret@db.internal:5432/missive?sslmode=require",
                "postgres://db.internal:5432/missive?…",
            ),
            (
                "sqlite://./missive-data/missive.db",
                "sqlite://./missive-data/missive.db",
            ),
            ("not a url with a password", "<unparsable URL>"),
        ];
        for (url, shown) in cases {
            assert_eq!(url_for_logs(url), shown, "{url}");
        }
    }
}
