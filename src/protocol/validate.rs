//! Checks of what people type, run on both sides: the browser uses them to explain a
//! mistake before sending, the server to refuse it regardless of what the browser did.

use super::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_ROOM_TITLE_CHARS, MAX_TOPIC_CHARS};

/// Trims a username and checks it: 1–32 characters of letters, digits, spaces and `_ - .`.
pub fn normalize_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("Pick a name.".into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!("Names are at most {MAX_NAME_CHARS} characters."));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.')))
    {
        return Err(format!(
            "Names may hold letters, digits, spaces and _ - . but not “{bad}”."
        ));
    }
    Ok(name.to_owned())
}

/// The form under which names are compared: "Ana" and "ana" are the same person.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Trims a message and checks it is neither empty nor over [`MAX_MESSAGE_CHARS`].
pub fn normalize_text(raw: &str) -> Result<&str, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("Empty messages are not sent.".into());
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(format!(
            "Messages are at most {MAX_MESSAGE_CHARS} characters; this one has {chars}."
        ));
    }
    Ok(text)
}

/// Checks a new room's title and topic; returns the trimmed title, the room's address
/// (lowercase ASCII letters, digits and dashes, made from the title) and the trimmed topic.
pub fn normalize_room(title: &str, topic: &str) -> Result<(String, String, String), String> {
    let title = title.trim();
    let chars = title.chars().count();
    if chars == 0 {
        return Err("Give the room a name.".into());
    }
    if chars > MAX_ROOM_TITLE_CHARS {
        return Err(format!(
            "Room names are at most {MAX_ROOM_TITLE_CHARS} characters."
        ));
    }
    if title.chars().any(char::is_control) {
        return Err("Room names are one line of text.".into());
    }
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty()
            && !slug.ends_with('-')
            && (c.is_whitespace() || c == '-' || c == '_')
        {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        return Err("Room names need a letter or digit from a–z or 0–9.".into());
    }
    let topic = topic.trim();
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(format!("Topics are at most {MAX_TOPIC_CHARS} characters."));
    }
    Ok((title.to_owned(), slug, topic.to_owned()))
}

/// Ids made by clients (user ids, message ids): 8–64 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_client_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(normalize_name("  Ana Lu "), Ok("Ana Lu".into()));
        assert_eq!(normalize_name("jo_e-1.x"), Ok("jo_e-1.x".into()));
        assert_eq!(normalize_name("Zoë"), Ok("Zoë".into()));
        assert!(normalize_name("   ").is_err());
        assert!(normalize_name(&"a".repeat(33)).is_err());
        assert!(normalize_name(&"é".repeat(32)).is_ok());
        assert!(normalize_name("<b>").is_err());
        assert!(normalize_name("a\tb").is_err());
        assert_eq!(name_key("ANA"), name_key("ana"));
    }

    #[test]
    fn texts_are_trimmed_and_limited_in_characters() {
        assert_eq!(normalize_text("  hi \n"), Ok("hi"));
        assert!(normalize_text(" \n ").is_err());
        assert!(normalize_text(&"€".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(normalize_text(&"a".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn room_titles_make_addresses() {
        let ok = |t: &str| normalize_room(t, "").map(|(_, slug, _)| slug);
        assert_eq!(ok("  Board Games "), Ok("board-games".into()));
        assert_eq!(ok("Rust_and -- Go"), Ok("rust-and-go".into()));
        assert_eq!(
            ok("<script>alert(1)</script>"),
            Ok("scriptalert1script".into())
        );
        assert!(ok("   ").is_err());
        assert!(ok("日本語").is_err(), "no a–z/0–9 at all");
        assert!(ok(&"a".repeat(33)).is_err());
        assert!(ok("two\nlines").is_err());
        assert!(normalize_room("ok", &"t".repeat(201)).is_err());
    }

    #[test]
    fn client_ids_are_checked() {
        assert!(is_valid_client_id("abcd-EFG_123"));
        assert!(!is_valid_client_id("short"));
        assert!(!is_valid_client_id("has space in it"));
        assert!(!is_valid_client_id(&"a".repeat(65)));
    }
}
