//! `GET /identicon/{acct}`: the default avatar that every packed user's `avatarUrl`
//! points to, as on Misskey. A symmetric 5 × 5 pattern and a colour, both derived
//! from the SHA-256 of the account name, drawn as SVG.

use std::fmt::Write;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use sha2::{Digest, Sha256};

pub fn router() -> Router {
    Router::new().route("/identicon/{acct}", get(identicon))
}

async fn identicon(Path(acct): Path<String>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg(&acct.to_lowercase()),
    )
}

/// Draws the identicon of `acct`: the left three columns come from the hash and are
/// mirrored, so the picture is symmetric like Misskey's.
pub fn svg(acct: &str) -> String {
    let hash = Sha256::digest(acct.as_bytes());
    let hue = u16::from_be_bytes([hash[0], hash[1]]) % 360;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 5 5\" width=\"128\" height=\"128\" shape-rendering=\"crispEdges\">\
         <rect width=\"5\" height=\"5\" fill=\"hsl({hue} 30% 94%)\"/>"
    );
    for row in 0..5 {
        for col in 0..3 {
            let bit = row * 3 + col;
            if hash[2 + bit / 8] >> (bit % 8) & 1 == 1 {
                for x in [col, 4 - col] {
                    let _ = write!(
                        out,
                        "<rect x=\"{x}\" y=\"{row}\" width=\"1\" height=\"1\" fill=\"hsl({hue} 55% 45%)\"/>"
                    );
                }
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identicons_are_stable_symmetric_and_differ_by_account() {
        let a = svg("alice@127.0.0.1:3000");
        assert_eq!(a, svg("alice@127.0.0.1:3000"));
        assert_ne!(a, svg("bob@127.0.0.1:3000"));
        assert!(a.starts_with("<svg") && a.ends_with("</svg>"));
        // Every cell drawn on the left has its mirror on the right.
        for row in 0..5 {
            for col in 0..2 {
                let left = a.contains(&format!("x=\"{col}\" y=\"{row}\""));
                let right = a.contains(&format!("x=\"{}\" y=\"{row}\"", 4 - col));
                assert_eq!(left, right);
            }
        }
    }
}
