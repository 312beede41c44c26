//! What a page says about itself: Open Graph tags first (what sites write for link
//! cards), then the plain `<title>` and `<meta name="description">`.

use scraper::{Html, Selector};

/// A page's card.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageMeta {
    pub site: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Absolute http(s) URL of the page's image, to fetch (under the same rules) and
    /// serve as a thumbnail.
    pub image: Option<String>,
}

/// Longest title and description kept, in characters.
const TITLE_CHARS: usize = 200;
const DESCRIPTION_CHARS: usize = 400;

/// Reads `html` (of the page at `base`) for its card.
pub fn read(html: &str, base: &url::Url) -> PageMeta {
    let doc = Html::parse_document(html);
    let property = |name: &str| -> Option<String> {
        let selector =
            Selector::parse(&format!(r#"meta[property="{name}"], meta[name="{name}"]"#)).ok()?;
        doc.select(&selector)
            .filter_map(|el| el.value().attr("content"))
            .map(tidy)
            .find(|v| !v.is_empty())
    };
    let title_tag = Selector::parse("title").ok().and_then(|selector| {
        doc.select(&selector)
            .next()
            .map(|el| tidy(&el.text().collect::<String>()))
            .filter(|t| !t.is_empty())
    });
    let image = property("og:image")
        .or_else(|| property("twitter:image"))
        .and_then(|src| base.join(&src).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(String::from);
    PageMeta {
        site: property("og:site_name").or_else(|| base.host_str().map(str::to_owned)),
        title: property("og:title")
            .or(title_tag)
            .map(|t| cut(&t, TITLE_CHARS)),
        description: property("og:description")
            .or_else(|| property("description"))
            .map(|d| cut(&d, DESCRIPTION_CHARS)),
        image,
    }
}

/// Whitespace runs (line breaks included) as one space, trimmed.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://example.org/posts/1").unwrap()
    }

    #[test]
    fn open_graph_comes_first_and_images_are_made_absolute() {
        let html = r#"<html><head>
            <title>Plain title</title>
            <meta property="og:title" content="  The   real
              title ">
            <meta property="og:site_name" content="Example">
            <meta name="description" content="plain description">
            <meta property="og:description" content="og description">
            <meta property="og:image" content="/img/card.png">
        </head><body>hi</body></html>"#;
        assert_eq!(
            read(html, &base()),
            PageMeta {
                site: Some("Example".into()),
                title: Some("The real title".into()),
                description: Some("og description".into()),
                image: Some("https://example.org/img/card.png".into()),
            }
        );
    }

    #[test]
    fn a_bare_page_gives_its_title_and_host() {
        let html = "<title>Just a title</title><p>text";
        let meta = read(html, &base());
        assert_eq!(meta.title.as_deref(), Some("Just a title"));
        assert_eq!(meta.site.as_deref(), Some("example.org"));
        assert_eq!((meta.description, meta.image), (None, None));
    }

    #[test]
    fn scripts_and_odd_images_are_nothing_but_text_or_dropped() {
        let html = r#"<title><script>alert(1)</script>x</title>
            <meta property="og:image" content="javascript:alert(1)">
            <meta property="og:description" content="<b>bold</b>">"#;
        let meta = read(html, &base());
        assert_eq!(meta.image, None, "only http(s) images");
        assert_eq!(
            meta.description.as_deref(),
            Some("<b>bold</b>"),
            "kept as text"
        );
        let long = format!("<title>{}</title>", "a".repeat(1000));
        let title = read(&long, &base()).title.unwrap();
        assert_eq!(title.chars().count(), TITLE_CHARS + 1);
    }
}
