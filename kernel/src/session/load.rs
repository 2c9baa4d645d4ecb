//! Loading functions of the cell language (`read_csv`, `parse_json`, `load_dataset`...),
//! and the session's side of the worker's streamed loads ([`Session::finish_load`]).
//!
//! Cells do no I/O: `read_*` look their URL up among the files the host provided, and a
//! missing one makes the cell wait (see the module above). What a load noticed (values
//! that did not fit a type, say) is shown as text after the cell's value.

use super::*;
use crate::load::{self as loader, Format, LoadOptions, Loaded, Loader};

/// A file the host provided, and what reading it gave for each format and options asked,
/// so that re-running a cell does not parse again. The bytes are dropped at the end of
/// the cell run that first read them: a later read with other options fetches them again.
pub(super) struct ProvidedFile {
    bytes: Option<Vec<u8>>,
    parsed: Vec<(String, Result<Loaded, LoadError>)>,
}

impl ProvidedFile {
    pub(super) fn new(bytes: Vec<u8>) -> ProvidedFile {
        ProvidedFile {
            bytes: Some(bytes),
            parsed: Vec::new(),
        }
    }
}

/// Frees the bytes of the files a cell read (what parsing them gave stays).
pub(super) fn release_read_files(files: &mut BTreeMap<String, ProvidedFile>) {
    for file in files.values_mut() {
        if !file.parsed.is_empty() {
            file.bytes = None;
        }
    }
}

/// Options from a cell's map, as the worker's JSON options are read.
fn options(map: Map) -> Res<serde_json::Map<String, serde_json::Value>> {
    let value: serde_json::Value =
        rhai::serde::from_dynamic(&Dynamic::from_map(map)).map_err(fail)?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(fail("options must be a map")),
    }
}

/// Reads the provided file `url` as `format`, naming the frame's dataset `name` (the URL,
/// or the store's name for a dataset); a file not provided yet is asked for.
fn read(shared: &SharedState, url: &str, name: &str, format: Format, options: Map) -> Res<Frame> {
    let options = LoadOptions::from_json(&self::options(options)?).map_err(fail)?;
    let key = format!("{format} {options:?}");
    let mut guard = shared.borrow_mut();
    let shared = &mut *guard;
    let ask = |missing: &mut Vec<String>| {
        ask_for(missing, url);
        // A stand-in so that the rest of the cell can run and ask for the other files it
        // needs; the run is rolled back whatever happens.
        Ok(Frame::default())
    };
    let Some(file) = shared.files.get_mut(url) else {
        return ask(&mut shared.missing);
    };
    let result = match file.parsed.iter().find(|(k, _)| *k == key) {
        Some((_, result)) => result.clone(),
        None => {
            let Some(bytes) = &file.bytes else {
                return ask(&mut shared.missing);
            };
            let result = Loader::new(format, options)
                .and_then(|l| l.named(name).load_all(bytes))
                .map_err(|e| e.for_url(url));
            file.parsed.push((key, result.clone()));
            result
        }
    };
    let loaded = result.map_err(|e| fail(format!("{url}: {e}")))?;
    note(&mut shared.notes, url, &loaded);
    Ok(loaded.frame)
}

fn note(notes: &mut Vec<String>, source: &str, loaded: &Loaded) {
    notes.extend(loaded.diagnostics.iter().map(|d| format!("{source}: {d}")));
}

/// Parses text written in the cell.
fn parse(shared: &SharedState, what: &str, text: &str, format: Format, options: Map) -> Res<Frame> {
    let options = LoadOptions::from_json(&self::options(options)?).map_err(fail)?;
    let loaded = loader::load(format, options, text.as_bytes()).map_err(fail)?;
    note(&mut shared.borrow_mut().notes, what, &loaded);
    Ok(loaded.frame)
}

/// The URL of a dataset of the server's store.
fn dataset_url(name: &str) -> Res<String> {
    if !oxbook_protocol::is_valid_dataset_name(name) {
        return Err(fail(format!(
            "'{name}' is not a dataset name: {}",
            oxbook_protocol::DATASET_NAME_RULE
        )));
    }
    Ok(oxbook_protocol::dataset_data_path(name))
}

fn load_dataset(shared: &SharedState, name: &str, mut options: Map) -> Res<Frame> {
    let url = dataset_url(name)?;
    let format = match options.remove("format") {
        Some(format) => {
            let format = format
                .into_string()
                .map_err(|t| fail(format!("option 'format': expected a string, not a {t}")))?;
            Format::resolve(Some(&format), name)
        }
        None => Format::resolve(None, name),
    }
    .map_err(fail)?;
    read(shared, &url, name, format, options)
}

/// The bytes of the provided file `url`; a file not provided yet is asked for (the cell
/// then waits and runs again), giving `None`.
pub(super) fn provided_bytes(shared: &SharedState, url: &str) -> Option<Vec<u8>> {
    let mut guard = shared.borrow_mut();
    let shared = &mut *guard;
    let bytes = shared.files.get(url).and_then(|f| f.bytes.clone());
    if bytes.is_none() {
        ask_for(&mut shared.missing, url);
    }
    bytes
}

/// Adds `url` to the files the cell waits for, once.
fn ask_for(missing: &mut Vec<String>, url: &str) {
    if !missing.iter().any(|u| u == url) {
        missing.push(url.to_string());
    }
}

pub(super) fn register(engine: &mut Engine, shared: &SharedState) {
    let readers = [
        ("read_csv", Format::Csv),
        ("read_tsv", Format::Tsv),
        ("read_json", Format::Json),
        ("read_jsonl", Format::JsonLines),
        ("read_parquet", Format::Parquet),
    ];
    for (name, format) in readers {
        let files = shared.clone();
        engine.register_fn(name, move |url: &str| {
            read(&files, url, url, format, Map::new())
        });
        let files = shared.clone();
        engine.register_fn(name, move |url: &str, options: Map| {
            read(&files, url, url, format, options)
        });
    }
    let files = shared.clone();
    engine.register_fn("load_dataset", move |name: &str| {
        load_dataset(&files, name, Map::new())
    });
    let files = shared.clone();
    engine.register_fn("load_dataset", move |name: &str, options: Map| {
        load_dataset(&files, name, options)
    });
    let parsers = [("parse_csv", Format::Csv), ("parse_json", Format::Json)];
    for (name, format) in parsers {
        let notes = shared.clone();
        engine.register_fn(name, move |text: &str| {
            parse(&notes, name, text, format, Map::new())
        });
        let notes = shared.clone();
        engine.register_fn(name, move |text: &str, options: Map| {
            parse(&notes, name, text, format, options)
        });
    }
}

/// The outputs showing a loaded frame: its table, then what the load noticed.
pub fn load_outputs(loaded: &Loaded) -> Vec<Output> {
    let mut outputs: Vec<Output> = render(&Dynamic::from(loaded.frame.clone()))
        .into_iter()
        .collect();
    if !loaded.diagnostics.is_empty() {
        let lines: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        outputs.push(Output::text(lines.join("\n")));
    }
    outputs
}

/// A failed load as an output.
pub fn load_error_output(error: &LoadError) -> Output {
    Output::Error(CellError {
        ename: "LoadError".into(),
        message: error.to_string(),
        line: None,
        column: None,
    })
}

impl Session {
    /// Makes `variable` hold `frame`, as `let variable = frame;` in a cell would.
    pub fn bind_frame(&mut self, variable: &str, frame: Frame) -> Result<(), LoadError> {
        let plain = variable
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && variable
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        // Keywords (`let`, `fn`...) pass the character test; the parser knows them.
        let valid = plain
            && self.engine.compile(format!("let {variable} = ();")).is_ok()
            && self.scope.is_constant(variable) != Some(true);
        if !valid {
            return Err(LoadError::BadVariable(variable.to_string()));
        }
        self.scope.set_or_push(variable, frame);
        Ok(())
    }

    /// Ends a streamed load (the worker's `KernelRequest::Load`): on success `variable`
    /// holds the frame and the outputs show it (a table, then any diagnostics); on failure
    /// the output is the error. Gives `ok` and the outputs of `KernelEvent::LoadFinished`.
    pub fn finish_load(
        &mut self,
        variable: &str,
        result: Result<Loaded, LoadError>,
    ) -> (bool, Vec<Output>) {
        let bound = result.and_then(|loaded| {
            self.bind_frame(variable, loaded.frame.clone())?;
            Ok(loaded)
        });
        match bound {
            Ok(loaded) => (true, load_outputs(&loaded)),
            Err(error) => (false, vec![load_error_output(&error)]),
        }
    }
}
