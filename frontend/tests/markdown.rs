//! Markdown cells are rendered and sanitized: nothing in a notebook's markdown may run
//! script in the page. Runs natively and in the browser.

use oxbook_frontend::markdown::{render_markdown, sanitize_html};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::*;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test_configure!(run_in_browser);

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn renders_commonmark() {
    let html =
        render_markdown("# Iris\n\nSome **bold** and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
    assert!(html.contains("<h1>Iris</h1>"), "{html}");
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    assert!(html.contains("<code>code</code>"), "{html}");
    assert!(
        html.contains("<table>") && html.contains("<td>2</td>"),
        "{html}"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn removes_script_tags() {
    let html =
        render_markdown("before\n\n<script>alert('owned')</script>\n\nafter <script>x()</script>");
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    assert!(!html.contains("alert('owned')"), "{html}");
    assert!(html.contains("before") && html.contains("after"), "{html}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn removes_javascript_links() {
    let html = render_markdown(
        "[click me](javascript:alert(1)) and <a href=\"JavaScript:alert(2)\">raw</a>",
    );
    assert!(!html.to_lowercase().contains("javascript:"), "{html}");
    assert!(html.contains("click me") && html.contains("raw"), "{html}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn removes_event_handlers_and_iframes() {
    let html = render_markdown(
        "<img src=\"x.png\" onerror=\"alert(1)\">\n\n<iframe src=\"https://example.com\"></iframe>\n\n<div style=\"x\" onclick=\"alert(2)\">hi</div>",
    );
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("onerror") && !lower.contains("onclick"),
        "{html}"
    );
    assert!(!lower.contains("<iframe"), "{html}");
    assert!(lower.contains("<img src=\"x.png\""), "{html}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn keeps_safe_links_without_opener() {
    let html = render_markdown("[docs](https://example.com/docs)");
    assert!(html.contains("href=\"https://example.com/docs\""), "{html}");
    assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn sanitizes_kernel_html() {
    let html = sanitize_html("<b>ok</b><svg onload=\"alert(1)\"></svg><a href=\"data:text/html,<script>1</script>\">d</a>");
    assert!(html.contains("<b>ok</b>"), "{html}");
    assert!(
        !html.contains("onload") && !html.contains("data:text/html"),
        "{html}"
    );
}
