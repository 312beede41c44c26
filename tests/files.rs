//! Files, against the live server: uploads to rooms one may write in, served only to
//! those who may read them (checked on every request), with the type sniffed from the
//! bytes; bad files refused with a sentence and nothing kept; a message carries its file
//! once however often it is sent.

use std::io::Cursor;
use std::path::Path;

use futures_util::SinkExt;
use leptos::server_fn::ServerFn;
use natter::api::files::Upload;
use natter::api::rooms::CreateRoom;
use natter::protocol::{Attachment, AttachmentKind, ClientFrame, ErrorCode, RoomInfo, ServerEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::in_process::{start_with, Server};
use support::{browser_cookie, call, join, next_event, welcome, Socket, Target};

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn request(server: &Server, head: &str, body: &[u8]) -> Reply {
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tcp.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    Reply {
        status: head[9..12].parse().unwrap(),
        head,
        body: response[split + 4..].to_vec(),
    }
}

/// The `upload` server function's request, as the page's form makes it: `room`, `cid`,
/// then the file.
async fn upload_as(
    server: &Server,
    cookie: &str,
    room: &str,
    cid: &str,
    name: &str,
    bytes: &[u8],
) -> Reply {
    let addr = server.addr();
    let boundary = "----natter-test-boundary-7d3f";
    let mut body = Vec::new();
    for (field, value) in [("room", room), ("cid", cid)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST {} HTTP/1.0\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\n\
         Accept: application/json\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        <Upload as ServerFn>::PATH,
        body.len()
    );
    request(server, &head, &body).await
}

static NEXT_CID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// An upload for a new message.
async fn upload(server: &Server, cookie: &str, room: &str, name: &str, bytes: &[u8]) -> Reply {
    let n = NEXT_CID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    upload_as(
        server,
        cookie,
        room,
        &format!("upload-cid-{n:04}"),
        name,
        bytes,
    )
    .await
}

async fn uploaded(
    server: &Server,
    cookie: &str,
    room: &str,
    name: &str,
    bytes: &[u8],
) -> Attachment {
    let reply = upload(server, cookie, room, name, bytes).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    serde_json::from_slice(&reply.body).unwrap()
}

async fn get(server: &Server, cookie: Option<&str>, path: &str) -> Reply {
    let addr = server.addr();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let head = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{cookie}\r\n");
    request(server, &head, b"").await
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Files kept in the store folder (not counting uploads arriving).
fn kept(dir: &Path) -> usize {
    walk(dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("tmp")))
        .count()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

async fn send_file(ws: &mut Socket, room: &str, cid: &str, text: &str, file: &str) {
    let frame = ClientFrame::Send {
        room: room.into(),
        cid: cid.into(),
        text: text.into(),
        file: Some(file.into()),
        reply: None,
    };
    ws.send(Message::text(frame.encode())).await.unwrap();
}

/// The next event that is not a count or a presence notice.
async fn next_news(ws: &mut Socket) -> ServerEvent {
    loop {
        match next_event(ws).await {
            ServerEvent::Joined { .. } | ServerEvent::Left { .. } | ServerEvent::Counts { .. } => {
                continue
            }
            event => return event,
        }
    }
}

#[tokio::test]
async fn a_private_rooms_files_are_its_members_only() {
    let files = tempfile::tempdir().unwrap();
    let server = start_with(&["--files", files.path().to_str().unwrap()]).await;
    let (mut ana_ws, ana_conn) = welcome(&server, "ana", "ana").await;
    let ana = browser_cookie(&server, "ana", "ana").await;
    let (_bo_ws, _bo_conn) = welcome(&server, "bo", "bo").await;
    let bo = browser_cookie(&server, "bo", "bo").await;
    let (status, body) = call(
        &server,
        CreateRoom {
            conn: ana_conn.clone(),
            title: "Secret".into(),
            topic: "".into(),
            private: true,
        },
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let room: RoomInfo = serde_json::from_str(&body).unwrap();

    let up = uploaded(&server, &ana, &room.slug, "cat.png", &png(640, 480)).await;
    assert_eq!(up.kind, AttachmentKind::Image);
    assert_eq!((up.width, up.height), (640, 480));
    let url = up.url();

    // Ana, a member, gets it and its thumbnail, inline, with the sniffed type.
    let full = get(&server, Some(&ana), &url).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(
        full.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(full
        .header("content-security-policy")
        .unwrap()
        .starts_with("sandbox"));
    assert!(full
        .header("content-disposition")
        .unwrap()
        .starts_with("inline"));
    assert!(full.header("cache-control").unwrap().contains("private"));
    assert_eq!(image::load_from_memory(&full.body).unwrap().width(), 640);
    let thumb = get(&server, Some(&ana), &up.thumb_url()).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(image::load_from_memory(&thumb.body).unwrap().width(), 320);

    // Bo is no member, and nobody signed out is anyone: both as if it did not exist.
    for cookie in [Some(bo.as_str()), None] {
        assert_eq!(get(&server, cookie, &url).await.status, 404);
        assert_eq!(get(&server, cookie, &up.thumb_url()).await.status, 404);
    }
    // Nor may Bo upload to the room.
    let refused = upload(&server, &bo, &room.slug, "x.png", &png(2, 2)).await;
    assert_eq!(refused.status, 404, "{}", refused.text());

    // The message carries it, to the room; sent twice (a retry), it is stored once.
    join(&server, &ana_conn, &room.slug).await;
    send_file(&mut ana_ws, &room.slug, "file-msg-0001", "", &up.id).await;
    match next_news(&mut ana_ws).await {
        ServerEvent::Message { msg, .. } => {
            assert_eq!(msg.file.as_deref(), Some(&up));
            assert_eq!(msg.text, "");
        }
        other => panic!("expected the message, got {other:?}"),
    }
    send_file(&mut ana_ws, &room.slug, "file-msg-0001", "", &up.id).await;
    match next_news(&mut ana_ws).await {
        ServerEvent::Ack { seq, .. } => assert_eq!(seq, 1),
        other => panic!("expected an ack of the stored message, got {other:?}"),
    }

    // A file of one room cannot ride on a message to another.
    send_file(&mut ana_ws, "general", "file-msg-0002", "look", &up.id).await;
    match next_news(&mut ana_ws).await {
        ServerEvent::Error { code, cid, .. } => {
            assert_eq!(code, ErrorCode::BadMessage);
            assert_eq!(cid.as_deref(), Some("file-msg-0002"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // A public room's files: anyone signed in.
    let open = uploaded(
        &server,
        &ana,
        "general",
        "report.pdf",
        b"%PDF-1.4\n%\xe2\xe3\n",
    )
    .await;
    assert_eq!(open.mime, "application/pdf");
    let pdf = get(&server, Some(&bo), &open.url()).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(
        pdf.header("content-disposition").as_deref(),
        Some("attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf")
    );
    assert_eq!(get(&server, None, &open.url()).await.status, 404);
}

#[tokio::test]
async fn bad_files_are_refused_or_defused_and_the_server_carries_on() {
    let files = tempfile::tempdir().unwrap();
    let server = start_with(&[
        "--files",
        files.path().to_str().unwrap(),
        "--max-file-mb",
        "1",
    ])
    .await;
    let (_ws, _conn) = welcome(&server, "ana", "ana").await;
    let ana = browser_cookie(&server, "ana", "ana").await;

    // A renamed executable: a download of unknown type, never anything else.
    let exe = uploaded(
        &server,
        &ana,
        "general",
        "cat.png",
        b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff",
    )
    .await;
    assert_eq!(exe.mime, "application/octet-stream");
    assert_eq!(exe.kind, AttachmentKind::File);
    let served = get(&server, Some(&ana), &exe.url()).await;
    assert_eq!(
        served.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert!(served
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));

    // SVG with a script: the same.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let svg = uploaded(&server, &ana, "general", "logo.svg", svg).await;
    assert_eq!(svg.mime, "application/octet-stream");
    let served = get(&server, Some(&ana), &svg.url()).await;
    assert!(served
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert!(served
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));

    let before = kept(files.path());
    // A 1×1 PNG that claims 50,000×50,000; a truncated PNG; a file over the limit.
    let mut bomb = png(1, 1);
    bomb[16..24].copy_from_slice(&[0, 0, 0xc3, 0x50, 0, 0, 0xc3, 0x50]);
    fix_ihdr_crc(&mut bomb);
    let refused = upload(&server, &ana, "general", "bomb.png", &bomb).await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(refused.text().contains("too large"), "{}", refused.text());
    let whole = png(200, 200);
    let refused = upload(
        &server,
        &ana,
        "general",
        "cut.png",
        &whole[..whole.len() / 2],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        refused.text().contains("could not be read"),
        "{}",
        refused.text()
    );
    let big = vec![7u8; 1024 * 1024 + 1];
    let refused = upload(&server, &ana, "general", "big.bin", &big).await;
    assert_eq!(refused.status, 413, "{}", refused.text());
    assert!(refused.text().contains("too large"), "{}", refused.text());
    assert_eq!(kept(files.path()), before, "nothing kept of refused files");
    assert!(
        walk(&files.path().join("tmp")).is_empty(),
        "no upload left half-written"
    );

    // The server is fine.
    let health = get(&server, None, "/healthz").await;
    assert_eq!(health.status, 200);
    let again = uploaded(&server, &ana, "general", "ok.png", &png(8, 8)).await;
    assert_eq!(again.kind, AttachmentKind::Image);
}

fn fix_ihdr_crc(png: &mut [u8]) {
    let mut crc = 0xffff_ffffu32;
    for &byte in &png[12..29] {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    png[29..33].copy_from_slice(&(!crc).to_be_bytes());
}

/// A JPEG `width`×`height` (left half red, right half blue) with EXIF saying "rotate
/// 90° clockwise to view" and a GPS block holding a marker text (as in
/// `server::files::images`' unit tests).
fn phone_jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| {
        image::Rgb(if x < width / 2 {
            [255, 0, 0]
        } else {
            [0, 0, 255]
        })
    });
    let mut plain = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&image)
        .unwrap();
    let plain = plain.into_inner();
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend([0, 2]);
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation 6
    tiff.extend([0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]); // GPS IFD at 38
    tiff.extend([0, 0, 0, 0, 0, 1]);
    tiff.extend([0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend([0, 0, 0, 0]);
    tiff.extend(b"GPS-SECRET-PLACE");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = plain[..2].to_vec();
    out.extend([0xff, 0xe1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&plain[2..]);
    out
}

#[tokio::test]
async fn a_phone_photo_arrives_upright_without_its_exif() {
    let files = tempfile::tempdir().unwrap();
    let server = start_with(&["--files", files.path().to_str().unwrap()]).await;
    let (_ws, _conn) = welcome(&server, "ana", "ana").await;
    let ana = browser_cookie(&server, "ana", "ana").await;
    let photo = phone_jpeg(64, 32);
    assert!(photo.windows(16).any(|w| w == b"GPS-SECRET-PLACE"));
    let up = uploaded(&server, &ana, "general", "IMG_0001.JPG", &photo).await;
    assert_eq!((up.width, up.height), (32, 64), "turned upright");
    for url in [up.url(), up.thumb_url()] {
        let served = get(&server, Some(&ana), &url).await;
        assert_eq!(served.status, 200);
        assert_eq!(served.header("content-type").as_deref(), Some("image/jpeg"));
        assert!(
            !served.body.windows(4).any(|w| w == b"Exif"),
            "no EXIF left"
        );
        assert!(!served.body.windows(16).any(|w| w == b"GPS-SECRET-PLACE"));
    }
    let full = image::load_from_memory(&get(&server, Some(&ana), &up.url()).await.body)
        .unwrap()
        .to_rgb8();
    let (top, bottom) = (full.get_pixel(16, 4), full.get_pixel(16, 60));
    assert!(
        top[0] > 200 && top[2] < 60,
        "the red left half is the top: {top:?}"
    );
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );
}

#[tokio::test]
async fn an_upload_sent_again_for_the_same_message_is_stored_once() {
    let files = tempfile::tempdir().unwrap();
    let server = start_with(&["--files", files.path().to_str().unwrap()]).await;
    let (_ws, _conn) = welcome(&server, "ana", "ana").await;
    let ana = browser_cookie(&server, "ana", "ana").await;
    let pdf = b"%PDF-1.4\n%\xe2\xe3\nonce\n";
    let first = upload_as(&server, &ana, "general", "retry-cid-0001", "a.pdf", pdf).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let kept_once = kept(files.path());
    // The answer was lost; the page sends the same message's upload again.
    let again = upload_as(&server, &ana, "general", "retry-cid-0001", "a.pdf", pdf).await;
    assert_eq!(again.status, 200, "{}", again.text());
    let (first, again): (Attachment, Attachment) = (
        serde_json::from_slice(&first.body).unwrap(),
        serde_json::from_slice(&again.body).unwrap(),
    );
    assert_eq!(first, again, "the same upload");
    assert_eq!(kept(files.path()), kept_once);
    // Another message's upload of the same bytes is an upload of its own, whose bytes
    // are kept once (by their hash).
    let other = uploaded(&server, &ana, "general", "a.pdf", pdf).await;
    assert_ne!(other.id, first.id);
    assert_eq!(kept(files.path()), kept_once);
    // A form that is not the page's changes nothing.
    let bad = upload_as(&server, &ana, "general", "no good cid!", "a.pdf", pdf).await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    let signed_out = upload_as(
        &server,
        "natter_session=nobody",
        "general",
        "retry-cid-0002",
        "a.pdf",
        pdf,
    )
    .await;
    assert_eq!(signed_out.status, 401, "{}", signed_out.text());
    assert_eq!(kept(files.path()), kept_once);
}
