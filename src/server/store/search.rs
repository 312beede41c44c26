//! The storage seam for search: what a person's query asks for, and the messages that
//! answer it, from the rooms that person may read only.

use super::StoreResult;
use crate::protocol::SearchHit;

/// Words (at most this many) a query may hold; more are ignored.
pub const MAX_WORDS: usize = 12;

/// A person's query, read from what they typed: words, `from:name`, `in:room`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Every word must be in the message (stemmed, accents and case ignored).
    pub words: Vec<String>,
    /// Only messages by this name (`from:ana`).
    pub from: Option<String>,
    /// Only messages in the room with this slug (`in:general`, or `in:#general`).
    pub room: Option<String>,
    /// Only pinned messages (`is:pinned`), newest pin first; words are then optional:
    /// `in:general is:pinned` is the room's pins.
    pub pinned: bool,
}

impl SearchQuery {
    /// Reads what the person typed. Nothing in it is an FTS5 operator: quotes, `*`,
    /// `NEAR`, `OR` and `column:` are words like any other (see [`Self::fts_match`]).
    pub fn parse(typed: &str) -> Result<SearchQuery, &'static str> {
        let mut query = SearchQuery::default();
        for part in typed.split_whitespace() {
            if part == "is:pinned" {
                query.pinned = true;
            } else if let Some(name) = part.strip_prefix("from:").filter(|n| !n.is_empty()) {
                query.from = Some(name.trim_start_matches('@').to_owned());
            } else if let Some(room) = part.strip_prefix("in:").filter(|r| !r.is_empty()) {
                query.room = Some(room.trim_start_matches('#').to_lowercase());
            } else if query.words.len() < MAX_WORDS {
                // What the index would split a word into; a part of only signs has none.
                let word: String = part
                    .chars()
                    .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                    .collect();
                query
                    .words
                    .extend(word.split_whitespace().map(str::to_owned));
            }
        }
        query.words.truncate(MAX_WORDS);
        if query.words.is_empty() && !query.pinned {
            return Err("Search for at least one word.");
        }
        Ok(query)
    }

    /// The FTS5 expression: each word a quoted string (its own quotes doubled), all of
    /// them required. A quoted string is never an operator or a column filter.
    pub fn fts_match(&self) -> String {
        self.words
            .iter()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[async_trait::async_trait]
pub trait SearchStore: Send + Sync + 'static {
    /// Up to `limit` messages answering `query`, newest first, from the rooms `user` may
    /// read (public rooms, and the private rooms and conversations they are a member of):
    /// the filter is in the query, so nothing else is ever read for them.
    async fn search(
        &self,
        user: &str,
        query: &SearchQuery,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_words_and_filters_never_operators() {
        let q =
            SearchQuery::parse("from:@Ana in:#General deploy* NEAR(a b) \"x\" text:y OR").unwrap();
        assert_eq!(q.from.as_deref(), Some("Ana"));
        assert_eq!(q.room.as_deref(), Some("general"));
        assert_eq!(
            q.words,
            ["deploy", "NEAR", "a", "b", "x", "text", "y", "OR"]
        );
        assert_eq!(
            q.fts_match(),
            r#""deploy" "NEAR" "a" "b" "x" "text" "y" "OR""#
        );
        assert!(SearchQuery::parse("from:ana *** \"\"").is_err(), "no words");
        assert!(SearchQuery::parse("   ").is_err());
        let pins = SearchQuery::parse("in:general is:pinned").unwrap();
        assert!(pins.pinned && pins.words.is_empty());
        let many = SearchQuery::parse(&"w ".repeat(100)).unwrap();
        assert_eq!(many.words.len(), MAX_WORDS);
        assert_eq!(SearchQuery::parse("café").unwrap().words, ["café"]);
    }
}
