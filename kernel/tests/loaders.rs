//! The loaders at their boundaries: bytes in (whole, and in chunks), a frame and its
//! diagnostics or an error out; and the loading functions of cells. Every load here is
//! also run byte by byte and in random chunks, which must give exactly the same result.
//! Snapshots update with `UPDATE_EXPECT=1 cargo test -p oxbook-kernel --test loaders`.

use expect_test::{expect, Expect};
use oxbook_kernel::load::{Format, Header, LoadError, LoadOptions, Loaded, Loader};
use oxbook_kernel::{ColumnData, Session};
use oxbook_protocol::{CellRun, Effect, LoadRequest, LoadSource, Output};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;
use common::Rng;

fn load_chunked(
    format: Format,
    options: &LoadOptions,
    bytes: &[u8],
    cuts: &[usize],
) -> Result<Loaded, LoadError> {
    let mut loader = Loader::new(format, options.clone())?;
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        loader.push(&bytes[start..cut])?;
        start = cut;
    }
    assert_eq!(loader.bytes_consumed(), bytes.len() as u64);
    loader.finish()
}

/// Loads `bytes` whole, byte by byte and in `ways` random chunkings, checks that all agree,
/// and returns the result.
fn load_every_way(
    format: Format,
    options: &LoadOptions,
    bytes: &[u8],
    rng: &mut Rng,
    ways: usize,
) -> Result<Loaded, LoadError> {
    let whole = load_chunked(format, options, bytes, &[]);
    // Byte by byte, except for large inputs (where it would only be slow).
    let mut chunkings: Vec<Vec<usize>> = if bytes.len() <= 4096 {
        vec![(1..bytes.len()).collect()]
    } else {
        Vec::new()
    };
    for _ in 0..ways {
        let mut cuts: Vec<usize> = (0..rng.below(6) + 1)
            .map(|_| rng.below(bytes.len() + 1))
            .collect();
        cuts.sort_unstable();
        chunkings.push(cuts);
    }
    for cuts in chunkings {
        let chunked = load_chunked(format, options, bytes, &cuts);
        assert_eq!(
            chunked,
            whole,
            "chunks cut at {cuts:?} change the result for {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    whole
}

/// A load as text: the frame (up to 12 rows) and each diagnostic, or the error.
fn show(result: &Result<Loaded, LoadError>) -> String {
    match result {
        Ok(loaded) => {
            let mut text = loaded.frame.to_text(12);
            for d in &loaded.diagnostics {
                text.push_str(&format!("\nnote: {d}"));
            }
            text
        }
        Err(e) => format!("error: {e}"),
    }
}

fn options(json: &str) -> LoadOptions {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).expect("options JSON");
    LoadOptions::from_json(&map).expect("valid options")
}

fn check(format: Format, options_json: &str, bytes: &[u8], expected: Expect) {
    let mut rng = Rng(0x5EED ^ bytes.len() as u64);
    let result = load_every_way(format, &options(options_json), bytes, &mut rng, 8);
    expected.assert_eq(&show(&result));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_quoting_line_ends_and_spaces() {
    check(
        Format::Csv,
        "{}",
        b"\xEF\xBB\xBFname, note ,n\r\n\"Smith, Ann\",\"said \"\"hi\"\"\",1\r\n\r\n  Bo  ,\"two\nlines\",2\r\n\"\",  \" padded \" ,3\rlast,x,4",
        expect![[r#"
            name        note       n
            str         str        int
            Smith, Ann  said "hi"    1
            Bo          two
            lines    2
            null         padded      3
            last        x            4
            [4 rows × 3 columns]"#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_type_inference_and_datetimes() {
    check(
        Format::Csv,
        "{}",
        b"i,f,b,d,t,s,empty\n1,1.5,true,2024-01-31,2024-01-31T08:30:00Z,a,\n-2,2e3,FALSE,2024-02-29,2024-02-29 23:59:59.5,b,NA\n,NaN,,,,,null\n9223372036854775807,-0.25,false,1999-12-31,1999-12-31T00:00+01:00,7,\n",
        expect![[r#"
            i                    f       b      d           t                        s     empty
            int                  float   bool   datetime    datetime                 str   float
                              1     1.5  true   2024-01-31  2024-01-31T08:30:00      a      null
                             -2  2000.0  false  2024-02-29  2024-02-29T23:59:59.500  b      null
                           null    null  null   null        null                     null   null
            9223372036854775807   -0.25  false  1999-12-31  1999-12-30T23:00:00      7      null
            [4 rows × 7 columns]"#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_mixed_columns_are_reported() {
    // `age` is mostly ints: reported. `code` turns str at its first value already.
    check(
        Format::Csv,
        "{}",
        b"age,code,score\n31,A1,1\n27,7,2\nabc,B2,3\n44,C3,4.5\n?,D4,5\n52,E5,6\n",
        expect![[r#"
            age  code  score
            str  str   float
            31   A1      1.0
            27   7       2.0
            abc  B2      3.0
            44   C3      4.5
            ?    D4      5.0
            52   E5      6.0
            [6 rows × 3 columns]
            note: column 'age': 2 values are not int ('abc' at line 4); kept as str (a type override #{age: "int"} reads them as nulls)"#]],
    );
    // With overrides, the misfits are nulls; `code` keeps its text exactly.
    check(
        Format::Csv,
        r#"{"types": {"age": "int", "code": "str", "score": "float"}}"#,
        b"age,code,score\n31,007,1\n27,7,2\nabc,B2,3\n44,C3,4.5\n?,D4,x\n",
        expect![[r#"
            age   code  score
            int   str   float
              31  007     1.0
              27  7       2.0
            null  B2      3.0
              44  C3      4.5
            null  D4     null
            [5 rows × 3 columns]
            note: column 'age': 2 values are not int ('abc' at line 4); read as null
            note: column 'score': 1 value is not float ('x' at line 6); read as null"#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_options() {
    check(
        Format::Csv,
        r#"{"delimiter": ";", "nulls": ["-", "missing"]}"#,
        b"a;b;c\n1,5;-;x\nmissing;2;\n",
        expect![[r#"
        a     b     c
        str   int   str
        1,5   null  x
        null     2
        [2 rows × 3 columns]"#]],
    );
    check(
        Format::Tsv,
        "{}",
        b"a\tb\n1\t  two words \n3\t\"q\tq\"\n",
        expect![[r#"
        a    b
        int  str
          1  two words
          3  q	q
        [2 rows × 2 columns]"#]],
    );
    check(
        Format::Csv,
        r#"{"header": false}"#,
        b"1,x\n2,y\n",
        expect![[r#"
        column_1  column_2
        int       str
               1  x
               2  y
        [2 rows × 2 columns]"#]],
    );
    // A space as the delimiter: fields are not trimmed then.
    check(
        Format::Csv,
        r#"{"delimiter": " "}"#,
        b"a b c\n1 x 2.5\n\"q q\" y 3\n",
        expect![[r#"
            a    b    c
            str  str  float
            1    x      2.5
            q q  y      3.0
            [2 rows × 3 columns]
            note: column 'a': 1 value is not int ('q q' at line 3); kept as str (a type override #{a: "int"} reads them as nulls)"#]],
    );
    // Tabs and other control bytes inside CSV fields are text (tabs at the edges are
    // trimmed like spaces).
    check(
        Format::Csv,
        "{}",
        b"a,b\nx\ty\x01z,\t1\t\nlonger text\twith a tab,2\n",
        expect![[r#"
            a                       b
            str                     int
            x	yz                     1
            longer text	with a tab    2
            [2 rows × 2 columns]"#]],
    );
    // Auto: names over numbers are a header; numbers on top are data.
    check(
        Format::Csv,
        r#"{"header": "auto"}"#,
        b"id,score\n1,2.5\n2,3.5\n",
        expect![[r#"
        id   score
        int  float
          1    2.5
          2    3.5
        [2 rows × 2 columns]
        note: header: auto took the first row as the column names"#]],
    );
    check(
        Format::Csv,
        r#"{"header": "auto"}"#,
        b"1,2.5\n2,3.5\n",
        expect![[r#"
        column_1  column_2
        int       float
               1       2.5
               2       3.5
        [2 rows × 2 columns]
        note: header: auto found no header row; columns are named column_1, column_2, …"#]],
    );
    check(
        Format::Csv,
        r#"{"header": "auto", "types": {"score": "str"}}"#,
        b"id,score\n1,2.5\n",
        expect![[r#"
        id   score
        int  str
          1  2.5
        [1 row × 2 columns]
        note: header: auto took the first row as the column names"#]],
    );
}

/// Each bad input and the error it gives, naming the line (and column where known).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn csv_bad_input() {
    let cases: [(&str, &[u8]); 12] = [
        ("{}", b""),
        ("{}", b"\xEF\xBB\xBF"),
        ("{}", b"\n\n  \n"),
        ("{}", b"a,b\n1,2\n3\n"),
        ("{}", b"a,b\r\n1,2\r\n3,4,5\r\n"),
        ("{}", b"a,b\n1,2\n3,\xFF\n"),
        ("{}", b"a,\xC3\n"),
        ("{}", b"id,name,id\n1,x,2\n"),
        ("{}", b"a,b\n1,\"open\n2,3\n"),
        ("{}", b"a,b\n1,\"x\"y\n"),
        (r#"{"types": {"agee": "int"}}"#, b"age\n1\n"),
        (r#"{"header": "auto", "types": {"nope": "int"}}"#, b"a\n1\n"),
    ];
    let mut rng = Rng(7);
    let actual: Vec<String> = cases
        .iter()
        .map(|(opts, bytes)| {
            show(&load_every_way(
                Format::Csv,
                &options(opts),
                bytes,
                &mut rng,
                4,
            ))
        })
        .collect();
    expect![[r#"
        error: the CSV is empty: expected a header row
        error: the CSV is empty: expected a header row
        error: the CSV is empty: expected a header row
        error: line 3: expected 2 fields (as in the header), found 1
        error: line 3: expected 2 fields (as in the header), found 3
        error: line 3, column 2 ('b'): the text is not valid UTF-8
        error: line 1, column 2: the text is not valid UTF-8
        error: line 1: duplicate column name 'id' (columns 1 and 3)
        error: line 2, column 2: the quoted field starting here is never closed (a '"' is missing)
        error: line 2, column 2: 'y' follows the closing quote of a quoted field (a quote inside a quoted field is written "")
        error: types: no column named 'agee' (columns: age)
        error: types: no column named 'nope' (columns: a)"#]]
    .assert_eq(&actual.join("\n"));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bad_options_are_named() {
    let cases = [
        r#"{"delimiter": ";;"}"#,
        r#"{"delimiter": "\""}"#,
        r#"{"header": "yes"}"#,
        r#"{"nulls": "NA"}"#,
        r#"{"nulls": ["NA", 1]}"#,
        r#"{"types": {"a": "integer"}}"#,
        r#"{"types": ["a"]}"#,
        r#"{"delimeter": ";"}"#,
    ];
    let actual: Vec<String> = cases
        .iter()
        .map(|json| {
            let map = serde_json::from_str(json).unwrap();
            LoadOptions::from_json(&map).map_or_else(|e| e.to_string(), |o| format!("{o:?}"))
        })
        .collect();
    expect![[r#"
        option 'delimiter': expected one ASCII character other than a quote or a line break, such as ";" or "\t", not ";;"
        option 'delimiter': expected one ASCII character other than a quote or a line break, such as ";" or "\t", not "\""
        option 'header': expected true, false or "auto", not "yes"
        option 'nulls': expected an array of strings, not "NA"
        option 'nulls': expected an array of strings, found 1
        option 'types': column 'a': unknown type "integer" (use "int", "float", "bool", "str" or "datetime")
        option 'types': expected a map of column name to type, not ["a"]
        unknown option 'delimeter' (options: delimiter, header, nulls, types)"#]]
    .assert_eq(&actual.join("\n"));
    assert_eq!(
        options(r#"{"header": "auto", "delimiter": "\t", "nulls": ["x"]}"#),
        LoadOptions {
            delimiter: Some(b'\t'),
            header: Header::Auto,
            nulls: Some(vec!["x".into()]),
            types: Default::default(),
        }
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn json_records() {
    check(
        Format::Json,
        "{}",
        br#" [ {"name": "Ana", "age": 34, "score": 1.5, "ok": true, "when": "2024-03-05"},
  {"age": 28.5, "name": "Ben \"B\" \u00e9", "tags": ["a", {"b": 1}], "ok": null},
  {"name": "Cy", "extra": {"deep": [1, 2]}, "when": "2024-03-06T10:00:00Z", "score": 2} ]
"#,
        expect![[r#"
            name       age    score  ok    when                 tags           extra
            str        float  float  bool  datetime             str            str
            Ana         34.0    1.5  true  2024-03-05           null           null
            Ben "B" é   28.5   null  null  null                 ["a",{"b":1}]  null
            Cy          null    2.0  null  2024-03-06T10:00:00  null           {"deep":[1,2]}
            [3 rows × 7 columns]
            note: column 'tags': 1 nested value kept as JSON text
            note: column 'extra': 1 nested value kept as JSON text"#]],
    );
    check(
        Format::JsonLines,
        r#"{"types": {"id": "str"}}"#,
        b"{\"id\": 1, \"v\": \"x\"}\n{\"id\": 2, \"v\": 3}\n\n{\"id\": 3, \"v\": \"y\"}\n",
        expect![[r#"
            id   v
            str  str
            1    x
            2    3
            3    y
            [3 rows × 2 columns]"#]],
    );
    check(
        Format::Json,
        "{}",
        b"[]",
        expect![[r#"
        [0 rows × 0 columns]
        note: the JSON holds no records"#]],
    );
}

/// Keys and strings are read in place from the record's bytes; escaped ones are copied.
/// A key repeated within a record keeps its first value; integers past i64 are floats.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn json_keys_strings_and_numbers() {
    check(
        Format::JsonLines,
        "{}",
        br#"{"a\u0062": 1, "ab": 2, "big": 18446744073709551615, "s": "tab\there", "t": "plain"}
{"ab": -3, "s": "\u00e9", "big": 1, "t": "plain"}
{"t": "x", "new": [1, {"k": "\u0041"}]}
"#,
        expect![[r#"
            ab    big        s         t      new
            int   float      str       str    str
               1  1.8447e19  tab	here  plain  null
              -3        1.0  é         plain  null
            null       null  null      x      [1,{"k":"A"}]
            [3 rows × 5 columns]
            note: column 'new': 1 nested value kept as JSON text"#]],
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn json_bad_input() {
    let cases: [&[u8]; 11] = [
        b"",
        b"  \n ",
        b"[1, 2]",
        b"[{\"a\": 1}\n {\"a\": 2}]",
        b"[{\"a\": 1},\n {\"a\": tru}]",
        b"[{\"a\": 1}",
        b"[{\"a\": 1}, {\"a\": ",
        b"[{\"a\": 1}] x",
        b"{\"a\": \"\xFF\"}",
        b"\"just a string\"",
        b"{\"a\": 1}\n[{\"a\": 2}]",
    ];
    let mut rng = Rng(11);
    let actual: Vec<String> = cases
        .iter()
        .map(|bytes| {
            show(&load_every_way(
                Format::Json,
                &LoadOptions::default(),
                bytes,
                &mut rng,
                4,
            ))
        })
        .collect();
    expect![[r#"
        error: the JSON is empty: expected an array of records or one record per line
        error: the JSON is empty: expected an array of records or one record per line
        error: line 1, column 2: record 1 is a number, not an object
        error: line 2, column 2: expected ',' or ']' after record 1, found '{'
        error: line 2, column 11: expected true, false or null
        error: line 1, column 10: the array is never closed (a ']' is missing)
        error: line 1, column 12: record 2 is never closed (a '}' is missing)
        error: line 1, column 12: 'x' after the end of the array
        error: line 1, column 8: invalid unicode code point
        error: line 1, column 1: expected an array of records or a record (an object), found a string
        error: line 2, column 1: expected an array of records or a record (an object), found an array"#]]
    .assert_eq(&actual.join("\n"));
}

/// A Parquet file written with the parquet crate: snappy-compressed, two row groups,
/// required and optional columns, dates and timestamps.
fn parquet_file() -> Vec<u8> {
    use std::sync::Arc;

    use parquet::basic::Compression;
    use parquet::data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let schema = Arc::new(
        parse_message_type(
            "message people {
                REQUIRED INT64 id;
                OPTIONAL BYTE_ARRAY name (UTF8);
                OPTIONAL DOUBLE score;
                OPTIONAL BOOLEAN member;
                OPTIONAL INT32 joined (DATE);
                OPTIONAL INT64 seen (TIMESTAMP(MICROS,true));
                REPEATED INT32 tags;
            }",
        )
        .unwrap(),
    );
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut bytes = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut bytes, schema, properties).unwrap();
    for group in 0..2i64 {
        let mut row_group = writer.next_row_group().unwrap();
        let mut index = 0;
        while let Some(mut column) = row_group.next_column().unwrap() {
            // Rows 2g+1, 2g+2; the second row of each group has nulls.
            let defs = [1i16, 0];
            match index {
                0 => column.typed::<Int64Type>().write_batch(
                    &[2 * group + 1, 2 * group + 2],
                    None,
                    None,
                ),
                1 => column.typed::<ByteArrayType>().write_batch(
                    &[ByteArray::from(format!("p{group}").as_str())],
                    Some(&defs),
                    None,
                ),
                2 => column.typed::<DoubleType>().write_batch(
                    &[0.5 + group as f64],
                    Some(&defs),
                    None,
                ),
                3 => column
                    .typed::<BoolType>()
                    .write_batch(&[group == 0], Some(&defs), None),
                4 => column.typed::<Int32Type>().write_batch(
                    &[19_787 + group as i32],
                    Some(&defs),
                    None,
                ),
                5 => column.typed::<Int64Type>().write_batch(
                    &[1_709_168_523_123_456],
                    Some(&defs),
                    None,
                ),
                _ => column.typed::<Int32Type>().write_batch(
                    &[1, 2, 3],
                    Some(&[1, 1, 1]),
                    Some(&[0, 1, 0]),
                ),
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

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn parquet_files() {
    let bytes = parquet_file();
    check(
        Format::Parquet,
        "{}",
        &bytes,
        expect![[r#"
        id   name  score  member  joined      seen
        int  str   float  bool    datetime    datetime
          1  p0      0.5  true    2024-03-05  2024-02-29T01:02:03.123
          2  null   null  null    null        null
          3  p1      1.5  false   2024-03-06  2024-02-29T01:02:03.123
          4  null   null  null    null        null
        [4 rows × 6 columns]
        note: column 'tags': left out: it is a list (nested)"#]],
    );
    check(
        Format::Parquet,
        r#"{"types": {"id": "float", "score": "str"}}"#,
        &bytes,
        expect![[r#"
        id     name  score  member  joined      seen
        float  str   str    bool    datetime    datetime
          1.0  p0    0.5    true    2024-03-05  2024-02-29T01:02:03.123
          2.0  null  null   null    null        null
          3.0  p1    1.5    false   2024-03-06  2024-02-29T01:02:03.123
          4.0  null  null   null    null        null
        [4 rows × 6 columns]
        note: column 'tags': left out: it is a list (nested)"#]],
    );
    let mut broken = bytes.clone();
    let middle = broken.len() / 2;
    broken.truncate(middle);
    let cases: [&[u8]; 4] = [b"", b"PAR1", b"not a parquet file at all", &broken];
    let mut rng = Rng(3);
    let actual: Vec<String> = cases
        .iter()
        .map(|bytes| {
            show(&load_every_way(
                Format::Parquet,
                &LoadOptions::default(),
                bytes,
                &mut rng,
                2,
            ))
        })
        .collect();
    expect![[r#"
        error: the Parquet file is empty: expected a Parquet file
        error: the Parquet file cannot be read: EOF: Parquet file too small. Size is 4 but need 8
        error: the Parquet file cannot be read: Parquet error: Invalid Parquet file. Corrupt footer
        error: the Parquet file cannot be read: Parquet error: Invalid Parquet file. Corrupt footer"#]]
    .assert_eq(&actual.join("\n"));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn formats_and_requests() {
    let names = [
        "a.csv",
        "/api/x.TSV?v=2#top",
        "b.json",
        "c.jsonl",
        "d.ndjson",
        "e.parquet",
        "f.txt",
        "noext",
        "dir.csv/file",
    ];
    let found: Vec<String> = names
        .iter()
        .map(|n| format!("{n} → {:?}", Format::from_file_name(n)))
        .collect();
    expect![[r#"
        a.csv → Some(Csv)
        /api/x.TSV?v=2#top → Some(Tsv)
        b.json → Some(Json)
        c.jsonl → Some(JsonLines)
        d.ndjson → Some(JsonLines)
        e.parquet → Some(Parquet)
        f.txt → None
        noext → None
        dir.csv/file → None"#]]
    .assert_eq(&found.join("\n"));
    assert_eq!("JSONL".parse::<Format>(), Ok(Format::JsonLines));
    expect!["unknown format 'xlsx' (formats: csv, tsv, json, jsonl, parquet)"]
        .assert_eq(&"xlsx".parse::<Format>().unwrap_err().to_string());

    // The worker's request: format from the file's name, options from JSON.
    let request = LoadRequest {
        load_id: "l1".into(),
        variable: "df".into(),
        source: LoadSource::File {
            name: "sales.tsv".into(),
            size: 12,
        },
        format: None,
        options: serde_json::from_str(r#"{"nulls": ["-"]}"#).unwrap(),
    };
    let mut loader = Loader::for_request(&request).unwrap();
    loader.push(b"a\tb\n-\t2\n").unwrap();
    expect![[r#"
        a      b
        float  int
         null    2
        [1 row × 2 columns]"#]]
    .assert_eq(&show(&loader.finish()));
    let request = LoadRequest {
        format: Some("parquet".into()),
        source: LoadSource::Url {
            url: "/x.csv".into(),
        },
        ..request
    };
    assert!(Loader::for_request(&request).is_ok());
    let request = LoadRequest {
        format: None,
        source: LoadSource::Url {
            url: "/download?id=3".into(),
        },
        ..request
    };
    expect!["cannot tell the format of '/download?id=3' from its name: give it (csv, tsv, json, jsonl or parquet)"]
        .assert_eq(&Loader::for_request(&request).err().unwrap().to_string());

    // After an error, the loader keeps giving it.
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
    loader.push(b"a,b\n1,2,3\n").unwrap_err();
    assert_eq!(
        loader.push(b"4,5\n").unwrap_err().to_string(),
        "line 2: expected 2 fields (as in the header), found 3"
    );
    assert!(loader.finish().is_err());
}

/// Random bytes in random chunks: never a panic, and the chunks never change the result.
/// Each case is either random bytes drawn mostly from the characters the format cares
/// about, or a valid document with a few random edits (so that many cases get deep into
/// the parser, and many of those still load).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn random_bytes_in_random_chunks() {
    let cases: [(Format, &str, &[u8], &[u8]); 4] = [
        (
            Format::Csv,
            "{}",
            b",,,\"\"\n\n\r 01239.-+eEaNtrufls:T\xEF\xBB\xBF\xFF\xC3\x80",
            b"a,b,c\n1,x,2024-01-02\n2.5,\"y,\n\"\"z\",\nNA,,true\n",
        ),
        (
            Format::Csv,
            r#"{"header": "auto", "nulls": ["a"]}"#,
            b",,\"\"\n\n\r 0129.-aNtr",
            b"id,v\r\n1,2\r\n3,a\r\n",
        ),
        (Format::Tsv, r#"{"nulls": ["-"]}"#, b"\t\t\"\n\r 019.-xtrue", b"p\tq\n-\t1\nx y\t2\n"),
        (
            Format::Json,
            "{}",
            b"[]{}{}\"\"::,,,\n 0129.-eEtruefalsn\\u\xFF",
            b"[{\"a\": 1, \"b\": \"x\"}, {\"a\": 2.5, \"c\": [true, null]}, {\"b\": \"2024-01-02\"}]",
        ),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (format, opts, alphabet, valid) in cases {
        let options = options(opts);
        let pick = |rng: &mut Rng| {
            let r = rng.next();
            if r.is_multiple_of(16) {
                (r >> 8) as u8
            } else {
                alphabet[(r >> 8) as usize % alphabet.len()]
            }
        };
        let (mut accepted, mut rejected) = (0, 0);
        for case in 0..400 {
            let bytes: Vec<u8> = if case % 2 == 0 {
                (0..rng.below(48)).map(|_| pick(&mut rng)).collect()
            } else {
                let mut bytes = valid.to_vec();
                for _ in 0..rng.below(3) + 1 {
                    let at = rng.below(bytes.len() + 1);
                    match rng.below(3) {
                        0 if at < bytes.len() => bytes[at] = pick(&mut rng),
                        1 if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        _ => bytes.insert(at, pick(&mut rng)),
                    }
                }
                bytes
            };
            match load_every_way(format, &options, &bytes, &mut rng, 3) {
                Ok(loaded) => {
                    accepted += 1;
                    for column in loaded.frame.columns() {
                        assert_eq!(column.data.len(), loaded.frame.row_count());
                    }
                    loaded.frame.to_text(5);
                    loaded.frame.describe();
                }
                Err(e) => {
                    rejected += 1;
                    let message = e.to_string();
                    // Every error says where, or what is missing.
                    assert!(
                        message.starts_with("line ") || message.contains("empty"),
                        "{message}"
                    );
                }
            }
        }
        // Both paths were exercised, so the property says something.
        assert!(
            accepted > 20 && rejected > 40,
            "{format}: accepted {accepted}, rejected {rejected}"
        );
    }
}

/// Well-formed CSV with quoted fields, escaped quotes and line breaks, made at random:
/// every way of cutting it gives the values it was made of.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn random_quoted_csv_round_trips() {
    let mut rng = Rng(42);
    let pieces = ["a", "b c", ",", "\"", "\n", "\r\n", "é", "x\"y", "1"];
    for _ in 0..60 {
        let rows = rng.below(8);
        let values: Vec<[String; 2]> = (0..rows)
            .map(|_| {
                [0, 1].map(|_| {
                    let mut v: String = (0..rng.below(4) + 1)
                        .map(|_| pieces[rng.below(pieces.len())])
                        .collect();
                    if v.trim().is_empty() {
                        v = "z".into();
                    }
                    v
                })
            })
            .collect();
        let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
        let mut text = String::from("p,q\n");
        for [p, q] in &values {
            text.push_str(&format!("{},{}\n", quote(p), quote(q)));
        }
        let loaded = load_every_way(
            Format::Csv,
            &options(r#"{"types": {"p": "str", "q": "str"}}"#),
            text.as_bytes(),
            &mut rng,
            4,
        )
        .unwrap();
        let column = |name| match &loaded.frame.column(name).unwrap().data {
            ColumnData::Str(v) => v
                .iter()
                .map(|x| x.unwrap_or_default().to_string())
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let expected_p: Vec<String> = values.iter().map(|[p, _]| p.clone()).collect();
        let expected_q: Vec<String> = values.iter().map(|[_, q]| q.clone()).collect();
        assert_eq!(column("p"), expected_p, "{text:?}");
        assert_eq!(column("q"), expected_q, "{text:?}");
    }
}

/// A record longer than the window a batch is cut from (4 MiB): a larger window reads
/// it, and the records after it, their values and lines, are as if it were short.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_record_longer_than_a_window() {
    let mut rng = Rng(5);
    let line = format!("{}\n", "a, \"\"b\"\" ".repeat(100));
    let long = line.repeat(5 * 1024 * 1024 / line.len() + 1);
    let mut text = String::from("id,note\n");
    for i in 0..3000 {
        text.push_str(&format!("{i},short {i}\n"));
    }
    text.push_str(&format!("3000,\"{long}\"\n"));
    for i in 3001..6000 {
        text.push_str(&format!("{i},short {i}\n"));
    }
    text.push_str("late,short\n");
    let options = LoadOptions::default();
    let loaded = load_every_way(Format::Csv, &options, text.as_bytes(), &mut rng, 2).unwrap();
    assert_eq!(loaded.frame.row_count(), 6001);
    let note = loaded.frame.column("note").unwrap();
    let kept = note.data.display_at(3000).unwrap();
    assert_eq!(kept, long.replace("\"\"", "\""));
    assert_eq!(note.data.display_at(3001).unwrap(), "short 3001");
    // Line 1 is the header; the long record's line breaks count.
    let late_line = 1 + 6000 + long.matches('\n').count() + 1;
    let diagnostics: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.contains(&format!("'late' at line {late_line}"))),
        "{diagnostics:?}"
    );
}

/// A quote left open in a large file: the record it starts runs past 64 MiB, and the load
/// says so with its line, pushed whole or in chunks alike (rather than reading on to the
/// end of the file as one field).
#[test]
fn a_quote_left_open_stops_at_64_mib() {
    let mut text = String::from("id,note\n1,fine\n2,\"open\n");
    let row = "3,a row that the open quote swallows\n";
    text.push_str(&row.repeat((80 << 20) / row.len()));
    let whole = load_chunked(Format::Csv, &LoadOptions::default(), text.as_bytes(), &[]);
    let cuts: Vec<usize> = (1..text.len() / (3 << 20)).map(|i| i * (3 << 20)).collect();
    let chunked = load_chunked(Format::Csv, &LoadOptions::default(), text.as_bytes(), &cuts);
    for result in [whole, chunked] {
        let error = result.unwrap_err().to_string();
        assert_eq!(
            error,
            "line 3: a record runs past 64 MiB; is a quote left open?"
        );
    }
}

/// A file of many batches (and, natively, large enough to be cut on one thread while
/// another converts): quoted and plain records, CRLF, a column that turns `str` late and one
/// that turns `float` late, a bad value near the end; whole and in random chunks alike.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn long_files_in_any_chunks() {
    let mut rng = Rng(99);
    let mut text = String::from("id,name,late_str,late_float,flag\r\n");
    let rows = 12_000;
    for i in 0..rows {
        let name = if i % 7 == 0 {
            format!("\"Name, {i}\nwith \"\"quotes\"\"\"")
        } else {
            format!("name{i}")
        };
        let late_str = if i == 11_000 {
            "oops".to_string()
        } else {
            (i * 3).to_string()
        };
        let late_float = if i == 9_000 {
            "0.5".to_string()
        } else {
            i.to_string()
        };
        let flag = if rng.below(10) == 0 {
            ""
        } else if i % 2 == 0 {
            "true"
        } else {
            "false"
        };
        text.push_str(&format!("{i},{name},{late_str},{late_float},{flag}\r\n"));
    }
    let loaded = load_every_way(
        Format::Csv,
        &LoadOptions::default(),
        text.as_bytes(),
        &mut rng,
        6,
    )
    .unwrap();
    let frame = &loaded.frame;
    assert_eq!(frame.row_count(), rows);
    let types: Vec<String> = frame
        .columns()
        .map(|c| format!("{}:{}", c.name, c.data.dtype()))
        .collect();
    assert_eq!(
        types,
        [
            "id:int",
            "name:str",
            "late_str:str",
            "late_float:float",
            "flag:bool"
        ]
    );
    assert_eq!(
        frame.column("name").unwrap().data.display_at(7).unwrap(),
        "Name, 7\nwith \"quotes\""
    );
    assert_eq!(
        frame
            .column("late_str")
            .unwrap()
            .data
            .display_at(10_999)
            .unwrap(),
        "32997"
    );
    expect![[r#"column 'late_str': 1 value is not int ('oops' at line 12574); kept as str (a type override #{late_str: "int"} reads them as nulls)"#]].assert_eq(&loaded.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"));
    // A ragged record and invalid UTF-8 far in: the first in the file is reported, whatever
    // the chunks.
    let mut bad = text
        .replacen("11990,", "11990,x,", 1)
        .replacen("name11500", "name\u{1}", 1)
        .into_bytes();
    let at = bad.iter().position(|&b| b == 1).unwrap();
    bad[at] = 0xFF;
    let result = load_every_way(Format::Csv, &LoadOptions::default(), &bad, &mut rng, 6);
    expect!["error: line 13145, column 2 ('name'): the text is not valid UTF-8"]
        .assert_eq(&show(&result));
}

// ---- Cells -------------------------------------------------------------------------

fn render(run: &CellRun) -> String {
    let status = serde_json::to_value(run.status).unwrap();
    let mut lines = vec![format!("status: {}", status.as_str().unwrap())];
    lines.extend(outputs(&run.outputs));
    for effect in &run.effects {
        if let Effect::FetchFile { url } = effect {
            lines.push(format!("effect: fetch {url}"));
        }
    }
    lines.join("\n")
}

fn outputs(outputs: &[Output]) -> Vec<String> {
    let mut lines = Vec::new();
    for output in outputs {
        match output {
            Output::DisplayData { data } => {
                lines.extend(data.text.clone());
                if let Some(table) = &data.table {
                    let columns: Vec<String> = table
                        .columns
                        .iter()
                        .map(|c| format!("{}:{}", c.name, c.dtype))
                        .collect();
                    lines.push(format!(
                        "table: {} of {} rows; {}",
                        table.rows.len(),
                        table.total_rows,
                        columns.join(" ")
                    ));
                }
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
    lines
}

/// Runs `cells` in one session where `files` were provided, each run rendered.
fn run_cells(session: &mut Session, cells: &[&str]) -> String {
    let runs: Vec<String> = cells
        .iter()
        .enumerate()
        .map(|(i, code)| {
            format!(
                "[{}] {}",
                i + 1,
                render(&session.execute(&format!("c{i}"), code))
            )
        })
        .collect();
    runs.join("\n") + "\n"
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_read_each_format() {
    let mut session = Session::new();
    session.provide_file("/d/a.csv", b"x;y\n1;a\n2;b\n".to_vec());
    session.provide_file("/d/a.tsv", b"x\ty\n1\ta\n".to_vec());
    session.provide_file("/d/a.json", br#"[{"x": 1, "when": "2024-01-02"}]"#.to_vec());
    session.provide_file(
        "/d/a.jsonl",
        b"{\"x\": 1}\n{\"x\": \"two\"}\n{\"x\": 3}\n".to_vec(),
    );
    session.provide_file("/d/a.parquet", parquet_file());
    let actual = run_cells(
        &mut session,
        &[
            r#"read_csv("/d/a.csv", #{delimiter: ";", types: #{x: "float"}})"#,
            r#"read_tsv("/d/a.tsv").columns()"#,
            r#"read_json("/d/a.json")"#,
            r#"read_jsonl("/d/a.jsonl").rows()"#,
            r#"read_parquet("/d/a.parquet").select(["id", "joined"])"#,
            r#"parse_json("[{\"a\": 1}, {\"a\": 2.5}]")"#,
            r#"parse_json("{\"a\": 1}\n{\"b\": true}\n", #{types: #{a: "str"}})"#,
            r#"parse_csv("a|b\n1|x\n", #{delimiter: "|"})"#,
            r#"parse_csv("a\n1\n", #{delimiter: "||"})"#,
            r#"parse_csv("a\n1\n", #{header: "maybe"})"#,
            r#"parse_csv("a\n1\n", #{typo: 1})"#,
            r#"parse_csv("a\n1\n", #{nulls: 5})"#,
        ],
    );
    expect![[r#"
        [1] status: done
        x      y
        float  str
          1.0  a
          2.0  b
        [2 rows × 2 columns]
        table: 2 of 2 rows; x:float y:str
        [2] status: done
        ["x", "y"]
        [3] status: done
        x    when
        int  datetime
          1  2024-01-02
        [1 row × 2 columns]
        table: 1 of 1 rows; x:int when:datetime
        [4] status: done
        3
        /d/a.jsonl: column 'x': 1 value is not int ('two' at line 2); kept as str (a type override #{x: "int"} reads them as nulls)
        [5] status: done
        id   joined
        int  datetime
          1  2024-03-05
          2  null
          3  2024-03-06
          4  null
        [4 rows × 2 columns]
        table: 4 of 4 rows; id:int joined:datetime
        /d/a.parquet: column 'tags': left out: it is a list (nested)
        [6] status: done
        a
        float
          1.0
          2.5
        [2 rows × 1 column]
        table: 2 of 2 rows; a:float
        [7] status: done
        a     b
        str   bool
        1     null
        null  true
        [2 rows × 2 columns]
        table: 2 of 2 rows; a:str b:bool
        [8] status: done
        a    b
        int  str
          1  x
        [1 row × 2 columns]
        table: 1 of 1 rows; a:int b:str
        [9] status: failed
        RuntimeError at 1:1: option 'delimiter': expected one ASCII character other than a quote or a line break, such as ";" or "\t", not "||"
        [10] status: failed
        RuntimeError at 1:1: option 'header': expected true, false or "auto", not "maybe"
        [11] status: failed
        RuntimeError at 1:1: unknown option 'typo' (options: delimiter, header, nulls, types)
        [12] status: failed
        RuntimeError at 1:1: option 'nulls': expected an array of strings, not 5
    "#]].assert_eq(&actual);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_wait_for_files_and_datasets() {
    let mut session = Session::new();
    let actual = run_cells(
        &mut session,
        &[
            r#"let a = read_json("/x.json"); let b = load_dataset("sales.parquet"); a.rows()"#,
            r#"load_dataset("people")"#,
            r#"load_dataset("people", #{format: "csv"}).rows()"#,
            r#"load_dataset("../etc/passwd")"#,
            r#"load_dataset("people", #{format: 3})"#,
        ],
    );
    expect![[r#"
        [1] status: waiting
        effect: fetch /x.json
        effect: fetch /api/datasets/sales.parquet/data
        [2] status: failed
        RuntimeError at 1:1: cannot tell the format of 'people' from its name: give it (csv, tsv, json, jsonl or parquet)
        [3] status: waiting
        effect: fetch /api/datasets/people/data
        [4] status: failed
        RuntimeError at 1:1: '../etc/passwd' is not a dataset name: 1 to 128 characters of letters, digits, '.', '-' or '_', not starting with '.'
        [5] status: failed
        RuntimeError at 1:1: option 'format': expected a string, not a i64
    "#]].assert_eq(&actual);
    // Provided, the cells run; the dataset's diagnostics follow the table.
    session.provide_file(
        "/api/datasets/people/data",
        b"age,n\n31,1\n27,2\nabc,3\n44,4\n".to_vec(),
    );
    let actual = run_cells(
        &mut session,
        &[r#"load_dataset("people", #{format: "csv"})"#],
    );
    expect![[r#"
        [1] status: done
        age  n
        str  int
        31     1
        27     2
        abc    3
        44     4
        [4 rows × 2 columns]
        table: 4 of 4 rows; age:str n:int
        /api/datasets/people/data: column 'age': 1 value is not int ('abc' at line 4); kept as str (a type override #{age: "int"} reads them as nulls)
    "#]].assert_eq(&actual);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn reading_again_with_other_options_fetches_again() {
    let mut session = Session::new();
    session.provide_file("/f.csv", b"a\n007\n".to_vec());
    let actual = run_cells(
        &mut session,
        &[
            // Two reads in one run share the bytes.
            r#"let x = read_csv("/f.csv"); let y = read_csv("/f.csv", #{types: #{a: "str"}}); [x.column("a"), y.column("a")]"#,
            // Again: from what was parsed, no fetch.
            r#"read_csv("/f.csv").column("a")"#,
            // New options: the bytes are gone, so the cell waits for them again.
            r#"read_csv("/f.csv", #{header: false}).rows()"#,
        ],
    );
    expect![[r#"
        [1] status: done
        [[7], ["007"]]
        [2] status: done
        [7]
        [3] status: waiting
        effect: fetch /f.csv
    "#]]
    .assert_eq(&actual);
}

/// The worker's streamed load: a loader fed in chunks, then the session binds the frame.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn streamed_loads_bind_a_variable() {
    let mut session = Session::new();
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).unwrap();
    for chunk in b"n,v\n1,a\n2,b\n3,c\nx,d\n".chunks(5) {
        loader.push(chunk).unwrap();
    }
    let (ok, outs) = session.finish_load("sales", loader.finish());
    assert!(ok);
    expect![[r#"
        n    v
        str  str
        1    a
        2    b
        3    c
        x    d
        [4 rows × 2 columns]
        table: 4 of 4 rows; n:str v:str
        column 'n': 1 value is not int ('x' at line 5); kept as str (a type override #{n: "int"} reads them as nulls)"#]].assert_eq(&outputs(&outs).join("\n"));
    expect![[r#"
        [1] status: done
        4
    "#]]
    .assert_eq(&run_cells(&mut session, &["sales.rows()"]));
    // Failures: the load's error, or a name that cannot be a variable.
    let mut loader = Loader::new(Format::Json, LoadOptions::default()).unwrap();
    loader.push(b"[{\"a\": 1},]").ok();
    let (ok, outs) = session.finish_load("other", loader.finish());
    assert!(!ok);
    let bad_names: Vec<String> = ["2x", "let", "a-b", ""]
        .iter()
        .map(|name| {
            let (ok, outs) = session.finish_load(
                name,
                oxbook_kernel::load::load(Format::Csv, LoadOptions::default(), b"a\n1\n"),
            );
            assert!(!ok);
            outputs(&outs).join("")
        })
        .collect();
    expect![[r#"
        LoadError: line 1, column 11: a ',' after record 1 is followed by ']' (JSON allows no trailing comma)
        LoadError: '2x' cannot be a variable name: use letters, digits and _, not starting with a digit, and not a keyword
        LoadError: 'let' cannot be a variable name: use letters, digits and _, not starting with a digit, and not a keyword
        LoadError: 'a-b' cannot be a variable name: use letters, digits and _, not starting with a digit, and not a keyword
        LoadError: '' cannot be a variable name: use letters, digits and _, not starting with a digit, and not a keyword"#]].assert_eq(&format!("{}\n{}", outputs(&outs).join("\n"), bad_names.join("\n")));
    // A constant cannot be replaced; a variable can.
    session.execute("c", "const fixed = 1; let free = 1;");
    assert!(
        !session
            .finish_load(
                "fixed",
                oxbook_kernel::load::load(Format::Csv, LoadOptions::default(), b"a\n1\n")
            )
            .0
    );
    assert!(
        session
            .finish_load(
                "free",
                oxbook_kernel::load::load(Format::Csv, LoadOptions::default(), b"a\n1\n")
            )
            .0
    );
    expect![[r#"
        [1] status: done
        [1, 1]
    "#]]
    .assert_eq(&run_cells(&mut session, &["[fixed, free.rows()]"]));
}
