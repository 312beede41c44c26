//! The wire decoder, by property (split out of `tests/hostile.rs`).
//!
//! [`ClientFrame::decode`] is the first thing every text frame meets. Proptest feeds it
//! arbitrary strings, arbitrary bytes (lossily decoded), JSON-shaped objects with a `t`
//! among the known types, unknown strings and non-strings, fields of random types,
//! hostile numbers and escapes (NUL, lone surrogates, broken `\u`), nesting far deeper
//! than any parser should follow, and frames over [`MAX_FRAME_BYTES`]. It must never
//! panic; oversized input is `TooLarge`; an unknown string `t` in an otherwise valid
//! object is `UnknownType`; whatever it accepts re-encodes to the same frame; every
//! generated frame round-trips through `encode`. [`ServerEvent::decode`] gets the same
//! junk and must not panic either.

use natter::protocol::{ClientFrame, ServerEvent, MAX_FRAME_BYTES};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::Value;

use natter::protocol::DecodeError;

const KNOWN: [&str; 2] = ["send", "ping"];

/// `cases` runs each, and no regression files written into the tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A piece of the inside of a JSON string: plain text, and escapes valid and not.
fn string_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 _.-]{0,12}",
        2 => any::<char>().prop_map(String::from),
        1 => Just(r"\u0000".to_owned()),       // escaped NUL
        1 => Just("\u{0}".to_owned()),         // raw NUL: not allowed unescaped
        1 => Just(r"\ud800".to_owned()),       // lone high surrogate
        1 => Just(r"\udfff".to_owned()),       // lone low surrogate
        1 => Just(r"\ud83d\ude00".to_owned()), // a proper pair
        1 => Just(r"\ud83d\u0041".to_owned()), // high surrogate, then not a low one
        1 => Just(r#"\""#.to_owned()),
        1 => Just(r"\\\/\b\f\n\r\t".to_owned()),
        1 => Just(r"\x41".to_owned()),         // not a JSON escape
        1 => Just(r"\u12".to_owned()),         // truncated escape
        1 => Just(r"\".to_owned()),            // dangling backslash
    ]
}

/// A JSON string literal, quotes included; often invalid inside.
fn json_string() -> impl Strategy<Value = String> {
    vec(string_piece(), 0..6).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

/// Numbers, including ones no integer or float holds and some that are not JSON.
fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{20,400}",
        "-?[0-9]{1,3}\\.[0-9]{1,40}[eE][+-]?[0-9]{1,7}",
        select(vec![
            "-0", "1e999999", "NaN", "Infinity", "01", "1.", ".5", "0x10", "+1"
        ])
        .prop_map(str::to_owned),
    ]
}

/// A key: one of the protocol's field names or anything else, as a JSON literal.
fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec!["t", "room", "cid", "text"])
            .prop_map(|k| format!("\"{k}\"")),
        1 => json_string(),
    ]
}

fn json_object(fields: &[(String, String)]) -> String {
    let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", fields.join(","))
}

/// JSON-ish text: valid JSON, mostly, with the hostile leaves above.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        select(vec!["null", "true", "false"]).prop_map(str::to_owned),
        json_number(),
        json_string(),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(|items| format!("[{}]", items.join(","))),
            vec((json_key(), inner), 0..6).prop_map(|fields| json_object(&fields)),
        ]
    })
}

/// The value of `t`: a known type, an unknown one, or not a string at all.
fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(KNOWN.to_vec()).prop_map(|t| format!("\"{t}\"")),
        2 => "[a-z_]{0,10}".prop_map(|t| format!("\"{t}\"")),
        1 => json_string(),
        2 => json_value(),
    ]
}

/// Something shaped like a frame: an object with `t` somewhere among random fields,
/// sometimes cut short or with something after it.
fn frame_like() -> impl Strategy<Value = String> {
    let object = (tag(), vec((json_key(), json_value()), 0..6), any::<Index>()).prop_map(
        |(tag, mut fields, at)| {
            fields.insert(at.index(fields.len() + 1), ("\"t\"".to_owned(), tag));
            json_object(&fields)
        },
    );
    (object, 0..4u8, any::<Index>()).prop_map(|(object, mangle, at)| match mangle {
        // Cut at a character boundary.
        0 => {
            let cut = object
                .char_indices()
                .map(|(i, _)| i)
                .nth(at.index(object.chars().count()))
                .unwrap_or(0);
            object[..cut].to_owned()
        }
        1 => format!("{object} {object}"),
        2 => format!(" \n\t{object}\r\n "),
        _ => object,
    })
}

/// Strictly valid JSON, for the "otherwise valid" objects.
fn valid_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((any::<String>(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (any::<String>(), any::<String>(), any::<String>()).prop_map(|(room, cid, text)| {
            ClientFrame::Send {
                room,
                cid,
                text,
                file: None,
                reply: None,
            }
        }),
        Just(ClientFrame::Ping),
    ]
}

/// What holds for every input: no panic (proptest catches one), an unknown type is
/// never a known one, and an accepted frame is exactly what it re-encodes to.
fn check_decode(input: &str) -> Result<(), TestCaseError> {
    match ClientFrame::decode(input) {
        Ok(frame) => prop_assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame)),
        Err(DecodeError::TooLarge(len)) => {
            prop_assert!(input.len() > MAX_FRAME_BYTES);
            prop_assert_eq!(len, input.len());
        }
        Err(DecodeError::UnknownType(t)) => prop_assert!(!KNOWN.contains(&t.as_str())),
        Err(DecodeError::Malformed(_)) => {}
    }
    let _ = ServerEvent::decode(input);
    Ok(())
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_decode(&input)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..1024)) {
        check_decode(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn valid_frames_round_trip(frame in client_frame()) {
        prop_assert_eq!(ClientFrame::decode(&frame.encode()), Ok(frame));
    }

}

// Costlier inputs, fewer cases: the property part stays within a few seconds.
proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn frame_shaped_json_never_panics(input in frame_like()) {
        check_decode(&input)?;
    }

    #[test]
    fn unknown_string_types_are_told_apart(
        t in any::<String>().prop_filter("unknown", |t| !KNOWN.contains(&t.as_str())),
        fields in vec(
            (any::<String>().prop_filter("not the tag", |k| k != "t"), valid_json()),
            0..5,
        ),
        at in any::<Index>(),
    ) {
        let mut fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (Value::from(k.as_str()).to_string(), v.to_string()))
            .collect();
        fields.insert(at.index(fields.len() + 1), ("\"t\"".into(), Value::from(t.as_str()).to_string()));
        let input = json_object(&fields);
        prop_assume!(input.len() <= MAX_FRAME_BYTES);
        // Quoted back at most 32 characters long.
        let quoted = t.chars().take(32).collect();
        prop_assert_eq!(ClientFrame::decode(&input), Err(DecodeError::UnknownType(quoted)));
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Up to 70,000 levels: over the size limit it is refused unread; under it the
    /// parser's depth limit stops it. Either way no stack overflow, no panic.
    #[test]
    fn deep_nesting_is_refused(
        depth in prop_oneof![0usize..300, 0usize..70_000],
        opener in select(vec!["[", "{\"a\":", "{\"t\":", "[{\"t\":\"send\",\"x\":"]),
        closed in any::<bool>(),
    ) {
        let closer: String = opener
            .chars()
            .filter_map(|c| match c { '[' => Some(']'), '{' => Some('}'), _ => None })
            .rev()
            .collect();
        let mut input = opener.repeat(depth);
        if closed {
            input.push('1');
            input.push_str(&closer.repeat(depth));
        }
        let decoded = ClientFrame::decode(&input);
        if input.len() > MAX_FRAME_BYTES {
            prop_assert_eq!(decoded, Err(DecodeError::TooLarge(input.len())));
        } else {
            prop_assert!(matches!(decoded, Err(DecodeError::Malformed(_))), "{decoded:?}");
        }
    }

    /// Over the limit is `TooLarge`, whatever the content, counted in bytes.
    #[test]
    fn oversized_input_is_too_large(
        prefix in prop_oneof![frame_like(), any::<String>()],
        pad in select(vec!["x", " ", "é", "€", "😀", "\\u0000"]),
        extra in 1usize..4096,
    ) {
        let repeats = (MAX_FRAME_BYTES + extra) / pad.len() + 1;
        let input = format!("{prefix}{}", pad.repeat(repeats));
        prop_assert_eq!(ClientFrame::decode(&input), Err(DecodeError::TooLarge(input.len())));
        let _ = ServerEvent::decode(&input);
    }
}

/// The limit is inclusive: a frame of exactly `MAX_FRAME_BYTES` is parsed.
#[test]
fn the_size_limit_is_exact() {
    let frame = |len: usize| {
        let head = r#"{"t":"send","room":"general","cid":"abcdefgh","text":""#;
        let text = "a".repeat(len - head.len() - 2);
        format!("{head}{text}\"}}")
    };
    let at_limit = frame(MAX_FRAME_BYTES);
    assert_eq!(at_limit.len(), MAX_FRAME_BYTES);
    assert!(matches!(
        ClientFrame::decode(&at_limit),
        Ok(ClientFrame::Send { .. })
    ));
    assert_eq!(
        ClientFrame::decode(&frame(MAX_FRAME_BYTES + 1)),
        Err(DecodeError::TooLarge(MAX_FRAME_BYTES + 1))
    );
}
