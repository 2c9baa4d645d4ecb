//! Markdown cells: CommonMark rendered by pulldown-cmark, then sanitized by ammonia before
//! the page ever sets it as HTML — a notebook may come from someone else, so its markdown
//! must not be able to run script (no `<script>`, no `on*=` handlers, no `javascript:` links).

use pulldown_cmark::{html, Options, Parser};

/// Renders `source` to HTML that is safe to assign to `innerHTML`.
pub fn render_markdown(source: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, Parser::new_ext(source, options));
    sanitize_html(&unsafe_html)
}

/// Removes anything that could run script or leak the page (ammonia's allow-list of tags,
/// attributes and URL schemes), and makes links open without handing over `window.opener`.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}
