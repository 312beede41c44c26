//! What a room's message pane shows, as plain data: stored messages keyed by seq and
//! presence notices placed between them. (Our own unconfirmed messages are in the outbox.)
//!
//! Keying by seq is what makes the history fetch and the live stream join cleanly: a
//! message that arrives both ways lands on the same key once, and order is the key order.
//!
//! A jump far back (a reply's original, a search hit, a link) holds the page around its
//! message apart from the newest ones: a *gap* after it, until the reader reads down to
//! the newest (pages after the gap) or jumps back to them. Only the part up to the gap is
//! drawn; live messages still land after it, so none is missed meanwhile.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::protocol::{ChatMessage, HistoryPage, JoinedRoom, Seq, Update};

/// Messages are `(seq, 0)`; a notice that happened after message `seq` is `(seq, n)`.
pub type LineKey = (Seq, u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Message(ChatMessage),
    Notice(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    pub room: String,
    lines: BTreeMap<LineKey, Line>,
    notices: u32,
    /// Older messages exist on the server.
    pub has_more: bool,
    /// The first join answered; before that the pane shows "loading".
    pub loaded: bool,
    /// The newest seq applied, a message's or a change's: a rejoin asks for what came
    /// after it.
    cursor: Seq,
    /// After a jump far back: the seq of the newest message read around it. Messages
    /// after it, up to the next one held, are not held (yet).
    gap: Option<Seq>,
}

/// Where a message is, for a jump to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// In the part drawn.
    Drawn,
    /// Held, after the gap.
    PastGap,
    /// Not held: the page around it must be fetched.
    No,
}

impl Timeline {
    pub fn for_room(room: &str) -> Self {
        Timeline {
            room: room.to_owned(),
            ..Timeline::default()
        }
    }

    pub fn lines(&self) -> impl Iterator<Item = (&LineKey, &Line)> {
        self.lines.iter()
    }

    /// Seq of the newest message held, if any.
    pub fn last_seq(&self) -> Option<Seq> {
        self.message_seqs().next_back()
    }

    /// Number (`ChatMessage::n`) of the newest message drawn, if any: how far the reader
    /// has seen.
    pub fn last_n(&self) -> Option<Seq> {
        self.drawn(None).rev().find_map(|(_, line)| match line {
            Line::Message(m) => Some(m.n),
            Line::Notice(_) => None,
        })
    }

    /// What a rejoin asks for events after: the newest seq applied.
    pub fn cursor(&self) -> Seq {
        self.cursor.max(self.last_seq().unwrap_or(0))
    }

    /// Seq of the oldest message held, if any.
    pub fn first_seq(&self) -> Option<Seq> {
        self.message_seqs().next()
    }

    fn message_seqs(&self) -> impl DoubleEndedIterator<Item = Seq> + '_ {
        self.lines
            .iter()
            .filter(|(_, line)| matches!(line, Line::Message(_)))
            .map(|((seq, _), _)| *seq)
    }

    /// A stored message, live or from history. Idempotent.
    pub fn add_message(&mut self, msg: ChatMessage) {
        self.lines.insert((msg.seq, 0), Line::Message(msg));
    }

    /// A stored change of a message, live or missed while away. Idempotent; a change of a
    /// message not held (older than what is loaded) is already in that message when
    /// history brings it.
    pub fn apply_update(&mut self, update: &Update) {
        if let Some(Line::Message(msg)) = self.lines.get_mut(&(update.target, 0)) {
            update.apply(msg);
        }
        self.cursor = self.cursor.max(update.seq);
    }

    /// A line such as "ana joined", placed after message `after`.
    pub fn add_notice(&mut self, after: Seq, text: String) {
        self.notices += 1;
        self.lines.insert((after, self.notices), Line::Notice(text));
    }

    /// A room as last seen on this browser, shown until the server answers (or while
    /// offline). Counts as loaded: the join then asks only for what came after.
    pub fn restored(room: &str, messages: Vec<ChatMessage>, has_more: bool) -> Self {
        let mut t = Timeline::for_room(room);
        for msg in messages {
            t.add_message(msg);
        }
        t.has_more = has_more;
        t.loaded = true;
        t
    }

    /// The newest `n` messages, and whether older ones exist, to keep for an offline start
    /// (never what a jump brought: those are not the newest).
    pub fn recent(&self, n: usize) -> (Vec<ChatMessage>, bool) {
        let past_gap = self
            .gap
            .map_or(Bound::Unbounded, |gap| Bound::Excluded((gap, u32::MAX)));
        let mut newest: Vec<ChatMessage> = self
            .lines
            .range((past_gap, Bound::Unbounded))
            .map(|(_, line)| line)
            .rev()
            .filter_map(|line| match line {
                Line::Message(m) => Some(m.clone()),
                Line::Notice(_) => None,
            })
            .take(n + 1)
            .collect();
        let cut = newest.len() > n;
        newest.truncate(n);
        newest.reverse();
        (newest, cut || self.has_more || self.gap.is_some())
    }

    /// The lines drawn from `first` on (from the oldest without `first`): up to the gap,
    /// if there is one.
    pub fn drawn(
        &self,
        first: Option<LineKey>,
    ) -> impl DoubleEndedIterator<Item = (&LineKey, &Line)> {
        let from = first.map_or(Bound::Unbounded, Bound::Included);
        let to = self
            .gap
            .map_or(Bound::Unbounded, |gap| Bound::Included((gap, u32::MAX)));
        self.lines.range((from, to))
    }

    /// Key of the oldest of the newest `n` lines drawn.
    pub fn key_from_end(&self, n: usize) -> Option<LineKey> {
        self.drawn(None).rev().take(n).last().map(|(k, _)| *k)
    }

    /// The seq of the newest message read around a jump, while the ones after it are not
    /// all held.
    pub fn gap(&self) -> Option<Seq> {
        self.gap
    }

    /// The message `seq`, if held.
    pub fn message(&self, seq: Seq) -> Option<&ChatMessage> {
        match self.lines.get(&(seq, 0)) {
            Some(Line::Message(m)) => Some(m),
            _ => None,
        }
    }

    /// Where the message `seq` is.
    pub fn find(&self, seq: Seq) -> Held {
        match (self.lines.contains_key(&(seq, 0)), self.gap) {
            (false, _) => Held::No,
            (true, Some(gap)) if seq > gap => Held::PastGap,
            (true, _) => Held::Drawn,
        }
    }

    /// The page of history around a message jumped to (not held). Held already from its
    /// newest message on, it joins what is held; otherwise it stands before a gap, and
    /// what an earlier jump brought goes.
    pub fn add_around(&mut self, page: HistoryPage) {
        self.to_newest();
        let Some(newest) = page.messages.last().map(|m| m.seq) else {
            return;
        };
        if self.first_seq().is_some_and(|first| newest < first) {
            self.gap = Some(newest);
        }
        self.add_older(page);
    }

    /// The page after the gap, read down to: the gap closes when it reaches what is held
    /// (or the newest there is).
    pub fn add_newer(&mut self, page: HistoryPage) {
        let Some(gap) = self.gap else { return };
        let past_gap = self
            .lines
            .range((gap, u32::MAX)..)
            .find(|(_, line)| matches!(line, Line::Message(_)))
            .map(|((seq, _), _)| *seq);
        let newest = page.messages.last().map_or(gap, |m| m.seq);
        self.gap = (page.has_more && past_gap.is_none_or(|held| newest < held)).then_some(newest);
        for msg in page.messages {
            self.add_message(msg);
        }
    }

    /// Back to the newest messages: what a jump brought goes, the gap with it.
    pub fn to_newest(&mut self) {
        if let Some(gap) = self.gap.take() {
            self.lines.retain(|&(seq, _), _| seq > gap);
            self.has_more = true;
        }
    }

    /// Key of the line `n` lines before `key`, or of the first line when fewer are.
    pub fn key_before(&self, key: LineKey, n: usize) -> Option<LineKey> {
        self.lines
            .range(..key)
            .rev()
            .take(n)
            .last()
            .map(|(k, _)| *k)
    }

    /// The answer to a join. With `after` (a rejoin after a reconnect) the answer holds
    /// what was missed; if it does not continue from `after` (`resumed`), the messages
    /// held up to the answer's `upto` are stale and are replaced. Live events past `upto`
    /// may already be here (the socket can beat the answer) and stay.
    pub fn apply_join(&mut self, joined: JoinedRoom, after: Option<Seq>) {
        let continues = after.is_some() && joined.resumed;
        if !continues {
            // Notices are live-only (never in history), so they stay too.
            self.lines
                .retain(|&(seq, notice), _| notice > 0 || seq > joined.upto);
            self.has_more = joined.has_more;
            self.gap = None;
        }
        for msg in joined.messages {
            self.add_message(msg);
        }
        for update in &joined.updates {
            self.apply_update(update);
        }
        self.cursor = self.cursor.max(joined.upto);
        self.loaded = true;
    }

    /// An older page, fetched while scrolling up.
    pub fn add_older(&mut self, page: HistoryPage) {
        for msg in page.messages {
            self.add_message(msg);
        }
        self.has_more = page.has_more;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: Seq) -> ChatMessage {
        ChatMessage {
            seq,
            n: seq,
            cid: format!("cid-{seq:04}"),
            author: "ana".into(),
            text: format!("m{seq}"),
            at_ms: 0,
            ..Default::default()
        }
    }

    fn joined(seqs: std::ops::RangeInclusive<Seq>, has_more: bool) -> JoinedRoom {
        JoinedRoom {
            room: crate::protocol::RoomInfo {
                slug: "general".into(),
                title: "General".into(),
                topic: String::new(),
                online: 1,
                latest: 0,
                ..Default::default()
            },
            online: vec!["ana".into()],
            upto: *seqs.end(),
            messages: seqs.map(msg).collect(),
            updates: Vec::new(),
            has_more,
            resumed: false,
        }
    }

    /// What a rejoin after `seqs.start() - 1` answers when that much was missed.
    fn resumed(seqs: std::ops::RangeInclusive<Seq>) -> JoinedRoom {
        JoinedRoom {
            resumed: true,
            has_more: true,
            ..joined(seqs, true)
        }
    }

    fn card(seq: Seq, target: Seq, title: &str) -> Update {
        Update {
            seq,
            target,
            cid: format!("preview-{target}"),
            change: crate::protocol::Change::Preview(Box::new(crate::protocol::Preview {
                title: title.into(),
                ..Default::default()
            })),
        }
    }

    fn title(t: &Timeline, seq: Seq) -> Option<String> {
        t.lines().find_map(|((s, _), line)| match line {
            Line::Message(m) if *s == seq => m.preview.as_ref().map(|p| p.title.clone()),
            _ => None,
        })
    }

    #[test]
    fn changes_apply_once_however_they_arrive() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(1..=3, false), None);
        t.apply_update(&card(4, 2, "A"));
        t.apply_update(&card(4, 2, "A"));
        assert_eq!(title(&t, 2).as_deref(), Some("A"));
        assert_eq!(
            (t.cursor(), t.last_n()),
            (4, Some(3)),
            "a card is not a message"
        );
        // Away, then back: a message and a change of an older one were missed.
        let mut back = resumed(5..=5);
        back.updates = vec![card(6, 1, "B")];
        back.upto = 6;
        t.apply_join(back, Some(4));
        assert_eq!(title(&t, 1).as_deref(), Some("B"));
        assert_eq!(
            seqs(&t),
            [(1, 0), (2, 0), (3, 0), (5, 0)],
            "nothing replaced"
        );
        assert_eq!(t.cursor(), 6);
        // A change of a message not held is left for history, which has it applied.
        t.apply_update(&card(7, 99, "C"));
        assert_eq!(t.cursor(), 7);
    }

    fn seqs(t: &Timeline) -> Vec<LineKey> {
        t.lines().map(|(k, _)| *k).collect()
    }

    #[test]
    fn live_messages_and_history_merge_without_duplicates() {
        let mut t = Timeline::for_room("general");
        // Live events may beat the join's answer: those the answer holds, and newer ones.
        t.add_message(msg(51));
        t.add_message(msg(52));
        t.add_message(msg(53));
        t.apply_join(joined(3..=52, true), None);
        assert_eq!(t.first_seq(), Some(3));
        assert_eq!(
            t.last_seq(),
            Some(53),
            "a live message past the answer is kept"
        );
        assert_eq!(t.lines().count(), 51);
        assert!(t.has_more && t.loaded);

        t.add_older(HistoryPage {
            messages: (1..=2).map(msg).collect(),
            has_more: false,
        });
        assert_eq!(t.first_seq(), Some(1));
        assert!(!t.has_more);
    }

    #[test]
    fn a_window_over_the_lines() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(1..=10, false), None);
        let from = t.key_from_end(3);
        assert_eq!(from, Some((8, 0)));
        let shown: Vec<_> = t.drawn(from).map(|(k, _)| k.0).collect();
        assert_eq!(shown, [8, 9, 10]);
        assert_eq!(t.key_before((8, 0), 4), Some((4, 0)));
        assert_eq!(t.key_before((2, 0), 4), Some((1, 0)));
        assert_eq!(t.key_before((1, 0), 4), None);
        assert_eq!(t.drawn(None).count(), 10);
    }

    fn page(seqs: std::ops::RangeInclusive<Seq>, has_more: bool) -> HistoryPage {
        HistoryPage {
            messages: seqs.map(msg).collect(),
            has_more,
        }
    }

    #[test]
    fn a_jump_far_back_stands_before_a_gap_until_read_down_to_the_newest() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(951..=1000, true), None);
        assert_eq!(t.find(400), Held::No);
        t.add_around(page(350..=400, true));
        assert_eq!(
            (t.find(400), t.find(1000), t.gap()),
            (Held::Drawn, Held::PastGap, Some(400))
        );
        assert_eq!(t.key_from_end(1), Some((400, 0)), "drawn up to the gap");
        assert_eq!(t.last_n(), Some(400), "the newest are not seen yet");
        // Live messages still land, after the gap; the offline copy keeps the newest.
        t.add_message(msg(1001));
        assert_eq!(t.cursor(), 1001);
        let (kept, more) = t.recent(100);
        assert_eq!((kept.first().map(|m| m.seq), more), (Some(951), true));
        // Reading down: a page short of the held ones keeps the gap, one reaching them
        // closes it.
        t.add_newer(page(401..=450, true));
        assert_eq!(t.gap(), Some(450));
        t.add_newer(page(451..=951, true));
        assert_eq!(t.gap(), None);
        assert_eq!(t.drawn(None).count(), 1001 - 350 + 1);
    }

    #[test]
    fn jumping_again_or_back_to_the_newest_drops_what_a_jump_brought() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(951..=1000, true), None);
        t.add_around(page(350..=400, true));
        t.add_around(page(100..=150, true));
        assert_eq!((t.first_seq(), t.gap()), (Some(100), Some(150)));
        assert_eq!(t.find(400), Held::No);
        t.to_newest();
        assert_eq!(
            (t.first_seq(), t.gap(), t.has_more),
            (Some(951), None, true)
        );
        // A page that reaches what is held joins it: no gap.
        t.add_around(page(900..=960, true));
        assert_eq!((t.first_seq(), t.gap()), (Some(900), None));
        // A fresh join (too much missed) starts over, gap and all.
        t.add_around(page(1..=50, false));
        t.apply_join(joined(2000..=2049, true), Some(1));
        assert_eq!((t.first_seq(), t.gap()), (Some(2000), None));
    }

    #[test]
    fn what_is_kept_for_an_offline_start() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(1..=10, false), None);
        let (kept, more) = t.recent(4);
        assert_eq!(
            kept.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [7, 8, 9, 10]
        );
        assert!(more, "older messages were left out");
        assert!(!t.recent(10).1);
        let back = Timeline::restored("general", kept, more);
        assert!(back.loaded && back.has_more);
        assert_eq!(back.last_seq(), Some(10));
    }

    #[test]
    fn notices_sit_after_the_message_they_followed() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(1..=2, false), None);
        t.add_notice(2, "bo joined".into());
        t.add_message(msg(3));
        t.add_notice(3, "bo left".into());
        assert_eq!(seqs(&t), [(1, 0), (2, 0), (2, 1), (3, 0), (3, 2)]);
    }

    #[test]
    fn a_rejoin_fills_the_gap_or_starts_over() {
        let mut t = Timeline::for_room("general");
        t.apply_join(joined(1..=10, false), None);
        // Missed 11..=12 while away: appended.
        t.apply_join(
            JoinedRoom {
                has_more: false,
                ..resumed(11..=12)
            },
            Some(10),
        );
        assert_eq!(t.lines().count(), 12);
        assert!(!t.has_more);
        // Missed too much: the server sent the newest page instead; the old lines go.
        t.apply_join(joined(500..=549, true), Some(12));
        assert_eq!(t.first_seq(), Some(500));
        assert_eq!(t.lines().count(), 50);
        assert!(t.has_more);
    }
}
