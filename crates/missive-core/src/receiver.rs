//! What counts as one receiver for fairness (ARCHITECTURE.md invariant 5): the host and port a
//! webhook's URL points at. Webhooks of different users that post to the same service
//! share its key, so the per-host concurrency cap holds over all of them.

/// The key of the receiving host of `url`: its host, lowercased, and its port (the
/// scheme's default when none is given), as `host:port`. `HTTP://Example.COM/a` and
/// `http://example.com:80/b` share a key; `http://example.com:8080/` has its own.
///
/// A URL that does not parse (the API refuses those, so only old or hand-edited rows
/// could hold one) is its own key.
pub fn host_key(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return url.to_ascii_lowercase();
    };
    match (parsed.host_str(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{}:{port}", host.to_ascii_lowercase()),
        (Some(host), None) => host.to_ascii_lowercase(),
        _ => url.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::host_key;

    #[test]
    fn the_same_host_and_port_share_a_key() {
        assert_eq!(host_key("http://example.com/a"), "example.com:80");
        assert_eq!(host_key("HTTP://Example.COM:80/b?c=d"), "example.com:80");
        assert_eq!(host_key("https://user:pw@example.com/x"), "example.com:443");
    }

    #[test]
    fn another_port_or_scheme_is_another_receiver() {
        assert_eq!(host_key("http://example.com:8080/"), "example.com:8080");
        assert_eq!(host_key("https://example.com/"), "example.com:443");
        assert_eq!(host_key("http://127.0.0.1:3001/hook"), "127.0.0.1:3001");
        assert_eq!(host_key("http://[::1]:9/"), "[::1]:9");
    }

    #[test]
    fn a_url_that_does_not_parse_is_its_own_key() {
        assert_eq!(host_key("Not A URL"), "not a url");
    }
}
