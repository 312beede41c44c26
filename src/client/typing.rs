//! "Ana is typing…": who is typing in the open room, until when, and how often this page
//! says that its user is. Pure, apart from the clock and the timer of the `hydrate` build.

use crate::protocol::{TYPING_EVERY_MS, TYPING_SHOWN_MS};

/// People typing in the open room, in the order they started, each with the time (ms
/// since the epoch) their "is typing" goes away unless they type on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Typists {
    list: Vec<(String, f64)>,
}

impl Typists {
    /// `name` typed at `now`: shown, or shown for longer.
    pub fn typing(&mut self, name: String, now: f64) {
        let until = now + TYPING_SHOWN_MS as f64;
        match self.list.iter_mut().find(|(n, _)| *n == name) {
            Some((_, shown_until)) => *shown_until = until,
            None => self.list.push((name, until)),
        }
    }

    /// `name` is not typing any more (their message arrived, they left).
    pub fn stopped(&mut self, name: &str) {
        self.list.retain(|(n, _)| n != name);
    }

    pub fn has(&self, name: &str) -> bool {
        self.list.iter().any(|(n, _)| n == name)
    }

    /// Whether anyone's time is up at `now`.
    pub fn any_expired(&self, now: f64) -> bool {
        self.list.iter().any(|(_, until)| *until <= now)
    }

    /// Takes out those whose time is up at `now`.
    pub fn expire(&mut self, now: f64) {
        self.list.retain(|(_, until)| *until > now);
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|(n, _)| n.as_str())
    }

    /// What the line under the messages says, if anything.
    pub fn label(&self) -> Option<String> {
        match self.list.as_slice() {
            [] => None,
            [(one, _)] => Some(format!("{one} is typing…")),
            [(one, _), (two, _)] => Some(format!("{one} and {two} are typing…")),
            _ => Some("Several people are typing…".to_owned()),
        }
    }
}

/// When this page last told a room its user is typing: at most once per
/// [`TYPING_EVERY_MS`], and only about text there is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TypingSender {
    last: Option<f64>,
}

impl TypingSender {
    /// The user changed the draft to `text` at `now`: whether to send `typing`.
    pub fn due(&mut self, text: &str, now: f64) -> bool {
        if text.trim().is_empty() {
            return false;
        }
        // A clock that went back (the system's was set) does not silence the page.
        let recent = |last: f64| (last..last + TYPING_EVERY_MS as f64).contains(&now);
        if self.last.is_some_and(recent) {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// Milliseconds since the epoch, on the page's clock.
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Takes out, once their time is up, the names shown now (a later event for one of them
/// sets its own timer).
#[cfg(feature = "hydrate")]
pub fn expire_later(typing: leptos::prelude::RwSignal<Typists>) {
    use leptos::prelude::*;
    leptos::task::spawn_local(async move {
        let wait = std::time::Duration::from_millis(TYPING_SHOWN_MS + 20);
        gloo_timers::future::sleep(wait).await;
        let now = now_ms();
        if typing.with_untracked(|t| t.any_expired(now)) {
            typing.update(|t| t.expire(now));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_names_one_or_two_then_several() {
        let mut t = Typists::default();
        assert_eq!(t.label(), None);
        t.typing("Ana".into(), 0.0);
        assert_eq!(t.label().as_deref(), Some("Ana is typing…"));
        t.typing("Bo".into(), 1.0);
        t.typing("Ana".into(), 2.0);
        assert_eq!(t.label().as_deref(), Some("Ana and Bo are typing…"));
        t.typing("Carl".into(), 3.0);
        assert_eq!(t.label().as_deref(), Some("Several people are typing…"));
        t.stopped("Bo");
        assert_eq!(t.names().collect::<Vec<_>>(), ["Ana", "Carl"]);
    }

    #[test]
    fn a_name_goes_five_seconds_after_its_last_event() {
        let mut t = Typists::default();
        t.typing("Ana".into(), 1_000.0);
        t.typing("Bo".into(), 2_000.0);
        t.typing("Ana".into(), 4_000.0);
        assert!(!t.any_expired(6_999.0));
        t.expire(7_000.0);
        assert_eq!(t.names().collect::<Vec<_>>(), ["Ana"], "Bo's time is up");
        t.expire(8_999.0);
        assert!(t.has("Ana"), "extended by typing again");
        assert!(t.any_expired(9_000.0));
        t.expire(9_000.0);
        assert_eq!(t, Typists::default());
    }

    #[test]
    fn typing_is_sent_for_text_at_most_every_three_seconds() {
        let mut s = TypingSender::default();
        assert!(!s.due("  \n", 0.0), "nothing typed");
        assert!(s.due("h", 0.0));
        assert!(!s.due("hi", 100.0));
        assert!(!s.due("hi there", 2_999.0));
        assert!(s.due("hi there!", 3_000.0));
        assert!(!s.due("", 9_000.0));
        assert!(s.due("x", 9_000.0));
    }
}
