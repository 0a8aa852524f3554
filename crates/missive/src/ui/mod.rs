//! The web pages: sign-up and sign-in, home (compose and timeline), user pages,
//! Settings > Webhook and the administration screen.
//!
//! Every page is static HTML embedded in the binary, so running missive needs no Node.js
//! and no front-end build. The pages hold no server-side state: a small vanilla script
//! (`assets/app.js`) reads the token from `localStorage` and calls the same `/api/*`
//! endpoints as any other client, so the browser exercises exactly the public API.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const LAYOUT: &str = include_str!("assets/layout.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// One page: the `data-page` name the script dispatches on, its title and its main content.
struct Page {
    name: &'static str,
    title: &'static str,
    main: &'static str,
}

const HOME: Page = Page {
    name: "home",
    title: "Home",
    main: include_str!("assets/home.html"),
};
const SIGNIN: Page = Page {
    name: "signin",
    title: "Sign in",
    main: include_str!("assets/signin.html"),
};
const SIGNUP: Page = Page {
    name: "signup",
    title: "Sign up",
    main: include_str!("assets/signup.html"),
};
const USER: Page = Page {
    name: "user",
    title: "User",
    main: include_str!("assets/user.html"),
};
const WEBHOOKS: Page = Page {
    name: "webhooks",
    title: "Settings › Webhook",
    main: include_str!("assets/webhooks.html"),
};
const WEBHOOK_NEW: Page = Page {
    name: "webhook-new",
    title: "New webhook",
    main: include_str!("assets/webhook-form.html"),
};
const WEBHOOK_EDIT: Page = Page {
    name: "webhook-edit",
    title: "Edit webhook",
    main: include_str!("assets/webhook-form.html"),
};
const ADMIN_WEBHOOKS: Page = Page {
    name: "admin-webhooks",
    title: "Administration › Webhooks",
    main: include_str!("assets/admin-webhooks.html"),
};
const NOT_FOUND: Page = Page {
    name: "not-found",
    title: "Not found",
    main: include_str!("assets/not-found.html"),
};

impl Page {
    fn render(&self) -> String {
        LAYOUT
            .replace("{{title}}", self.title)
            .replace("{{page}}", self.name)
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
        .route(
            "/assets/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP_JS)),
        )
        .route(
            "/assets/app.css",
            get(|| asset("text/css; charset=utf-8", APP_CSS)),
        )
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

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Small enough to fetch on every load, so a new binary's assets are used at once.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
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

    #[tokio::test]
    async fn user_pages_start_with_an_at_sign() {
        let page = user_page(Path("@alice".to_owned())).await;
        assert_eq!(page.status(), StatusCode::OK);
        let other = user_page(Path("alice".to_owned())).await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
        assert!(page.headers().contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
