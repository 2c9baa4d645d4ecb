//! `docs/cell-api.md` is the reference of every function cells can call. Its examples are
//! run here, each in a fresh session, and must give exactly the output written below them;
//! and every function the kernel registers must have a heading there, and every heading
//! name a real function, so the reference cannot drift from the kernel.
//!
//! `UPDATE_EXPECT=1 cargo test -p oxbook-kernel --test docs` rewrites the output blocks
//! (natively; a browser test cannot write files).

use std::collections::BTreeSet;

use oxbook_kernel::Session;
use oxbook_protocol::{CellRun, Effect, Output};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const DOC: &str = include_str!("../../docs/cell-api.md");
/// Where the examples' data file is provided, as the document says.
const DATA_URL: &str = "/static/demo/people.csv";
/// Functions Rhai itself provides that the reference documents as well.
const RHAI_BUILTINS: [&str; 2] = ["print", "debug"];

/// One fenced block of the document: its language, first and last content line
/// (0-based, exclusive end), and content.
struct Block {
    lang: String,
    start: usize,
    end: usize,
    content: String,
}

fn blocks(doc: &str) -> Vec<Block> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(lang) = lines[i].strip_prefix("```") {
            let start = i + 1;
            let end = (start..lines.len())
                .find(|&j| lines[j].trim_end() == "```")
                .unwrap_or_else(|| panic!("unclosed ``` block at line {i}"));
            let content = lines[start..end].iter().map(|l| format!("{l}\n")).collect();
            found.push(Block {
                lang: lang.trim().to_string(),
                start,
                end,
                content,
            });
            i = end + 1;
        } else {
            i += 1;
        }
    }
    found
}

/// A cell run as the document shows it.
fn render(run: &CellRun) -> String {
    let mut lines = Vec::new();
    for output in &run.outputs {
        match output {
            Output::DisplayData { data } => {
                if let Some(svg) = &data.svg {
                    assert!(
                        svg.starts_with("<svg") && svg.ends_with("</svg>\n"),
                        "bad SVG"
                    );
                    lines.push("svg".to_string());
                }
                lines.extend(data.text.clone());
            }
            Output::Error(e) => {
                let at = match (e.line, e.column) {
                    (Some(line), Some(column)) => format!(" at {line}:{column}"),
                    _ => String::new(),
                };
                lines.push(format!("{}{at}: {}", e.ename, e.message));
            }
        }
    }
    for effect in &run.effects {
        lines.push(match effect {
            Effect::FetchFile { url } => format!("effect: fetch {url}"),
            Effect::Deploy {
                endpoint,
                model_name,
                ..
            } => {
                format!("effect: deploy model '{model_name}' to endpoint '{endpoint}'")
            }
            Effect::SaveModel { model_name, .. } => format!("effect: save model '{model_name}'"),
            // Every fit records a run; the examples show what cells print, not that.
            Effect::RecordRun { .. } => continue,
        });
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn examples_give_the_documented_output() {
    let blocks = blocks(DOC);
    let data = blocks
        .iter()
        .find(|b| b.lang == "csv")
        .expect("the examples' csv block");
    assert!(
        DOC.contains(&format!("`{DATA_URL}`")),
        "the document names {DATA_URL}"
    );

    let mut results = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        if block.lang != "rhai" {
            continue;
        }
        let expected = blocks
            .get(i + 1)
            .filter(|b| b.lang == "text")
            .unwrap_or_else(|| {
                panic!(
                    "the example at line {} has no ```text block after it",
                    block.start
                )
            });
        let mut session = Session::new();
        session.provide_file(DATA_URL, data.content.as_bytes().to_vec());
        let actual = render(&session.execute("example", &block.content));
        results.push((block.start, expected, actual));
    }
    assert!(results.len() > 20, "only {} examples found", results.len());

    // A browser has no environment variables nor files, so this is native only.
    if cfg!(not(target_arch = "wasm32")) && std::env::var_os("UPDATE_EXPECT").is_some() {
        let mut lines: Vec<String> = DOC.lines().map(str::to_string).collect();
        // From the end, so that earlier line numbers stay valid.
        for (_, expected, actual) in results.iter().rev() {
            let replacement = actual.lines().map(str::to_string);
            lines.splice(expected.start..expected.end, replacement);
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cell-api.md");
        std::fs::write(path, lines.join("\n") + "\n").expect("rewrite the reference");
        return;
    }

    let wrong: Vec<String> = results
        .iter()
        .filter(|(_, expected, actual)| expected.content != *actual)
        .map(|(line, expected, actual)| {
            format!(
                "example at line {}:\n--- documented\n{}--- actual\n{}",
                line + 1,
                expected.content,
                actual
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} examples differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The function names in the document's headings (outside ``` blocks, where output such
/// as `#{...}` may start a line too): identifiers directly before `(`.
fn documented_functions(doc: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_block = false;
    let headings = doc.lines().filter(|line| {
        if line.starts_with("```") {
            in_block = !in_block;
        }
        !in_block && line.starts_with('#')
    });
    for heading in headings {
        let chars: Vec<char> = heading.chars().collect();
        for (i, _) in chars.iter().enumerate().filter(|(_, &c)| c == '(') {
            let start = (0..i)
                .rev()
                .take_while(|&j| chars[j].is_alphanumeric() || chars[j] == '_')
                .last()
                .unwrap_or(i);
            if start < i {
                names.insert(chars[start..i].iter().collect());
            }
        }
    }
    names
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_function_is_documented_and_every_documented_function_exists() {
    let registered: BTreeSet<String> = Session::new().function_names().into_iter().collect();
    let documented = documented_functions(DOC);
    let undocumented: Vec<&String> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "no heading in docs/cell-api.md for {undocumented:?}"
    );
    let unknown: Vec<&String> = documented
        .iter()
        .filter(|name| !registered.contains(*name) && !RHAI_BUILTINS.contains(&name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/cell-api.md documents unknown functions {unknown:?}"
    );
}
