//! The desktop: the members' and council's web app, served at `/` from files inside the binary
//! (`instance/desktop/`, plain ES modules with their vendored libraries; no build step, so
//! building `mono` never needs Node).
//!
//! Every response carries a strict Content-Security-Policy (scripts and styles from this origin
//! only: no inline code, no `eval`; connections to this origin only, i.e. `/v1/graphql` over
//! HTTP and its websocket), refuses framing, and forbids content sniffing. Files are revalidated
//! by their SHA-256 `ETag`, so a new binary's desktop is picked up at the next load.
//!
//! Architecture invariant: the desktop talks to the GraphQL API only; nothing here reads the
//! store or knows a cooperative's configuration, which the desktop asks `getSystemInfo` for.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use rust_embed::RustEmbed;

/// Where the desktop's files are served; the page itself is at `/`.
pub const ASSETS: &str = "/desktop";

/// The policy of every desktop response but the document frame's. `img-src data:` admits the
/// handwritten signature drawn on a canvas; `frame-src 'self'` the document frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page documents are shown in, framed by the desktop only.
const DOCUMENT_FRAME: &str = "document.html";

/// The document frame's policy: a kept document's own inline styles and data images apply, no
/// script runs but the frame's own, nothing is fetched or submitted. The desktop sandboxes the
/// frame without same-origin access.
pub const DOCUMENT_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'self'";

#[derive(RustEmbed)]
#[folder = "desktop/"]
struct Files;

/// The routes of the desktop: the page at `/`, its files under [`ASSETS`].
pub fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route(&format!("{ASSETS}/{{*path}}"), get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Files::get(path) else {
        return secured(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            None,
            Body::empty(),
        );
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let content_type = content_type(path);
    let mut response = if fresh {
        secured(
            StatusCode::NOT_MODIFIED,
            content_type,
            Some(&etag),
            Body::empty(),
        )
    } else {
        let body = Body::from(file.data.into_owned());
        secured(StatusCode::OK, content_type, Some(&etag), body)
    };
    if path == DOCUMENT_FRAME {
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCUMENT_POLICY),
        );
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
    }
    response
}

/// A response with `status`, `body` and the desktop's headers.
fn secured(
    status: StatusCode,
    content_type: &'static str,
    etag: Option<&str>,
    body: Body,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    // Revalidated at every load: the files are not fingerprinted, the ETag is.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(etag) = etag.and_then(|etag| HeaderValue::from_str(etag).ok()) {
        headers.insert(header::ETAG, etag);
    }
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, if_none_match: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(tag) = if_none_match {
            headers.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(tag).expect("a header"),
            );
        }
        serve(path, &headers)
    }

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    #[test]
    fn the_page_and_its_modules_carry_the_policy_and_their_types() {
        for (path, content_type) in [
            ("index.html", "text/html; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            (
                "vendor/noble-curves/secp256k1.js",
                "text/javascript; charset=utf-8",
            ),
        ] {
            let response = get(path, None);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header_of(&response, header::CONTENT_TYPE), content_type);
            let policy = header_of(&response, header::CONTENT_SECURITY_POLICY);
            assert!(policy.contains("script-src 'self';"), "{policy}");
            assert!(!policy.contains("unsafe"), "{policy}");
            assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
            assert_eq!(header_of(&response, header::X_FRAME_OPTIONS), "DENY");
            assert_eq!(
                header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
                "nosniff"
            );
        }
    }

    #[test]
    fn documents_are_framed_by_the_desktop_only_with_their_styles_and_no_scripts() {
        let response = get(DOCUMENT_FRAME, None);
        assert_eq!(response.status(), StatusCode::OK);
        let policy = header_of(&response, header::CONTENT_SECURITY_POLICY);
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(
            !policy.contains("unsafe-eval") && !policy.contains("connect-src"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
        assert_eq!(header_of(&response, header::X_FRAME_OPTIONS), "SAMEORIGIN");
        let main = header_of(&get("index.html", None), header::CONTENT_SECURITY_POLICY).to_owned();
        assert!(main.contains("frame-src 'self'"), "{main}");
    }

    #[test]
    fn a_file_is_revalidated_by_its_etag() {
        let first = get("app.js", None);
        let etag = header_of(&first, header::ETAG).to_owned();
        assert_eq!(etag.len(), 66, "{etag}");
        let again = get("app.js", Some(&etag));
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let changed = get("app.js", Some("\"0\""));
        assert_eq!(changed.status(), StatusCode::OK);
    }

    #[test]
    fn unknown_files_and_paths_outside_the_desktop_are_not_found() {
        for path in ["nothing.js", "../Cargo.toml", "../src/lib.rs"] {
            assert_eq!(get(path, None).status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn no_page_has_an_inline_script_or_style() {
        let page = Files::get("index.html").expect("the page");
        let page = String::from_utf8_lossy(&page.data);
        assert!(
            !page.contains("<script>") && !page.contains("<style"),
            "{page}"
        );
        assert!(!page.contains(" style="), "{page}");
    }
}
