//! Formatting through the real binary: markdown parsed once when stored, the tree in the
//! live event and in history alike; markdown bombs and the XSS corpus as markdown leave
//! nothing but text and http(s)/mailto links, and the server answering.

use natter::protocol::rich::{kind, Node};
use natter::protocol::{ChatMessage, ServerEvent};

mod support;

use support::binary::Natter;
use support::{arrive, join, next_event, send};

/// Every link target in `nodes`.
fn hrefs(nodes: &[Node], out: &mut Vec<String>) {
    for Node(k, text, children) in nodes {
        if *k == kind::LINK {
            out.push(text.clone());
        }
        hrefs(children, out);
    }
}

#[path = "../src/server/chat/markdown/corpus.rs"]
mod corpus;

fn depth(nodes: &[Node]) -> usize {
    nodes.iter().map(|n| 1 + depth(&n.2)).max().unwrap_or(0)
}

fn texts() -> Vec<String> {
    let corpus = corpus::xss_corpus();
    assert!(corpus.len() >= 60);
    let mut texts = vec![
        // Bombs, each near the 4,000-character limit.
        ">".repeat(3_990) + " x",
        (0..60)
            .map(|i| format!("{}- x\n", "  ".repeat(i)))
            .collect(),
        "[".repeat(3_990) + "x",
        "*a* ".repeat(990),
        "|a".repeat(1_000) + "|\n" + &"|-".repeat(990),
        "**".repeat(1_990),
        "`".repeat(3_999),
    ];
    for p in corpus {
        texts.push(format!(
            "**{p}** [x]({p}) [{p}](javascript:alert(1)) ![{p}]({p}) <{p}> `{p}`\n> {p}\n- {p}"
        ));
    }
    texts
}

#[tokio::test]
async fn bombs_and_the_xss_corpus_as_markdown_store_only_safe_trees() {
    let dir = tempfile::tempdir().unwrap();
    let server = Natter::start(
        &dir.path().join("markdown.db"),
        &["--send-rate", "1000", "--send-burst", "1000"],
    )
    .await;
    let (mut ana, _) = arrive(&server, "user-ana-0001", "ana", "general").await;
    let (mut bo, bo_conn) = arrive(&server, "user-bo-00001", "bo", "general").await;
    let _ = next_event(&mut ana).await; // bo joined

    send(
        &mut ana,
        "general",
        "formatted-01",
        "**hi** @bo, see https://example.com",
    )
    .await;
    let texts = texts();
    assert!(texts.iter().all(|t| t.chars().count() <= 4_000));
    for (i, text) in texts.iter().enumerate() {
        send(&mut ana, "general", &format!("md-{i:08}"), text).await;
    }
    let mut live: Vec<ChatMessage> = Vec::new();
    while live.len() < texts.len() + 1 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), next_event(&mut bo))
            .await
            .unwrap_or_else(|_| panic!("{} of {} arrived", live.len(), texts.len() + 1));
        match event {
            ServerEvent::Message { msg, .. } => live.push(msg),
            ServerEvent::Error { code, message, .. } => panic!("{code:?}: {message}"),
            _ => {}
        }
    }
    let first = &live[0];
    assert_eq!(first.mentions, ["bo"]);
    let doc = first.doc.as_ref().expect("formatted");
    assert_eq!(
        doc[0].2[0],
        Node(
            kind::STRONG,
            String::new(),
            vec![Node(kind::TEXT, "hi".into(), vec![])]
        )
    );
    assert!(doc[0]
        .2
        .iter()
        .any(|n| n.0 == kind::MENTION && n.1 == "@bo"));
    for (msg, text) in live[1..].iter().zip(&texts) {
        assert_eq!(msg.text, text.trim(), "the text is kept as written");
        let Some(doc) = &msg.doc else { continue };
        assert!(depth(doc) <= 12, "{text:.60}: depth {}", depth(doc));
        let mut found = Vec::new();
        hrefs(doc, &mut found);
        for href in found {
            assert!(
                ["http://", "https://", "mailto:"]
                    .iter()
                    .any(|s| href.to_ascii_lowercase().starts_with(s)),
                "{text:.80} made a link to {href}"
            );
        }
    }
    // The bombs are plain text.
    for msg in &live[1..6] {
        assert_eq!(msg.doc, None, "{:.40}", msg.text);
    }
    // History gives the same trees back, unparsed again.
    let joined = join(&server, &bo_conn, "general").await;
    let stored: Vec<&ChatMessage> = joined.messages.iter().collect();
    for msg in stored {
        let was = live.iter().find(|m| m.seq == msg.seq).expect("sent live");
        assert_eq!(msg.doc, was.doc);
    }
}
