//! A WebSocket client whose bytes the tests write and read themselves: frames built
//! byte for byte (RFC 6455 §5.2), the handshake written by hand, and the server's frames
//! parsed strictly, so a cut or spliced frame, a masked one or bytes after the close
//! frame are seen rather than smoothed over by a library.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout_at, Instant};

pub const FIN: u8 = 0x80;
pub const RSV1: u8 = 0x40;
pub const RSV2: u8 = 0x20;
pub const RSV3: u8 = 0x10;
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame as §5.2 lays it out: `head` is FIN, RSV and opcode; `len` is what the
/// header claims, `masked` whether the payload is (clients must mask).
pub fn encode_frame(head: u8, masked: bool, len: u64, payload: &[u8]) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut out = vec![head];
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend(len.to_be_bytes());
        }
    }
    if masked {
        out.extend(MASK);
        out.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    } else {
        out.extend(payload);
    }
    out
}

/// A well-formed (masked) frame.
pub fn frame(head: u8, payload: &[u8]) -> Vec<u8> {
    encode_frame(head, true, payload.len() as u64, payload)
}

/// A whole text frame.
pub fn text(json: &str) -> Vec<u8> {
    frame(FIN | TEXT, json.as_bytes())
}

pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(FIN | CLOSE, &[&code.to_be_bytes()[..], reason].concat())
}

/// One frame from the server, as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFrame {
    /// FIN, RSV and opcode.
    pub head: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    pub fn opcode(&self) -> u8 {
        self.head & 0x0F
    }

    /// A close frame's code (1005 for none, §7.1.5) and reason.
    pub fn close(&self) -> Option<(u16, Vec<u8>)> {
        if self.opcode() != CLOSE {
            return None;
        }
        Some(match self.payload.get(..2) {
            Some(c) => (u16::from_be_bytes([c[0], c[1]]), self.payload[2..].to_vec()),
            None => (1005, Vec::new()),
        })
    }
}

/// How a connection ended, from the client's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Eof,
    Reset,
    Timeout,
}

/// A frame the server should never send: masked, too long for its kind, not FIN, RSV set.
#[derive(Debug)]
pub struct Malformed(pub String);

/// `(frame, bytes used)` of the first complete frame in `buf`, `Ok(None)` if incomplete.
pub fn parse_server_frame(buf: &[u8]) -> Result<Option<(ServerFrame, usize)>, Malformed> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if b1 & 0x80 != 0 {
        return Err(Malformed(format!(
            "a masked server frame: {:02x?}",
            &buf[..2]
        )));
    }
    if b0 & 0x70 != 0 || b0 & FIN == 0 {
        return Err(Malformed(format!(
            "head byte {b0:#04x}: RSV set or not FIN"
        )));
    }
    let opcode = b0 & 0x0F;
    if !matches!(opcode, TEXT | CLOSE | PING | PONG) {
        return Err(Malformed(format!("opcode {opcode:#x} from the server")));
    }
    let (len, start) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(n) => (u16::from_be_bytes([n[0], n[1]]) as usize, 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(n) => (u64::from_be_bytes(n.try_into().unwrap()) as usize, 10),
            None => return Ok(None),
        },
        n => (n as usize, 2),
    };
    if opcode & 0x8 != 0 && len > 125 {
        return Err(Malformed(format!("control frame of {len} bytes")));
    }
    if len > 16 << 20 {
        return Err(Malformed(format!("a frame of {len} bytes")));
    }
    let Some(payload) = buf.get(start..start + len) else {
        return Ok(None);
    };
    let frame = ServerFrame {
        head: b0,
        payload: payload.to_vec(),
    };
    Ok(Some((frame, start + len)))
}

/// Everything a connection received until it ended.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Frames before the close frame (or before the end, if none came): the first 64 of
    /// them, and how many there were.
    pub frames: Vec<ServerFrame>,
    pub count: usize,
    /// The close frame's code and reason.
    pub close: Option<(u16, Vec<u8>)>,
    /// Bytes after the close frame.
    pub after_close: Vec<u8>,
    /// Bytes that did not make a whole frame, or a frame the server should not send.
    pub broken: Option<String>,
    pub end: Option<End>,
}

/// A WebSocket whose frames the test writes and reads itself.
pub struct Raw {
    pub tcp: TcpStream,
    pub buf: Vec<u8>,
}

/// An HTTP/1.1 upgrade request for `/ws` as a page of this server would send it (same
/// `Origin`), with `extra` header lines (each ending in CRLF).
pub fn upgrade_request(addr: SocketAddr, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Connects to `addr` from the loopback address `from` (any port).
pub async fn connect_from(addr: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw {
            tcp: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Sends `request` and reads the response's head; returns it (the status line and
    /// headers) and leaves what followed in `buf`.
    pub async fn request(&mut self, request: &[u8], within: Duration) -> Result<String, End> {
        self.tcp.write_all(request).await.map_err(|_| End::Reset)?;
        let deadline = Instant::now() + within;
        let head_len = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if let Some(end) = self.fill(deadline).await {
                return Err(end);
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_len]).into_owned();
        self.buf.drain(..head_len);
        Ok(head)
    }

    /// Connects and upgrades with `cookie` (the whole `name=value`); panics unless 101.
    pub async fn upgrade(addr: SocketAddr, cookie: Option<&str>) -> Raw {
        Raw::upgrade_on(Raw::connect(addr).await, addr, cookie).await
    }

    pub async fn upgrade_on(mut raw: Raw, addr: SocketAddr, cookie: Option<&str>) -> Raw {
        let extra = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
        let request = upgrade_request(addr, &extra);
        let head = raw
            .request(request.as_bytes(), Duration::from_secs(10))
            .await
            .unwrap_or_else(|end| panic!("upgrade failed: {end:?}"));
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        raw
    }

    /// Writes, ignoring failures: the server may well have hung up already.
    pub async fn write(&mut self, bytes: &[u8]) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tcp.write_all(bytes)).await;
    }

    /// Reads more bytes; `Some` when the connection ended instead.
    pub async fn fill(&mut self, deadline: Instant) -> Option<End> {
        self.buf.reserve(64 * 1024);
        match timeout_at(deadline, self.tcp.read_buf(&mut self.buf)).await {
            Err(_) => Some(End::Timeout),
            Ok(Ok(0)) => Some(End::Eof),
            Ok(Ok(_)) => None,
            Ok(Err(_)) => Some(End::Reset),
        }
    }

    /// The next frame from the server.
    pub async fn next_frame(&mut self, deadline: Instant) -> Result<ServerFrame, End> {
        loop {
            match parse_server_frame(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(Malformed(why)) => panic!("{why}"),
            }
            if let Some(end) = self.fill(deadline).await {
                return Err(end);
            }
        }
    }

    /// The next text frame's payload, passing over pings and pongs; `Err` at a close
    /// frame (its code) or the end.
    pub async fn next_text(&mut self, deadline: Instant) -> Result<String, String> {
        loop {
            match self.next_frame(deadline).await {
                Ok(frame) if frame.opcode() == TEXT => {
                    return String::from_utf8(frame.payload).map_err(|e| e.to_string())
                }
                Ok(frame) if frame.opcode() == CLOSE => {
                    return Err(format!("closed: {:?}", frame.close()))
                }
                Ok(_) => {}
                Err(end) => return Err(format!("ended: {end:?}")),
            }
        }
    }

    /// Reads every frame until the connection ends (or `deadline`), strictly: a frame
    /// the server should not send, or a stream cut mid-frame, is noted in `broken`.
    pub async fn transcript(&mut self, deadline: Instant) -> Transcript {
        let mut out = Transcript::default();
        loop {
            // Parsed in place, and the buffer compacted once per read: a flood arrives
            // faster than a frame-by-frame `drain` could keep up with.
            let mut at = 0;
            while out.close.is_none() && out.broken.is_none() {
                match parse_server_frame(&self.buf[at..]) {
                    Ok(Some((frame, used))) => {
                        at += used;
                        if frame.opcode() == TEXT && !looks_like_an_event(&frame.payload) {
                            out.broken = Some(format!(
                                "text frame {} is no event: {:?}…",
                                out.count,
                                String::from_utf8_lossy(
                                    &frame.payload[..frame.payload.len().min(60)]
                                )
                            ));
                        }
                        match frame.close() {
                            Some(close) => out.close = Some(close),
                            None if out.frames.len() < 64 => out.frames.push(frame),
                            None => {}
                        }
                        out.count += 1;
                    }
                    Ok(None) => break,
                    Err(Malformed(why)) => out.broken = Some(why),
                }
            }
            self.buf.drain(..at);
            if out.close.is_some() {
                out.after_close.append(&mut self.buf);
            }
            if out.broken.is_some() {
                out.end = self.drain(deadline).await;
                return out;
            }
            if let Some(end) = self.fill(deadline).await {
                if out.close.is_none() && !self.buf.is_empty() {
                    out.broken = Some(format!("{} bytes of a cut frame", self.buf.len()));
                }
                if out.close.is_some() {
                    out.after_close.append(&mut self.buf);
                }
                out.end = Some(end);
                return out;
            }
        }
    }

    pub async fn drain(&mut self, deadline: Instant) -> Option<End> {
        loop {
            self.buf.clear();
            if let Some(end) = self.fill(deadline).await {
                return Some(end);
            }
        }
    }
}

/// Whether a text frame's payload is shaped like one of the server's events (a JSON
/// array with its tag first, valid UTF-8): a frame cut or spliced into another is not.
pub fn looks_like_an_event(payload: &[u8]) -> bool {
    payload.starts_with(b"[\"") && payload.ends_with(b"]") && std::str::from_utf8(payload).is_ok()
}
