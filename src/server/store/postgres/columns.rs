//! How a message is read on PostgreSQL, shared by reading a room's stream ([`super::rooms`])
//! and by a retried send's reply ([`super::messages`]), which the stream's [`Store`]
//! implementation in turn calls: kept apart so neither file imports the other.
//!
//! [`Store`]: super::super::Store

/// A message's columns, read from [`MESSAGES`] (`m`, the message; `q`, the one it replies to).
pub(super) const MESSAGE_COLUMNS: &str = "m.seq, m.n, m.cid, m.author, m.text, m.at_ms, \
     m.mentions, m.doc, m.preview, m.file, m.state, m.rev, m.reactions, m.pinned_at, \
     q.seq AS q_seq, q.author AS q_author, q.text AS q_text, q.state AS q_state";

/// Messages, each with the one it replies to, quoted as it is now.
pub(super) const MESSAGES: &str =
    "messages AS m LEFT JOIN messages AS q ON q.room_id = m.room_id AND q.seq = m.reply_to";
