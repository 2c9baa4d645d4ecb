//! The CSV/TSV push parser.
//!
//! Records are cut from each chunk in place; only a record cut by a chunk's end is copied,
//! into `pending`, and completed from the next chunk. Fields follow RFC 4180: a field
//! starting with `"` (after spaces) is quoted, may hold delimiters and line breaks, and
//! `""` inside it is one quote; a `"` inside an unquoted field is an ordinary character.
//! Unquoted fields are trimmed of spaces (and tabs, unless tab is the delimiter). Lines
//! end with `\n`, `\r\n` or `\r`; blank lines are skipped.

use std::collections::BTreeMap;

use super::infer::{ColumnBuilder, Nulls};
use super::{
    build_frame, check_types, ChunkHash, Diagnostic, Header, LoadError, LoadOptions, Loaded,
};
use crate::frame::DType;

/// A record longer than this is taken as a quote left open, rather than buffering the
/// rest of the file in search of its end.
const MAX_RECORD: usize = 64 << 20;

/// Records read per batch before their values are converted column by column.
const BATCH: usize = 2048;

/// A field's text: `window[start..end]`, where the window is the part of the input its
/// batch was cut from (see [`WINDOW`]), or `scratch[start..end]` (an unescaped quoted
/// field) when `start` has [`IN_SCRATCH`] set. Four-byte positions halve the memory the
/// batches of spans take (and the cache they fill); they suffice because a window stays
/// below 2 GiB.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

const IN_SCRATCH: u32 = 1 << 31;

/// The bytes a batch is cut from, at most, counted from its first record: its window.
/// Spans count from the window's start, so they stay below [`IN_SCRATCH`] however large
/// the input (a whole file, from [`super::Loader::load_all`]). A batch ends early at its
/// window's end; only a record longer than a window (up to [`MAX_RECORD`]) takes a larger
/// one.
const WINDOW: usize = 4 << 20;

impl Span {
    #[inline(always)]
    fn new(start: usize, end: usize) -> Span {
        debug_assert!(end < IN_SCRATCH as usize);
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
}

#[inline]
fn text<'a>(input: &'a [u8], scratch: &'a [u8], span: Span) -> &'a [u8] {
    let (start, end) = (span.start as usize, span.end as usize);
    if span.start & IN_SCRATCH == 0 {
        &input[start..end]
    } else {
        &scratch[start & !(IN_SCRATCH as usize)..end]
    }
}

enum Step {
    /// A record ends before `next`; `newlines` line breaks were inside quoted fields;
    /// `blank` when the line held nothing but spaces.
    Record {
        next: usize,
        newlines: u64,
        blank: bool,
    },
    /// The input ends inside the record.
    Incomplete,
}

pub(crate) struct CsvParser {
    cutter: Cutter,
    header: Header,
    nulls: Nulls,
    types: BTreeMap<String, DType>,
    /// The start of a record that the last chunk cut off.
    pending: Vec<u8>,
    /// `None` until the first record (the header, usually) has been read.
    columns: Option<Vec<ColumnBuilder>>,
    /// With `Header::Auto`: the first row, header or data, and its line.
    first_row: Option<(Vec<Vec<u8>>, u64)>,
    /// Reused between batches.
    batch: Batch,
    room: Room,
}

/// Room for the rows to come: once the file's size is known and some records are in, the
/// columns make room for all of them at once rather than growing (and copying) as they go.
#[derive(Default)]
struct Room {
    /// The file's size, until room is made.
    size_hint: Option<u64>,
    /// Bytes of the records read before the current input.
    parsed: u64,
}

impl Room {
    /// Makes room, if it is time, when `read` bytes of the current input are in `columns`.
    fn make(&mut self, columns: &mut [ColumnBuilder], read: usize) {
        let Some(total) = self.size_hint else {
            return;
        };
        let parsed = self.parsed + read as u64;
        let rows = columns.first().map_or(0, ColumnBuilder::len);
        if rows < BATCH || parsed == 0 {
            return;
        }
        self.size_hint = None;
        // The rows still to come at the rate so far, and a little more: what is left
        // over is given back when the columns are finished.
        let per_row = parsed as f64 / rows as f64;
        let remaining = total.saturating_sub(parsed) as f64 / per_row;
        let extra = (remaining * 1.02) as usize + BATCH;
        for column in columns {
            column.reserve(extra);
        }
    }
}

/// What cuts records: the delimiter, and where the next record starts.
struct Cutter {
    delimiter: u8,
    /// Bytes that end an unquoted field: the delimiter, `\n` and `\r`.
    stops: [bool; 256],
    /// The line where the next record starts (1-based).
    line: u64,
    /// Where the columns are split between the two threads of a large input (see
    /// [`parse_batches`]): `None` until the first such input.
    #[cfg(not(target_arch = "wasm32"))]
    split: Option<usize>,
    /// The input the pipeline reads before it next settles (see [`parse_batches`]).
    #[cfg(not(target_arch = "wasm32"))]
    settle_every: usize,
    /// How many times the pipeline settled, for the tests.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    settles: usize,
}

/// Padding around fields: spaces and tabs, unless the delimiter is one of them.
#[inline(always)]
fn is_space(b: u8, delimiter: u8) -> bool {
    (b == b' ' || b == b'\t') && b != delimiter
}

/// Bytes equal to `byte`, eight at a time: a mask whose lowest set bit marks the first.
#[inline(always)]
fn matches(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Bytes below 14 (`\t`, `\n`, `\r` and other control bytes), eight at a time: a mask
/// whose lowest set bit marks the first (higher bits may be false alarms).
#[inline(always)]
fn controls(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    word.wrapping_sub(ONES * 14) & !word & HIGHS
}

/// The first byte at or after `p` that ends an unquoted field.
#[inline(always)]
fn find_stop(input: &[u8], mut p: usize, delimiter: u8, stops: &[bool; 256]) -> usize {
    while let Some(bytes) = input.get(p..p + 8) {
        let word = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
        // Line ends are found among all control bytes, with one test instead of two; the
        // rare other control byte (a tab in a CSV) is stepped over.
        let found = matches(word, delimiter) | controls(word);
        if found != 0 {
            let q = p + (found.trailing_zeros() / 8) as usize;
            if stops[usize::from(input[q])] {
                return q;
            }
            p = q + 1;
            continue;
        }
        p += 8;
    }
    while p < input.len() && !stops[usize::from(input[p])] {
        p += 1;
    }
    p
}

/// Finds the bytes that end an unquoted field (the delimiter, `\n` and `\r`) 64 at a
/// time, for the fast path: `mask` has bit `i` set when `input[base + i]` is one. Each
/// block's mask is computed from its bytes alone, not from where the last field ended,
/// so the fields of a block are found without waiting on each other (the eight-byte
/// search of [`find_stop`] starts where the previous field ended).
struct StopScan {
    base: usize,
    mask: u64,
    /// The delimiter in every byte.
    delimiter: u64,
}

#[cfg(target_arch = "wasm32")]
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const EVERY_BYTE: u64 = 0x0101_0101_0101_0101;

/// One bit per byte of `word` (bit `k` for byte `k`): whether it is the delimiter or a
/// line end. Exact for every byte, unlike [`matches`], whose bits above the first match
/// may be false alarms.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn stop_bits(word: u64, delimiter: u64) -> u64 {
    // Per byte, the high bit of ((x & 0x7F) + 0x7F) | x is set unless x is zero, and the
    // addition never carries into the next byte.
    let nonzero = |x: u64| ((x & LOW7).wrapping_add(LOW7)) | x;
    let hits = !(nonzero(word ^ delimiter)
        & nonzero(word ^ (EVERY_BYTE * u64::from(b'\n')))
        & nonzero(word ^ (EVERY_BYTE * u64::from(b'\r'))))
        & !LOW7;
    // Gathers the eight high bits into the top byte (no two products meet there).
    (hits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Bit `i` set when `block[i]` is the delimiter (`delimiter` in every byte) or a line end.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn block_stops(block: &[u8; 64], delimiter: u64) -> u64 {
    let mut mask = 0;
    for (k, word) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        mask |= stop_bits(word, delimiter) << (8 * k);
    }
    mask
}

/// Bit `i` set when `block[i]` is the delimiter (`delimiter` in every byte) or a line end:
/// sixteen bytes per compare, about a tenth of the work of the eight-byte word tricks.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn block_stops(block: &[u8; 64], delimiter: u64) -> u64 {
    use wide::u8x16;
    let delimiter = u8x16::splat(delimiter as u8);
    let lf = u8x16::splat(b'\n');
    let cr = u8x16::splat(b'\r');
    let mut mask = 0;
    for (k, part) in block.chunks_exact(16).enumerate() {
        let v = u8x16::new(part.try_into().unwrap_or([0; 16]));
        let hits = v.simd_eq(delimiter) | v.simd_eq(lf) | v.simd_eq(cr);
        mask |= u64::from(hits.to_bitmask()) << (16 * k);
    }
    mask
}

impl StopScan {
    fn new(delimiter: u8) -> StopScan {
        StopScan {
            // No byte is within 64 of this base: the first call scans a block.
            base: usize::MAX - 64,
            mask: 0,
            delimiter: EVERY_BYTE * u64::from(delimiter),
        }
    }

    /// The first byte at or after `p` that ends an unquoted field (`input.len()` if none).
    #[inline(always)]
    fn next(&mut self, input: &[u8], mut p: usize, stops: &[bool; 256]) -> usize {
        loop {
            let offset = p.wrapping_sub(self.base);
            if offset < 64 {
                let rest = self.mask >> offset;
                if rest != 0 {
                    return p + rest.trailing_zeros() as usize;
                }
                p = self.base + 64;
            }
            let block = input
                .get(p..p + 64)
                .and_then(|b| <&[u8; 64]>::try_from(b).ok());
            let Some(block) = block else {
                // The last bytes of the input, one at a time.
                let delimiter = self.delimiter as u8;
                return find_stop(input, p, delimiter, stops);
            };
            self.base = p;
            self.mask = block_stops(block, self.delimiter);
        }
    }
}

/// Reads the record starting at `pos`, appending its fields to `spans` (and unescaped
/// quoted fields to `scratch`). On `Incomplete`, what it appended is for the caller to drop.
#[allow(clippy::too_many_arguments)]
fn tokenize(
    input: &[u8],
    pos: usize,
    eof: bool,
    delimiter: u8,
    stops: &[bool; 256],
    spans: &mut Vec<Span>,
    scratch: &mut Vec<u8>,
    line: u64,
) -> Result<Step, LoadError> {
    let len = input.len();
    let first = spans.len();
    let mut newlines = 0;
    let mut p = pos;
    let mut quoted_any = false;
    loop {
        let q = p;
        let b = input.get(q).copied().unwrap_or(b'\n');
        if b == b'"' || is_space(b, delimiter) {
            let mut q = q;
            while q < len && is_space(input[q], delimiter) {
                q += 1;
            }
            if q < len && input[q] == b'"' {
                quoted_any = true;
                let start = q + 1;
                let mut r = start;
                let mut escaped = false;
                loop {
                    match memchr::memchr(b'"', &input[r..]) {
                        None if eof => {
                            return Err(LoadError::UnterminatedQuote {
                                line,
                                column: spans.len() - first + 1,
                            })
                        }
                        None => return Ok(Step::Incomplete),
                        Some(i) => {
                            r += i;
                            if r + 1 < len {
                                if input[r + 1] == b'"' {
                                    escaped = true;
                                    r += 2;
                                    continue;
                                }
                                break;
                            } else if eof {
                                break;
                            } else {
                                // The next byte, maybe another quote, is in the next chunk.
                                return Ok(Step::Incomplete);
                            }
                        }
                    }
                }
                newlines += memchr::memchr_iter(b'\n', &input[start..r]).count() as u64;
                if escaped {
                    let at = scratch.len();
                    let mut rest = &input[start..r];
                    while let Some(i) = memchr::memchr(b'"', rest) {
                        // Every quote inside is doubled: keep one, skip the other.
                        scratch.extend_from_slice(&rest[..=i]);
                        rest = rest.get(i + 2..).unwrap_or(&[]);
                    }
                    scratch.extend_from_slice(rest);
                    let mut span = Span::new(at, scratch.len());
                    span.start |= IN_SCRATCH;
                    spans.push(span);
                } else {
                    spans.push(Span::new(start, r));
                }
                p = r + 1;
                while p < len && is_space(input[p], delimiter) {
                    p += 1;
                }
                if p < len && !stops[usize::from(input[p])] {
                    let found = input[p];
                    let shown = if found.is_ascii_graphic() {
                        format!("'{}'", char::from(found))
                    } else {
                        format!("byte 0x{found:02X}")
                    };
                    return Err(LoadError::Syntax {
                        line,
                        column: (spans.len() - first) as u64,
                        message: format!(
                            "{shown} follows the closing quote of a quoted field (a quote \
                             inside a quoted field is written \"\")"
                        ),
                    });
                }
            } else {
                let r = find_stop(input, q, delimiter, stops);
                let mut end = r;
                while end > q && is_space(input[end - 1], delimiter) {
                    end -= 1;
                }
                spans.push(Span::new(q, end));
                p = r;
            }
        } else {
            let r = find_stop(input, q, delimiter, stops);
            let mut end = r;
            while end > q && is_space(input[end - 1], delimiter) {
                end -= 1;
            }
            spans.push(Span::new(q, end));
            p = r;
        }
        let blank =
            || spans.len() == first + 1 && !quoted_any && spans[first].start == spans[first].end;
        if p >= len {
            return Ok(if eof {
                Step::Record {
                    next: len,
                    newlines,
                    blank: blank(),
                }
            } else {
                Step::Incomplete
            });
        }
        match input[p] {
            b'\n' => {
                return Ok(Step::Record {
                    next: p + 1,
                    newlines,
                    blank: blank(),
                })
            }
            b'\r' => {
                if p + 1 < len {
                    let next = if input[p + 1] == b'\n' { p + 2 } else { p + 1 };
                    return Ok(Step::Record {
                        next,
                        newlines,
                        blank: blank(),
                    });
                } else if eof {
                    return Ok(Step::Record {
                        next: p + 1,
                        newlines,
                        blank: blank(),
                    });
                }
                return Ok(Step::Incomplete);
            }
            // The delimiter: another field follows.
            _ => p += 1,
        }
    }
}

impl CsvParser {
    pub(crate) fn new(delimiter: u8, options: &LoadOptions) -> CsvParser {
        let mut stops = [false; 256];
        stops[usize::from(delimiter)] = true;
        stops[usize::from(b'\n')] = true;
        stops[usize::from(b'\r')] = true;
        CsvParser {
            cutter: Cutter {
                delimiter,
                stops,
                line: 1,
                #[cfg(not(target_arch = "wasm32"))]
                split: None,
                #[cfg(not(target_arch = "wasm32"))]
                settle_every: SETTLE_FIRST,
                #[cfg(all(test, not(target_arch = "wasm32")))]
                settles: 0,
            },
            header: options.header,
            nulls: options.nulls(),
            types: options.types.clone(),
            pending: Vec::new(),
            columns: None,
            first_row: None,
            batch: Batch::default(),
            room: Room::default(),
        }
    }

    /// Parses the next bytes, and hashes them with `hasher`, if any.
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        hasher: Option<&mut sha2::Sha256>,
    ) -> Result<(), LoadError> {
        let mut hash = hasher.map(|h| ChunkHash::new(h, chunk));
        let result = self.push_hashing(chunk, hash.as_mut());
        // What the pipeline did not hash: all of a small chunk, the end of a large one.
        if let Some(hash) = &mut hash {
            hash.rest();
        }
        result
    }

    /// Parses a chunk; `hash`, if any, may hash (part of) it on the way.
    fn push_hashing(
        &mut self,
        chunk: &[u8],
        hash: Option<&mut ChunkHash>,
    ) -> Result<(), LoadError> {
        let mut rest = chunk;
        // Complete the pending record from the chunk's start, taking geometrically more
        // bytes each try so that a long record is scanned a bounded number of times.
        while !self.pending.is_empty() {
            if rest.is_empty() {
                return Ok(());
            }
            let take = rest.len().min(self.pending.len().max(4096));
            let old = self.pending.len();
            self.pending.extend_from_slice(&rest[..take]);
            let pending = std::mem::take(&mut self.pending);
            let consumed = self.parse(&pending, false, None);
            self.pending = pending;
            let consumed = consumed?;
            if consumed == 0 {
                if self.pending.len() > MAX_RECORD {
                    return Err(record_too_long(self.cutter.line));
                }
                rest = &rest[take..];
                continue;
            }
            // The pending bytes held the start of one record, so whatever is left over
            // lies in the bytes just taken: read it again from the chunk, in place.
            let leftover = self.pending.len() - consumed;
            debug_assert!(consumed >= old && leftover <= take);
            self.pending.clear();
            rest = &rest[take - leftover.min(take)..];
        }
        let consumed = self.parse(rest, false, hash)?;
        self.pending.extend_from_slice(&rest[consumed..]);
        Ok(())
    }

    /// Reads the complete records of `input`; returns how many bytes they took. `hash`, if
    /// any, may hash part of its chunk in step with reading `input` (see [`parse_batches`]).
    fn parse(
        &mut self,
        input: &[u8],
        eof: bool,
        hash: Option<&mut ChunkHash>,
    ) -> Result<usize, LoadError> {
        let mut pos = 0;
        while self.columns.is_none() && pos < input.len() {
            // The first record names the columns (usually) and sets their number.
            let mut record = Vec::new();
            let mut scratch = Vec::new();
            let cutter = &self.cutter;
            // Spans count from the record's start (see [`Span`]).
            let rest = &input[pos..];
            let step = tokenize(
                rest,
                0,
                eof,
                cutter.delimiter,
                &cutter.stops,
                &mut record,
                &mut scratch,
                cutter.line,
            )?;
            let Step::Record {
                next,
                newlines,
                blank,
            } = step
            else {
                return Ok(pos);
            };
            if !blank {
                let texts = record
                    .iter()
                    .map(|&span| text(rest, &scratch, span).to_vec())
                    .collect();
                self.first_record(texts, self.cutter.line)?;
            }
            self.cutter.line += 1 + newlines;
            pos += next;
        }
        let Some(columns) = self.columns.as_mut() else {
            return Ok(pos);
        };
        let mut batch = std::mem::take(&mut self.batch);
        batch.reset(columns.len());
        let result = parse_batches(
            &mut self.cutter,
            columns,
            &self.nulls,
            &mut self.room,
            input,
            eof,
            &mut pos,
            &mut batch,
            hash,
        );
        self.batch = batch;
        self.room.parsed += pos as u64;
        self.room.make(columns, 0);
        result.map(|()| pos)
    }

    pub(crate) fn size_hint(&mut self, total: u64) {
        self.room.size_hint = Some(total);
        if let Some(columns) = self.columns.as_mut() {
            self.room.make(columns, 0);
        }
    }

    /// The first record: with a header, its names; else the columns' count and names.
    fn first_record(&mut self, texts: Vec<Vec<u8>>, line: u64) -> Result<(), LoadError> {
        let generic = |i: usize| format!("column_{}", i + 1);
        match self.header {
            Header::Yes => {
                let names = header_names(&texts, line)?;
                check_types(&self.types, &names)?;
                self.columns = Some(self.builders(names, |_| None));
            }
            Header::No => {
                let names: Vec<String> = (0..texts.len()).map(generic).collect();
                check_types(&self.types, &names)?;
                let mut columns = self.builders(names, |_| None);
                for (i, (column, text)) in columns.iter_mut().zip(&texts).enumerate() {
                    column.push_text(text, &self.nulls, line).map_err(|()| {
                        LoadError::InvalidUtf8 {
                            line,
                            column: i + 1,
                            name: Some(column.name.clone()),
                        }
                    })?;
                }
                self.columns = Some(columns);
            }
            Header::Auto => {
                for (i, text) in texts.iter().enumerate() {
                    std::str::from_utf8(text).map_err(|_| LoadError::InvalidUtf8 {
                        line,
                        column: i + 1,
                        name: None,
                    })?;
                }
                // An override may name the column by the header candidate or generically.
                let candidates: Vec<String> = texts
                    .iter()
                    .map(|t| String::from_utf8_lossy(t).trim().to_string())
                    .collect();
                let names: Vec<String> = (0..texts.len()).map(generic).collect();
                self.columns = Some(self.builders(names, |i| Some(candidates[i].clone())));
                self.first_row = Some((texts, line));
            }
        }
        Ok(())
    }

    /// Column builders named `names`, with the type overrides that name them (or the
    /// alternative name `alias` gives).
    fn builders(
        &self,
        names: Vec<String>,
        alias: impl Fn(usize) -> Option<String>,
    ) -> Vec<ColumnBuilder> {
        names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let forced = self
                    .types
                    .get(&name)
                    .or_else(|| alias(i).and_then(|a| self.types.get(&a)))
                    .copied();
                ColumnBuilder::new(name, forced)
            })
            .collect()
    }

    pub(crate) fn finish(mut self) -> Result<Loaded, LoadError> {
        let pending = std::mem::take(&mut self.pending);
        self.parse(&pending, true, None)?;
        let Some(mut columns) = self.columns.take() else {
            return Err(LoadError::Empty {
                format: "CSV",
                expected: "a header row",
            });
        };
        let mut diagnostics = Vec::new();
        if let Some((first, line)) = self.first_row.take() {
            if looks_like_header(&columns, &first, &self.nulls) {
                let names = header_names(&first, line)?;
                for (column, name) in columns.iter_mut().zip(&names) {
                    column.name = name.clone();
                }
                diagnostics.push(Diagnostic::general(
                    "header: auto took the first row as the column names".into(),
                ));
            } else {
                columns = columns
                    .iter()
                    .zip(&first)
                    .map(|(column, text)| column.with_first(text, &self.nulls, line))
                    .collect();
                diagnostics.push(Diagnostic::general(
                    "header: auto found no header row; columns are named column_1, column_2, …"
                        .into(),
                ));
            }
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            let aliases: Vec<String> = first
                .iter()
                .map(|t| String::from_utf8_lossy(t).trim().to_string())
                .collect();
            if let Some(key) = self
                .types
                .keys()
                .find(|k| !names.contains(k) && !aliases.contains(k))
            {
                return Err(LoadError::NoSuchColumn {
                    name: key.clone(),
                    available: names.join(", "),
                });
            }
        }
        build_frame(columns, diagnostics)
    }
}

/// Column names from the header record: trimmed, an empty one becomes `column_N`, and no
/// two alike.
fn header_names(texts: &[Vec<u8>], line: u64) -> Result<Vec<String>, LoadError> {
    let mut names: Vec<String> = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let name = std::str::from_utf8(text).map_err(|_| LoadError::InvalidUtf8 {
            line,
            column: i + 1,
            name: None,
        })?;
        let name = match name.trim() {
            "" => format!("column_{}", i + 1),
            name => name.to_string(),
        };
        if let Some(first) = names.iter().position(|n| *n == name) {
            return Err(LoadError::DuplicateHeader {
                line,
                name,
                first: first + 1,
                second: i + 1,
            });
        }
        names.push(name);
    }
    Ok(names)
}

/// `Header::Auto`'s rule (see [`Header::Auto`]).
fn looks_like_header(columns: &[ColumnBuilder], first: &[Vec<u8>], nulls: &Nulls) -> bool {
    let mut header = false;
    let mut data = false;
    for (column, text) in columns.iter().zip(first) {
        if nulls.is_null(text) {
            continue;
        }
        let typed = !matches!(column.dtype(), None | Some(DType::Str));
        if typed {
            if column.holds(&String::from_utf8_lossy(text)) {
                data = true;
            } else {
                header = true;
            }
        }
    }
    let named = first.iter().all(|t| !nulls.is_null(t))
        && first
            .iter()
            .enumerate()
            .all(|(i, t)| !first[..i].contains(t));
    header || (!data && named)
}

/// Batches of records: their fields are cut first, then each column converts its fields
/// of the batch in one go (one type check per column and batch, not per value).
#[allow(clippy::too_many_arguments)]
fn parse_batches_serial(
    cutter: &mut Cutter,
    columns: &mut [ColumnBuilder],
    nulls: &Nulls,
    room: &mut Room,
    input: &[u8],
    eof: bool,
    pos: &mut usize,
    batch: &mut Batch,
) -> Result<(), LoadError> {
    let from = *pos;
    loop {
        let (more, error) = cutter.fill(input, eof, pos, batch);
        convert(columns, input, batch, nulls)?;
        if let Some(error) = error {
            // Reported after converting the records before it, which may hold an earlier
            // error: errors come in file order, whatever the chunks.
            return Err(error);
        }
        if !more {
            return Ok(());
        }
        if *pos - from >= WINDOW {
            room.make(columns, *pos - from);
        }
    }
}

/// wasm32 has one thread: the records are read in turn, and the caller hashes the chunk.
#[cfg(target_arch = "wasm32")]
#[allow(clippy::too_many_arguments)]
fn parse_batches(
    cutter: &mut Cutter,
    columns: &mut [ColumnBuilder],
    nulls: &Nulls,
    room: &mut Room,
    input: &[u8],
    eof: bool,
    pos: &mut usize,
    batch: &mut Batch,
    _hash: Option<&mut ChunkHash>,
) -> Result<(), LoadError> {
    parse_batches_serial(cutter, columns, nulls, room, input, eof, pos, batch)
}

/// The input read before the pipeline's first settle (see [`parse_batches`]).
#[cfg(not(target_arch = "wasm32"))]
const SETTLE_FIRST: usize = 1 << 20;
/// The most input read between settles, once the split holds.
#[cfg(not(target_arch = "wasm32"))]
const SETTLE_MAX: usize = 64 << 20;

/// What the cutting thread sends the converting one.
#[cfg(not(target_arch = "wasm32"))]
enum ToConverter {
    /// A batch, its sequence number, and where the input read ends after it.
    Batch(usize, Batch, usize),
    /// Give back your columns and the work since the last settle.
    Settle,
    /// Your columns from now on.
    Columns(Vec<ColumnBuilder>),
}

/// Natively, large inputs are cut on this thread while another converts the batches
/// already cut; this thread converts the last columns too, so that both have about as
/// much to do. Each column converts its batches in order, as on one thread, so the result
/// is the same whichever thread converts it; errors are compared by their place in the
/// file, and one found converting comes before one found cutting (which stopped the
/// cutting).
///
/// Where the columns are split starts from an estimate of their costs ([`split_point`])
/// and then follows the time each thread worked: the pipeline settles (the converting
/// thread catches up and hands its columns back) after the first 1 MiB read, which is also
/// when the columns make room for the rows to come ([`Room`]), and columns move to the
/// thread that worked less, as many as narrow the gap at the cost converting measured
/// ([`rebalance`]). Each settle that leaves the split where it was doubles the input read
/// before the next, up to 64 MiB, as a settle costs the time the pipeline takes to drain
/// and fill. (Waits are no guide: on a busy machine a thread mostly waits for the other
/// to be scheduled.) The costs of cutting and converting depend on the file (and on
/// whether its bytes are in the cache), so no fixed split balances every file. Which
/// thread converts a column changes only the time, never the result.
///
/// The converting thread also hashes the chunk (`hash`), in step: before each batch, the
/// part of the chunk in proportion to the input read so far, and a little more
/// (`HASH_LEAD`). The caller hashes what is left, and all of a small input, which is read
/// on this thread alone.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::too_many_arguments)]
fn parse_batches(
    cutter: &mut Cutter,
    columns: &mut Vec<ColumnBuilder>,
    nulls: &Nulls,
    room: &mut Room,
    input: &[u8],
    eof: bool,
    pos: &mut usize,
    batch: &mut Batch,
    mut hash: Option<&mut ChunkHash>,
) -> Result<(), LoadError> {
    use std::sync::mpsc;
    use std::time::Instant;
    /// Below this, starting a thread costs more than it saves.
    const PIPELINE_MIN: usize = 256 << 10;
    /// Batches cut and not yet converted, at most: enough that neither thread waits for
    /// the other at every batch when the machine's other work delays one of them.
    const IN_FLIGHT: usize = 4;
    /// How far ahead of the cutting the converting thread hashes: the hash reads the bytes
    /// from memory (its arithmetic hides the wait) and the cutting then finds them in the
    /// cache the cores share. Measured on the benchmark's file: 128 to 256 KiB took 5 to
    /// 10% off a load; 1 MiB was slower than none (evicted before they are cut).
    const HASH_LEAD: usize = 192 << 10;
    /// Where a bad field is: batch, row, column, line.
    type Bad = (usize, usize, usize, u64);
    if input.len() - *pos < PIPELINE_MIN {
        return parse_batches_serial(cutter, columns, nulls, room, input, eof, pos, batch);
    }
    let mut split = cutter
        .split
        .unwrap_or_else(|| split_point(columns, hash.is_some()))
        .min(columns.len());
    let mut ours = columns.split_off(split);
    let theirs = std::mem::take(columns);
    let from = *pos;
    let (theirs, bad, cut_error, our_work, their_work) = std::thread::scope(|scope| {
        let (to_converter, inbox) = mpsc::sync_channel::<ToConverter>(IN_FLIGHT);
        let (give_back, empty) = mpsc::channel::<Batch>();
        let (hand_back, settled) = mpsc::channel::<(Vec<ColumnBuilder>, Work)>();
        for _ in 0..IN_FLIGHT {
            let mut spare = Batch::default();
            spare.reset(batch.width);
            let _ = give_back.send(spare);
        }
        let converter = scope.spawn(move || -> (Vec<ColumnBuilder>, Option<Bad>, Work) {
            let mut theirs = theirs;
            let mut work = Work::default();
            let mut hash_ahead_of = |read: usize| {
                if let Some(hash) = hash.as_deref_mut() {
                    hash.up_to((read + HASH_LEAD).min(input.len()), input.len());
                }
            };
            let start = Instant::now();
            hash_ahead_of(from);
            work.total += start.elapsed();
            for message in inbox {
                match message {
                    ToConverter::Batch(seq, batch, read) => {
                        let start = Instant::now();
                        hash_ahead_of(read);
                        let converting = Instant::now();
                        let bad = convert_part(&mut theirs, 0, input, &batch, nulls)
                            .map(|(row, c)| (seq, row, c, batch.lines[row]));
                        work.add(start, converting);
                        let _ = give_back.send(batch);
                        if bad.is_some() {
                            return (theirs, bad, work);
                        }
                    }
                    ToConverter::Settle => {
                        let _ = hand_back.send((std::mem::take(&mut theirs), work));
                        work = Work::default();
                    }
                    ToConverter::Columns(columns) => theirs = columns,
                }
            }
            (theirs, None, work)
        });
        let mut cut_error = None;
        let mut our_bad: Option<Bad> = None;
        let mut work = Work::default();
        let mut next = std::mem::take(batch);
        let mut settle_at = from + cutter.settle_every;
        for seq in 0.. {
            let start = Instant::now();
            let (more, error) = cutter.fill(input, eof, pos, &mut next);
            let converting = Instant::now();
            our_bad = convert_part(&mut ours, split, input, &next, nulls)
                .map(|(row, c)| (seq, row, c, next.lines[row]));
            work.add(start, converting);
            if to_converter
                .send(ToConverter::Batch(seq, next, *pos))
                .is_err()
            {
                break;
            }
            if our_bad.is_some() || error.is_some() || !more {
                cut_error = error;
                break;
            }
            if *pos >= settle_at && input.len() - *pos >= PIPELINE_MIN {
                if to_converter.send(ToConverter::Settle).is_err() {
                    break;
                }
                // The converter is alive until its inbox closes: it hands back.
                let Ok((mut all, their_work)) = settled.recv() else {
                    break;
                };
                all.append(&mut ours);
                room.make(&mut all, *pos - from);
                let moved = rebalance(&all, split, work, their_work);
                if moved == split {
                    cutter.settle_every = (cutter.settle_every * 2).min(SETTLE_MAX);
                }
                #[cfg(test)]
                {
                    cutter.settles += 1;
                }
                split = moved;
                ours = all.split_off(split);
                if let Err(mpsc::SendError(ToConverter::Columns(all))) =
                    to_converter.send(ToConverter::Columns(all))
                {
                    // Unreachable (see above), but the columns must not be lost.
                    ours.splice(0..0, all);
                    split = 0;
                    break;
                }
                work = Work::default();
                settle_at = *pos + cutter.settle_every;
            }
            match empty.recv() {
                Ok(spare) => next = spare,
                // The converter stopped on an error.
                Err(_) => break,
            }
        }
        drop(to_converter);
        let (theirs, their_bad, their_work) = converter
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Ok(spare) = empty.try_recv() {
            *batch = spare;
        }
        let bad = match (their_bad, our_bad) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (theirs, bad, cut_error, work, their_work)
    });
    *columns = theirs;
    columns.append(&mut ours);
    cutter.split = Some(rebalance(columns, split, our_work, their_work));
    if let Some((_, _, c, line)) = bad {
        return Err(utf8_error(line, c, &columns[c]));
    }
    cut_error.map_or(Ok(()), Err)
}

/// What a thread of the pipeline worked on an input: in all, and converting.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Default, Clone, Copy)]
struct Work {
    total: std::time::Duration,
    converting: std::time::Duration,
}

#[cfg(not(target_arch = "wasm32"))]
impl Work {
    /// Adds a step that started at `start` and converted from `converting` until now.
    fn add(&mut self, start: std::time::Instant, converting: std::time::Instant) {
        let end = std::time::Instant::now();
        self.total += end - start;
        self.converting += end - converting;
    }
}

/// A column's estimated cost of converting, in units: floats and text (looked up in a
/// dictionary or copied) cost about twice as much as ints and bools (measured on the
/// benchmark's file, one column at a time).
#[cfg(not(target_arch = "wasm32"))]
fn column_cost(column: &ColumnBuilder) -> usize {
    match column.dtype() {
        Some(DType::Str | DType::Float) | None => 2,
        _ => 1,
    }
}

/// Where to split the columns between the converting thread (before) and the cutting one
/// (after) at first: the cutting thread takes the last columns, about a tenth of the
/// estimated cost of converting, or a fifth when the converting thread also hashes.
/// (Measured on the benchmark's file streamed from memory: cutting costs about as much as
/// converting every column, and hashing a quarter of that.)
#[cfg(not(target_arch = "wasm32"))]
fn split_point(columns: &[ColumnBuilder], hashing: bool) -> usize {
    let tenths_ours = if hashing { 2 } else { 1 };
    let total: usize = columns.iter().map(column_cost).sum();
    let mut ours = 0;
    let mut split = columns.len();
    while split > 0 && (ours + column_cost(&columns[split - 1])) * 10 <= total * tenths_ours {
        split -= 1;
        ours += column_cost(&columns[split]);
    }
    split
}

/// The split for the next input, after one split at `split` in which the cutting thread
/// worked `ours` and the converting one `theirs`: columns move to the thread that worked
/// less while moving one narrows the gap, each costing its share of the time the two spent
/// converting.
#[cfg(not(target_arch = "wasm32"))]
fn rebalance(columns: &[ColumnBuilder], split: usize, ours: Work, theirs: Work) -> usize {
    let units: usize = columns.iter().map(column_cost).sum();
    let per_unit = (ours.converting + theirs.converting).as_secs_f64() / units.max(1) as f64;
    let cost = |column: &ColumnBuilder| column_cost(column) as f64 * per_unit;
    // Above zero when the converting thread worked more.
    let mut gap = theirs.total.as_secs_f64() - ours.total.as_secs_f64();
    let mut split = split;
    loop {
        if gap > 0.0 && split > 0 && cost(&columns[split - 1]) < gap {
            split -= 1;
            gap -= 2.0 * cost(&columns[split]);
        } else if gap < 0.0 && split < columns.len() && cost(&columns[split]) < -gap {
            gap += 2.0 * cost(&columns[split]);
            split += 1;
        } else {
            return split;
        }
    }
}

impl Cutter {
    /// Cuts the next batch of records from `input` at `pos`, from a window of it (see
    /// [`WINDOW`]). Gives whether more records may follow in `input`, and the error that
    /// stopped it, if any.
    fn fill(
        &mut self,
        input: &[u8],
        eof: bool,
        pos: &mut usize,
        batch: &mut Batch,
    ) -> (bool, Option<LoadError>) {
        let mut size = WINDOW;
        loop {
            let base = *pos;
            let end = input.len().min(base.saturating_add(size));
            let last = end == input.len();
            let mut read = 0;
            let (more, error) = self.fill_window(&input[base..end], eof && last, &mut read, batch);
            *pos = base + read;
            batch.base = base;
            if more || error.is_some() || last {
                return (more, error);
            }
            if read > 0 {
                // The window ended first; the next batch goes on from here.
                return (true, None);
            }
            // One record is longer than the window. (Longer than `MAX_RECORD`, it is an
            // error here as when it builds up in `pending` from chunks.)
            if size >= MAX_RECORD {
                return (false, Some(record_too_long(self.line)));
            }
            size *= 2;
        }
    }

    /// Cuts the next batch of records from `input` (a window): plain ones on the fast
    /// path, the others (quotes, padding, the input's end) one at a time. Gives whether
    /// more records may follow in `input`, and the error that stopped it, if any.
    fn fill_window(
        &mut self,
        input: &[u8],
        eof: bool,
        pos: &mut usize,
        batch: &mut Batch,
    ) -> (bool, Option<LoadError>) {
        batch.clear();
        loop {
            plain_records(
                input,
                pos,
                self.delimiter,
                &self.stops,
                batch,
                &mut self.line,
            );
            if batch.rows() >= BATCH {
                return (true, None);
            }
            if *pos >= input.len() {
                return (false, None);
            }
            batch.record.clear();
            let step = tokenize(
                input,
                *pos,
                eof,
                self.delimiter,
                &self.stops,
                &mut batch.record,
                &mut batch.scratch,
                self.line,
            );
            match step {
                Err(e) => return (false, Some(e)),
                Ok(Step::Incomplete) => return (false, None),
                Ok(Step::Record {
                    next,
                    newlines,
                    blank,
                }) => {
                    if !blank {
                        if batch.record.len() != batch.width {
                            let error = LoadError::Ragged {
                                line: self.line,
                                expected: batch.width,
                                found: batch.record.len(),
                            };
                            return (false, Some(error));
                        }
                        batch.push_record(self.line);
                    }
                    self.line += 1 + newlines;
                    *pos = next;
                }
            }
        }
    }
}

fn record_too_long(line: u64) -> LoadError {
    LoadError::Malformed {
        line,
        message: format!(
            "a record runs past {} MiB; is a quote left open?",
            MAX_RECORD >> 20
        ),
    }
}

/// Converts a batch: each column takes its field of every record.
fn convert(
    columns: &mut [ColumnBuilder],
    input: &[u8],
    batch: &Batch,
    nulls: &Nulls,
) -> Result<(), LoadError> {
    match convert_part(columns, 0, input, batch, nulls) {
        Some((row, c)) => Err(utf8_error(batch.lines[row], c, &columns[c])),
        None => Ok(()),
    }
}

fn utf8_error(line: u64, c: usize, column: &ColumnBuilder) -> LoadError {
    LoadError::InvalidUtf8 {
        line,
        column: c + 1,
        name: Some(column.name.clone()),
    }
}

/// Converts the batch's fields of `columns`, which are the file's columns from `first` on.
/// Gives the first field that is not UTF-8 in file order (row, then column), if any.
fn convert_part(
    columns: &mut [ColumnBuilder],
    first: usize,
    input: &[u8],
    batch: &Batch,
    nulls: &Nulls,
) -> Option<(usize, usize)> {
    let lines = &batch.lines;
    if lines.is_empty() {
        return None;
    }
    let window = &input[batch.base..];
    let mut bad: Option<(usize, usize)> = None;
    for (i, column) in columns.iter_mut().enumerate() {
        let c = first + i;
        let spans = &batch.spans[c * BATCH..c * BATCH + lines.len()];
        let field = |r: usize| text(window, &batch.scratch, spans[r]);
        if let Err(row) = column.push_texts(field, nulls, lines) {
            if bad.is_none_or(|b| (row, c) < b) {
                bad = Some((row, c));
            }
        }
    }
    bad
}

/// Records cut from the input, waiting to be converted.
#[derive(Default)]
struct Batch {
    width: usize,
    /// Where in the input the window the records were cut from starts.
    base: usize,
    /// Column by column: field `f` of record `r` is at `spans[f * BATCH + r]`.
    spans: Vec<Span>,
    /// Unescaped quoted fields.
    scratch: Vec<u8>,
    /// Each record's line; as many as there are records.
    lines: Vec<u64>,
    /// One record from the careful tokenizer, field by field.
    record: Vec<Span>,
}

impl Batch {
    fn reset(&mut self, width: usize) {
        self.width = width;
        self.spans.clear();
        self.spans.resize(width * BATCH, Span { start: 0, end: 0 });
        self.clear();
    }

    fn clear(&mut self) {
        self.scratch.clear();
        self.lines.clear();
    }

    fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Adds `self.record` (of `width` fields) as the next record.
    fn push_record(&mut self, line: u64) {
        let row = self.rows();
        for (f, &span) in self.record.iter().enumerate() {
            self.spans[f * BATCH + row] = span;
        }
        self.lines.push(line);
    }
}

/// The fast path: cuts records without quotes or spaces at field edges into the batch,
/// until it is full or a record needs [`tokenize`] (which also decides about the input's
/// end and reports ragged records).
#[inline]
fn plain_records(
    input: &[u8],
    pos: &mut usize,
    delimiter: u8,
    stops: &[bool; 256],
    batch: &mut Batch,
    line: &mut u64,
) {
    let len = input.len();
    let width = batch.width;
    let mut scan = StopScan::new(delimiter);
    'records: while batch.lines.len() < BATCH {
        let row = batch.lines.len();
        let mut start = *pos;
        let mut field = 0;
        loop {
            if start < len && (input[start] == b'"' || is_space(input[start], delimiter)) {
                return;
            }
            let end = scan.next(input, start, stops);
            if end >= len || field >= width || (end > start && is_space(input[end - 1], delimiter))
            {
                return;
            }
            batch.spans[field * BATCH + row] = Span::new(start, end);
            field += 1;
            let b = input[end];
            if b == delimiter {
                start = end + 1;
                continue;
            }
            let next = if b == b'\r' {
                match input.get(end + 1) {
                    None => return,
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                }
            } else {
                end + 1
            };
            if field == 1 && end == start {
                // A blank line.
                *line += 1;
                *pos = next;
                continue 'records;
            }
            if field != width {
                return;
            }
            batch.lines.push(*line);
            *line += 1;
            *pos = next;
            continue 'records;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes where delimiters, line ends and their neighbours in value (0x0B, 0x2B, 0x2D,
    /// bytes with the high bit set) are frequent, to catch carries between bytes.
    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        const ALPHABET: &[u8] = b",\n\r\x0b\x0c\x2b\x2d\x00\x01\x80\x8a\xac\xffa1;\t \"";
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ALPHABET[(state >> 33) as usize % ALPHABET.len()]
            })
            .collect()
    }

    /// Natively, however the columns are split between the two threads, and however the
    /// split moves from one chunk to the next, the frame and its diagnostics are those of
    /// a load on one thread.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_split_between_threads_changes_nothing() {
        let mut text = String::from("id,city,score,late_float,late_str,flag,note\n");
        for i in 0..60_000u64 {
            let city = ["Oslo", "Lima", "", "Porto"][(i % 4) as usize];
            let late_float = if i == 41_000 {
                "0.25".into()
            } else {
                i.to_string()
            };
            let late_str = if i == 50_000 {
                "n/a?".into()
            } else {
                (i * 7).to_string()
            };
            let flag = if i % 3 == 0 { "true" } else { "FALSE" };
            let note = if i % 11 == 0 {
                "\"a, \"\"b\"\"\""
            } else {
                "plain"
            };
            text.push_str(&format!(
                "{i},{city},{}.{},{late_float},{late_str},{flag},{note}\n",
                i % 997,
                i % 100
            ));
        }
        let load = |chunk: usize, split: Option<usize>| {
            let mut parser = CsvParser::new(b',', &LoadOptions::default());
            let mut splits = Vec::new();
            for piece in text.as_bytes().chunks(chunk) {
                if parser.columns.is_some() && parser.cutter.split.is_none() {
                    parser.cutter.split = split;
                }
                parser.push(piece, None).unwrap();
                splits.extend(parser.cutter.split);
            }
            (parser.finish().unwrap(), splits)
        };
        // Chunks below the two-thread threshold: one thread throughout.
        let (serial, splits) = load(100_000, None);
        assert!(splits.is_empty());
        assert_eq!(serial.frame.row_count(), 60_000);
        assert_eq!(serial.diagnostics.len(), 1, "{:?}", serial.diagnostics);
        for start in [None, Some(0), Some(3), Some(7)] {
            let (loaded, splits) = load(300_000, start);
            assert!(splits.len() >= 3, "{splits:?}");
            assert_eq!(loaded, serial, "starting from {start:?}, then {splits:?}");
        }
        // The whole text in one push: the split moves as the pipeline settles on the way.
        for start in [Some(0), Some(7)] {
            let mut parser = CsvParser::new(b',', &LoadOptions::default());
            let (header, rest) = text.as_bytes().split_at(text.find('\n').unwrap() + 1);
            parser.push(header, None).unwrap();
            parser.cutter.split = start;
            parser.cutter.settle_every = 64 << 10;
            parser.push(rest, None).unwrap();
            assert!(parser.cutter.settles >= 2, "{}", parser.cutter.settles);
            assert_eq!(parser.finish().unwrap(), serial, "starting from {start:?}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn columns_move_to_the_thread_that_worked_less_until_the_gap_would_widen() {
        use std::time::Duration;
        let ints: Vec<ColumnBuilder> = (0..6)
            .map(|i| ColumnBuilder::new(format!("c{i}"), Some(DType::Int)))
            .collect();
        let work = |total_ms: u64, converting_ms: u64| Work {
            total: Duration::from_millis(total_ms),
            converting: Duration::from_millis(converting_ms),
        };
        // 6 ms converting in all, over 6 columns alike: 1 ms a column. The cutting thread
        // worked 4 ms more; two columns to the converting thread close the gap.
        assert_eq!(rebalance(&ints, 1, work(7, 3), work(3, 3)), 3);
        // The other way round, down to none for the converting thread.
        assert_eq!(rebalance(&ints, 3, work(3, 3), work(7, 3)), 1);
        assert_eq!(rebalance(&ints, 1, work(3, 3), work(9, 3)), 0);
        // A gap below a column's cost stays: moving one would widen it.
        assert_eq!(rebalance(&ints, 2, work(5, 3), work(4, 3)), 2);
        // Floats cost twice as much: one moves for a gap of 3 (per unit 0.75 ms).
        let floats: Vec<ColumnBuilder> = (0..4)
            .map(|i| ColumnBuilder::new(format!("f{i}"), Some(DType::Float)))
            .collect();
        assert_eq!(rebalance(&floats, 2, work(7, 3), work(4, 3)), 3);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_block_scan_finds_every_stop_and_nothing_else() {
        for (delimiter, seed) in [(b',', 1), (b';', 2), (b'\t', 3), (0x8a, 4), (0x00, 5)] {
            let input = bytes(1000, seed);
            let mut stops = [false; 256];
            for b in [delimiter, b'\n', b'\r'] {
                stops[usize::from(b)] = true;
            }
            let naive = |p: usize| {
                (p..input.len())
                    .find(|&q| stops[usize::from(input[q])])
                    .unwrap_or(input.len())
            };
            let mut scan = StopScan::new(delimiter);
            // Every start, in order (as the fast path asks) and from fresh scans.
            let mut p = 0;
            while p < input.len() {
                let q = scan.next(&input, p, &stops);
                assert_eq!(q, naive(p), "delimiter {delimiter:#x}, from {p}");
                assert_eq!(StopScan::new(delimiter).next(&input, p, &stops), q);
                p = if q == p { p + 1 } else { p + (q - p) / 2 + 1 };
            }
        }
    }
}
