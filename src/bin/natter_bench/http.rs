//! Server functions over HTTP/1.1, called the way the browser calls them (the function's
//! generated argument type as JSON, to its path, with the session cookie), on one
//! kept-alive connection.

use std::net::SocketAddr;

use leptos::server_fn::ServerFn;
use natter::api::accounts::EnterAsGuest;
use natter::api::messages::History;
use natter::api::rooms::JoinRoom;
use natter::protocol::Seq;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Response {
    pub status: u16,
    pub body: String,
    /// `natter_session=…` when the response signs someone in.
    pub session: Option<String>,
}

pub struct HttpClient {
    addr: SocketAddr,
    tcp: Option<TcpStream>,
    buf: Vec<u8>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> HttpClient {
        HttpClient {
            addr,
            tcp: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Calls the server function whose arguments `args` are; reconnects once if the
    /// kept-alive connection was closed.
    pub async fn call<F: ServerFn + Serialize>(
        &mut self,
        args: F,
        cookie: Option<&str>,
    ) -> Result<Response, String> {
        let body = serde_json::to_string(&args).map_err(|e| e.to_string())?;
        let path = F::PATH;
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
             {cookie}Content-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let reused = self.tcp.is_some();
        match self.exchange(request.as_bytes()).await {
            Err(_) if reused => {
                self.tcp = None;
                self.exchange(request.as_bytes()).await
            }
            other => other,
        }
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Response, String> {
        if self.tcp.is_none() {
            let tcp = TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            self.tcp = Some(tcp);
            self.buf.clear();
        }
        let result = self.round_trip(request).await;
        if result.is_err() {
            self.tcp = None;
        }
        result
    }

    async fn round_trip(&mut self, request: &[u8]) -> Result<Response, String> {
        let tcp = self.tcp.as_mut().expect("connected");
        tcp.write_all(request).await.map_err(|e| e.to_string())?;
        let head_end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            read_more(tcp, &mut self.buf).await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {head:?}"))?;
        let header = |name: &str| {
            head.lines()
                .filter_map(|line| line.split_once(':'))
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
                .collect::<Vec<_>>()
        };
        let session = header("set-cookie")
            .iter()
            .filter_map(|v| v.split(';').next())
            .find(|pair| pair.starts_with("natter_session=") && pair.len() > 15)
            .map(str::to_owned);
        let chunked = header("transfer-encoding")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            self.buf.drain(..head_end);
            read_chunked(tcp, &mut self.buf).await?
        } else {
            let length: usize = header("content-length")
                .first()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while self.buf.len() < head_end + length {
                read_more(tcp, &mut self.buf).await?;
            }
            let body = self.buf[head_end..head_end + length].to_vec();
            self.buf.drain(..head_end + length);
            body
        };
        if header("connection")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("close"))
        {
            self.tcp = None;
        }
        Ok(Response {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            session,
        })
    }

    /// Signs in as a guest named `name`; returns the session cookie.
    pub async fn guest(&mut self, name: &str) -> Result<String, String> {
        let response = self.call(EnterAsGuest { name: name.into() }, None).await?;
        match (response.status, response.session) {
            (200, Some(cookie)) => Ok(cookie),
            (status, _) => Err(format!("enter_as_guest: {status} {}", response.body)),
        }
    }

    /// Subscribes the socket `conn` to `room`.
    pub async fn join(&mut self, conn: &str, room: &str) -> Result<(), String> {
        let response = self
            .call(
                JoinRoom {
                    conn: conn.into(),
                    room: room.into(),
                    leave: None,
                    after: None,
                },
                None,
            )
            .await?;
        match response.status {
            200 => Ok(()),
            status => Err(format!("join_room: {status} {}", response.body)),
        }
    }

    /// Searches as a reader without a session would (public rooms only); returns how
    /// many messages answered.
    pub async fn search(&mut self, query: &str) -> Result<usize, String> {
        let args = natter::api::search::Search {
            query: query.into(),
        };
        let response = self.call(args, None).await?;
        if response.status != 200 {
            return Err(format!("search: {} {}", response.status, response.body));
        }
        let hits: Vec<natter::protocol::SearchHit> = serde_json::from_str(&response.body)
            .map_err(|err| format!("search: unreadable answer: {err}"))?;
        Ok(hits.len())
    }

    /// The history page of `room` before `before`; returns how many messages it held.
    /// The `history` answer's body, as it came (decode it after timing: [`page_len`]).
    pub async fn history(&mut self, room: &str, before: Seq) -> Result<String, String> {
        let args = History {
            room: room.into(),
            before,
            after: None,
        };
        let response = self.call(args, None).await?;
        if response.status != 200 {
            return Err(format!("history: {} {}", response.status, response.body));
        }
        Ok(response.body)
    }
}

/// Whether a `history` answer holds the message `seq`.
pub fn page_holds(body: &str, seq: Seq) -> Result<bool, String> {
    let page: natter::protocol::HistoryPage =
        serde_json::from_str(body).map_err(|err| format!("history: unreadable page: {err}"))?;
    Ok(page.messages.iter().any(|m| m.seq == seq))
}

/// How many messages a `history` answer holds, decoded as the page decodes it.
pub fn page_len(body: &str) -> Result<usize, String> {
    let page: natter::protocol::HistoryPage =
        serde_json::from_str(body).map_err(|err| format!("history: unreadable page: {err}"))?;
    Ok(page.messages.len())
}

async fn read_more(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    buf.reserve(8 * 1024);
    let n = tcp.read_buf(buf).await.map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("connection closed mid-response".into());
    }
    Ok(())
}

async fn read_chunked(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(end) = find(buf, b"\r\n") {
                break end;
            }
            read_more(tcp, buf).await?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        // The chunk, then its CRLF (after the last, empty chunk: the final CRLF).
        while buf.len() < line_end + 2 + size + 2 {
            read_more(tcp, buf).await?;
        }
        body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
        buf.drain(..line_end + 2 + size + 2);
        if size == 0 {
            return Ok(body);
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}
