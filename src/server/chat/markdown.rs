//! A message's markdown, parsed once when it is stored into the small tree of
//! [`crate::protocol::rich`] that the page draws as DOM nodes.
//!
//! The subset: bold, italic, strike, inline code, code blocks (with their language),
//! quotes, lists, links and bare http(s) URLs. Headings become bold paragraphs, images
//! links to the image (or their text), raw HTML text. A link's target must be http,
//! https or mailto, or there is no link, only its text. Input nested deeper than
//! [`MAX_DEPTH`] or making more than [`MAX_NODES`] nodes, or using anything else of
//! markdown, stays plain text: the page then draws the text as it is.

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::protocol::rich::{Block, Inline, MAX_DEPTH, MAX_NODES};

/// The tree of `text`'s formatting, or `None` when it has none (or too much), so the
/// text is drawn as it is. `mentions` are the names the server found mentioned in it.
pub fn parse(text: &str, mentions: &[String]) -> Option<Vec<Block>> {
    // The common message has nothing that could be formatting: no parser for it.
    if !may_be_formatted(text) {
        return None;
    }
    let mut builder = Builder {
        stack: vec![Frame::Blocks(Container::Root, Vec::new())],
        nodes: 0,
        mentions: mention_patterns(mentions),
    };
    for (event, range) in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH).into_offset_iter() {
        builder.event(event, &text[range])?;
        if builder.stack.len() > MAX_DEPTH + 1 || builder.nodes > MAX_NODES {
            return None;
        }
    }
    let blocks = builder.finish()?;
    (!is_plain(&blocks, text)).then_some(blocks)
}

/// `text` as it reads, without its markdown's markers (`**`, `_`, `> `, a link's target):
/// what a reply quotes and a search hit shows of a message. Lines stay lines.
pub fn plain_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !may_be_formatted(text) {
        return text.into();
    }
    let mut plain = String::with_capacity(text.len());
    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                plain.push_str(&t)
            }
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph) => plain.push('\n'),
            _ => {}
        }
    }
    plain.truncate(plain.trim_end().len());
    plain.into()
}

/// Whether `text` holds anything markdown could read as formatting: an inline marker, a
/// URL's `:`, or a line starting a block (quote, list, heading, rule, fence, indented
/// code). Bytes, not characters: it runs on every message, and is as fast in a debug build.
fn may_be_formatted(text: &str) -> bool {
    text.bytes().any(|b| {
        matches!(
            b,
            b'*' | b'_' | b'~' | b'`' | b'[' | b']' | b'<' | b'\\' | b':'
        )
    }) || text.lines().any(|line| {
        let rest = line.trim_start_matches(' ');
        let indent = line.len() - rest.len();
        let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        indent >= 4
            || rest.starts_with(['\t', '#', '>', '-', '+', '='])
            || (digits.len() < rest.len() && digits.starts_with(['.', ')']))
    })
}

/// What a list of blocks belongs to.
enum Container {
    Root,
    Quote,
    Item,
}

/// What a list of inlines belongs to.
enum Span {
    Para,
    /// Text straight in a list item (a tight list has no paragraphs).
    Implicit,
    Heading,
    Strong,
    Em,
    Strike,
    Link(String),
    /// A link or image whose target is not allowed: its text only.
    Unlinked,
}

enum Frame {
    Blocks(Container, Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Inlines {
        span: Span,
        children: Vec<Inline>,
        /// Text not yet split into text, mentions and links.
        pending: String,
    },
    Code {
        lang: Option<String>,
        text: String,
    },
}

struct Builder {
    stack: Vec<Frame>,
    nodes: usize,
    /// `@name`, lower-cased, longest first, with the name.
    mentions: Vec<(String, String)>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, source: &str) -> Option<()> {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::Text(text) => {
                if let Some(Frame::Code { text: code, .. }) = self.stack.last_mut() {
                    code.push_str(&text);
                    return Some(());
                }
                // Entities stay as written: `&lt;` reads `&lt;` in a chat, not `<`.
                if source.starts_with('&') && source.ends_with(';') {
                    return self.text(source);
                }
                self.text(&text)
            }
            Event::Code(code) => self.inline(Inline::Code(code.into_string())),
            // Raw HTML is text, as written.
            // (A block's lines come one an event, each with its line break; the
            // paragraph's last break is dropped when it ends.)
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            // A line break is a line break (white-space: pre-wrap), soft or hard.
            Event::SoftBreak | Event::HardBreak => self.text("\n"),
            // `---`: kept as written.
            Event::Rule => {
                self.close_implicit();
                self.block(Block::Para(vec![Inline::Text(source.trim().to_owned())]))
            }
            // Nothing else is enabled; should it come, the message stays plain.
            _ => None,
        }
    }

    fn start(&mut self, tag: Tag<'_>) -> Option<()> {
        let inlines = |span| Frame::Inlines {
            span,
            children: Vec::new(),
            pending: String::new(),
        };
        let frame = match tag {
            Tag::Paragraph | Tag::HtmlBlock => inlines(Span::Para),
            Tag::Heading { .. } => inlines(Span::Heading),
            Tag::BlockQuote(_) => Frame::Blocks(Container::Quote, Vec::new()),
            Tag::CodeBlock(kind) => Frame::Code {
                lang: match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .map(|lang| lang.chars().take(32).collect()),
                    CodeBlockKind::Indented => None,
                },
                text: String::new(),
            },
            Tag::List(start) => Frame::List {
                start,
                items: Vec::new(),
            },
            Tag::Item => Frame::Blocks(Container::Item, Vec::new()),
            Tag::Emphasis => inlines(Span::Em),
            Tag::Strong => inlines(Span::Strong),
            Tag::Strikethrough => inlines(Span::Strike),
            Tag::Link {
                link_type,
                dest_url,
                ..
            }
            | Tag::Image {
                link_type,
                dest_url,
                ..
            } => inlines(match safe_href(&dest_url, link_type) {
                Some(href) => Span::Link(href),
                None => Span::Unlinked,
            }),
            _ => return None,
        };
        let is_block = !matches!(
            frame,
            Frame::Inlines {
                span: Span::Em | Span::Strong | Span::Strike | Span::Link(_) | Span::Unlinked,
                ..
            }
        );
        if is_block {
            self.close_implicit();
        } else {
            self.open_implicit();
            self.flush();
        }
        self.nodes += 1;
        self.stack.push(frame);
        Some(())
    }

    fn end(&mut self, end: TagEnd) -> Option<()> {
        if !matches!(
            end,
            TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Link
                | TagEnd::Image
        ) {
            self.close_implicit();
        }
        self.flush();
        let frame = self.stack.pop()?;
        match frame {
            Frame::Blocks(Container::Quote, blocks) => self.block(Block::Quote(blocks)),
            Frame::Blocks(Container::Item, blocks) => match self.stack.last_mut()? {
                Frame::List { items, .. } => {
                    items.push(blocks);
                    Some(())
                }
                _ => None,
            },
            Frame::Blocks(Container::Root, _) => None,
            Frame::List { start, items } => self.block(Block::List(start, items)),
            Frame::Code { lang, mut text } => {
                if text.ends_with('\n') {
                    text.pop();
                }
                self.block(Block::Code(lang, text))
            }
            Frame::Inlines { span, children, .. } => match span {
                Span::Para | Span::Implicit => {
                    let mut children = children;
                    if let Some(Inline::Text(last)) = children.last_mut() {
                        last.truncate(last.trim_end_matches('\n').len());
                        if last.is_empty() {
                            children.pop();
                        }
                    }
                    self.block(Block::Para(children))
                }
                Span::Heading => self.block(Block::Para(vec![Inline::Strong(children)])),
                Span::Strong => self.inline(Inline::Strong(children)),
                Span::Em => self.inline(Inline::Em(children)),
                Span::Strike => self.inline(Inline::Strike(children)),
                Span::Link(href) => {
                    let children = if children.is_empty() {
                        vec![Inline::Text(href.clone())]
                    } else {
                        children
                    };
                    self.inline(Inline::Link(href, children))
                }
                Span::Unlinked => {
                    for child in children {
                        self.inline(child)?;
                    }
                    Some(())
                }
            },
        }
    }

    /// Adds `block` to the container on top (which must hold blocks).
    fn block(&mut self, block: Block) -> Option<()> {
        self.nodes += 1;
        match self.stack.last_mut()? {
            Frame::Blocks(_, blocks) => {
                blocks.push(block);
                Some(())
            }
            _ => None,
        }
    }

    /// Adds `inline` to the span on top, opening a paragraph if the top holds blocks.
    fn inline(&mut self, inline: Inline) -> Option<()> {
        self.open_implicit();
        self.flush();
        self.nodes += 1;
        match self.stack.last_mut()? {
            Frame::Inlines { children, .. } => {
                children.push(inline);
                Some(())
            }
            _ => None,
        }
    }

    fn text(&mut self, text: &str) -> Option<()> {
        self.open_implicit();
        match self.stack.last_mut()? {
            Frame::Inlines { pending, .. } => {
                pending.push_str(text);
                Some(())
            }
            _ => None,
        }
    }

    /// Turns the top span's pending text into text, mentions and (outside links) links.
    fn flush(&mut self) {
        let in_link = self.stack.iter().any(|f| {
            matches!(
                f,
                Frame::Inlines {
                    span: Span::Link(_),
                    ..
                }
            )
        });
        let Some(Frame::Inlines {
            children, pending, ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        let text = std::mem::take(pending);
        let before = children.len();
        if in_link {
            children.push(Inline::Text(text));
        } else {
            split_text(&text, &self.mentions, children);
        }
        self.nodes += children.len() - before;
    }

    fn open_implicit(&mut self) {
        if matches!(self.stack.last(), Some(Frame::Blocks(..))) {
            self.stack.push(Frame::Inlines {
                span: Span::Implicit,
                children: Vec::new(),
                pending: String::new(),
            });
        }
    }

    fn close_implicit(&mut self) {
        if matches!(
            self.stack.last(),
            Some(Frame::Inlines {
                span: Span::Implicit,
                ..
            })
        ) {
            self.flush();
            if let Some(Frame::Inlines { children, .. }) = self.stack.pop() {
                self.block(Block::Para(children));
            }
        }
    }

    fn finish(mut self) -> Option<Vec<Block>> {
        self.close_implicit();
        match (self.stack.pop(), self.stack.is_empty()) {
            (Some(Frame::Blocks(Container::Root, blocks)), true) if !blocks.is_empty() => {
                Some(blocks)
            }
            _ => None,
        }
    }
}

/// The link target `dest` may become: http, https and mailto only, as the URL parser
/// reads it (so entities, case and stray spaces cannot smuggle another scheme in).
fn safe_href(dest: &str, link_type: LinkType) -> Option<String> {
    let dest = match link_type {
        LinkType::Email => format!("mailto:{dest}"),
        _ => dest.to_owned(),
    };
    let url = url::Url::parse(dest.trim()).ok()?;
    let ok = match url.scheme() {
        "http" | "https" => url.host_str().is_some_and(|h| !h.is_empty()),
        "mailto" => url.path().len() > 1,
        _ => false,
    };
    let href = url.as_str();
    (ok && crate::protocol::rich::is_safe_href(href)).then(|| href.to_owned())
}

fn mention_patterns(mentions: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = mentions
        .iter()
        .map(|name| (format!("@{}", name.to_lowercase()), name.clone()))
        .collect();
    out.sort_by_key(|(at, _)| std::cmp::Reverse(at.len()));
    out
}

/// Splits `text` into text, `@name` mentions and bare http(s) URLs.
fn split_text(text: &str, mentions: &[(String, String)], out: &mut Vec<Inline>) {
    let lower = text.to_lowercase();
    // Lower-casing may change lengths; mark mentions only where it did not.
    let same_shape = lower.len() == text.len();
    let mut plain = String::new();
    let mut i = 0;
    let mut prev: Option<char> = None;
    while i < text.len() {
        let rest = &text[i..];
        let word_start = !prev.is_some_and(|p| p.is_alphanumeric());
        if same_shape && rest.starts_with('@') {
            if let Some((at, _)) = mentions.iter().find(|(at, _)| lower[i..].starts_with(at)) {
                push_text(out, &mut plain);
                out.push(Inline::Mention(text[i..i + at.len()].to_owned()));
                i += at.len();
                prev = text[..i].chars().next_back();
                continue;
            }
        }
        if word_start && (rest.starts_with("http://") || rest.starts_with("https://")) {
            let len = url_len(rest);
            if let Some(href) = safe_href(&rest[..len], LinkType::Inline) {
                push_text(out, &mut plain);
                out.push(Inline::Link(
                    href,
                    vec![Inline::Text(rest[..len].to_owned())],
                ));
                i += len;
                prev = text[..i].chars().next_back();
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        plain.push(c);
        prev = Some(c);
        i += c.len_utf8();
    }
    push_text(out, &mut plain);
}

fn push_text(out: &mut Vec<Inline>, plain: &mut String) {
    if !plain.is_empty() {
        out.push(Inline::Text(std::mem::take(plain)));
    }
}

/// How much of `rest` (which starts with a URL) the URL takes: up to a space or `<`,
/// without trailing punctuation, nor a closing parenthesis it did not open.
fn url_len(rest: &str) -> usize {
    let mut end = rest
        .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        .unwrap_or(rest.len());
    loop {
        let url = &rest[..end];
        let Some(last) = url.chars().next_back() else {
            break;
        };
        let unbalanced = last == ')' && url.matches(')').count() > url.matches('(').count();
        if ".,;:!?'*_~".contains(last) || unbalanced {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    end
}

/// Whether `blocks` say no more than `text` does: paragraphs of text, mentions and line
/// breaks that read exactly as the text.
fn is_plain(blocks: &[Block], text: &str) -> bool {
    let mut flat = String::new();
    for (i, block) in blocks.iter().enumerate() {
        let Block::Para(inlines) = block else {
            return false;
        };
        if i > 0 {
            flat.push_str("\n\n");
        }
        for inline in inlines {
            match inline {
                Inline::Text(t) | Inline::Mention(t) => flat.push_str(t),
                _ => return false,
            }
        }
    }
    flat == text
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
