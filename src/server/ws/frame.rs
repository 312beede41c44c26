//! Frames on the wire (RFC 6455 §5).
//!
//! Out: [`Frame`], encoded whole — header and payload in one shared buffer — so a room
//! encodes an event once and every subscriber's socket writes the same bytes.
//!
//! In: [`Reader`] buffers what the socket delivers and yields whole messages and control
//! frames. Anything the RFC forbids is a [`Violation`], which closes the connection with
//! its code.

use bytes::{BufMut, Bytes, BytesMut};

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;
const FIN: u8 = 0x80;
const MASKED: u8 = 0x80;
/// The most a control frame may carry.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// One frame to a client, ready to write. Cloning shares the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    pub fn text(text: &str) -> Frame {
        Frame::encode(TEXT, text.as_bytes())
    }

    pub fn ping() -> Frame {
        Frame::encode(PING, &[])
    }

    /// The answer to a client's ping, with its payload (at most 125 bytes: the reader
    /// refuses longer pings).
    pub fn pong(payload: &[u8]) -> Frame {
        Frame::encode(PONG, payload)
    }

    /// A close frame with `code` and as much of `reason` as fits.
    pub fn close(code: u16, reason: &str) -> Frame {
        let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        Frame::encode(CLOSE, &payload)
    }

    fn encode(opcode: u8, payload: &[u8]) -> Frame {
        let len = payload.len();
        let mut bytes = BytesMut::with_capacity(len + 10);
        bytes.put_u8(FIN | opcode);
        // Servers never mask (§5.1), so the header is just the length.
        if len < 126 {
            bytes.put_u8(len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            bytes.put_u8(126);
            bytes.put_u16(len);
        } else {
            bytes.put_u8(127);
            bytes.put_u64(len as u64);
        }
        bytes.put_slice(payload);
        Frame(bytes.freeze())
    }

    /// Bytes on the wire, header included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A frame as [`Frame::as_bytes`] gave it, on another node of this server.
    pub fn from_encoded(bytes: Bytes) -> Frame {
        Frame(bytes)
    }
}

/// An encoded event, as a text frame.
impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame::text(&text)
    }
}

/// What a client sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Text(String),
    /// Natter has no use for binary messages; their content is not kept.
    Binary,
    Ping(Vec<u8>),
    Pong,
    Close,
}

/// A frame the protocol forbids: the connection is closed with this code and reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Violation {
    pub code: u16,
    pub reason: &'static str,
}

const fn protocol_error(reason: &'static str) -> Violation {
    Violation { code: 1002, reason }
}

const TOO_BIG: Violation = Violation {
    code: 1009,
    reason: "frame too large",
};

const NOT_UTF8: Violation = Violation {
    code: 1007,
    reason: "text is not valid UTF-8",
};

/// Reads a client's frames out of what its socket delivers.
pub struct Reader {
    /// Bytes read and not yet parsed. Emptied — its memory given back — whenever no
    /// partial frame is left, so an idle connection holds no buffer at all.
    buf: Vec<u8>,
    /// The start of what is not parsed yet.
    pos: usize,
    /// A fragmented message so far.
    message: Option<Partial>,
    /// The largest message (and frame) taken.
    limit: usize,
}

/// A fragmented message, before its last frame.
struct Partial {
    text: bool,
    payload: Vec<u8>,
    /// For text: the length of the prefix known to be valid UTF-8 up to a whole
    /// character; what follows it is at most three bytes of a character cut between
    /// fragments.
    checked: usize,
}

impl Partial {
    /// Checks the bytes added since the last check: a text message is refused as soon as
    /// what has come so far cannot begin valid UTF-8, not only once it is whole.
    fn check(&mut self) -> Result<(), Violation> {
        if !self.text {
            return Ok(());
        }
        match std::str::from_utf8(&self.payload[self.checked..]) {
            Ok(_) => self.checked = self.payload.len(),
            // Invalid, not merely cut short at the end.
            Err(err) if err.error_len().is_some() => return Err(NOT_UTF8),
            Err(err) => self.checked += err.valid_up_to(),
        }
        Ok(())
    }
}

impl Reader {
    /// A reader for messages of at most `limit` bytes, starting with `first`: what was
    /// read along with the upgrade request.
    pub fn new(first: &[u8], limit: usize) -> Reader {
        Reader {
            buf: first.to_vec(),
            pos: 0,
            message: None,
            limit,
        }
    }

    /// Where the socket's next bytes go, with room for at least `chunk` of them.
    pub fn buffer(&mut self, chunk: usize) -> &mut Vec<u8> {
        self.buf.reserve(chunk);
        &mut self.buf
    }

    /// The next whole message or control frame, if the bytes for one are here.
    pub fn next_message(&mut self) -> Result<Option<Incoming>, Violation> {
        loop {
            let Some((head, payload)) = self.frame()? else {
                self.compact();
                return Ok(None);
            };
            if let Some(incoming) = self.assemble(head, payload)? {
                return Ok(Some(incoming));
            }
        }
    }

    /// Takes one frame off the buffer: its first byte (FIN, opcode) and unmasked payload.
    fn frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, Violation> {
        let bytes = &self.buf[self.pos..];
        let (Some(&b0), Some(&b1)) = (bytes.first(), bytes.get(1)) else {
            return Ok(None);
        };
        let opcode = b0 & 0x0F;
        if b0 & 0x70 != 0 {
            return Err(protocol_error("reserved bits set without an extension"));
        }
        if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
            return Err(protocol_error("reserved opcode"));
        }
        if b1 & MASKED == 0 {
            return Err(protocol_error("client frames must be masked"));
        }
        let is_control = opcode & 0x8 != 0;
        if is_control && (b0 & FIN == 0 || usize::from(b1 & 0x7F) > MAX_CONTROL_PAYLOAD) {
            return Err(protocol_error(
                "control frames must be whole and at most 125 bytes",
            ));
        }
        let (len, mut at) = match b1 & 0x7F {
            126 => match bytes.get(2..4) {
                Some(n) => (u64::from(u16::from_be_bytes([n[0], n[1]])), 4),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10) {
                Some(n) => (u64::from_be_bytes(n.try_into().expect("8 bytes")), 10),
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        // Refused from the header alone: a lying length reserves nothing.
        let len = match usize::try_from(len) {
            Ok(len) if len <= self.limit => len,
            _ => return Err(TOO_BIG),
        };
        let Some(mask) = bytes.get(at..at + 4) else {
            return Ok(None);
        };
        let mask: [u8; 4] = mask.try_into().expect("4 bytes");
        at += 4;
        let Some(masked) = bytes.get(at..at + len) else {
            return Ok(None);
        };
        let payload = masked
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key)
            .collect();
        self.pos += at + len;
        Ok(Some((b0, payload)))
    }

    /// Adds a frame to the message it belongs to; returns what is now whole.
    fn assemble(&mut self, head: u8, payload: Vec<u8>) -> Result<Option<Incoming>, Violation> {
        let fin = head & FIN != 0;
        match head & 0x0F {
            opcode @ (TEXT | BINARY) => {
                if self.message.is_some() {
                    return Err(protocol_error("a new message inside a fragmented one"));
                }
                let text = opcode == TEXT;
                if fin {
                    return whole(text, payload).map(Some);
                }
                let mut partial = Partial {
                    text,
                    payload,
                    checked: 0,
                };
                partial.check()?;
                self.message = Some(partial);
                Ok(None)
            }
            CONTINUATION => {
                let Some(partial) = self.message.as_mut() else {
                    return Err(protocol_error("a continuation with nothing to continue"));
                };
                if partial.payload.len() + payload.len() > self.limit {
                    return Err(TOO_BIG);
                }
                partial.payload.extend_from_slice(&payload);
                partial.check()?;
                if !fin {
                    return Ok(None);
                }
                let Partial { text, payload, .. } = self.message.take().expect("checked above");
                whole(text, payload).map(Some)
            }
            CLOSE => check_close(&payload).map(|()| Some(Incoming::Close)),
            PING => Ok(Some(Incoming::Ping(payload))),
            _ => Ok(Some(Incoming::Pong)),
        }
    }

    /// Whether a frame, or a fragmented message, has begun and not ended: the deadline
    /// for finishing it runs (see `connection`). Asked after [`Reader::next_message`]
    /// has returned `Ok(None)`.
    pub fn incomplete(&self) -> bool {
        self.pos < self.buf.len() || self.message.is_some()
    }

    /// Drops what has been parsed; frees the buffer when nothing is left in it.
    fn compact(&mut self) {
        if self.pos == self.buf.len() {
            self.buf = Vec::new();
        } else {
            self.buf.drain(..self.pos);
        }
        self.pos = 0;
    }
}

fn whole(text: bool, payload: Vec<u8>) -> Result<Incoming, Violation> {
    if !text {
        return Ok(Incoming::Binary);
    }
    String::from_utf8(payload)
        .map(Incoming::Text)
        .map_err(|_| NOT_UTF8)
}

/// A close frame's payload is empty, or a code the sender may use and a UTF-8 reason
/// (§5.5.1, §7.4).
fn check_close(payload: &[u8]) -> Result<(), Violation> {
    let Some((code, reason)) = payload.split_first_chunk::<2>() else {
        return match payload.len() {
            0 => Ok(()),
            _ => Err(protocol_error("a close frame of one byte")),
        };
    };
    match u16::from_be_bytes(*code) {
        1000..=1003 | 1007..=1014 | 3000..=4999 => {}
        _ => return Err(protocol_error("a close code no endpoint may send")),
    }
    std::str::from_utf8(reason).map(drop).map_err(|_| NOT_UTF8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's frame: masked with a fixed key.
    fn client(head: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![head];
        match payload.len() {
            n if n < 126 => out.push(MASKED | n as u8),
            n if n <= 0xFFFF => {
                out.push(MASKED | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(MASKED | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&key);
        out.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        out
    }

    fn read_all(bytes: &[u8]) -> Vec<Result<Incoming, Violation>> {
        let mut reader = Reader::new(bytes, 64 * 1024);
        let mut out = Vec::new();
        loop {
            match reader.next_message() {
                Ok(Some(incoming)) => out.push(Ok(incoming)),
                Ok(None) => return out,
                Err(violation) => {
                    out.push(Err(violation));
                    return out;
                }
            }
        }
    }

    #[test]
    fn server_frames_carry_their_length() {
        assert_eq!(Frame::text("hi").as_bytes(), b"\x81\x02hi");
        let medium = Frame::text(&"x".repeat(300));
        assert_eq!(&medium.as_bytes()[..4], &[0x81, 126, 0x01, 0x2C]);
        assert_eq!(medium.len(), 304);
        let large = Frame::text(&"x".repeat(70_000));
        assert_eq!(&large.as_bytes()[..2], &[0x81, 127]);
        assert_eq!(&large.as_bytes()[2..10], &70_000u64.to_be_bytes());
        assert_eq!(Frame::ping().as_bytes(), b"\x89\x00");
        assert_eq!(Frame::close(1000, "bye").as_bytes(), b"\x88\x05\x03\xe8bye");
    }

    #[test]
    fn a_close_reason_is_cut_to_fit_a_control_frame_on_a_character_boundary() {
        let frame = Frame::close(1008, &"é".repeat(100));
        assert!(frame.len() <= 2 + MAX_CONTROL_PAYLOAD);
        assert!(std::str::from_utf8(&frame.as_bytes()[4..]).is_ok());
    }

    #[test]
    fn messages_arrive_whole_however_the_bytes_are_cut() {
        let bytes = [
            client(FIN | TEXT, b"{\"t\":\"ping\"}"),
            client(TEXT, "caf\u{e9}".as_bytes().split_at(4).0),
            client(FIN | PING, b"p"),
            client(FIN | CONTINUATION, "caf\u{e9}".as_bytes().split_at(4).1),
            client(FIN | TEXT, &[b'y'; 1000]),
            client(FIN | BINARY, b"\x00\x01"),
            client(FIN | PONG, b""),
            client(FIN | CLOSE, b"\x03\xe8done"),
        ]
        .concat();
        let want = vec![
            Incoming::Text("{\"t\":\"ping\"}".into()),
            Incoming::Ping(b"p".to_vec()),
            Incoming::Text("caf\u{e9}".into()),
            Incoming::Text("y".repeat(1000)),
            Incoming::Binary,
            Incoming::Pong,
            Incoming::Close,
        ];
        for step in [1, 2, 3, 7, 64, bytes.len()] {
            let mut reader = Reader::new(&[], 64 * 1024);
            let mut got = Vec::new();
            for chunk in bytes.chunks(step) {
                reader.buffer(chunk.len()).extend_from_slice(chunk);
                while let Some(incoming) = reader.next_message().unwrap() {
                    got.push(incoming);
                }
            }
            assert_eq!(got, want, "fed {step} bytes at a time");
            assert_eq!(reader.buf.capacity(), 0, "nothing held between frames");
        }
    }

    #[test]
    fn what_the_rfc_forbids_closes_with_its_code() {
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("unmasked", b"\x81\x02hi".to_vec(), 1002),
            ("rsv1", client(FIN | 0x40 | TEXT, b"x"), 1002),
            ("reserved data opcode", client(FIN | 0x3, b"x"), 1002),
            ("reserved control opcode", client(FIN | 0xB, b"x"), 1002),
            ("fragmented ping", client(PING, b"half"), 1002),
            ("long ping", client(FIN | PING, &[7; 126]), 1002),
            ("lone continuation", client(FIN | CONTINUATION, b"{}"), 1002),
            (
                "message inside a message",
                [client(TEXT, b"{"), client(FIN | TEXT, b"{}")].concat(),
                1002,
            ),
            ("one-byte close", client(FIN | CLOSE, b"\x03"), 1002),
            ("close code 999", client(FIN | CLOSE, b"\x03\xe7"), 1002),
            ("close code 1005", client(FIN | CLOSE, b"\x03\xed"), 1002),
            (
                "close reason not UTF-8",
                client(FIN | CLOSE, b"\x03\xe8\xff"),
                1007,
            ),
            ("text not UTF-8", client(FIN | TEXT, b"\xc0\xaf"), 1007),
            (
                "UTF-8 broken across fragments",
                [client(TEXT, b"\xc3"), client(FIN | CONTINUATION, b"\x28")].concat(),
                1007,
            ),
            (
                "too large",
                client(FIN | TEXT, &[b'x'; 64 * 1024 + 1]),
                1009,
            ),
            (
                "too large in fragments",
                [
                    client(TEXT, &[b'x'; 40 * 1024]),
                    client(FIN | CONTINUATION, &[b'x'; 40 * 1024]),
                ]
                .concat(),
                1009,
            ),
            (
                "a length of 2^63",
                [&[FIN | TEXT, MASKED | 127][..], &(1u64 << 63).to_be_bytes()].concat(),
                1009,
            ),
        ];
        for (name, bytes, code) in cases {
            let read = read_all(&bytes);
            match read.last() {
                Some(Err(violation)) => assert_eq!(violation.code, code, "{name}"),
                other => panic!("{name}: read {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_is_refused_before_the_message_is_whole() {
        // Only the first fragment: `\xff` cannot begin any character.
        for first in [&b"ok \xff"[..], b"\xc0\xaf", b"\xed\xa0", b"\xf4\x90"] {
            let read = read_all(&client(TEXT, first));
            assert_eq!(read, vec![Err(NOT_UTF8)], "{first:?}");
        }
        // Cut in the middle of a character: fine so far, and the rest completes it.
        let mut reader = Reader::new(&client(TEXT, b"caf\xc3"), 1024);
        assert_eq!(reader.next_message(), Ok(None));
        assert!(reader.incomplete());
        reader
            .buffer(16)
            .extend_from_slice(&client(CONTINUATION, b"\xa9"));
        assert_eq!(reader.next_message(), Ok(None));
        reader
            .buffer(16)
            .extend_from_slice(&client(FIN | CONTINUATION, b"!"));
        assert_eq!(
            reader.next_message(),
            Ok(Some(Incoming::Text("caf\u{e9}!".into())))
        );
        assert!(!reader.incomplete());
        // A character begun in one fragment and broken in the next.
        let bytes = [client(TEXT, b"\xe2\x82"), client(CONTINUATION, b"(")].concat();
        assert_eq!(read_all(&bytes), vec![Err(NOT_UTF8)]);
    }

    #[test]
    fn the_limit_is_exact() {
        let read = read_all(&client(FIN | TEXT, &[b'x'; 64 * 1024]));
        assert_eq!(read, vec![Ok(Incoming::Text("x".repeat(64 * 1024)))]);
    }
}
