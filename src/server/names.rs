//! When two names are the same name: for who may use a name (online claims, registered
//! accounts), mentions and presence. Not by their letters but by how they look — Unicode's
//! NFKC, case folded, then its confusables' skeleton (UTS #39, the `unicode-security`
//! crate) — so "Аna" with a Cyrillic А, "ＡＮＡ" in full width or "rnaria" for "maria"
//! cannot pass for someone else. The page compares names by case only (`protocol::
//! name_key`), for display; what decides is here.

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// The form two names share when they look alike.
pub fn name_key(name: &str) -> String {
    let folded = name.nfkc().collect::<String>().to_lowercase();
    // The skeleton may bring back capitals (a confusable's prototype): fold again.
    skeleton(&folded).collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_alike_are_one_name() {
        let same = |a: &str, b: &str| name_key(a) == name_key(b);
        assert!(same("Ana", "ana"), "case");
        assert!(same("Ana", "\u{410}na"), "a Cyrillic capital A");
        assert!(same("ana", "\u{430}n\u{430}"), "Cyrillic small a");
        assert!(same("ANA", "\u{FF21}\u{FF2E}\u{FF21}"), "full width");
        assert!(same("maria", "rnaria"), "rn looks like m");
        assert!(same("Bo Li", "bo li"));
        assert!(same("Zoë", "Zoe\u{308}"), "composed or not");
        assert!(!same("Ana", "Anna"));
        assert!(!same("Bo", "Bob"));
    }
}
