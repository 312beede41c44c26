//! Where a message's text names people: the server recognised the mentions when storing
//! it (their names come with the message); this finds them in the text to mark them, and
//! what the composer should offer after an `@`.

/// A piece of a message's text: plain, or a mention of `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub mention: Option<String>,
}

/// Splits `text` into plain pieces and `@name` mentions of the names in `mentions`
/// (whatever their case in the text; the longest name wins where several fit).
pub fn pieces(text: &str, mentions: &[String]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let lower = text.to_lowercase();
    // Lower-casing may change lengths; mark only where it did not.
    let same_shape = lower.len() == text.len();
    let mut names: Vec<(String, &String)> = mentions
        .iter()
        .map(|name| (format!("@{}", name.to_lowercase()), name))
        .collect();
    names.sort_by_key(|(at, _)| std::cmp::Reverse(at.len()));
    let mut i = 0;
    while i < text.len() {
        let found = same_shape
            .then(|| {
                names
                    .iter()
                    .find(|(at, _)| lower[i..].starts_with(at.as_str()))
            })
            .flatten();
        match found {
            Some((at, name)) => {
                if !plain.is_empty() {
                    out.push(Piece {
                        text: std::mem::take(&mut plain),
                        mention: None,
                    });
                }
                out.push(Piece {
                    text: text[i..i + at.len()].to_owned(),
                    mention: Some((*name).clone()),
                });
                i += at.len();
            }
            None => {
                let c = text[i..].chars().next().unwrap_or(' ');
                plain.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !plain.is_empty() {
        out.push(Piece {
            text: plain,
            mention: None,
        });
    }
    out
}

/// The `@word` being typed at the end of `before_caret`, without its `@`, if any.
pub fn typing_mention(before_caret: &str) -> Option<&str> {
    let at = before_caret.rfind('@')?;
    let starts = before_caret[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric());
    let word = &before_caret[at + 1..];
    let plausible = word.chars().count() <= crate::protocol::MAX_NAME_CHARS && !word.contains('\n');
    (starts && plausible).then_some(word)
}

/// The names among `candidates` that start with `typed` (case ignored), at most `limit`.
pub fn suggestions(typed: &str, candidates: &[String], limit: usize) -> Vec<String> {
    let typed = typed.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for name in candidates {
        if name.to_lowercase().starts_with(&typed) && !out.contains(name) {
            out.push(name.clone());
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, mentions: &[&str]) -> Vec<(String, bool)> {
        let mentions: Vec<String> = mentions.iter().map(|m| m.to_string()).collect();
        pieces(text, &mentions)
            .into_iter()
            .map(|p| (p.text, p.mention.is_some()))
            .collect()
    }

    #[test]
    fn mentions_are_cut_out_of_the_text() {
        assert_eq!(
            shown("hi @Ana Lopez and @bo!", &["Ana Lopez", "bo"]),
            [
                ("hi ".to_owned(), false),
                ("@Ana Lopez".to_owned(), true),
                (" and ".to_owned(), false),
                ("@bo".to_owned(), true),
                ("!".to_owned(), false),
            ]
        );
        assert_eq!(shown("@ANA", &["ana"]), [("@ANA".to_owned(), true)]);
        assert_eq!(shown("no one", &[]), [("no one".to_owned(), false)]);
    }

    #[test]
    fn the_longest_name_wins() {
        assert_eq!(
            shown("@ana lopez", &["ana", "ana lopez"]),
            [("@ana lopez".to_owned(), true)]
        );
    }

    #[test]
    fn the_word_after_an_at_is_what_is_typed() {
        assert_eq!(typing_mention("hi @an"), Some("an"));
        assert_eq!(typing_mention("@"), Some(""));
        assert_eq!(typing_mention("mail a@b"), None);
        assert_eq!(typing_mention("no at"), None);
        let names = ["Ana".to_owned(), "Bo".to_owned(), "anton".to_owned()];
        assert_eq!(suggestions("an", &names, 5), ["Ana", "anton"]);
        assert_eq!(suggestions("", &names, 2), ["Ana", "Bo"]);
    }
}
