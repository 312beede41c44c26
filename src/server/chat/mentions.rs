//! Finding `@name` mentions in a message, once, when it is stored.
//!
//! Names may hold spaces ("Ana Lopez"), so a mention is the longest run of text after an
//! `@` that is someone's name and ends where a word ends: "@Ana Lopez, hi" mentions Ana
//! Lopez when she exists and Ana otherwise. An `@` inside a word (an e-mail address) is no
//! mention.

use crate::protocol::MAX_NAME_CHARS;
use crate::server::names::name_key;

/// At most this many people are mentioned by one message; a message naming the whole
/// server notifies nobody past them.
pub const MAX_MENTIONS: usize = 20;

/// Someone a mention names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub user: String,
    /// As they call themselves (the case of the mention does not matter).
    pub name: String,
}

/// The people `text` mentions, each once, in order; `lookup` finds a person by the
/// case-folded form of a name ([`name_key`]).
pub fn find_mentions(text: &str, lookup: impl Fn(&str) -> Option<Person>) -> Vec<Person> {
    let mut found: Vec<Person> = Vec::new();
    let mut prev: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts = c == '@' && !prev.is_some_and(|p| p.is_alphanumeric() || p == '_');
        prev = Some(c);
        if !starts || found.len() >= MAX_MENTIONS {
            continue;
        }
        let rest = &text[at + 1..];
        if let Some(person) = longest_name(rest, &lookup) {
            if !found.iter().any(|p| p.user == person.user) {
                found.push(person);
            }
        }
    }
    found
}

/// The longest prefix of `rest` that ends a word and names someone.
fn longest_name(rest: &str, lookup: &impl Fn(&str) -> Option<Person>) -> Option<Person> {
    // Candidate ends: after each character of a word, up to the longest name.
    let mut ends = Vec::new();
    let mut chars = rest.char_indices().take(MAX_NAME_CHARS).peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\n' {
            break;
        }
        let end = i + c.len_utf8();
        let next = chars.peek().map(|&(_, n)| n);
        let word_ends = c.is_alphanumeric() && !next.is_some_and(char::is_alphanumeric);
        if word_ends {
            ends.push(end);
        }
    }
    ends.iter()
        .rev()
        .find_map(|&end| lookup(&name_key(&rest[..end])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people<'a>(known: &'a [&'a str]) -> impl Fn(&str) -> Option<Person> + 'a {
        move |key: &str| {
            known.iter().find(|n| name_key(n) == key).map(|n| Person {
                user: format!("u-{}", name_key(n)),
                name: n.to_string(),
            })
        }
    }

    fn names(text: &str, known: &[&str]) -> Vec<String> {
        find_mentions(text, people(known))
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    #[test]
    fn a_mention_is_an_at_and_a_known_name() {
        assert_eq!(names("hi @ana!", &["Ana"]), ["Ana"]);
        assert_eq!(names("@ANA: look", &["Ana"]), ["Ana"]);
        assert_eq!(names("hi @nobody", &["Ana"]), Vec::<String>::new());
    }

    #[test]
    fn the_longest_name_wins_and_names_may_hold_spaces() {
        let known = ["Ana", "Ana Lopez"];
        assert_eq!(names("@Ana Lopez, hi", &known), ["Ana Lopez"]);
        assert_eq!(names("@Ana Lo hi", &known), ["Ana"]);
        assert_eq!(names("@Ana Lopezz", &known), ["Ana"]);
    }

    #[test]
    fn an_at_inside_a_word_is_no_mention() {
        assert_eq!(names("mail ana@bo.org", &["bo"]), Vec::<String>::new());
        assert_eq!(names("(@bo)", &["bo"]), ["bo"]);
    }

    #[test]
    fn each_person_once_and_at_most_the_limit() {
        assert_eq!(names("@bo @Bo @ana @bo", &["bo", "ana"]), ["bo", "ana"]);
        let many: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
        let known: Vec<&str> = many.iter().map(String::as_str).collect();
        let text: String = many.iter().map(|n| format!("@{n} ")).collect();
        assert_eq!(names(&text, &known).len(), MAX_MENTIONS);
    }

    #[test]
    fn names_with_dots_and_dashes_end_at_a_word() {
        assert_eq!(names("ping @jo.b-x.", &["jo.b-x"]), ["jo.b-x"]);
    }
}
