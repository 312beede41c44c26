use super::parse;
use crate::protocol::rich::{to_nodes, Block, Inline, MAX_DEPTH};

fn t(s: &str) -> Inline {
    Inline::Text(s.into())
}

fn para(inlines: Vec<Inline>) -> Block {
    Block::Para(inlines)
}

fn md(text: &str) -> Vec<Block> {
    parse(text, &[]).unwrap_or_else(|| panic!("{text:?} has formatting"))
}

fn link(href: &str, text: &str) -> Inline {
    Inline::Link(href.into(), vec![t(text)])
}

#[test]
fn plain_text_has_no_tree() {
    for text in [
        "hello",
        "hello there, how are you?",
        "two\nlines",
        "two\n\nparagraphs",
        "a 3 b",
        "&lt;not an entity here&gt;",
        "<b>raw html</b>",
        "1+1=2",
        "123 a flood of x",
        "a line\n  with 2 spaces",
    ] {
        assert_eq!(parse(text, &[]), None, "{text:?}");
    }
}

#[test]
fn block_starts_are_seen_without_inline_markers() {
    for text in [
        "> q", "- a", "+ a", "1. a", "2) a", "# h", "    code", "a\n---", "x\n\n> q",
    ] {
        assert!(super::may_be_formatted(text), "{text:?}");
    }
    assert_eq!(md("1. a\n2. b"), md("1. a\n2. b"));
    assert!(parse("see http://example.com", &[]).is_some());
}

#[test]
fn inline_styles() {
    assert_eq!(
        md("**bold** _it_ *em* ~~gone~~ `x < y`"),
        vec![para(vec![
            Inline::Strong(vec![t("bold")]),
            t(" "),
            Inline::Em(vec![t("it")]),
            t(" "),
            Inline::Em(vec![t("em")]),
            t(" "),
            Inline::Strike(vec![t("gone")]),
            t(" "),
            Inline::Code("x < y".into()),
        ])]
    );
    assert_eq!(
        md("**bold _and it_**"),
        vec![para(vec![Inline::Strong(vec![
            t("bold "),
            Inline::Em(vec![t("and it")])
        ])])]
    );
}

#[test]
fn code_blocks_keep_their_language_and_text() {
    assert_eq!(
        md("```rust\nfn main() {\n    <b>\"x\"</b>\n}\n```"),
        vec![Block::Code(
            Some("rust".into()),
            "fn main() {\n    <b>\"x\"</b>\n}".into()
        )]
    );
    assert_eq!(
        md("see\n```\n**not bold**\n```"),
        vec![
            para(vec![t("see")]),
            Block::Code(None, "**not bold**".into())
        ]
    );
}

#[test]
fn quotes_and_lists() {
    assert_eq!(
        md("> quoted **bold**\n\nafter"),
        vec![
            Block::Quote(vec![para(vec![
                t("quoted "),
                Inline::Strong(vec![t("bold")])
            ])]),
            para(vec![t("after")])
        ]
    );
    assert_eq!(
        md("- one\n- two *it*"),
        vec![Block::List(
            None,
            vec![
                vec![para(vec![t("one")])],
                vec![para(vec![t("two "), Inline::Em(vec![t("it")])])]
            ]
        )]
    );
    assert_eq!(
        md("3. three\n4. four\n   - nested"),
        vec![Block::List(
            Some(3),
            vec![
                vec![para(vec![t("three")])],
                vec![
                    para(vec![t("four")]),
                    Block::List(None, vec![vec![para(vec![t("nested")])]])
                ]
            ]
        )]
    );
}

#[test]
fn links_bare_urls_and_mail() {
    assert_eq!(
        md("[docs](https://example.com/a?b=1) and <mailto:ana@example.com>"),
        vec![para(vec![
            link("https://example.com/a?b=1", "docs"),
            t(" and "),
            link("mailto:ana@example.com", "mailto:ana@example.com"),
        ])]
    );
    assert_eq!(
        md("see https://example.com/x_(y). or (http://a.example/b), <ana@example.com>"),
        vec![para(vec![
            t("see "),
            link("https://example.com/x_(y)", "https://example.com/x_(y)"),
            t(". or ("),
            link("http://a.example/b", "http://a.example/b"),
            t("), "),
            link("mailto:ana@example.com", "ana@example.com"),
        ])]
    );
    // A URL inside a link's text or code is not linked again.
    assert_eq!(
        md("[https://a.example](https://b.example) `http://c.example`"),
        vec![para(vec![
            link("https://b.example/", "https://a.example"),
            t(" "),
            Inline::Code("http://c.example".into()),
        ])]
    );
}

#[test]
fn headings_images_rules_and_html_become_safe_things() {
    assert_eq!(
        md("# Title\ntext"),
        vec![
            para(vec![Inline::Strong(vec![t("Title")])]),
            para(vec![t("text")])
        ]
    );
    assert_eq!(
        md("![a cat](https://example.com/cat.png)"),
        vec![para(vec![link("https://example.com/cat.png", "a cat")])]
    );
    assert_eq!(
        md("**x** <b onclick=alert(1)>y</b>"),
        vec![para(vec![
            Inline::Strong(vec![t("x")]),
            t(" <b onclick=alert(1)>y</b>"),
        ])]
    );
    assert_eq!(
        md("<div>\n**x**\n</div>\n\n*y*"),
        vec![
            para(vec![t("<div>\n**x**\n</div>")]),
            para(vec![Inline::Em(vec![t("y")])])
        ]
    );
    assert_eq!(
        md("a\n\n---\n\n*b*"),
        vec![
            para(vec![t("a")]),
            para(vec![t("---")]),
            para(vec![Inline::Em(vec![t("b")])])
        ]
    );
    // Tables are not markdown here: text.
    assert_eq!(parse("| a | b |\n|---|---|\n| 1 | 2 |", &[]), None);
}

#[test]
fn mentions_are_marked_outside_code() {
    let names = vec!["Ana Maria".to_owned(), "bo".to_owned()];
    assert_eq!(
        parse("**hi** @ana maria and @Bo, not `@bo`", &names),
        Some(vec![para(vec![
            Inline::Strong(vec![t("hi")]),
            t(" "),
            Inline::Mention("@ana maria".into()),
            t(" and "),
            Inline::Mention("@Bo".into()),
            t(", not "),
            Inline::Code("@bo".into()),
        ])])
    );
    // A plain message with a mention needs no tree: the page marks it as before.
    assert_eq!(parse("hi @bo", &names), None);
}

#[test]
fn deep_nesting_and_bombs_stay_plain_text() {
    let deep_quote = ">".repeat(MAX_DEPTH + 2) + " x";
    assert_eq!(parse(&deep_quote, &[]), None);
    let deep_list: String = (0..MAX_DEPTH + 2)
        .map(|i| format!("{}- x\n", "  ".repeat(i)))
        .collect();
    assert_eq!(parse(&deep_list, &[]), None);
    let deep_em = "*".repeat(1_000) + "x" + &"*".repeat(1_000);
    let _ = parse(&deep_em, &[]);
    let brackets = "[".repeat(2_000) + &"](".repeat(500);
    let _ = parse(&brackets, &[]);
    let many = "*a* ".repeat(1_000);
    assert_eq!(parse(&many, &[]), None, "too many nodes");
    let table = "|a".repeat(1_000) + "|\n" + &"|-".repeat(1_000) + "|\n";
    if let Some(doc) = parse(&table, &[]) {
        assert!(doc.iter().all(|b| matches!(b, Block::Para(_))));
    }
    // Just under the caps: still formatted.
    let ok = ">".repeat(3) + " **x**";
    assert!(parse(&ok, &[]).is_some());
}

/// Every link in `blocks`, recursively.
fn hrefs(blocks: &[Block], out: &mut Vec<String>) {
    fn inl(inlines: &[Inline], out: &mut Vec<String>) {
        for i in inlines {
            match i {
                Inline::Strong(c) | Inline::Em(c) | Inline::Strike(c) => inl(c, out),
                Inline::Link(href, children) => {
                    out.push(href.clone());
                    inl(children, out);
                }
                _ => {}
            }
        }
    }
    for b in blocks {
        match b {
            Block::Para(i) => inl(i, out),
            Block::Quote(b) => hrefs(b, out),
            Block::List(_, items) => items.iter().for_each(|b| hrefs(b, out)),
            Block::Code(..) => {}
        }
    }
}

fn assert_safe(text: &str) {
    let Some(doc) = parse(text, &[]) else { return };
    let mut found = Vec::new();
    hrefs(&doc, &mut found);
    for href in found {
        let lower = href.to_ascii_lowercase();
        assert!(
            lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("mailto:"),
            "{text:?} made a link to {href:?}"
        );
    }
    // The tree carries text only: serialized, no tag or handler can be anything else.
    let json = serde_json::to_string(&to_nodes(doc)).unwrap();
    assert!(
        !json.to_ascii_lowercase().contains("11,\"javascript"),
        "{json}"
    );
}

#[test]
fn dangerous_links_are_text() {
    for text in [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](&#x6A;avascript:alert(1))",
        "[x](java%0ascript:alert(1))",
        "[x]( javascript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](//evil.example/x)",
        "[x](/relative)",
        "[x](#top)",
        "[x](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "<data:text/html,<script>alert(1)</script>>",
        "![x](javascript:alert(1))",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "javascript:alert(1) **b**",
    ] {
        assert_safe(text);
        let doc = parse(text, &[]);
        let mut found = Vec::new();
        if let Some(doc) = &doc {
            hrefs(doc, &mut found);
        }
        assert_eq!(found, Vec::<String>::new(), "{text:?} is no link");
    }
}

#[test]
fn the_xss_corpus_in_markdown_forms_makes_no_markup_and_no_bad_link() {
    let corpus = super::corpus::xss_corpus();
    assert!(corpus.len() >= 60, "read {} payloads", corpus.len());
    for p in &corpus {
        for text in [
            p.clone(),
            format!("**{p}**"),
            format!("[click]({p})"),
            format!("[{p}](javascript:alert(1))"),
            format!("[{p}](https://example.com)"),
            format!("![{p}]({p})"),
            format!("<{p}>"),
            format!("`{p}`"),
            format!("```{p}\n{p}\n```"),
            format!("> {p}"),
            format!("- {p}\n- *{p}*"),
            format!("https://example.com/{p}"),
        ] {
            assert_safe(&text);
        }
    }
}

#[test]
fn the_xss_corpus_as_written_reads_as_written() {
    // Raw HTML is text: most payloads have no formatting at all, and where markdown does
    // find some (a code span, an emphasis), the text of the tree still holds every `<`.
    for p in super::corpus::xss_corpus() {
        let Some(doc) = parse(&p, &[]) else { continue };
        let json = serde_json::to_string(&to_nodes(doc)).unwrap();
        assert_eq!(
            json.matches('<').count(),
            p.matches('<').count(),
            "{p:?} -> {json}"
        );
    }
}

#[test]
fn plain_text_is_what_the_message_reads() {
    use super::plain_text;
    assert_eq!(plain_text("just words"), "just words");
    assert_eq!(
        plain_text("Shall we ship **search** on _Friday_?\n> see [notes](https://x.test)"),
        "Shall we ship search on Friday?\nsee notes"
    );
    assert_eq!(plain_text("`code` and ~~old~~ <b>"), "code and old <b>");
}
