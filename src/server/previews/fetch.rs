//! Fetching one page to preview, within every limit: only addresses the SSRF rules allow
//! (each redirect checked again, at most [`Limits::redirects`]), only `text/html`, at most
//! [`Limits::bytes`] read, and [`Limits::total`] for all of it — a page that drips one
//! byte a second or never ends costs the server that long and that much, no more.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};

use super::meta::{self, PageMeta};
use crate::server::net::client;
use crate::server::net::ssrf::{self, Reach, Refused};

/// What one preview may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub redirects: u8,
    pub bytes: usize,
    pub total: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            redirects: 5,
            bytes: 2 << 20,
            total: Duration::from_secs(5),
        }
    }
}

/// Why a page gave no preview.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("more than {0} redirects")]
    TooManyRedirects(u8),
    #[error("a redirect without a valid Location")]
    BadRedirect,
    #[error("the page answered {0}")]
    Status(u16),
    #[error("not an HTML page ({0})")]
    NotHtml(String),
    #[error("not an image ({0})")]
    NotImage(String),
    #[error("the image is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the page took too long")]
    TimedOut,
    #[error("the page could not be fetched: {0}")]
    Network(String),
}

/// A page as fetched: where it ended up (after redirects) and its first bytes.
#[derive(Debug)]
pub struct Page {
    pub url: reqwest::Url,
    pub bytes: Vec<u8>,
    /// More than [`Limits::bytes`] were offered; the rest was not read.
    pub cut: bool,
}

impl Page {
    /// The page's text (invalid UTF-8 replaced).
    pub fn html(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// Fetches pages for previews. One client for all of them: connections are reused.
pub struct PageFetcher {
    client: reqwest::Client,
    reach: Reach,
    limits: Limits,
}

impl PageFetcher {
    pub fn new(reach: Reach, limits: Limits) -> Self {
        PageFetcher {
            client: client::guarded(reach, limits.total),
            reach,
            limits,
        }
    }

    /// The card of the page at `url`.
    pub async fn preview(&self, url: &str) -> Result<PageMeta, FetchError> {
        let page = self.fetch(url).await?;
        Ok(meta::read(&page.html(), &page.url))
    }

    /// The page at `url`, within [`Limits`].
    pub async fn fetch(&self, url: &str) -> Result<Page, FetchError> {
        let fetched = async {
            let (url, response) = self.follow(url, Want::Html).await?;
            self.read(url, response, self.limits.bytes).await
        };
        tokio::time::timeout(self.limits.total, fetched)
            .await
            .unwrap_or(Err(FetchError::TimedOut))
    }

    /// The image at `url` (a page's card picture), under the same rules: at most
    /// `max_bytes`, whole or not at all.
    pub async fn fetch_image(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, FetchError> {
        let fetched = async {
            let (url, response) = self.follow(url, Want::Image).await?;
            let page = self.read(url, response, max_bytes).await?;
            Ok(page)
        };
        let page = tokio::time::timeout(self.limits.total, fetched)
            .await
            .unwrap_or(Err(FetchError::TimedOut))?;
        if page.cut {
            return Err(FetchError::TooLarge(max_bytes));
        }
        Ok(page.bytes)
    }

    /// Follows `url` through its redirects to a response of the `want`ed type.
    async fn follow(
        &self,
        url: &str,
        want: Want,
    ) -> Result<(reqwest::Url, reqwest::Response), FetchError> {
        let mut url = ssrf::check_link(url, self.reach)?;
        let mut hops = 0;
        loop {
            let response = self
                .client
                .get(url.clone())
                .header(ACCEPT, want.accept())
                .send()
                .await
                .map_err(network)?;
            let status = response.status();
            if status.is_redirection() {
                hops += 1;
                if hops > self.limits.redirects {
                    return Err(FetchError::TooManyRedirects(self.limits.redirects));
                }
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::BadRedirect)?;
                // Every hop under the same rules as the first.
                url = ssrf::check_link(next.as_str(), self.reach)?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            let kind = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|t| t.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let kind: String = kind.trim_start().to_ascii_lowercase();
            if !kind.starts_with(want.accept()) {
                let kind = kind.chars().take(60).collect();
                return Err(match want {
                    Want::Html => FetchError::NotHtml(kind),
                    Want::Image => FetchError::NotImage(kind),
                });
            }
            return Ok((url, response));
        }
    }

    /// Reads the body, stopping at `limit` bytes.
    async fn read(
        &self,
        url: reqwest::Url,
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<Page, FetchError> {
        let mut body: Vec<u8> = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            let room = limit - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Page {
            url,
            bytes: body,
            cut,
        })
    }
}

/// What a fetch is for.
#[derive(Clone, Copy)]
enum Want {
    Html,
    Image,
}

impl Want {
    /// The `Accept` header, which the answer's type must also start with.
    fn accept(self) -> &'static str {
        match self {
            Want::Html => "text/html",
            Want::Image => "image/",
        }
    }
}

fn network(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        FetchError::TimedOut
    } else {
        FetchError::Network(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::body::{Body, Bytes};
    use axum::extract::Path;
    use axum::http::header;
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::get;
    use axum::Router;
    use futures_util::stream;

    use super::*;

    const CARD: &str = r#"<title>Plain</title><meta property="og:title" content="A card">"#;

    fn html(body: impl Into<Body>) -> Response {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body.into(),
        )
            .into_response()
    }

    /// A site on loopback with every kind of page a preview meets.
    async fn site() -> SocketAddr {
        let app = Router::new()
            .route("/card", get(|| async { html(CARD) }))
            .route(
                "/json",
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
            )
            .route(
                "/big",
                get(|| async { html(format!("{CARD}{}", "x".repeat(3 << 20))) }),
            )
            .route(
                "/endless",
                get(|| async {
                    let chunks = stream::repeat_with(|| {
                        Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 64 << 10]))
                    });
                    html(Body::from_stream(chunks))
                }),
            )
            .route(
                "/drip",
                get(|| async {
                    let drip = stream::unfold((), |()| async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Some((Ok::<_, std::io::Error>(Bytes::from_static(b"a")), ()))
                    });
                    html(Body::from_stream(drip))
                }),
            )
            .route(
                "/hop/{n}",
                get(|Path(n): Path<u32>| async move {
                    match n {
                        0 => Redirect::to("/card"),
                        n => Redirect::to(&format!("/hop/{}", n - 1)),
                    }
                }),
            )
            .route(
                "/to-private",
                get(|| async { Redirect::to("http://10.1.2.3/secret") }),
            )
            .route(
                "/to-metadata",
                get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data") }),
            )
            .route(
                "/to-ftp",
                get(|| async { Redirect::to("ftp://example.org/file") }),
            )
            .route(
                "/picture",
                get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![7u8; 1000]) }),
            )
            .route("/to-picture", get(|| async { Redirect::to("/picture") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    /// A fetcher that may reach the loopback site (tests only), with short limits.
    fn fetcher() -> PageFetcher {
        PageFetcher::new(
            Reach { loopback: true },
            Limits {
                total: Duration::from_millis(1500),
                ..Limits::default()
            },
        )
    }

    #[tokio::test]
    async fn a_page_gives_its_card_after_a_few_redirects() {
        let addr = site().await;
        let meta = fetcher()
            .preview(&format!("http://{addr}/hop/3"))
            .await
            .unwrap();
        assert_eq!(meta.title.as_deref(), Some("A card"));
        assert_eq!(meta.site.as_deref(), Some("127.0.0.1"));
    }

    #[tokio::test]
    async fn pictures_are_fetched_whole_or_not_at_all() {
        let addr = site().await;
        let fetcher = fetcher();
        let bytes = fetcher
            .fetch_image(&format!("http://{addr}/to-picture"), 1000)
            .await
            .unwrap();
        assert_eq!(bytes.len(), 1000);
        let too_big = fetcher
            .fetch_image(&format!("http://{addr}/picture"), 999)
            .await;
        assert!(
            matches!(too_big, Err(FetchError::TooLarge(999))),
            "{too_big:?}"
        );
        let page = fetcher
            .fetch_image(&format!("http://{addr}/card"), 1000)
            .await;
        assert!(matches!(page, Err(FetchError::NotImage(_))), "{page:?}");
        let private = fetcher
            .fetch_image(&format!("http://{addr}/to-private"), 1000)
            .await;
        assert!(
            matches!(private, Err(FetchError::Refused(_))),
            "{private:?}"
        );
    }

    #[tokio::test]
    async fn more_than_five_redirects_are_refused() {
        let addr = site().await;
        let err = fetcher().fetch(&format!("http://{addr}/hop/6")).await;
        assert!(
            matches!(err, Err(FetchError::TooManyRedirects(5))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn redirects_to_private_addresses_and_other_schemes_are_refused() {
        let addr = site().await;
        for (path, want) in [
            ("to-private", Refused::NotPublic),
            ("to-metadata", Refused::NotPublic),
            ("to-ftp", Refused::NotHttps),
        ] {
            let err = fetcher().fetch(&format!("http://{addr}/{path}")).await;
            match err {
                Err(FetchError::Refused(refused)) => assert_eq!(refused, want, "{path}"),
                other => panic!("{path}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn private_targets_and_names_that_resolve_to_them_are_refused() {
        let addr = site().await;
        let strict = PageFetcher::new(Reach::default(), Limits::default());
        for url in [
            format!("http://{addr}/card"),
            format!("http://[::ffff:127.0.0.1]:{}/card", addr.port()),
            "http://10.0.0.1/".to_owned(),
            "http://192.168.1.1/".to_owned(),
            "http://[fd00::1]/".to_owned(),
            "http://169.254.169.254/".to_owned(),
        ] {
            let err = strict.fetch(&url).await;
            assert!(
                matches!(err, Err(FetchError::Refused(Refused::NotPublic))),
                "{url}: {err:?}"
            );
        }
        // A name is checked as it resolves: `localhost` has no public address.
        let err = strict
            .fetch(&format!("http://localhost:{}/card", addr.port()))
            .await;
        assert!(matches!(err, Err(FetchError::Network(_))), "{err:?}");
        for url in ["javascript:alert(1)", "file:///etc/passwd", "not a url"] {
            assert!(strict.fetch(url).await.is_err(), "{url}");
        }
    }

    #[tokio::test]
    async fn only_html_is_read() {
        let addr = site().await;
        let err = fetcher().fetch(&format!("http://{addr}/json")).await;
        assert!(matches!(err, Err(FetchError::NotHtml(_))), "{err:?}");
    }

    #[tokio::test]
    async fn huge_and_endless_pages_are_read_up_to_the_limit_only() {
        let addr = site().await;
        for path in ["big", "endless"] {
            let page = fetcher()
                .fetch(&format!("http://{addr}/{path}"))
                .await
                .unwrap();
            assert!(page.cut, "{path}");
            assert_eq!(page.bytes.len(), Limits::default().bytes, "{path}");
        }
        let meta = fetcher()
            .preview(&format!("http://{addr}/big"))
            .await
            .unwrap();
        assert_eq!(meta.title.as_deref(), Some("A card"), "the head is read");
    }

    #[tokio::test]
    async fn a_slow_drip_is_given_up_when_the_time_is_up() {
        let addr = site().await;
        let started = std::time::Instant::now();
        let err = fetcher().fetch(&format!("http://{addr}/drip")).await;
        assert!(matches!(err, Err(FetchError::TimedOut)), "{err:?}");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}
