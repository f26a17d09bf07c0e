//! The browser UI, embedded in the binary: no CDN, no external fonts or scripts, so the
//! page works on a network without internet. Plain HTML, CSS and JavaScript; the
//! Content-Security-Policy forbids inline scripts, so all behaviour lives in `app.js`.

/// The single page.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// Its script.
pub const APP_JS: &str = include_str!("../assets/app.js");
/// Its style sheet.
pub const APP_CSS: &str = include_str!("../assets/app.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_loads_only_local_assets() {
        assert!(INDEX_HTML.contains("/assets/app.js") && INDEX_HTML.contains("/assets/app.css"));
        for asset in [INDEX_HTML, APP_JS, APP_CSS] {
            // The SVG namespace is a name, never fetched.
            let asset = asset.replace("\"http://www.w3.org/2000/svg\"", "");
            assert!(
                !asset.contains("http://") && !asset.contains("https://"),
                "external reference"
            );
        }
        assert!(
            !INDEX_HTML.contains("<script>"),
            "inline scripts are blocked by the CSP"
        );
    }

    #[test]
    fn every_ui_string_has_both_languages() {
        let zh_keys = APP_JS.matches("zh: {").count();
        let en_keys = APP_JS.matches("en: {").count();
        assert_eq!((zh_keys, en_keys), (1, 1));
    }
}
