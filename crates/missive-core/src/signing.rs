//! Standard Webhooks signatures, sent beside Misskey's `X-Misskey-Hook-Secret` so that
//! receivers can verify a delivery without trusting the network with the secret alone.
//!
//! `webhook-signature` is `v1,` and the base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.
//! The key is the webhook's secret: the bytes after `whsec_` base64-decoded when the
//! secret has that Standard Webhooks form, otherwise the secret's own UTF-8 bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The value of the `webhook-signature` header.
pub fn signature(secret: &str, message_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_test_vector() {
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn plain_secrets_are_used_as_they_are() {
        let a = signature("s3cret", "id", 1, b"{}");
        assert_ne!(a, signature("other", "id", 1, b"{}"));
        assert_ne!(a, signature("s3cret", "id", 2, b"{}"));
        assert_eq!(a, signature("s3cret", "id", 1, b"{}"));
    }
}
