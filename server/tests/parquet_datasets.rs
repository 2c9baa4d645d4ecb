//! Parquet in the dataset store: a file in a codec the browser kernel cannot decode (zstd)
//! is stored re-encoded with snappy, listed with its schema and row count, and served as
//! bytes the kernel reads; other Parquet files are stored as uploaded.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::TestApp;
use oxbook_kernel::load::{load, Format, LoadOptions, Loaded};
use oxbook_kernel::Session;
use oxbook_protocol::{CellStatus, DatasetColumn, DatasetInfo, Output};
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const ROWS: i64 = 1000;
const GROUPS: i64 = 3;

/// Three row groups of 1000 rows: a required id, an optional name and score (null every
/// seventh row), and a list column (which the kernel leaves out, but the store keeps).
fn people(compression: Compression) -> Vec<u8> {
    let schema = Arc::new(
        parse_message_type(
            "message people {
                REQUIRED INT64 id;
                OPTIONAL BYTE_ARRAY name (UTF8);
                OPTIONAL DOUBLE score;
                REPEATED INT32 tags;
            }",
        )
        .unwrap(),
    );
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(compression)
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                "written.by".into(),
                "the test".to_string(),
            )]))
            .build(),
    );
    let mut bytes = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut bytes, schema, properties).unwrap();
    for group in 0..GROUPS {
        let ids: Vec<i64> = (group * ROWS..(group + 1) * ROWS).collect();
        let defs: Vec<i16> = ids.iter().map(|id| i16::from(id % 7 != 0)).collect();
        let present: Vec<i64> = ids.iter().copied().filter(|id| id % 7 != 0).collect();
        let mut row_group = writer.next_row_group().unwrap();
        let mut index = 0;
        while let Some(mut column) = row_group.next_column().unwrap() {
            match index {
                0 => column.typed::<Int64Type>().write_batch(&ids, None, None),
                1 => column.typed::<ByteArrayType>().write_batch(
                    &present
                        .iter()
                        .map(|id| ByteArray::from(format!("person {}", id % 97).as_str()))
                        .collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                2 => column.typed::<DoubleType>().write_batch(
                    &present
                        .iter()
                        .map(|&id| id as f64 / 8.0)
                        .collect::<Vec<_>>(),
                    Some(&defs),
                    None,
                ),
                _ => {
                    // Two tags per row.
                    let tags: Vec<i32> = (0..2 * ROWS as i32).collect();
                    let reps: Vec<i16> = (0..tags.len()).map(|i| (i % 2) as i16).collect();
                    column.typed::<Int32Type>().write_batch(
                        &tags,
                        Some(&vec![1; tags.len()]),
                        Some(&reps),
                    )
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

/// `bytes` in a temporary file, for the crate's reader.
fn file_of(bytes: &[u8]) -> std::fs::File {
    use std::io::{Seek, Write};
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.rewind().unwrap();
    file
}

fn zstd() -> Compression {
    Compression::ZSTD(ZstdLevel::try_new(3).unwrap())
}

fn load_parquet(bytes: &[u8]) -> Result<Loaded, String> {
    load(Format::Parquet, LoadOptions::default(), bytes).map_err(|e| e.to_string())
}

fn column(name: &str, dtype: &str) -> DatasetColumn {
    DatasetColumn {
        name: name.into(),
        dtype: dtype.into(),
    }
}

async fn put(app: &TestApp, uri: &str, body: Vec<u8>) -> common::TestResponse {
    app.raw(Method::PUT, uri, Some("application/octet-stream"), body)
        .await
}

#[tokio::test]
async fn a_zstd_upload_is_stored_converted_and_loads_in_the_kernel() {
    let original = people(zstd());
    // The same table, uncompressed: what the kernel must read from the stored file.
    let expected = load_parquet(&people(Compression::UNCOMPRESSED)).unwrap();
    assert_eq!(expected.frame.row_count(), (ROWS * GROUPS) as usize);
    // The kernel refuses the upload itself, saying what to do (natively as in the
    // browser, although this test binary's `parquet` has zstd).
    let refused = load_parquet(&original).unwrap_err();
    assert_eq!(
        refused,
        "the Parquet file cannot be read: column 'id' is compressed with ZSTD, which the \
         browser kernel cannot decode: upload the file to the dataset store, which converts \
         it, or save it with snappy, gzip, lz4 or brotli compression"
    );

    let app = TestApp::new().await;
    let response = put(&app, "/api/datasets/people.parquet", original.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let info: DatasetInfo = response.json();
    assert_eq!(info.row_count, Some((ROWS * GROUPS) as u64));
    assert_eq!(
        info.schema,
        Some(vec![
            column("id", "int"),
            column("name", "str"),
            column("score", "float")
        ])
    );
    assert_eq!(
        info.diagnostics,
        [
            format!(
                "converted from ZSTD to snappy compression, which the browser kernel reads; \
                 the file as uploaded had {} bytes and sha256 {}",
                original.len(),
                sha256(&original)
            ),
            "column 'tags': left out: it is a list (nested)".to_string(),
        ]
    );
    let listed: Vec<DatasetInfo> = app.get("/api/datasets").await.json();
    assert_eq!(listed, std::slice::from_ref(&info));

    // The stored bytes are what the metadata describes, and not the upload.
    let data = app.get(&info.data_path).await;
    assert_eq!(data.status, StatusCode::OK);
    let stored = data.body.to_vec();
    assert_eq!(info.size_bytes, stored.len() as u64);
    assert_eq!(info.sha256, sha256(&stored));
    assert_ne!(stored, original);

    // The same values, loaded as the page or `oxbook run` would.
    assert_eq!(load_parquet(&stored).unwrap(), expected);

    // The file kept its shape: row groups, schema (the list column too), metadata, and
    // every chunk is now snappy.
    let reader = SerializedFileReader::new(file_of(&stored)).unwrap();
    let metadata = reader.metadata();
    assert_eq!(metadata.num_row_groups(), GROUPS as usize);
    let source = SerializedFileReader::new(file_of(&original)).unwrap();
    assert_eq!(
        metadata.file_metadata().schema(),
        source.metadata().file_metadata().schema()
    );
    let kv = metadata.file_metadata().key_value_metadata().unwrap();
    assert!(
        kv.iter()
            .any(|kv| kv.key == "written.by" && kv.value.as_deref() == Some("the test")),
        "{kv:?}"
    );
    for group in metadata.row_groups() {
        assert_eq!(group.num_rows(), ROWS);
        for chunk in group.columns() {
            assert_eq!(chunk.compression(), Compression::SNAPPY);
        }
    }
    // The list column's values survived the copy with their levels.
    let mut tags = Vec::new();
    for row in reader.get_row_iter(None).unwrap().take(2) {
        tags.push(row.unwrap().to_string());
    }
    assert_eq!(
        tags,
        [
            "{id: 0, name: null, score: null, tags: [0, 1]}",
            "{id: 1, name: \"person 1\", score: 0.125, tags: [2, 3]}"
        ]
    );

    // A cell loading the dataset gets the table, as `oxbook run` provides it.
    let mut session = Session::new();
    let code = r#"let people = load_dataset("people.parquet"); people.rows()"#;
    let waiting = session.execute("c", code);
    assert_eq!(waiting.status, CellStatus::Waiting, "{waiting:?}");
    session.provide_file(&info.data_path, stored);
    let run = session.execute("c", code);
    assert_eq!(run.status, CellStatus::Done, "{run:?}");
    assert!(
        run.outputs.contains(&Output::text("3000")),
        "{:?}",
        run.outputs
    );
}

#[tokio::test]
async fn parquet_the_kernel_reads_is_stored_as_uploaded() {
    let app = TestApp::new().await;
    let snappy = people(Compression::SNAPPY);
    let info: DatasetInfo = put(&app, "/api/datasets/p.parquet", snappy.clone())
        .await
        .json();
    assert_eq!(info.sha256, sha256(&snappy));
    assert_eq!(info.size_bytes, snappy.len() as u64);
    assert_eq!(info.row_count, Some((ROWS * GROUPS) as u64));
    assert_eq!(
        info.diagnostics,
        ["column 'tags': left out: it is a list (nested)"]
    );
    assert_eq!(app.get(&info.data_path).await.body, snappy);
}

#[tokio::test]
async fn a_corrupt_zstd_upload_is_stored_as_uploaded_saying_why() {
    let app = TestApp::new().await;
    let mut broken = people(zstd());
    // Garble the first page's compressed bytes; the footer still says zstd.
    for byte in &mut broken[40..80] {
        *byte ^= 0x5A;
    }
    let response = put(&app, "/api/datasets/broken.parquet", broken.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let info: DatasetInfo = response.json();
    assert_eq!(info.sha256, sha256(&broken));
    assert_eq!(info.schema, None);
    assert!(
        info.diagnostics[0].starts_with(
            "stored as uploaded, in ZSTD, which the browser kernel cannot decode: converting \
             it failed: "
        ),
        "{:?}",
        info.diagnostics
    );
    assert!(
        info.diagnostics[1].contains("compressed with ZSTD"),
        "{:?}",
        info.diagnostics
    );
    assert_eq!(app.get(&info.data_path).await.body, broken);
}

/// The converter copies every physical type (with nulls) value for value: rows read back
/// by the crate are the same before and after, and only the codec changed.
#[test]
fn conversion_keeps_every_physical_type() {
    use parquet::data_type::{
        BoolType, FixedLenByteArray, FixedLenByteArrayType, FloatType, Int96, Int96Type,
    };
    let schema = Arc::new(
        parse_message_type(
            "message all {
                OPTIONAL BOOLEAN b;
                OPTIONAL INT32 i;
                REQUIRED INT64 l;
                OPTIONAL INT96 t;
                OPTIONAL FLOAT f;
                OPTIONAL DOUBLE d;
                OPTIONAL BYTE_ARRAY s (UTF8);
                OPTIONAL FIXED_LEN_BYTE_ARRAY (4) x (DECIMAL(9,2));
            }",
        )
        .unwrap(),
    );
    let properties = Arc::new(WriterProperties::builder().set_compression(zstd()).build());
    let mut original = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut original, schema, properties).unwrap();
    for g in 0..2i32 {
        let defs = [1i16, 0, 1];
        let mut row_group = writer.next_row_group().unwrap();
        let mut index = 0;
        while let Some(mut column) = row_group.next_column().unwrap() {
            match index {
                0 => column
                    .typed::<BoolType>()
                    .write_batch(&[true, false], Some(&defs), None),
                1 => column
                    .typed::<Int32Type>()
                    .write_batch(&[g, -g], Some(&defs), None),
                2 => column
                    .typed::<Int64Type>()
                    .write_batch(&[1, 2, i64::from(g)], None, None),
                3 => {
                    let mut t = Int96::new();
                    t.set_data(0, 1, 2_460_000 + g as u32);
                    column
                        .typed::<Int96Type>()
                        .write_batch(&[t, t], Some(&defs), None)
                }
                4 => column
                    .typed::<FloatType>()
                    .write_batch(&[0.5, 1.5], Some(&defs), None),
                5 => column.typed::<DoubleType>().write_batch(
                    &[2.5, f64::from(g)],
                    Some(&defs),
                    None,
                ),
                6 => column.typed::<ByteArrayType>().write_batch(
                    &[ByteArray::from("é"), ByteArray::from("z")],
                    Some(&defs),
                    None,
                ),
                _ => column.typed::<FixedLenByteArrayType>().write_batch(
                    &[
                        FixedLenByteArray::from(vec![0, 0, 1, 2]),
                        FixedLenByteArray::from(vec![0, 0, 0, g as u8]),
                    ],
                    Some(&defs),
                    None,
                ),
            }
            .unwrap();
            column.close().unwrap();
            index += 1;
        }
        row_group.close().unwrap();
    }
    writer.close().unwrap();

    let mut converted = Vec::new();
    oxbook_server::datasets::convert_parquet(file_of(&original), &mut converted).unwrap();
    let rows = |bytes: &[u8]| -> Vec<String> {
        let reader = SerializedFileReader::new(file_of(bytes)).unwrap();
        let rows = reader.get_row_iter(None).unwrap();
        rows.map(|row| row.unwrap().to_string()).collect()
    };
    let before = rows(&original);
    assert_eq!(before.len(), 6);
    assert_eq!(rows(&converted), before);
    let reader = SerializedFileReader::new(file_of(&converted)).unwrap();
    assert_eq!(reader.metadata().num_row_groups(), 2);
    for group in reader.metadata().row_groups() {
        for chunk in group.columns() {
            assert_eq!(chunk.compression(), Compression::SNAPPY);
        }
    }
}
