//! The Parquet loader against broken files: truncated, bit-flipped and byte-mutated
//! versions of valid files (several types, nulls, dictionaries, several row groups and
//! pages, each codec the browser build has) must give a `LoadError`, never a panic — in
//! the browser a panic kills the worker. Also: codecs the browser build lacks (zstd) are
//! refused with an error that says what to do.
//!
//! Panics are caught here with `catch_unwind` only to count and name them: the loader
//! itself must not panic (on wasm32 a panic aborts, there is nothing to catch).

use std::sync::Arc;

use oxbook_kernel::load::{load, Format, LoadError, LoadOptions, Loaded, Loader};
use parquet::basic::{Compression, Encoding};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;
use common::Rng;

/// How the test file is written.
#[derive(Debug, Clone, Copy)]
struct Style {
    compression: Compression,
    dictionary: bool,
    version: WriterVersion,
}

/// A small file with nine columns of several types and encodings, nulls in every
/// optional column, `groups` row groups of 23 rows, and pages of at most 8 rows.
fn parquet_file(style: Style, groups: i64) -> Vec<u8> {
    let schema = Arc::new(
        parse_message_type(
            "message m {
                REQUIRED INT64 id;
                OPTIONAL BYTE_ARRAY name (UTF8);
                OPTIONAL DOUBLE score;
                OPTIONAL BOOLEAN flag;
                OPTIONAL INT32 day (DATE);
                OPTIONAL INT64 seen (TIMESTAMP(MILLIS,true));
                OPTIONAL FLOAT ratio;
                REQUIRED INT32 small;
                REPEATED INT32 tags;
            }",
        )
        .unwrap(),
    );
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(style.compression)
            .set_dictionary_enabled(style.dictionary)
            .set_writer_version(style.version)
            .set_data_page_row_count_limit(8)
            .set_write_batch_size(4)
            // Delta encoding for one column, so its decoder is fuzzed too.
            .set_column_encoding("small".into(), Encoding::DELTA_BINARY_PACKED)
            .set_column_dictionary_enabled("small".into(), false)
            .build(),
    );
    let mut bytes = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut bytes, schema, properties).unwrap();
    const ROWS: i64 = 23;
    for group in 0..groups {
        let first = group * ROWS;
        // Every third row is null in the optional columns.
        let defs: Vec<i16> = (0..ROWS).map(|r| i16::from(r % 3 != 1)).collect();
        let present: Vec<i64> = (0..ROWS)
            .filter(|r| r % 3 != 1)
            .map(|r| first + r)
            .collect();
        let mut row_group = writer.next_row_group().unwrap();
        let mut index = 0;
        while let Some(mut column) = row_group.next_column().unwrap() {
            match index {
                0 => column.typed::<Int64Type>().write_batch(
                    &(first..first + ROWS).collect::<Vec<_>>(),
                    None,
                    None,
                ),
                1 => column.typed::<ByteArrayType>().write_batch(
                    &present
                        .iter()
                        .map(|i| ByteArray::from(format!("name {}", i % 5).as_str()))
                        .collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                2 => column.typed::<DoubleType>().write_batch(
                    &present.iter().map(|&i| i as f64 * 0.25).collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                3 => column.typed::<BoolType>().write_batch(
                    &present.iter().map(|i| i % 2 == 0).collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                4 => column.typed::<Int32Type>().write_batch(
                    &present
                        .iter()
                        .map(|&i| 19_000 + i as i32)
                        .collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                5 => column.typed::<Int64Type>().write_batch(
                    &present
                        .iter()
                        .map(|&i| 1_700_000_000_000 + i * 3_600_000)
                        .collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                6 => column.typed::<FloatType>().write_batch(
                    &present.iter().map(|&i| i as f32 / 8.0).collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                7 => column.typed::<Int32Type>().write_batch(
                    &(first..first + ROWS)
                        .map(|i| (i * 7 % 100) as i32)
                        .collect::<Vec<_>>(),
                    None,
                    None,
                ),
                _ => {
                    // Two values per row.
                    let values: Vec<i32> = (0..2 * ROWS as i32).collect();
                    let defs = vec![1i16; values.len()];
                    let reps: Vec<i16> = (0..values.len()).map(|i| (i % 2) as i16).collect();
                    column
                        .typed::<Int32Type>()
                        .write_batch(&values, Some(&defs), Some(&reps))
                }
            }
            .unwrap();
            column.close().unwrap();
            index += 1;
        }
        row_group.close().unwrap();
    }
    writer.close().unwrap();
    bytes
}

fn styles() -> Vec<Style> {
    use parquet::basic::{BrotliLevel, GzipLevel};
    let plain = |compression| Style {
        compression,
        dictionary: true,
        version: WriterVersion::PARQUET_1_0,
    };
    vec![
        Style {
            dictionary: false,
            ..plain(Compression::UNCOMPRESSED)
        },
        plain(Compression::SNAPPY),
        Style {
            version: WriterVersion::PARQUET_2_0,
            ..plain(Compression::GZIP(GzipLevel::default()))
        },
        plain(Compression::LZ4_RAW),
        Style {
            dictionary: false,
            version: WriterVersion::PARQUET_2_0,
            ..plain(Compression::BROTLI(BrotliLevel::default()))
        },
    ]
}

fn load_parquet(bytes: &[u8]) -> Result<Loaded, LoadError> {
    load(Format::Parquet, LoadOptions::default(), bytes)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn valid_files_load_in_every_style() {
    for style in styles() {
        let bytes = parquet_file(style, 3);
        let loaded = load_parquet(&bytes).unwrap_or_else(|e| panic!("{style:?}: {e}"));
        let frame = &loaded.frame;
        assert_eq!(frame.row_count(), 69, "{style:?}");
        assert_eq!(frame.columns().count(), 8, "{style:?}");
        // The same text whatever the codec, encoding and page version.
        let reference = load_parquet(&parquet_file(styles()[0], 3)).unwrap();
        assert_eq!(frame.to_text(80), reference.frame.to_text(80), "{style:?}");
    }
    let frame = load_parquet(&parquet_file(styles()[1], 1)).unwrap().frame;
    expect_test::expect![[r#"
        id   name    score  flag  day         seen                 ratio  small
        int  str     float  bool  datetime    datetime             float  int
          0  name 0    0.0  true  2022-01-08  2023-11-14T22:13:20    0.0      0
          1  null     null  null  null        null                  null      7
          2  name 2    0.5  true  2022-01-10  2023-11-15T00:13:20   0.25     14
        …
        [23 rows × 8 columns]"#]]
    .assert_eq(&frame.to_text(3));
}

/// A host can stop the decoding at the end of a load (where a Parquet file is decoded
/// whole) between column chunks; asked and never cancelled, it loads as `finish` does.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cancel_stops_the_decoding_between_column_chunks() {
    use std::cell::Cell;
    let bytes = parquet_file(styles()[1], 3);
    let loader = || {
        let mut loader = Loader::new(Format::Parquet, LoadOptions::default()).unwrap();
        loader.push(&bytes).unwrap();
        loader
    };
    let asked = Cell::new(0);
    let never = || {
        asked.set(asked.get() + 1);
        false
    };
    let loaded = loader().finish_unless(&never).unwrap();
    assert_eq!(loaded.frame, load_parquet(&bytes).unwrap().frame);
    assert_eq!(
        asked.get(),
        3 * 8,
        "asked before each chunk: 3 row groups of 8 columns"
    );

    // Cancel pressed during the second row group: nothing after it is decoded.
    let asked = Cell::new(0);
    let midway = || {
        asked.set(asked.get() + 1);
        asked.get() > 10
    };
    assert_eq!(
        loader().finish_unless(&midway).unwrap_err(),
        LoadError::Cancelled
    );
    assert_eq!(asked.get(), 11);
    assert_eq!(LoadError::Cancelled.to_string(), "the load was cancelled");
}

/// A page whose header claims 1 GiB uncompressed is refused before the crate allocates
/// it (in the browser a failed allocation aborts the worker).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn oversized_pages_are_refused() {
    let mut bytes = parquet_file(styles()[1], 1);
    // The first page header follows "PAR1": field 1 (the page type), then field 2 (the
    // uncompressed size), each a 0x15 (i32) field header and a zigzag varint.
    let varint_end = |bytes: &[u8], mut at: usize| {
        while bytes[at] & 0x80 != 0 {
            at += 1;
        }
        at + 1
    };
    assert_eq!(bytes[4], 0x15);
    let size_at = varint_end(&bytes, 5);
    assert_eq!(bytes[size_at], 0x15);
    let end = varint_end(&bytes, size_at + 1);
    // zigzag(2^30) = 2^31, as a varint.
    bytes.splice(size_at + 1..end, [0x80, 0x80, 0x80, 0x80, 0x08]);
    assert_eq!(
        load_parquet(&bytes).unwrap_err().to_string(),
        "the Parquet file cannot be read: a page of column 'id' says it holds 1073741824 \
         bytes uncompressed, more than the 256 MiB the kernel takes in one page"
    );
}

/// A three-row file written with zstd by the parquet crate (natively, where its zstd
/// builds: the kernel's own `parquet` has no zstd, so it cannot write one here).
const ZSTD_FILE: &[u8] = include_bytes!("fixtures/zstd.parquet");

/// Natively as in the browser (whatever codecs the linked crate happens to have, as in
/// the server's build), zstd is refused up front with what to do about it.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn zstd_is_refused_saying_what_to_do() {
    let error = load_parquet(ZSTD_FILE).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the Parquet file cannot be read: column 'id' is compressed with ZSTD, which the \
         browser kernel cannot decode: upload the file to the dataset store, which converts \
         it, or save it with snappy, gzip, lz4 or brotli compression"
    );
    // The same through a cell, as a file picked or fetched from a URL.
    let mut session = oxbook_kernel::Session::new();
    session.provide_file("/d/z.parquet", ZSTD_FILE.to_vec());
    let run = session.execute("c", r#"read_parquet("/d/z.parquet")"#);
    let shown = format!("{:?}", run.outputs);
    assert!(
        shown.contains("compressed with ZSTD")
            && shown.contains("upload the file to the dataset store"),
        "{shown}"
    );
    // From the dataset store, which converts such files on upload, the same file means
    // the conversion failed there: uploading it again is no advice.
    session.provide_file("/api/datasets/z.parquet/data", ZSTD_FILE.to_vec());
    let run = session.execute("c2", r#"load_dataset("z.parquet")"#);
    let shown = format!("{:?}", run.outputs);
    assert!(
        shown.contains("compressed with ZSTD")
            && shown.contains("the dataset store could not convert it on upload")
            && !shown.contains("upload the file to the dataset store"),
        "{shown}"
    );
    // Which codecs the kernel reads is what the server's store converts from.
    use oxbook_kernel::load::parquet_reads_codec;
    assert!(parquet_reads_codec(Compression::SNAPPY));
    assert!(parquet_reads_codec(Compression::UNCOMPRESSED));
    assert!(!parquet_reads_codec(Compression::ZSTD(Default::default())));
    assert!(!parquet_reads_codec(Compression::LZO));
}

/// What a mutation did to the loader.
#[derive(Debug, Default)]
struct Tally {
    loaded: usize,
    refused: usize,
    /// Panic messages and where they were raised, with the first input that caused each
    /// (natively; in wasm a panic aborts the test).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    panics: Vec<(String, String)>,
}

impl Tally {
    fn record(&mut self, result: Result<Loaded, LoadError>, what: &str) {
        match result {
            Ok(loaded) => {
                self.loaded += 1;
                for column in loaded.frame.columns() {
                    assert_eq!(column.data.len(), loaded.frame.row_count());
                }
            }
            Err(e) => {
                self.refused += 1;
                let message = e.to_string();
                assert!(message.starts_with("the Parquet file"), "{what}: {message}");
            }
        }
    }
}

/// Truncations at every length, then random bit flips, byte changes, insertions and
/// removals (one to four per case), half of them in the last quarter of the file, where
/// the footer's lengths and offsets are; `try_load` loads each.
fn mutate_and_load(
    cases: usize,
    seed: u64,
    tally: &mut Tally,
    mut try_load: impl FnMut(&[u8], &str, &mut Tally),
) {
    let mut rng = Rng(seed);
    for style in styles() {
        let valid = parquet_file(style, 2);
        for len in 0..valid.len() {
            try_load(&valid[..len], &format!("{style:?} cut at {len}"), tally);
        }
        for case in 0..cases {
            let mut bytes = valid.clone();
            let mut edits = Vec::new();
            for _ in 0..rng.below(4) + 1 {
                let at = if rng.below(2) == 0 {
                    rng.below(bytes.len())
                } else {
                    bytes.len() - 1 - rng.below(bytes.len() / 4)
                };
                match rng.below(5) {
                    0 | 1 => bytes[at] ^= 1 << rng.below(8),
                    2 => bytes[at] = rng.next() as u8,
                    3 => bytes.insert(at, rng.next() as u8),
                    _ => {
                        bytes.remove(at);
                    }
                }
                edits.push(at);
            }
            try_load(
                &bytes,
                &format!("{style:?} case {case}, edits at {edits:?}"),
                tally,
            );
        }
    }
}

/// In the browser a panic aborts: the same mutations (fewer of them, wasm is slower)
/// simply must all load or fail.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
fn mutated_files_never_panic_in_wasm() {
    let mut tally = Tally::default();
    mutate_and_load(500, 0x5EED_F00D_FA11, &mut tally, |bytes, what, tally| {
        tally.record(load_parquet(bytes), what)
    });
    assert!(tally.loaded > 100 && tally.refused > 1000, "{tally:?}");
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::RefCell;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;

    thread_local! {
        static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Natively a panic can be caught, so every distinct one is found and named, with
    /// the first input that raised it. `PARQUET_MUTATIONS=N` and `PARQUET_SEED=S` run a
    /// longer hunt; `PARQUET_PANIC_TRACE=1` adds the crate's frames to each panic.
    #[test]
    fn mutated_files_never_panic() {
        // Record where each panic happened instead of printing it.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let mut site = match info.location() {
                Some(l) => format!("{}:{}: {message}", l.file(), l.line()),
                None => message,
            };
            if std::env::var_os("PARQUET_PANIC_TRACE").is_some() {
                let trace = std::backtrace::Backtrace::force_capture().to_string();
                for line in trace.lines().filter(|l| {
                    (l.contains("parquet::") || l.contains("bytes::"))
                        && !l.contains("catch_unwind")
                        && !l.contains("mutate_and_load")
                }) {
                    site.push_str("\n      ");
                    site.push_str(line.trim());
                }
            }
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(site));
        }));
        let env = |name: &str| std::env::var(name).ok().and_then(|n| n.parse().ok());
        let mut tally = Tally::default();
        mutate_and_load(
            env("PARQUET_MUTATIONS").unwrap_or(2000) as usize,
            env("PARQUET_SEED").unwrap_or(0x5EED_F00D_FA11),
            &mut tally,
            |bytes, what, tally| match catch_unwind(AssertUnwindSafe(|| load_parquet(bytes))) {
                Ok(result) => tally.record(result, what),
                Err(_) => {
                    let site = LAST_PANIC
                        .with(|last| last.borrow_mut().take())
                        .unwrap_or_default();
                    if !tally.panics.iter().any(|(s, _)| *s == site) {
                        tally.panics.push((site, what.to_string()));
                    }
                }
            },
        );
        std::panic::set_hook(previous);
        let report: Vec<String> = tally
            .panics
            .iter()
            .map(|(site, what)| format!("{site}\n    first by: {what}"))
            .collect();
        assert!(
            report.is_empty(),
            "{} distinct panics ({} loaded, {} refused):\n{}",
            report.len(),
            tally.loaded,
            tally.refused,
            report.join("\n")
        );
        // Both paths were exercised, so the property says something.
        assert!(
            tally.loaded > 500 && tally.refused > 5000,
            "loaded {}, refused {}",
            tally.loaded,
            tally.refused
        );
    }
}
