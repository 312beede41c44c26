//! The wire: every type that crosses between browser and server, compiled for both sides.
//!
//! Live traffic is JSON text frames on one WebSocket per tab (`/ws`): the browser sends
//! [`ClientFrame`]s, the server pushes [`ServerEvent`]s. Joining rooms and reading history
//! go through server functions, which return the DTOs below.
//!
//! Ordering rests on one number: every room has a monotonically increasing [`Seq`]. Each
//! stored message, and each stored change of one ([`Update`]), has its own; presence
//! events carry the room's newest seq when they happened, so a client can place them in
//! the timeline. A client that has seen up to seq N of a room asks for "after N" and
//! misses nothing and sees nothing twice.
//!
//! Reading is counted in messages, not events: each message also has its number `n` in
//! the room (1, 2, 3… without the changes between them), and read marks, unread counts
//! and a room's `latest` are such numbers, so a link's card never shows as unread.
//!
//! The validation helpers here run on both sides: the browser uses them to explain a
//! mistake before sending, the server to refuse it regardless of what the browser did.

//!
//! - [`events`]: what goes over the WebSocket, both ways, and why a frame was refused.
//! - [`dto`]: what server functions answer: rooms, messages, who this is.
//! - [`error`]: the errors of server functions.
//! - [`Attachment`]: a file sent with a message.
//! - [`validate`]: the checks of names, texts, room titles and client ids.
//! - [`wire`]: structs that travel as JSON arrays.
//! - [`rich`]: a formatted message's tree (its markdown, parsed by the server).
//! - [`update`]: changes to a stored message (a link's card), each an event with a seq.

// First: the others use its macro.
#[macro_use]
mod wire;
mod attachment;
mod dto;
mod error;
mod events;
pub mod rich;
mod server_event_de;
mod update;
mod validate;

pub use attachment::{
    human_size, is_upload_id, Attachment, AttachmentKind, MAX_FILE_BYTES, THUMB_SIDE, UPLOAD_PATH,
};
pub use dto::{
    ChatMessage, HistoryPage, JoinedRoom, Me, MemberChange, MemberInfo, NotifyLevel, Reply,
    RoomCount, RoomInfo, RoomKind, SearchHit,
};
pub use error::AppError;
pub use events::{ClientFrame, DecodeError, ErrorCode, ServerEvent};
pub use update::{set_reaction, Change, Edit, Preview, Reaction, Update, DELETED_USER};
pub use validate::{is_valid_client_id, name_key, normalize_name, normalize_room, normalize_text};

/// Position of an event (a message or a change) in its room's stream; 1 is the first,
/// 0 means "nothing yet". Message numbers (`ChatMessage::n`) use the same type.
pub type Seq = u64;

/// Longest message, in characters (not bytes).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest username, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 32;
/// Shortest password, in characters: long enough that guessing takes too long, short
/// enough for a passphrase of three words.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password, in characters: plenty for any passphrase, cheap to hash.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest room title, in characters, after trimming.
pub const MAX_ROOM_TITLE_CHARS: usize = 32;
/// Longest room topic, in characters, after trimming.
pub const MAX_TOPIC_CHARS: usize = 200;
/// Most people in one conversation, the opener included.
pub const MAX_CONVERSATION: usize = 8;
/// How many messages a history page holds.
pub const HISTORY_PAGE: u32 = 50;
/// Largest frame the server reads. A 4,000-character message of 4-byte characters, JSON
/// escaped, stays well below it.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often one user's typing is passed on, per room, at most (all their tabs together);
/// the page sends `typing` no more often either.
pub const TYPING_EVERY_MS: u64 = 3_000;
/// How long "… is typing" shows after that person's last `typing` event.
pub const TYPING_SHOWN_MS: u64 = 5_000;
