//! Links in messages: which link of a message gets a card. (What makes the cards sits
//! behind `room::LinkSink`.)

use crate::protocol::rich::{kind, Node};
use crate::protocol::ChatMessage;

/// The link of `msg` that gets a card: its first http(s) link, as the server's parse of
/// its markdown found it (bare URLs included). Mail links get none.
pub fn first_web_link(msg: &ChatMessage) -> Option<&str> {
    fn walk(nodes: &[Node]) -> Option<&str> {
        nodes.iter().find_map(|Node(k, text, children)| {
            let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
            let web = lower.starts_with("http://") || lower.starts_with("https://");
            if *k == kind::LINK && web {
                Some(text.as_str())
            } else if *k == kind::CODE_BLOCK {
                None
            } else {
                walk(children)
            }
        })
    }
    walk(msg.doc.as_deref()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::chat::markdown;

    fn message(text: &str) -> ChatMessage {
        ChatMessage {
            text: text.into(),
            doc: markdown::parse(text, &[]).map(crate::protocol::rich::to_nodes),
            ..ChatMessage::default()
        }
    }

    #[test]
    fn the_first_web_link_gets_the_card() {
        let first = |t: &str| first_web_link(&message(t)).map(str::to_owned);
        assert_eq!(
            first("see https://a.example/x and https://b.example/"),
            Some("https://a.example/x".into())
        );
        assert_eq!(
            first("**[docs](http://a.example/d)**"),
            Some("http://a.example/d".into())
        );
        assert_eq!(
            first("[mail](mailto:a@b.example) then https://c.example/"),
            Some("https://c.example/".into())
        );
        assert_eq!(first("no links here"), None);
        assert_eq!(first("`https://in.code/`"), None);
        assert_eq!(first("javascript:alert(1)"), None);
    }
}
