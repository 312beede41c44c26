//! A minimal WebSocket client: just what a load generator needs, and cheap per message.
//!
//! Server frames are unmasked and never fragmented by Natter, so reading is a header
//! parse over a byte buffer; the caller looks into text frames with byte searches rather
//! than JSON parsing. Client frames must be masked (RFC 6455 §5.3).

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::http::find;

/// What a receive buffer starts at.
pub const READ_BUFFER: usize = 16 * 1024;

pub enum Frame<'a> {
    Text(&'a [u8]),
    Ping(&'a [u8]),
    Close(u16),
    /// Binary, pong, continuation: nothing Natter sends that we need.
    Other,
}

/// An open socket whose server said `welcome`.
pub struct Socket {
    pub tcp: TcpStream,
    /// Bytes read past the frames handled so far.
    pub buf: Vec<u8>,
    /// The token server functions use to name this socket.
    pub conn: String,
}

/// Opens `/ws` from `source` with the session `cookie` and reads the `welcome`.
pub async fn connect(server: SocketAddr, source: IpAddr, cookie: &str) -> Result<Socket, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let mut tcp = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Cookie: {cookie}\r\n\r\n"
    );
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("upgrade request: {e}"))?;
    let mut buf = Vec::with_capacity(READ_BUFFER);
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        if tcp.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
            return Err("closed during the upgrade".into());
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        let head = String::from_utf8_lossy(&buf[..head_end]);
        return Err(format!(
            "upgrade refused: {}",
            head.lines().next().unwrap_or("")
        ));
    }
    buf.drain(..head_end);
    let mut socket = Socket {
        tcp,
        buf,
        conn: String::new(),
    };
    let welcome = socket.next_text().await?;
    // `["welcome","<conn>","<name>"]`: the connection's id is the first field.
    socket.conn = json_string(&welcome, b"[\"welcome\",\"").ok_or_else(|| {
        format!(
            "expected welcome, got {}",
            String::from_utf8_lossy(&welcome)
        )
    })?;
    Ok(socket)
}

impl Socket {
    /// The next text frame (setup only: the hot path parses the buffer in place).
    async fn next_text(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some((frame, len)) = parse(&self.buf) {
                let text = match frame {
                    Frame::Text(text) => Some(text.to_vec()),
                    Frame::Close(code) => return Err(format!("closed by the server ({code})")),
                    _ => None,
                };
                self.buf.drain(..len);
                match text {
                    Some(text) => return Ok(text),
                    None => continue,
                }
            }
            if self
                .tcp
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("closed by the server".into());
            }
        }
    }
}

/// One frame at the start of `buf` and its length in bytes, once it is all there.
pub fn parse(buf: &[u8]) -> Option<(Frame<'_>, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let opcode = buf[0] & 0x0f;
    let (len, header) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => (
            u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")) as usize,
            10,
        ),
        126 | 127 => return None,
        short => (short as usize, 2),
    };
    if buf.len() < header + len {
        return None;
    }
    let payload = &buf[header..header + len];
    let frame = match opcode {
        0x1 => Frame::Text(payload),
        0x9 => Frame::Ping(payload),
        0x8 => Frame::Close(
            payload
                .get(..2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .unwrap_or(1005),
        ),
        _ => Frame::Other,
    };
    Some((frame, header + len))
}

/// Appends a masked client frame with `opcode` (0x1 text, 0xA pong) to `out`.
pub fn encode(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    let mask = next_mask();
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
}

/// Masks only need to vary; they protect proxies, not secrets.
fn next_mask() -> [u8; 4] {
    thread_local!(static STATE: Cell<u32> = const { Cell::new(0x9e37_79b9) });
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        state.set(x);
        x.to_le_bytes()
    })
}

/// The JSON string value right after `key` (which includes the opening quote), when it
/// holds no escapes.
pub fn json_string(text: &[u8], key: &[u8]) -> Option<String> {
    let start = find(text, key)? + key.len();
    let len = text[start..].iter().position(|&b| b == b'"')?;
    String::from_utf8(text[start..start + len].to_vec()).ok()
}
