//! The delivery body: Misskey's envelope with its keys in Misskey's order
//! (`server, hookId, userId, eventId, createdAt, type, body`), around a body that was
//! serialized once when the event happened. The worker sends it; the delivery log shows
//! the same text.

pub struct Envelope<'a> {
    pub server: &'a str,
    pub hook_id: &'a str,
    pub user_id: &'a str,
    pub event_id: &'a str,
    pub created_at: i64,
    pub event_type: &'a str,
    /// A JSON object, already serialized.
    pub body: &'a str,
}

impl Envelope<'_> {
    /// The envelope as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + 256);
        out.push_str("{\"server\":");
        push_json_string(&mut out, self.server);
        out.push_str(",\"hookId\":");
        push_json_string(&mut out, self.hook_id);
        out.push_str(",\"userId\":");
        push_json_string(&mut out, self.user_id);
        out.push_str(",\"eventId\":");
        push_json_string(&mut out, self.event_id);
        out.push_str(",\"createdAt\":");
        out.push_str(&self.created_at.to_string());
        out.push_str(",\"type\":");
        push_json_string(&mut out, self.event_type);
        out.push_str(",\"body\":");
        out.push_str(self.body);
        out.push('}');
        out
    }
}

fn push_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_in_misskeys_order_and_strings_are_escaped() {
        let text = Envelope {
            server: "https://x.example",
            hook_id: "h1",
            user_id: "u\"1",
            event_id: "e1",
            created_at: 1_757_332_800_000,
            event_type: "note",
            body: "{\"note\":{}}",
        }
        .to_json();
        assert_eq!(
            text,
            r#"{"server":"https://x.example","hookId":"h1","userId":"u\"1","eventId":"e1","createdAt":1757332800000,"type":"note","body":{"note":{}}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["userId"], "u\"1");
    }
}
