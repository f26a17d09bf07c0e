//! The browser UI, embedded in the binary: no CDN, no external fonts or scripts, so the
//! page works on a network without internet. Plain HTML, CSS and JavaScript modules loaded by
//! the browser as they are (no build step); the Content-Security-Policy forbids inline
//! scripts, so all behaviour lives in `assets/js/`, whose entry point is `main.js`.
//!
//! The server answers `/` with [`INDEX_HTML`] and every other path under `/assets/` with
//! [`asset`], which looks the path up in [`ASSETS`].

/// The single page.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");

/// One embedded file the page loads, served under its path.
#[derive(Debug)]
pub struct Asset {
    /// The URL path, such as `/assets/js/main.js`.
    pub path: &'static str,
    /// The `Content-Type` to answer with (module scripts must be served as JavaScript).
    pub content_type: &'static str,
    /// The file's contents.
    pub body: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A JavaScript module under `assets/js/`.
macro_rules! module {
    ($file:literal) => {
        Asset {
            path: concat!("/assets/js/", $file),
            content_type: JAVASCRIPT,
            body: include_str!(concat!("../assets/js/", $file)),
        }
    };
}

/// Every file under `/assets/`: the style sheet and the script modules.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/assets/app.css",
        content_type: CSS,
        body: include_str!("../assets/app.css"),
    },
    module!("main.js"),
    module!("api.js"),
    module!("i18n.js"),
    module!("dom.js"),
    module!("passages.js"),
    module!("chat.js"),
    module!("search.js"),
    module!("documents.js"),
    module!("users.js"),
    module!("audit.js"),
    module!("dashboard.js"),
    module!("review.js"),
    module!("assistant.js"),
    module!("account.js"),
];

/// The embedded file served at `path` (such as `/assets/js/main.js`), if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

#[cfg(test)]
mod tests;
