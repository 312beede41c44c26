//! Pages and files asked for together, through the router in one thread: each response
//! keeps its own headers.

use axum::body::Body;
use axum::http::{header, Request, Response};
use clap::Parser;
use natter::server::config::Config;
use natter::server::{app_state, router};
use tower::ServiceExt;

fn csp(response: &Response<Body>) -> &str {
    response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// A page's render waits (for its data) while a file is served on the same thread. The
/// page must still carry the CSP with its nonce, or the browser refuses its scripts and
/// the page never starts; the file must carry nothing of the page's.
#[tokio::test]
async fn a_file_served_while_a_page_renders_leaves_the_page_its_headers() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/app.js"), "export {};\n").unwrap();
    let db = dir.path().join("test.db");
    let config = Config::parse_from([
        "natter",
        "--addr",
        "127.0.0.1:0",
        "--database",
        db.to_str().unwrap(),
        "--site-root",
        site.to_str().unwrap(),
    ]);
    let app = router(app_state(&config).await.unwrap());
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    for _ in 0..20 {
        let (page, file) = tokio::join!(
            app.clone().oneshot(get("/r/general")),
            app.clone().oneshot(get("/pkg/app.js")),
        );
        let (page, file) = (page.unwrap(), file.unwrap());
        assert_eq!(page.status(), 200);
        assert!(csp(&page).contains("'nonce-"), "page CSP: {:?}", csp(&page));
        assert_eq!(file.status(), 200);
        assert!(
            !csp(&file).contains("'nonce-"),
            "file CSP: {:?}",
            csp(&file)
        );
    }
    // Not found stays the app's own page.
    let missing = app.clone().oneshot(get("/pkg/missing.js")).await.unwrap();
    assert_eq!(missing.status(), 404);
}
