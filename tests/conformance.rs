//! RFC 6455 conformance of the server's own WebSocket, case by case (issue #14, part 4).
//!
//! What a WebSocket library gets from the Autobahn|Testsuite, whose runner cannot be
//! installed here: the server-side cases, as Rust tests against the live router on a
//! loopback port, one test per case so each fails on its own. Frames are written byte for
//! byte and the server's answers parsed strictly (`support::raw`).
//!
//! Groups, named by their prefix: `framing_` (7/16/64-bit lengths, the 64 KiB limit),
//! `ping_` (pings and pongs), `reserved_` (RSV bits and opcodes), `fragments_`
//! (fragmentation, control frames between fragments, a code point split across
//! fragments), `utf8_` (valid and invalid sequences, after Markus Kuhn's UTF-8 decoder
//! test file, in whole frames and in fragments, refused as soon as they cannot be valid),
//! `close_` (valid and invalid codes, the reason's UTF-8, nothing read after a close),
//! `mask_`, `handshake_` (RFC 6455 §4.2.1, §4.2.2, §11.3.1), and `deadline_` (a frame
//! or fragmented message must be whole within `--frame-timeout`).
//!
//! How a case is judged: the server either takes the input and stays open — a `{"t":
//! "ping"}` sent after it is answered `["pong"]` — or closes with the expected code
//! and then ends the connection, sending nothing after its close frame.

mod support;

use natter::api::messages::History;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use clap::Parser;
use natter::protocol::ServerEvent;
use natter::server::config::Config;
use natter::server::{app_state, router, serve};
use tokio::time::Instant;

use support::raw::{
    close_frame, encode_frame, frame, text, Raw, BINARY, CLOSE, CONTINUATION, FIN, PING, PONG,
    RSV1, RSV2, RSV3, TEXT,
};

/// Seconds a frame may take (`--frame-timeout`), short for the `deadline_` cases.
const FRAME_SECS: u64 = 2;
/// How long any answer may take.
const PATIENCE: Duration = Duration::from_secs(5);
const PING_JSON: &str = r#"{"t":"ping"}"#;

/// The server every case talks to: one, started on first use on a thread of its own,
/// and a guest session's cookie.
fn server() -> &'static (SocketAddr, String) {
    static SERVER: OnceLock<(SocketAddr, String)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let dir = tempfile::tempdir().unwrap();
                let db = dir.path().join("conformance.db");
                let frame_secs = FRAME_SECS.to_string();
                let config = Config::parse_from([
                    "natter",
                    "--addr",
                    "127.0.0.1:0",
                    "--database",
                    db.to_str().unwrap(),
                    "--frame-timeout",
                    &frame_secs,
                    "--conns-per-addr",
                    "100000",
                    "--send-burst",
                    "100000",
                    "--durability",
                    "normal",
                ]);
                let state = app_state(&config).await.unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                tokio::spawn(serve(listener, router(state), std::future::pending()));
                let cookie = support::guest_cookie(&addr, None, "conformance")
                    .await
                    .unwrap();
                tx.send((addr, cookie)).unwrap();
                // Serves until the test process ends.
                let _dir = dir;
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
}

/// A socket of the test session, welcomed (the `welcome` event read).
async fn welcomed() -> Raw {
    let (addr, cookie) = server();
    let mut raw = Raw::upgrade(*addr, Some(cookie)).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let payload = raw.next_text(deadline).await.expect("a welcome");
        if let Ok(ServerEvent::Welcome { .. }) = ServerEvent::decode(&payload) {
            return raw;
        }
    }
}

/// What the server said next, passing over counts: an event, a control frame, or the end.
#[derive(Debug, PartialEq)]
// Kept unboxed so the tests can match events in place; a test value, never stored.
#[allow(clippy::large_enum_variant)]
enum Heard {
    Event(ServerEvent),
    Pong(Vec<u8>),
    Close(u16),
    End,
}

async fn hear(raw: &mut Raw) -> Heard {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match raw.next_frame(deadline).await {
            Ok(frame) => match frame.opcode() {
                TEXT => {
                    let event = ServerEvent::decode(&String::from_utf8_lossy(&frame.payload))
                        .expect("an event");
                    if !matches!(event, ServerEvent::Counts { .. }) {
                        return Heard::Event(event);
                    }
                }
                PONG => return Heard::Pong(frame.payload),
                CLOSE => return Heard::Close(frame.close().unwrap().0),
                _ => {}
            },
            Err(_) => return Heard::End,
        }
    }
}

/// The server is still open and serving: our `ping` is answered with `pong`.
async fn still_open(raw: &mut Raw) {
    raw.write(&text(PING_JSON)).await;
    match hear(raw).await {
        Heard::Event(ServerEvent::Pong) => {}
        other => panic!("expected the pong of an open socket, got {other:?}"),
    }
}

/// The server closes with `code`, sends nothing after its close frame, and ends the
/// connection.
async fn closes_with(raw: &mut Raw, code: u16) {
    let seen = raw.transcript(Instant::now() + PATIENCE).await;
    assert_eq!(seen.broken, None, "{seen:?}");
    assert_eq!(
        seen.close.as_ref().map(|(c, _)| *c),
        Some(code),
        "close code; frames before it: {:?}",
        seen.frames
    );
    assert!(seen.after_close.is_empty(), "bytes after the close frame");
    assert!(
        matches!(
            seen.end,
            Some(support::raw::End::Eof | support::raw::End::Reset)
        ),
        "the connection ends: {:?}",
        seen.end
    );
}

/// Sends `bytes` after the welcome; the server must take them and stay open.
async fn taken(bytes: &[u8]) -> Raw {
    let mut raw = welcomed().await;
    raw.write(bytes).await;
    still_open(&mut raw).await;
    raw
}

/// Sends `bytes` after the welcome; the server must close with `code`.
async fn refused(bytes: &[u8], code: u16) {
    let mut raw = welcomed().await;
    raw.write(bytes).await;
    closes_with(&mut raw, code).await;
}

/// `{"t":"ping","pad":"xxx…"}` of exactly `len` bytes.
fn ping_of(len: usize) -> String {
    let bare = r#"{"t":"ping","pad":""}"#;
    format!(r#"{{"t":"ping","pad":"{}"}}"#, "x".repeat(len - bare.len()))
}

// ───────────────────────────── framing ─────────────────────────────

async fn answered_at_length(len: usize) {
    let json = ping_of(len);
    assert_eq!(json.len(), len);
    taken(&text(&json)).await;
}

#[tokio::test]
async fn framing_7_bit_length_125() {
    answered_at_length(125).await
}

#[tokio::test]
async fn framing_16_bit_length_126() {
    answered_at_length(126).await
}

#[tokio::test]
async fn framing_16_bit_length_65535() {
    answered_at_length(65535).await
}

#[tokio::test]
async fn framing_64_bit_length_65536_the_limit() {
    answered_at_length(64 * 1024).await
}

#[tokio::test]
async fn framing_one_byte_over_the_limit_is_1009() {
    refused(&text(&ping_of(64 * 1024 + 1)), 1009).await
}

#[tokio::test]
async fn framing_a_length_of_2_to_the_63_is_1009_from_the_header() {
    refused(&encode_frame(FIN | TEXT, true, 1 << 63, &[]), 1009).await
}

#[tokio::test]
async fn framing_many_frames_in_one_write_are_each_answered() {
    let mut raw = welcomed().await;
    let batch: Vec<u8> = (0..50).flat_map(|_| text(PING_JSON)).collect();
    raw.write(&batch).await;
    for i in 0..50 {
        assert_eq!(
            hear(&mut raw).await,
            Heard::Event(ServerEvent::Pong),
            "pong {i}"
        );
    }
}

#[tokio::test]
async fn framing_a_frame_written_a_byte_at_a_time_is_whole() {
    let mut raw = welcomed().await;
    for byte in text(PING_JSON) {
        raw.write(&[byte]).await;
    }
    assert_eq!(hear(&mut raw).await, Heard::Event(ServerEvent::Pong));
}

#[tokio::test]
async fn framing_an_empty_text_frame_is_refused_and_the_socket_stays() {
    let mut raw = welcomed().await;
    raw.write(&frame(FIN | TEXT, b"")).await;
    assert!(matches!(
        hear(&mut raw).await,
        Heard::Event(ServerEvent::Error { .. })
    ));
    still_open(&mut raw).await;
}

#[tokio::test]
async fn framing_binary_frames_are_refused_and_the_socket_stays() {
    let mut raw = welcomed().await;
    for payload in [&b""[..], &[0xff; 200], &[0; 70_000][..60_000]] {
        raw.write(&frame(FIN | BINARY, payload)).await;
        assert!(matches!(
            hear(&mut raw).await,
            Heard::Event(ServerEvent::Error { .. })
        ));
    }
    still_open(&mut raw).await;
}

// ───────────────────────────── pings and pongs ─────────────────────────────

async fn pong_echoes(payload: &[u8]) {
    let mut raw = welcomed().await;
    raw.write(&frame(FIN | PING, payload)).await;
    assert_eq!(hear(&mut raw).await, Heard::Pong(payload.to_vec()));
    still_open(&mut raw).await;
}

#[tokio::test]
async fn ping_empty_is_answered_with_an_empty_pong() {
    pong_echoes(b"").await
}

#[tokio::test]
async fn ping_of_text_is_echoed() {
    pong_echoes(b"Hello, world!").await
}

#[tokio::test]
async fn ping_of_binary_is_echoed() {
    pong_echoes(&[0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]).await
}

#[tokio::test]
async fn ping_of_125_bytes_is_echoed() {
    pong_echoes(&[0xfe; 125]).await
}

#[tokio::test]
async fn ping_of_126_bytes_is_1002() {
    refused(&encode_frame(FIN | PING, true, 126, &[0xfe; 126]), 1002).await
}

#[tokio::test]
async fn ping_fragmented_is_1002() {
    refused(
        &[frame(PING, b"half"), frame(FIN | CONTINUATION, b"half")].concat(),
        1002,
    )
    .await
}

#[tokio::test]
async fn ping_ten_in_a_row_are_answered_in_order() {
    let mut raw = welcomed().await;
    let pings: Vec<u8> = (0..10u8).flat_map(|i| frame(FIN | PING, &[i])).collect();
    raw.write(&pings).await;
    for i in 0..10u8 {
        assert_eq!(hear(&mut raw).await, Heard::Pong(vec![i]));
    }
}

#[tokio::test]
async fn ping_unsolicited_pong_is_ignored() {
    taken(&frame(FIN | PONG, b"")).await;
}

#[tokio::test]
async fn ping_unsolicited_pong_with_payload_is_ignored() {
    taken(&frame(FIN | PONG, b"unsolicited")).await;
}

// ───────────────────────────── reserved bits and opcodes ─────────────────────────────

#[tokio::test]
async fn reserved_rsv1_is_1002() {
    refused(&frame(FIN | RSV1 | TEXT, PING_JSON.as_bytes()), 1002).await
}

#[tokio::test]
async fn reserved_rsv2_is_1002() {
    refused(&frame(FIN | RSV2 | TEXT, PING_JSON.as_bytes()), 1002).await
}

#[tokio::test]
async fn reserved_rsv3_is_1002() {
    refused(&frame(FIN | RSV3 | TEXT, PING_JSON.as_bytes()), 1002).await
}

#[tokio::test]
async fn reserved_rsv_on_a_ping_is_1002() {
    refused(&frame(FIN | RSV1 | RSV2 | RSV3 | PING, b""), 1002).await
}

#[tokio::test]
async fn reserved_rsv_after_a_good_frame_is_1002_after_its_answer() {
    let mut raw = welcomed().await;
    raw.write(
        &[
            text(PING_JSON),
            frame(FIN | RSV2 | TEXT, PING_JSON.as_bytes()),
        ]
        .concat(),
    )
    .await;
    assert_eq!(hear(&mut raw).await, Heard::Event(ServerEvent::Pong));
    closes_with(&mut raw, 1002).await;
}

macro_rules! reserved_opcode {
    ($($name:ident: $opcode:expr,)*) => {$(
        #[tokio::test]
        async fn $name() {
            refused(&frame(FIN | $opcode, b"reserved"), 1002).await
        }
    )*};
}

reserved_opcode! {
    reserved_opcode_3_is_1002: 0x3,
    reserved_opcode_4_is_1002: 0x4,
    reserved_opcode_5_is_1002: 0x5,
    reserved_opcode_6_is_1002: 0x6,
    reserved_opcode_7_is_1002: 0x7,
    reserved_opcode_b_is_1002: 0xB,
    reserved_opcode_c_is_1002: 0xC,
    reserved_opcode_d_is_1002: 0xD,
    reserved_opcode_e_is_1002: 0xE,
    reserved_opcode_f_is_1002: 0xF,
}

// ───────────────────────────── fragmentation ─────────────────────────────

/// `bytes` cut into a fragmented text message of `parts` pieces.
fn fragmented(bytes: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut ends: Vec<usize> = cuts.to_vec();
    ends.push(bytes.len());
    for (i, &end) in ends.iter().enumerate() {
        let opcode = if i == 0 { TEXT } else { CONTINUATION };
        let fin = if i == ends.len() - 1 { FIN } else { 0 };
        out.extend(frame(fin | opcode, &bytes[start..end]));
        start = end;
    }
    out
}

#[tokio::test]
async fn fragments_two_make_one_message() {
    taken(&fragmented(PING_JSON.as_bytes(), &[5])).await;
}

#[tokio::test]
async fn fragments_of_one_byte_each_make_one_message() {
    let cuts: Vec<usize> = (1..PING_JSON.len()).collect();
    taken(&fragmented(PING_JSON.as_bytes(), &cuts)).await;
}

#[tokio::test]
async fn fragments_that_are_empty_are_taken() {
    let json = PING_JSON.as_bytes();
    let bytes = [
        frame(TEXT, b""),
        frame(CONTINUATION, json),
        frame(CONTINUATION, b""),
        frame(FIN | CONTINUATION, b""),
    ]
    .concat();
    taken(&bytes).await;
}

#[tokio::test]
async fn fragments_with_a_ping_between_them() {
    let mut raw = welcomed().await;
    let json = PING_JSON.as_bytes();
    let bytes = [
        frame(TEXT, &json[..4]),
        frame(FIN | PING, b"between"),
        frame(FIN | CONTINUATION, &json[4..]),
    ]
    .concat();
    raw.write(&bytes).await;
    assert_eq!(hear(&mut raw).await, Heard::Pong(b"between".to_vec()));
    assert_eq!(hear(&mut raw).await, Heard::Event(ServerEvent::Pong));
}

#[tokio::test]
async fn fragments_with_a_pong_between_them() {
    let json = PING_JSON.as_bytes();
    let bytes = [
        frame(TEXT, &json[..4]),
        frame(FIN | PONG, b"between"),
        frame(FIN | CONTINUATION, &json[4..]),
    ]
    .concat();
    taken(&bytes).await;
}

#[tokio::test]
async fn fragments_with_a_close_between_them_close_1000() {
    let json = PING_JSON.as_bytes();
    let bytes = [
        frame(TEXT, &json[..4]),
        close_frame(1000, b""),
        frame(FIN | CONTINUATION, &json[4..]),
    ]
    .concat();
    refused(&bytes, 1000).await
}

#[tokio::test]
async fn fragments_continuation_with_nothing_to_continue_is_1002() {
    refused(&frame(FIN | CONTINUATION, PING_JSON.as_bytes()), 1002).await
}

#[tokio::test]
async fn fragments_continuation_not_final_with_nothing_to_continue_is_1002() {
    refused(&frame(CONTINUATION, PING_JSON.as_bytes()), 1002).await
}

#[tokio::test]
async fn fragments_a_new_message_inside_one_is_1002() {
    let bytes = [frame(TEXT, b"{\"t\":"), text(PING_JSON)].concat();
    refused(&bytes, 1002).await
}

#[tokio::test]
async fn fragments_binary_then_text_continuation_is_refused_as_binary() {
    let mut raw = welcomed().await;
    raw.write(&[frame(BINARY, b"ab"), frame(FIN | CONTINUATION, b"cd")].concat())
        .await;
    assert!(matches!(
        hear(&mut raw).await,
        Heard::Event(ServerEvent::Error { .. })
    ));
    still_open(&mut raw).await;
}

#[tokio::test]
async fn fragments_over_64_kib_together_are_1009() {
    let chunk = vec![b'a'; 20 * 1024];
    let bytes = [
        frame(TEXT, &chunk),
        frame(CONTINUATION, &chunk),
        frame(CONTINUATION, &chunk),
        frame(FIN | CONTINUATION, &chunk),
    ]
    .concat();
    refused(&bytes, 1009).await
}

/// `{"t":"ping","x":"<c>"}` cut inside `c`'s encoding, at every possible point.
async fn code_point_split(c: char) {
    let json = format!(r#"{{"t":"ping","x":"{c}"}}"#);
    let at = json.find(c).unwrap();
    for cut in at + 1..at + c.len_utf8() {
        taken(&fragmented(json.as_bytes(), &[cut])).await;
    }
}

#[tokio::test]
async fn fragments_split_a_2_byte_code_point() {
    code_point_split('é').await
}

#[tokio::test]
async fn fragments_split_a_3_byte_code_point() {
    code_point_split('€').await
}

#[tokio::test]
async fn fragments_split_a_4_byte_code_point() {
    code_point_split('𝄞').await
}

#[tokio::test]
async fn fragments_split_a_code_point_over_three_fragments() {
    let json = r#"{"t":"ping","x":"𝄞"}"#;
    let at = json.find('𝄞').unwrap();
    taken(&fragmented(json.as_bytes(), &[at + 1, at + 3])).await;
}

// ───────────────────────────── UTF-8 ─────────────────────────────
//
// After Markus Kuhn's "UTF-8 decoder capability and stress test" file (sections 1–5):
// valid text must be taken, every malformed sequence refused with 1007.

/// Valid UTF-8 (not JSON): refused as malformed JSON with an `error`, the socket open.
async fn valid_utf8(bytes: &[u8]) {
    assert!(std::str::from_utf8(bytes).is_ok());
    let mut raw = welcomed().await;
    raw.write(&frame(FIN | TEXT, bytes)).await;
    match hear(&mut raw).await {
        Heard::Event(ServerEvent::Error { .. }) => {}
        other => panic!("expected an error event for valid UTF-8, got {other:?}"),
    }
    still_open(&mut raw).await;
}

macro_rules! utf8_valid {
    ($($name:ident: $bytes:expr,)*) => {$(
        #[tokio::test]
        async fn $name() {
            valid_utf8($bytes).await
        }
    )*};
}

utf8_valid! {
    utf8_valid_kosme_1: "κόσμε".as_bytes(),
    utf8_valid_first_of_2_bytes_u0080: b"\xc2\x80",
    utf8_valid_first_of_3_bytes_u0800: b"\xe0\xa0\x80",
    utf8_valid_first_of_4_bytes_u10000: b"\xf0\x90\x80\x80",
    utf8_valid_last_of_1_byte_u007f: b"\x7f",
    utf8_valid_last_of_2_bytes_u07ff: b"\xdf\xbf",
    utf8_valid_last_of_3_bytes_uffff: b"\xef\xbf\xbf",
    utf8_valid_last_of_4_bytes_u10ffff: b"\xf4\x8f\xbf\xbf",
    utf8_valid_boundary_ud7ff: b"\xed\x9f\xbf",
    utf8_valid_boundary_ue000: b"\xee\x80\x80",
    utf8_valid_boundary_ufffd: b"\xef\xbf\xbd",
    utf8_valid_noncharacter_ufffe: b"\xef\xbf\xbe",
    utf8_valid_nul: b"\x00",
    utf8_valid_mixed_scripts: "Hello-µ@ßöäüàá-UTF-8!! 𝄞 日本語".as_bytes(),
}

macro_rules! utf8_invalid {
    ($($name:ident: $bytes:expr,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let bytes: Vec<u8> = AsRef::<[u8]>::as_ref(&$bytes).to_vec();
            assert!(std::str::from_utf8(&bytes).is_err());
            refused(&frame(FIN | TEXT, &bytes), 1007).await
        }
    )*};
}

utf8_invalid! {
    // 3.1 unexpected continuation bytes
    utf8_invalid_3_1_first_continuation_byte: b"\x80",
    utf8_invalid_3_1_last_continuation_byte: b"\xbf",
    utf8_invalid_3_1_three_continuation_bytes: b"\x80\xbf\x80",
    utf8_invalid_3_1_all_64_continuation_bytes: &(0x80..=0xbfu8).collect::<Vec<u8>>(),
    // 3.2 lonely start characters
    utf8_invalid_3_2_lonely_2_byte_start: b"\xc0 \xc1 \xdf ",
    utf8_invalid_3_2_lonely_3_byte_start: b"\xe0 \xef ",
    utf8_invalid_3_2_lonely_4_byte_start: b"\xf0 \xf7 ",
    utf8_invalid_3_2_lonely_5_byte_start: b"\xf8 \xfb ",
    utf8_invalid_3_2_lonely_6_byte_start: b"\xfc \xfd ",
    // 3.3 sequences with the last continuation byte missing
    utf8_invalid_3_3_2_bytes_missing_last: b"\xdf",
    utf8_invalid_3_3_3_bytes_missing_last: b"\xef\xbf",
    utf8_invalid_3_3_4_bytes_missing_last: b"\xf4\x8f\xbf",
    utf8_invalid_3_3_missing_last_then_ascii: b"\xe0\xa0x",
    // 3.4 concatenation of incomplete sequences
    utf8_invalid_3_4_incomplete_sequences_concatenated: b"\xc0\xe0\x80\xf0\x80\x80\xdf\xef\xbf",
    // 3.5 impossible bytes
    utf8_invalid_3_5_fe: b"\xfe",
    utf8_invalid_3_5_ff: b"\xff",
    utf8_invalid_3_5_fe_fe_ff_ff: b"\xfe\xfe\xff\xff",
    // 4.1 overlong ASCII '/'
    utf8_invalid_4_1_overlong_slash_2_bytes: b"\xc0\xaf",
    utf8_invalid_4_1_overlong_slash_3_bytes: b"\xe0\x80\xaf",
    utf8_invalid_4_1_overlong_slash_4_bytes: b"\xf0\x80\x80\xaf",
    utf8_invalid_4_1_overlong_slash_5_bytes: b"\xf8\x80\x80\x80\xaf",
    // 4.2 maximum overlong sequences
    utf8_invalid_4_2_overlong_u007f: b"\xc1\xbf",
    utf8_invalid_4_2_overlong_u07ff: b"\xe0\x9f\xbf",
    utf8_invalid_4_2_overlong_uffff: b"\xf0\x8f\xbf\xbf",
    // 4.3 overlong NUL
    utf8_invalid_4_3_overlong_nul_2_bytes: b"\xc0\x80",
    utf8_invalid_4_3_overlong_nul_3_bytes: b"\xe0\x80\x80",
    // 5.1 single UTF-16 surrogates
    utf8_invalid_5_1_surrogate_ud800: b"\xed\xa0\x80",
    utf8_invalid_5_1_surrogate_udb7f: b"\xed\xad\xbf",
    utf8_invalid_5_1_surrogate_udc00: b"\xed\xb0\x80",
    utf8_invalid_5_1_surrogate_udfff: b"\xed\xbf\xbf",
    // 5.2 paired UTF-16 surrogates
    utf8_invalid_5_2_paired_surrogates: b"\xed\xa0\x80\xed\xb0\x80",
    utf8_invalid_5_2_paired_surrogates_max: b"\xed\xaf\xbf\xed\xbf\xbf",
    // Beyond U+10FFFF
    utf8_invalid_beyond_u10ffff: b"\xf4\x90\x80\x80",
    utf8_invalid_f5_start: b"\xf5\x80\x80\x80",
    // Valid text, then one bad byte at the very end
    utf8_invalid_after_valid_text: "κόσμε\u{10ffff}\u{0}".replace('\u{0}', "").into_bytes().into_iter().chain([0xed, 0xa0, 0x80]).collect::<Vec<u8>>(),
}

#[tokio::test]
async fn utf8_invalid_split_over_fragments_is_1007() {
    let bytes = [
        frame(TEXT, b"{\"t\":\"ping\",\"x\":\"\xe2\x82"),
        frame(FIN | CONTINUATION, b"(\"}"),
    ]
    .concat();
    refused(&bytes, 1007).await
}

#[tokio::test]
async fn utf8_invalid_in_one_byte_fragments_is_1007() {
    let bad = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    let cuts: Vec<usize> = (1..bad.len()).collect();
    refused(&fragmented(bad, &cuts), 1007).await
}

/// Fail fast: a first fragment that cannot begin valid UTF-8 is refused before the
/// message is finished (Autobahn 6.4).
async fn refused_before_the_rest(first: &[u8]) {
    let mut raw = welcomed().await;
    raw.write(&frame(TEXT, first)).await;
    // The rest never comes: the close must come anyway.
    closes_with(&mut raw, 1007).await;
}

#[tokio::test]
async fn utf8_fail_fast_on_an_impossible_byte() {
    refused_before_the_rest(b"{\"t\":\"ping\",\"x\":\"\xff").await
}

#[tokio::test]
async fn utf8_fail_fast_on_a_surrogate() {
    refused_before_the_rest(
        "κόσμε"
            .as_bytes()
            .iter()
            .copied()
            .chain(*b"\xed\xa0\x80")
            .collect::<Vec<u8>>()
            .as_slice(),
    )
    .await
}

#[tokio::test]
async fn utf8_fail_fast_on_a_code_point_over_u10ffff() {
    // Not even the whole sequence: F4 90 can begin nothing.
    refused_before_the_rest(b"abc\xf4\x90").await
}

#[tokio::test]
async fn utf8_fail_fast_in_a_later_fragment() {
    let mut raw = welcomed().await;
    raw.write(&[frame(TEXT, b"{\"t\":"), frame(CONTINUATION, b"\"ping\xc0")].concat())
        .await;
    closes_with(&mut raw, 1007).await;
}

#[tokio::test]
async fn utf8_a_character_cut_at_a_fragment_end_is_not_refused_early() {
    // "€" is E2 82 AC: the first fragment ends after E2 82, which may yet be valid.
    let mut raw = welcomed().await;
    raw.write(&frame(TEXT, b"{\"t\":\"ping\",\"x\":\"\xe2\x82"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    raw.write(&frame(FIN | CONTINUATION, b"\xac\"}")).await;
    assert_eq!(hear(&mut raw).await, Heard::Event(ServerEvent::Pong));
}

// ───────────────────────────── close handling ─────────────────────────────

#[tokio::test]
async fn close_without_a_payload_is_answered_1000() {
    refused(&frame(FIN | CLOSE, b""), 1000).await
}

#[tokio::test]
async fn close_1000_with_a_reason_is_answered_1000() {
    refused(&close_frame(1000, b"Hello World!"), 1000).await
}

#[tokio::test]
async fn close_with_a_reason_of_123_bytes_is_answered_1000() {
    refused(&close_frame(1000, &[b'*'; 123]), 1000).await
}

#[tokio::test]
async fn close_with_a_reason_of_124_bytes_is_1002() {
    // A control frame of 126 bytes.
    refused(
        &encode_frame(
            FIN | CLOSE,
            true,
            126,
            &[&1000u16.to_be_bytes()[..], &[b'*'; 124]].concat(),
        ),
        1002,
    )
    .await
}

#[tokio::test]
async fn close_with_a_one_byte_payload_is_1002() {
    refused(&frame(FIN | CLOSE, &[0x03]), 1002).await
}

#[tokio::test]
async fn close_reason_in_valid_utf8_is_answered_1000() {
    refused(&close_frame(1000, "κόσμε 𝄞".as_bytes()), 1000).await
}

#[tokio::test]
async fn close_reason_in_invalid_utf8_is_1007() {
    refused(
        &close_frame(
            1000,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        ),
        1007,
    )
    .await
}

#[tokio::test]
async fn close_then_nothing_more_is_read() {
    let mut raw = welcomed().await;
    let cid = "after-close-0001";
    let send = natter::protocol::ClientFrame::Send {
        room: "general".into(),
        cid: cid.into(),
        text: "sent after the close".into(),
        file: None,
        reply: None,
    };
    let bytes = [
        close_frame(1000, b""),
        text(PING_JSON),
        frame(FIN | PING, b"after"),
        text(&send.encode()),
    ]
    .concat();
    raw.write(&bytes).await;
    let seen = raw.transcript(Instant::now() + PATIENCE).await;
    assert_eq!(seen.close.as_ref().map(|(c, _)| *c), Some(1000));
    for frame in &seen.frames {
        assert!(
            frame.opcode() != PONG,
            "a ping after the close was answered: {frame:?}"
        );
        if frame.opcode() == TEXT {
            let event = ServerEvent::decode(&String::from_utf8_lossy(&frame.payload)).unwrap();
            assert!(
                matches!(event, ServerEvent::Counts { .. }),
                "an answer to a frame after the close: {event:?}"
            );
        }
    }
    assert!(seen.after_close.is_empty());
    // And the send after the close was not stored.
    let (addr, _) = server();
    let page = History {
        room: "general".into(),
        before: 1_000_000,
        after: None,
    };
    let (status, body) = support::call(addr, page).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(cid),
        "a message sent after the close was stored"
    );
}

#[tokio::test]
async fn close_data_frames_after_a_close_are_not_read() {
    let bytes = [
        close_frame(1000, b""),
        frame(FIN | 0x3, b"not read"),
        text(PING_JSON),
    ]
    .concat();
    refused(&bytes, 1000).await
}

/// One test per close code the client sends, each expecting the server's close code
/// `$answer` (1000 echoes a valid code, 1002 refuses an invalid one).
macro_rules! close_code {
    ($answer:expr; $($name:ident: $code:expr,)*) => {$(
        #[tokio::test]
        async fn $name() {
            refused(&close_frame($code, b""), $answer).await
        }
    )*};
}

close_code! { 1000;
    close_code_1000_is_valid: 1000,
    close_code_1001_is_valid: 1001,
    close_code_1002_is_valid: 1002,
    close_code_1003_is_valid: 1003,
    close_code_1007_is_valid: 1007,
    close_code_1008_is_valid: 1008,
    close_code_1009_is_valid: 1009,
    close_code_1010_is_valid: 1010,
    close_code_1011_is_valid: 1011,
    close_code_3000_is_valid: 3000,
    close_code_3999_is_valid: 3999,
    close_code_4000_is_valid: 4000,
    close_code_4999_is_valid: 4999,
}

close_code! { 1002;
    close_code_0_is_1002: 0,
    close_code_999_is_1002: 999,
    close_code_1004_is_1002: 1004,
    close_code_1005_is_1002: 1005,
    close_code_1006_is_1002: 1006,
    close_code_1015_is_1002: 1015,
    close_code_1016_is_1002: 1016,
    close_code_1100_is_1002: 1100,
    close_code_2000_is_1002: 2000,
    close_code_2999_is_1002: 2999,
    close_code_5000_is_1002: 5000,
    close_code_65535_is_1002: 65535,
}

// ───────────────────────────── masking ─────────────────────────────

#[tokio::test]
async fn mask_an_unmasked_frame_is_1002() {
    refused(
        &encode_frame(FIN | TEXT, false, 12, PING_JSON.as_bytes()),
        1002,
    )
    .await
}

#[tokio::test]
async fn mask_an_unmasked_ping_is_1002() {
    refused(&encode_frame(FIN | PING, false, 0, b""), 1002).await
}

#[tokio::test]
async fn mask_an_all_zero_key_is_a_key_like_any() {
    let mut bytes = vec![FIN | TEXT, 0x80 | PING_JSON.len() as u8, 0, 0, 0, 0];
    bytes.extend_from_slice(PING_JSON.as_bytes());
    taken(&bytes).await;
}

#[tokio::test]
async fn mask_a_different_key_per_frame() {
    let json = PING_JSON.as_bytes();
    let mut bytes = Vec::new();
    for key in [[1u8, 2, 3, 4], [0xff, 0, 0xff, 0], [0x12, 0x34, 0x56, 0x78]] {
        bytes.extend([FIN | TEXT, 0x80 | json.len() as u8]);
        bytes.extend(key);
        bytes.extend(json.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
    }
    let mut raw = welcomed().await;
    raw.write(&bytes).await;
    for _ in 0..3 {
        assert_eq!(hear(&mut raw).await, Heard::Event(ServerEvent::Pong));
    }
}

// ───────────────────────────── the opening handshake ─────────────────────────────

/// The status line the server answers `request` with.
async fn status_of(request: String) -> String {
    let (addr, _) = server();
    let mut raw = Raw::connect(*addr).await;
    let head = raw
        .request(request.as_bytes(), PATIENCE)
        .await
        .unwrap_or_else(|end| panic!("no answer: {end:?}"));
    head.lines().next().unwrap_or_default().to_owned()
}

/// An upgrade request with `key_lines` (whole header lines) in place of the usual key.
fn upgrade_with_keys(key_lines: &str) -> String {
    let (addr, cookie) = server();
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n{key_lines}\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
}

fn key_line(key: &str) -> String {
    format!("Sec-WebSocket-Key: {key}\r\n")
}

#[tokio::test]
async fn handshake_a_proper_upgrade_is_101_with_the_rfcs_accept() {
    let (addr, cookie) = server();
    let mut raw = Raw::connect(*addr).await;
    let head = raw
        .request(
            upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ==")).as_bytes(),
            PATIENCE,
        )
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(lower.contains("upgrade: websocket"), "{head}");
    let _ = cookie;
}

async fn handshake_refused(request: String) {
    let status = status_of(request).await;
    assert!(
        status.starts_with("HTTP/1.1 400"),
        "expected 400, got {status:?}"
    );
}

#[tokio::test]
async fn handshake_a_key_of_garbage_is_400() {
    handshake_refused(upgrade_with_keys(&key_line("this is not base64!"))).await
}

#[tokio::test]
async fn handshake_a_key_of_15_bytes_is_400() {
    // base64 of 15 bytes: 20 characters, no padding.
    handshake_refused(upgrade_with_keys(&key_line("AAECAwQFBgcICQoLDA0O"))).await
}

#[tokio::test]
async fn handshake_a_key_of_32_bytes_is_400() {
    handshake_refused(upgrade_with_keys(&key_line(
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )))
    .await
}

#[tokio::test]
async fn handshake_an_empty_key_is_400() {
    handshake_refused(upgrade_with_keys(&key_line(""))).await
}

#[tokio::test]
async fn handshake_no_key_is_400() {
    handshake_refused(upgrade_with_keys("")).await
}

#[tokio::test]
async fn handshake_two_keys_are_400() {
    let key = key_line("dGhlIHNhbXBsZSBub25jZQ==");
    handshake_refused(upgrade_with_keys(&format!("{key}{key}"))).await
}

#[tokio::test]
async fn handshake_head_is_400() {
    let request = upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ=="));
    handshake_refused(request.replacen("GET", "HEAD", 1)).await
}

#[tokio::test]
async fn handshake_post_is_refused() {
    let request = upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ=="));
    let status = status_of(request.replacen("GET", "POST", 1)).await;
    assert!(!status.contains("101"), "{status}");
}

#[tokio::test]
async fn handshake_no_host_header_is_400() {
    let request = upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ=="));
    let without: String = request
        .split_inclusive("\r\n")
        // Without Origin too: a page's Origin names its host, which the Origin check
        // (a 403) compares with Host.
        .filter(|line| !line.starts_with("Host:") && !line.starts_with("Origin:"))
        .collect();
    handshake_refused(without).await
}

#[tokio::test]
async fn handshake_http_1_0_is_400() {
    let request = upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ=="));
    let status = status_of(request.replacen("HTTP/1.1", "HTTP/1.0", 1)).await;
    assert!(status.contains(" 400"), "{status}");
}

#[tokio::test]
async fn handshake_version_12_is_400_naming_13() {
    let (addr, _) = server();
    let mut raw = Raw::connect(*addr).await;
    let request = upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ=="))
        .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 12");
    let head = raw.request(request.as_bytes(), PATIENCE).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
}

#[tokio::test]
async fn handshake_without_upgrade_header_is_400() {
    let request = upgrade_with_keys(&key_line("dGhlIHNhbXBsZSBub25jZQ=="));
    handshake_refused(request.replace("Upgrade: websocket\r\n", "")).await
}

#[tokio::test]
async fn handshake_key_with_surrounding_spaces_is_101() {
    // Header values are trimmed (RFC 7230 §3.2.4): the key is the same 16 bytes.
    let status = status_of(upgrade_with_keys(
        "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n",
    ))
    .await;
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
}

// ───────────────────────────── deadlines ─────────────────────────────

/// Writes each of `writes`, `every` apart, until the server closes; returns the close
/// code and how long after the first write it came (None: not within the frame timeout
/// and a few seconds).
async fn write_until_closed(
    writes: impl IntoIterator<Item = Vec<u8>>,
    every: Duration,
) -> (Option<u16>, Duration) {
    let mut raw = welcomed().await;
    let started = Instant::now();
    let mut writes = writes.into_iter();
    while started.elapsed() < Duration::from_secs(FRAME_SECS + 3) {
        if let Some(bytes) = writes.next() {
            raw.write(&bytes).await;
        }
        let until = Instant::now() + every;
        loop {
            match raw.next_frame(until).await {
                Ok(frame) if frame.opcode() == CLOSE => {
                    return (frame.close().map(|(c, _)| c), started.elapsed())
                }
                Ok(_) => {}
                Err(support::raw::End::Timeout) => break,
                Err(_) => return (None, started.elapsed()),
            }
        }
    }
    (None, started.elapsed())
}

#[tokio::test]
async fn deadline_a_frame_trickled_a_byte_at_a_time_is_closed_1008() {
    let bytes = text(&ping_of(1000));
    let writes = bytes.chunks(1).map(<[u8]>::to_vec);
    let (code, after) = write_until_closed(writes, Duration::from_millis(300)).await;
    assert_eq!(code, Some(1008), "after {after:?}");
    let secs = after.as_secs_f64();
    assert!(
        (FRAME_SECS as f64 - 0.1..FRAME_SECS as f64 + 1.5).contains(&secs),
        "closed after {secs:.1} s"
    );
}

#[tokio::test]
async fn deadline_a_fragmented_message_trickled_frame_by_frame_is_closed_1008() {
    // Whole frames, each in time, a ping among them, but the message never ends.
    let first = std::iter::once(frame(TEXT, b"{"));
    let more = std::iter::repeat_with(|| {
        [frame(CONTINUATION, b" "), frame(FIN | PING, b"alive")].concat()
    });
    let (code, after) = write_until_closed(first.chain(more), Duration::from_millis(250)).await;
    assert_eq!(code, Some(1008), "after {after:?}");
    let secs = after.as_secs_f64();
    assert!(
        (FRAME_SECS as f64 - 0.1..FRAME_SECS as f64 + 1.5).contains(&secs),
        "closed after {secs:.1} s"
    );
}

#[tokio::test]
async fn deadline_a_slow_frame_finished_in_time_is_taken() {
    let mut raw = welcomed().await;
    let bytes = text(PING_JSON);
    for _ in 0..2 {
        // Each frame has a deadline of its own: two slow ones in a row are fine.
        raw.write(&bytes[..3]).await;
        tokio::time::sleep(Duration::from_millis(FRAME_SECS * 1000 * 2 / 3)).await;
        raw.write(&bytes[3..]).await;
        assert_eq!(hear(&mut raw).await, Heard::Event(ServerEvent::Pong));
    }
}
