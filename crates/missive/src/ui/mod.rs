//! The web pages: sign-up and sign-in, home (compose and timeline), user pages,
//! Settings > Webhook and the administration screen.
//!
//! Every page is static HTML embedded in the binary, so running missive needs no Node.js
//! and no front-end build. The pages hold no server-side state: each page loads its own
//! vanilla ES module (`assets/js/pages/*.js`, which imports the shared `assets/js/shared.js`),
//! reads the token from `localStorage` and calls the same `/api/*` endpoints as any other
//! client, so the browser exercises exactly the public API. The modules are plain
//! JavaScript that browsers run as they are; JSDoc types let `tsc` check them in the tests
//! (`npm run typecheck` in `tests/js`).

use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

const LAYOUT: &str = include_str!("assets/layout.html");

/// One page: the `data-page` name, its title, its main content and its script (a path
/// under `/assets/`).
struct Page {
    name: &'static str,
    title: &'static str,
    main: &'static str,
    script: &'static str,
}

const HOME: Page = Page {
    name: "home",
    title: "Home",
    main: include_str!("assets/home.html"),
    script: "js/pages/home.js",
};
const SIGNIN: Page = Page {
    name: "signin",
    title: "Sign in",
    main: include_str!("assets/signin.html"),
    script: "js/pages/signin.js",
};
const SIGNUP: Page = Page {
    name: "signup",
    title: "Sign up",
    main: include_str!("assets/signup.html"),
    script: "js/pages/signup.js",
};
const USER: Page = Page {
    name: "user",
    title: "User",
    main: include_str!("assets/user.html"),
    script: "js/pages/user.js",
};
const WEBHOOKS: Page = Page {
    name: "webhooks",
    title: "Settings › Webhook",
    main: include_str!("assets/webhooks.html"),
    script: "js/pages/webhooks.js",
};
const WEBHOOK_NEW: Page = Page {
    name: "webhook-new",
    title: "New webhook",
    main: include_str!("assets/webhook-form.html"),
    script: "js/pages/webhook-form.js",
};
const WEBHOOK_EDIT: Page = Page {
    name: "webhook-edit",
    title: "Edit webhook",
    main: include_str!("assets/webhook-form.html"),
    script: "js/pages/webhook-form.js",
};
const ADMIN_WEBHOOKS: Page = Page {
    name: "admin-webhooks",
    title: "Administration › Webhooks",
    main: include_str!("assets/admin-webhooks.html"),
    script: "js/pages/admin-webhooks.js",
};
const NOT_FOUND: Page = Page {
    name: "not-found",
    title: "Not found",
    main: include_str!("assets/not-found.html"),
    script: "js/pages/not-found.js",
};

impl Page {
    fn render(&self) -> String {
        LAYOUT
            .replace("{{title}}", self.title)
            .replace("{{page}}", self.name)
            .replace("{{script}}", self.script)
            .replace("{{main}}", self.main)
    }
}

const PAGES: [&Page; 9] = [
    &HOME,
    &SIGNIN,
    &SIGNUP,
    &USER,
    &WEBHOOKS,
    &WEBHOOK_NEW,
    &WEBHOOK_EDIT,
    &ADMIN_WEBHOOKS,
    &NOT_FOUND,
];

/// The pages, assembled once: they never change while the binary runs.
static RENDERED: LazyLock<Vec<(&'static str, Bytes)>> = LazyLock::new(|| {
    PAGES
        .into_iter()
        .map(|p| (p.name, Bytes::from(p.render())))
        .collect()
});

pub fn router() -> Router {
    Router::new()
        .route("/", get(|| page(&HOME)))
        .route("/signin", get(|| page(&SIGNIN)))
        .route("/signup", get(|| page(&SIGNUP)))
        .route("/{user}", get(user_page))
        .route(
            "/settings",
            get(|| async { Redirect::to("/settings/webhook") }),
        )
        .route("/settings/webhook", get(|| page(&WEBHOOKS)))
        .route("/settings/webhook/new", get(|| page(&WEBHOOK_NEW)))
        .route("/settings/webhook/edit/{id}", get(|| page(&WEBHOOK_EDIT)))
        .route("/admin", get(|| async { Redirect::to("/admin/webhooks") }))
        .route("/admin/webhooks", get(|| page(&ADMIN_WEBHOOKS)))
        .route("/assets/{*path}", get(asset))
}

/// `/@username`: the router cannot match a prefix inside a segment, so the `@` is checked here.
async fn user_page(Path(user): Path<String>) -> Response {
    if user.starts_with('@') && user.len() > 1 {
        page(&USER).await
    } else {
        let mut response = page(&NOT_FOUND).await;
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
    }
}

async fn page(page: &Page) -> Response {
    let html = RENDERED
        .iter()
        .find(|(name, _)| *name == page.name)
        .map_or_else(|| Bytes::from(page.render()), |(_, html)| html.clone());
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    // The pages load only their own script and style and talk only to this origin, so a
    // strict policy costs nothing and turns any escaping mistake into a blocked script.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A file served under `/assets/`, embedded in the binary.
struct Asset {
    path: &'static str,
    body: &'static str,
}

/// Embeds each listed file of `assets/` under its path there.
macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        [$(Asset { path: $path, body: include_str!(concat!("assets/", $path)) }),*]
    };
}

/// Every file served under `/assets/`: the style sheet and the pages' modules (a test
/// checks that every module in `assets/js` is listed and every import resolves here).
const ASSETS: &[Asset] = &assets![
    "app.css",
    "js/shared.js",
    "js/notes.js",
    "js/webhook.js",
    "js/deliveries.js",
    "js/pages/admin-webhooks.js",
    "js/pages/home.js",
    "js/pages/not-found.js",
    "js/pages/signin.js",
    "js/pages/signup.js",
    "js/pages/user.js",
    "js/pages/webhook-form.js",
    "js/pages/webhooks.js",
];

/// An asset ready to serve: its media type and entity tag are worked out once, since
/// the assets never change while the binary runs.
struct Served {
    path: &'static str,
    body: &'static str,
    content_type: &'static str,
    etag: HeaderValue,
}

static SERVED: LazyLock<Vec<Served>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .filter_map(|asset| {
            let digest = hex::encode(Sha256::digest(asset.body.as_bytes()));
            // Quotes and 32 hex digits (128 bits: plenty to tell versions apart), so
            // neither step can fail; a test checks that every asset is served.
            let etag = HeaderValue::from_str(&format!("\"{}\"", digest.get(..32)?)).ok()?;
            Some(Served {
                path: asset.path,
                body: asset.body,
                content_type: content_type(asset.path),
                etag,
            })
        })
        .collect()
});

/// The media type of an asset, from its extension. Module scripts must be served as
/// JavaScript: with `nosniff`, the browser refuses them otherwise.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, as for a GET).
fn not_modified(request_headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
        .map(|tag| tag.trim_ascii())
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag)
}

async fn asset(Path(path): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(asset) = SERVED.iter().find(|asset| asset.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = if not_modified(&request_headers, &asset.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    // Revalidated on every load, so a new binary's assets are used at once; the entity
    // tag makes an unchanged file cost a 304 without a body.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, asset.etag.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of `attr="..."` in `html`.
    fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
        let needle = format!(" {attr}=\"");
        html.match_indices(&needle)
            .filter_map(|(at, _)| {
                let rest = &html[at + needle.len()..];
                rest.find('"').map(|end| &rest[..end])
            })
            .collect()
    }

    #[test]
    fn every_page_is_complete() {
        for page in PAGES {
            let html = page.render();
            assert!(!html.contains("{{"), "{}: a placeholder is left", page.name);
            assert!(html.contains(&format!("data-page=\"{}\"", page.name)));
            assert!(
                html.contains("role=\"alert\""),
                "{}: no alert region",
                page.name
            );
        }
    }

    /// Every form control written in the HTML has a `<label for>`, and every label names
    /// an element that exists (the script builds the admin switches with their labels).
    #[test]
    fn every_control_has_a_label() {
        for page in PAGES {
            let html = page.render();
            let ids = attr_values(&html, "id");
            let labelled = attr_values(&html, "for");
            for target in &labelled {
                assert!(
                    ids.contains(target),
                    "{}: label for missing #{target}",
                    page.name
                );
            }
            for tag in ["<input", "<select", "<textarea"] {
                for (at, _) in html.match_indices(tag) {
                    let element = &html[at..at + html[at..].find('>').unwrap_or(0)];
                    let id = attr_values(element, "id");
                    assert!(
                        id.first().is_some_and(|id| labelled.contains(id)),
                        "{}: {element}> has no label",
                        page.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_event_has_a_checkbox_labelled_with_its_name() {
        let html = WEBHOOK_EDIT.render();
        for event in missive_core::event::EventType::ALL {
            let event = event.as_str();
            assert!(
                html.contains(&format!("<label for=\"event-{event}\">{event}</label>")),
                "no checkbox for {event}"
            );
        }
    }

    fn served(path: &str) -> bool {
        SERVED.iter().any(|asset| asset.path == path)
    }

    /// Every `/assets/...` a page links to (its module, the shared module it preloads, the
    /// style sheet) is served.
    #[test]
    fn every_page_links_only_served_assets() {
        for page in PAGES {
            let html = page.render();
            let links: Vec<&str> = attr_values(&html, "src")
                .into_iter()
                .chain(attr_values(&html, "href"))
                .filter_map(|link| link.strip_prefix("/assets/"))
                .collect();
            assert!(links.contains(&page.script), "{}: no script", page.name);
            for link in links {
                assert!(served(link), "{}: /assets/{link} is not served", page.name);
            }
        }
    }

    /// The `.js` files under `assets/js`, as paths under `assets/`.
    fn modules_on_disk(dir: &std::path::Path, prefix: &str, found: &mut Vec<String>) {
        let entries = std::fs::read_dir(dir).expect("read assets/js");
        for entry in entries {
            let path = entry.expect("read a directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                modules_on_disk(&path, &format!("{prefix}{name}/"), found);
            } else if name.ends_with(".js") {
                found.push(format!("{prefix}{name}"));
            }
        }
    }

    /// A relative `specifier` (one starting with `./` or `../`) resolved against the
    /// module at `from`.
    fn resolve(from: &str, specifier: &str) -> String {
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        for part in specifier.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                part => parts.push(part),
            }
        }
        parts.join("/")
    }

    /// A module missing from the table would be a 404 and a page that does nothing, so
    /// every module on disk is served, starts with `// @ts-check` (the type check covers
    /// it), and every module it imports (or imports types from) is served too.
    #[test]
    fn every_module_is_served_and_its_imports_resolve() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui/assets/js");
        let mut on_disk = Vec::new();
        modules_on_disk(&dir, "js/", &mut on_disk);
        assert!(on_disk.len() > 1, "no modules found in {}", dir.display());
        for module in &on_disk {
            assert!(served(module), "{module} is not listed in ASSETS");
        }
        for asset in SERVED.iter().filter(|a| a.path.ends_with(".js")) {
            assert!(
                asset.body.starts_with("// @ts-check\n"),
                "{} does not start with // @ts-check",
                asset.path
            );
            for (at, _) in asset.body.match_indices(" from '") {
                let rest = &asset.body[at + " from '".len()..];
                let specifier = &rest[..rest.find('\'').unwrap_or(0)];
                assert!(
                    specifier.starts_with("./") || specifier.starts_with("../"),
                    "{}: import of {specifier:?} is not relative",
                    asset.path
                );
                let target = resolve(asset.path, specifier);
                assert!(
                    served(&target),
                    "{}: imports {specifier}, which is not served",
                    asset.path
                );
            }
        }
    }

    #[tokio::test]
    async fn assets_have_their_media_type_and_an_entity_tag() {
        let script = asset(Path("js/shared.js".to_owned()), HeaderMap::new()).await;
        assert_eq!(script.status(), StatusCode::OK);
        assert_eq!(
            script.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(script.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(script.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let style = asset(Path("app.css".to_owned()), HeaderMap::new()).await;
        assert_eq!(
            style.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        assert_ne!(
            style.headers()[header::ETAG],
            script.headers()[header::ETAG]
        );

        let mut revalidation = HeaderMap::new();
        revalidation.insert(
            header::IF_NONE_MATCH,
            script.headers()[header::ETAG].clone(),
        );
        let unchanged = asset(Path("js/shared.js".to_owned()), revalidation.clone()).await;
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            unchanged.headers()[header::ETAG],
            script.headers()[header::ETAG]
        );
        let other = asset(Path("js/notes.js".to_owned()), revalidation).await;
        assert_eq!(other.status(), StatusCode::OK);

        let missing = asset(Path("js/missing.js".to_owned()), HeaderMap::new()).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn user_pages_start_with_an_at_sign() {
        let page = user_page(Path("@alice".to_owned())).await;
        assert_eq!(page.status(), StatusCode::OK);
        let other = user_page(Path("alice".to_owned())).await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
