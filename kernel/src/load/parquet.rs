//! Parquet → frame, with the `parquet` crate's pure-Rust codecs (snappy, gzip, lz4,
//! brotli; not zstd, whose only implementation the crate offers is C and does not build
//! for the browser). A Parquet file's index is its footer, so the bytes are buffered until
//! `finish` and decoded column by column, row group by row group.
//!
//! Types: booleans → bool; integers → int (dates, timestamps → datetime; decimals →
//! float); floats and doubles → float; UTF-8 byte arrays → str. Nested columns (lists,
//! maps) and other binary columns are left out, with a diagnostic.
//!
//! Codecs: only those of [`reads_codec`], on every platform. Natively the same `parquet`
//! package may have zstd (the server enables it, and cargo unifies features), but a file
//! that loads in `oxbook run` and not in the browser would be a trap; the error says to
//! upload the file to the dataset store, which converts it.
//!
//! Broken files: the crate trusts some lengths it reads, and a panic in the browser kills
//! the worker, so the footer's offsets and every page are checked here before the crate
//! decodes them (see [`CheckedPages`]); `tests/parquet.rs` feeds thousands of truncated
//! and mutated files to find what still needs checking.

use std::collections::BTreeMap;

use parquet::basic::{Compression, Encoding, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::page::{Page, PageMetadata, PageReader};
use parquet::column::reader::{get_column_reader, ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::{ColumnDescPtr, ColumnDescriptor};

use super::infer::{ColumnBuilder, Value};
use super::{build_frame, check_types, Diagnostic, LoadError, LoadOptions, Loaded};
use crate::frame::DType;

/// Values read per call of the column reader.
const BATCH: usize = 8192;

pub(crate) struct ParquetBuffer {
    bytes: Vec<u8>,
    types: BTreeMap<String, DType>,
}

/// How a kept column's physical values become the kernel's.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Plain,
    /// Days since the epoch.
    Date,
    /// Units per millisecond (1 for millis, 1000 for micros, 1e6 for nanos).
    Timestamp(i64),
    /// Divide by 10^scale.
    Decimal(i32),
    Unsigned,
    Utf8,
}

fn error(e: ParquetError) -> LoadError {
    LoadError::Parquet(e.to_string())
}

/// Whether the kernel decodes Parquet pages compressed with `codec`, in the browser and
/// natively alike: uncompressed, snappy, gzip, lz4 (framed and raw) and brotli. Not zstd
/// (the crate's only zstd is C, which does not build for wasm32) nor LZO (which the crate
/// does not read at all). The server's dataset store converts files in other codecs.
pub fn reads_codec(codec: Compression) -> bool {
    matches!(
        codec,
        Compression::UNCOMPRESSED
            | Compression::SNAPPY
            | Compression::GZIP(_)
            | Compression::LZ4
            | Compression::LZ4_RAW
            | Compression::BROTLI(_)
    )
}

/// The name a codec goes by (`ZSTD`, not `ZSTD(ZstdLevel(1))`: a reader has no level).
pub fn codec_name(codec: Compression) -> String {
    let name = codec.to_string();
    match name.split_once('(') {
        Some((base, _)) => base.to_string(),
        None => name,
    }
}

/// Checks what the crate would otherwise trust from the footer: that every column chunk
/// lies inside the file (the crate asserts its offsets are not negative), uses a codec
/// the kernel reads, and has no page claiming more than [`MAX_PAGE_BYTES`] uncompressed.
fn check_metadata(metadata: &ParquetMetaData, file: &[u8]) -> Result<(), LoadError> {
    let file_len = file.len() as u64;
    for (group, row_group) in metadata.row_groups().iter().enumerate() {
        if row_group.num_rows() < 0 {
            return Err(LoadError::Parquet(format!(
                "row group {} has a negative row count ({})",
                group + 1,
                row_group.num_rows()
            )));
        }
        for chunk in row_group.columns() {
            let name = chunk.column_descr().path().string();
            let codec = chunk.compression();
            if !reads_codec(codec) {
                return Err(LoadError::Codec {
                    column: name,
                    codec: codec_name(codec),
                    stored: false,
                });
            }
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let length = chunk.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(length).ok())
                .and_then(|(start, length)| start.checked_add(length))
                .is_some_and(|end| end <= file_len);
            if !inside || chunk.num_values() < 0 {
                return Err(LoadError::Parquet(format!(
                    "the footer is corrupt: column '{name}' of row group {} says it has {} \
                     values in {length} bytes at offset {start}, in a file of {file_len} bytes",
                    group + 1,
                    chunk.num_values()
                )));
            }
            // Inside the file, as just checked.
            let (start, end) = (start as usize, (start + length) as usize);
            if let Some(size) = oversized_page(&file[start..end]) {
                return Err(LoadError::Parquet(format!(
                    "a page of column '{name}' says it holds {size} bytes uncompressed, more \
                     than the {} MiB the kernel takes in one page",
                    MAX_PAGE_BYTES >> 20
                )));
            }
        }
    }
    Ok(())
}

/// The most bytes one page may decompress to. The crate allocates what a page's header
/// says before decompressing it, up to 2 GiB; in the browser a failed allocation aborts
/// the worker. Writers cut pages at about 1 MiB.
const MAX_PAGE_BYTES: i64 = 256 << 20;

/// The uncompressed size of the first page in `chunk` (a column chunk's bytes) whose
/// header says more than [`MAX_PAGE_BYTES`]. Headers are read as far as they parse: one
/// that does not is left to the crate, which reports it.
fn oversized_page(chunk: &[u8]) -> Option<i64> {
    let mut at = 0usize;
    while at < chunk.len() {
        let mut thrift = Thrift {
            data: &chunk[at..],
            at: 0,
        };
        let (uncompressed, compressed) = thrift.page_sizes()?;
        if uncompressed > MAX_PAGE_BYTES {
            return Some(uncompressed);
        }
        at = at
            .checked_add(thrift.at)?
            .checked_add(usize::try_from(compressed).ok()?)?;
    }
    None
}

/// Just enough of Thrift's compact protocol to read a page header's sizes and skip the
/// rest of it.
struct Thrift<'a> {
    data: &'a [u8],
    at: usize,
}

impl Thrift<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.data.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn varint(&mut self) -> Option<u64> {
        leb128(self.data, &mut self.at).ok()
    }

    fn zigzag(&mut self) -> Option<i64> {
        self.varint().map(zigzag)
    }

    /// PageHeader: field 2 is the uncompressed size, field 3 the compressed size.
    fn page_sizes(&mut self) -> Option<(i64, i64)> {
        let (mut uncompressed, mut compressed) = (None, None);
        let mut field = 0i64;
        loop {
            let header = self.byte()?;
            if header == 0 {
                break;
            }
            let kind = header & 0x0F;
            field = match header >> 4 {
                0 => self.zigzag()?,
                delta => field + i64::from(delta),
            };
            match (field, kind) {
                (2, 5) => uncompressed = Some(self.zigzag()?),
                (3, 5) => compressed = Some(self.zigzag()?),
                _ => self.skip(kind, 0)?,
            }
        }
        Some((uncompressed?, compressed?))
    }

    fn skip(&mut self, kind: u8, depth: u32) -> Option<()> {
        if depth > 16 {
            return None;
        }
        match kind {
            // Booleans carry their value in the field header.
            1 | 2 => {}
            3 => {
                self.byte()?;
            }
            4..=6 => {
                self.varint()?;
            }
            7 => self.at = self.at.checked_add(8).filter(|&at| at <= self.data.len())?,
            8 => {
                let length = usize::try_from(self.varint()?).ok()?;
                self.at = self
                    .at
                    .checked_add(length)
                    .filter(|&at| at <= self.data.len())?;
            }
            9 | 10 => {
                let header = self.byte()?;
                let count = match header >> 4 {
                    15 => self.varint()?,
                    count => u64::from(count),
                };
                for _ in 0..count {
                    // A list's booleans are a byte each.
                    match header & 0x0F {
                        1 | 2 => {
                            self.byte()?;
                        }
                        element => self.skip(element, depth + 1)?,
                    }
                }
            }
            11 => {
                let count = self.varint()?;
                if count > 0 {
                    let kinds = self.byte()?;
                    for _ in 0..count {
                        for kind in [kinds >> 4, kinds & 0x0F] {
                            match kind {
                                1 | 2 => {
                                    self.byte()?;
                                }
                                kind => self.skip(kind, depth + 1)?,
                            }
                        }
                    }
                }
            }
            12 => {
                loop {
                    let header = self.byte()?;
                    if header == 0 {
                        break;
                    }
                    // A field id too large for a delta follows its header.
                    if header >> 4 == 0 {
                        self.zigzag()?;
                    }
                    self.skip(header & 0x0F, depth + 1)?;
                }
            }
            _ => return None,
        }
        Some(())
    }
}

/// A column chunk's pages, each checked before the crate's decoders see it: the crate
/// slices by the lengths a page says it has, and some of its decoders panic (rather than
/// fail) when those lengths are wrong. A failed check is an error naming the problem.
struct CheckedPages {
    pages: Box<dyn PageReader>,
    column: ColumnDescPtr,
    /// The chunk's value count from the footer, which no page may exceed.
    chunk_values: u64,
    /// Whether a dictionary page came: dictionary-encoded pages need one before them.
    dictionary: bool,
}

fn corrupt(message: String) -> ParquetError {
    ParquetError::General(message)
}

/// The bits a level of at most `max` takes.
fn level_width(max: i16) -> usize {
    (16 - max.leading_zeros()) as usize
}

impl CheckedPages {
    fn check(&mut self, page: &Page) -> Result<(), ParquetError> {
        let name = self.column.path().string();
        self.check_page(page)
            .map_err(|e| corrupt(format!("a page of column '{name}' is corrupt: {e}")))
    }

    fn check_page(&mut self, page: &Page) -> Result<(), String> {
        let physical = self.column.physical_type();
        let (max_rep, max_def) = (self.column.max_rep_level(), self.column.max_def_level());
        let (buf, num_values, encoding, levels_end, present) = match page {
            Page::DictionaryPage {
                buf,
                num_values,
                encoding,
                ..
            } => {
                self.dictionary = true;
                if physical == PhysicalType::BYTE_ARRAY
                    && matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY)
                {
                    check_plain_byte_arrays(buf, u64::from(*num_values))?;
                }
                return Ok(());
            }
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                ..
            } => {
                // Each level run: its length (RLE, with a 4-byte prefix) or a fixed size
                // (the deprecated BIT_PACKED), as the crate reads them.
                let mut offset = 0;
                let mut present = u64::from(*num_values);
                for (max, level_encoding, definition) in [
                    (max_rep, *rep_level_encoding, false),
                    (max_def, *def_level_encoding, true),
                ] {
                    if max == 0 {
                        continue;
                    }
                    let rest = &buf[offset.min(buf.len())..];
                    let width = level_width(max);
                    #[allow(deprecated)]
                    let (len, count) = if level_encoding == Encoding::BIT_PACKED {
                        let len = (*num_values as usize)
                            .checked_mul(width)
                            .ok_or("too many levels")?
                            .div_ceil(8);
                        let levels = rest.get(..len).ok_or("the levels run past the page")?;
                        // An upper bound: with one bit per level, the set bits.
                        let ones: u64 = levels.iter().map(|b| u64::from(b.count_ones())).sum();
                        let count = if width == 1 {
                            ones.min(u64::from(*num_values))
                        } else {
                            u64::from(*num_values)
                        };
                        (len, count)
                    } else {
                        let prefix: [u8; 4] = rest
                            .get(..4)
                            .and_then(|p| p.try_into().ok())
                            .ok_or("the levels run past the page")?;
                        let len = u32::from_le_bytes(prefix) as usize;
                        let levels = rest
                            .get(4..4usize.saturating_add(len))
                            .ok_or("the levels run past the page")?;
                        (4 + len, count_levels(levels, width, *num_values, max)?)
                    };
                    offset += len;
                    if definition {
                        present = count;
                    }
                }
                (buf, *num_values, *encoding, offset, present)
            }
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                def_levels_byte_len,
                rep_levels_byte_len,
                ..
            } => {
                let rep_end = *rep_levels_byte_len as usize;
                let def_end = rep_end.saturating_add(*def_levels_byte_len as usize);
                if def_end > buf.len() {
                    return Err("the levels run past the page".into());
                }
                if max_rep > 0 {
                    count_levels(&buf[..rep_end], level_width(max_rep), *num_values, max_rep)?;
                }
                let present = if max_def > 0 {
                    let levels = &buf[rep_end..def_end];
                    count_levels(levels, level_width(max_def), *num_values, max_def)?
                } else {
                    u64::from(*num_values)
                };
                (buf, *num_values, *encoding, def_end, present)
            }
        };
        if u64::from(num_values) > self.chunk_values {
            return Err(format!(
                "it says it has {num_values} values, more than its column chunk's {}",
                self.chunk_values
            ));
        }
        let values = &buf[levels_end..];
        match encoding {
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
                if !self.dictionary {
                    return Err("it is dictionary-encoded, but no dictionary came before it".into());
                }
                if present > 0 {
                    let (&width, indices) = values.split_first().ok_or("no dictionary indices")?;
                    count_levels(indices, usize::from(width), present as u32, 0)?;
                }
                Ok(())
            }
            Encoding::PLAIN if physical == PhysicalType::BYTE_ARRAY => {
                check_plain_byte_arrays(values, present)
            }
            Encoding::DELTA_BINARY_PACKED => {
                let bits = match physical {
                    PhysicalType::INT32 => 32,
                    PhysicalType::INT64 => 64,
                    // The crate refuses it for other types.
                    _ => return Ok(()),
                };
                let (count, _) = delta_binary_packed(values, num_values, bits, |_| Ok(()))?;
                enough(count, present)
            }
            Encoding::DELTA_LENGTH_BYTE_ARRAY => {
                enough(check_delta_lengths(values, num_values)?, present)
            }
            Encoding::DELTA_BYTE_ARRAY => {
                // Prefix lengths, then the suffixes as DELTA_LENGTH_BYTE_ARRAY. The
                // crate checks each prefix against the value before it, but takes a
                // missing suffix for an empty value it then panics on.
                let (count, end) = delta_binary_packed(values, num_values, 32, |_| Ok(()))?;
                enough(count, present)?;
                let suffixes = values
                    .get(end..)
                    .ok_or("the prefix lengths run past the page")?;
                enough(check_delta_lengths(suffixes, num_values)?, present)
            }
            Encoding::BYTE_STREAM_SPLIT => {
                let size = match physical {
                    PhysicalType::INT32 | PhysicalType::FLOAT => 4,
                    PhysicalType::INT64 | PhysicalType::DOUBLE => 8,
                    other => return Err(format!("BYTE_STREAM_SPLIT values of type {other}")),
                };
                // The crate reads value i's bytes at i, i + n, i + 2n, ... for n values.
                enough((values.len() / size) as u64, present)
            }
            _ => Ok(()),
        }
    }
}

fn enough(found: u64, needed: u64) -> Result<(), String> {
    if found < needed {
        return Err(format!(
            "it holds {found} values where its levels say {needed}"
        ));
    }
    Ok(())
}

/// PLAIN byte arrays: each a 4-byte length and that many bytes; `count` of them must fit.
fn check_plain_byte_arrays(data: &[u8], count: u64) -> Result<(), String> {
    let mut at = 0usize;
    for index in 0..count {
        let prefix: [u8; 4] = data
            .get(at..at.saturating_add(4))
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| format!("value {} of {count} is missing", index + 1))?;
        let end = (at + 4).saturating_add(u32::from_le_bytes(prefix) as usize);
        if end > data.len() {
            return Err(format!("value {} of {count} runs past the page", index + 1));
        }
        at = end;
    }
    Ok(())
}

/// Walks an RLE/bit-packed hybrid run of `count` values of `width` bits (levels, or
/// dictionary indices) and counts those equal to `max`. A run cut short ends the count
/// there, as it ends the crate's; what must fail is what the crate would panic on: a
/// run header longer than 10 bytes.
fn count_levels(data: &[u8], width: usize, count: u32, max: i16) -> Result<u64, String> {
    if width > 32 {
        return Err(format!("a bit width of {width}"));
    }
    let mut bits = Bits {
        data,
        bit: 0,
        overlong: false,
    };
    let (mut seen, mut matching) = (0u64, 0u64);
    let target = u64::try_from(max).unwrap_or(u64::MAX);
    while seen < u64::from(count) {
        let header = match bits.vlq() {
            Ok(header) => header,
            Err(e) if bits.overlong => return Err(e),
            // The run ends with the data.
            Err(_) => break,
        };
        let header = header as u64;
        if header & 1 == 1 {
            // Bit-packed: groups of 8 values.
            let values = (header >> 1).saturating_mul(8);
            for _ in 0..values.min(u64::from(count) - seen) {
                let Ok(value) = bits.take(width) else {
                    return Ok(matching);
                };
                matching += u64::from(value == target);
                seen += 1;
            }
            bits.align();
        } else {
            // A run of one value, stored in whole bytes.
            let run = (header >> 1).min(u64::from(count) - seen);
            let bytes = width.div_ceil(8);
            let start = bits.bit / 8;
            let Some(stored) = data.get(start..start + bytes) else {
                break;
            };
            let value = stored
                .iter()
                .rev()
                .fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
            bits.bit = (start + bytes) * 8;
            if value == target {
                matching += run;
            }
            seen += run;
            if header >> 1 == 0 {
                // An empty run: the crate reads the next header, as here; nothing to count.
                continue;
            }
        }
    }
    Ok(matching)
}

/// DELTA_LENGTH_BYTE_ARRAY: the lengths (DELTA_BINARY_PACKED) must be non-negative and
/// fit in the bytes after them. Returns how many values there are.
fn check_delta_lengths(data: &[u8], num_values: u32) -> Result<u64, String> {
    let mut total: u64 = 0;
    let (count, end) = delta_binary_packed(data, num_values, 32, |length| {
        total += u64::try_from(length).map_err(|_| format!("negative length {length}"))?;
        Ok(())
    })?;
    let room = data.len().saturating_sub(end) as u64;
    if end > data.len() || total > room {
        return Err(format!(
            "its values' lengths add up to {total} bytes, but {room} follow them"
        ));
    }
    Ok(count)
}

/// Walks a DELTA_BINARY_PACKED run of `bits`-bit values (32 or 64) exactly as the crate's
/// decoder does, handing each value to `each`; returns how many values the run holds and
/// the offset where the crate takes it to end (which may lie past `data` when the run is
/// corrupt). Fails where the crate would fail, and also where it would panic, loop or
/// allocate for more values than the page has.
fn delta_binary_packed(
    data: &[u8],
    max_values: u32,
    bits_per_value: usize,
    mut each: impl FnMut(i64) -> Result<(), String>,
) -> Result<(u64, usize), String> {
    let narrow = |value: i64, what: &str| -> Result<i64, String> {
        if bits_per_value == 32 && i32::try_from(value).is_err() {
            return Err(format!("{what} too large"));
        }
        Ok(value)
    };
    let mut bits = Bits {
        data,
        bit: 0,
        overlong: false,
    };
    let block_size = usize::try_from(bits.vlq()?).map_err(|_| "invalid block size")?;
    let mini_blocks = usize::try_from(bits.vlq()?).map_err(|_| "invalid miniblock count")?;
    let count = usize::try_from(bits.vlq()?).map_err(|_| "invalid value count")?;
    let first = narrow(bits.zigzag()?, "first value")?;
    if mini_blocks == 0
        || block_size == 0
        || !block_size.is_multiple_of(128)
        || !block_size.is_multiple_of(mini_blocks)
        || !(block_size / mini_blocks).is_multiple_of(32)
    {
        return Err(format!(
            "invalid block size {block_size} with {mini_blocks} miniblocks"
        ));
    }
    let per_mini_block = block_size / mini_blocks;
    if count > max_values as usize {
        return Err(format!("{count} values in a page of {max_values}"));
    }
    if count == 0 {
        return Ok((0, bits.byte_offset()));
    }
    each(first)?;
    let wrap = |value: i64| {
        if bits_per_value == 32 {
            i64::from(value as i32)
        } else {
            value
        }
    };
    let mut last = first;
    let mut left = count - 1;
    let mut block_end = 0usize;
    while left > 0 {
        // A block: its minimum delta, one bit width per miniblock, then the miniblocks.
        let min_delta = narrow(bits.zigzag()?, "minimum delta")?;
        bits.align();
        let start = bits.bit / 8;
        let widths = data
            .get(start..start.saturating_add(mini_blocks))
            .ok_or("not enough data for the miniblocks' bit widths")?;
        bits.bit = (start + mini_blocks) * 8;
        // Where the crate takes the block to end: widths of miniblocks past the last
        // value count as 0.
        let mut end = bits.byte_offset();
        let mut remaining = left;
        for &width in widths {
            let width = if remaining == 0 {
                0
            } else {
                usize::from(width)
            };
            remaining = remaining.saturating_sub(per_mini_block);
            end = (width * per_mini_block / 8)
                .checked_add(end)
                .ok_or("block too large")?;
        }
        block_end = end;
        for &width in widths {
            if left == 0 {
                break;
            }
            let width = usize::from(width);
            if width > bits_per_value {
                return Err(format!("bit width {width} for {bits_per_value}-bit values"));
            }
            let take = per_mini_block.min(left);
            for _ in 0..take {
                let delta = bits.take(width)? as i64;
                last = wrap(last.wrapping_add(min_delta).wrapping_add(delta));
                each(last)?;
            }
            left -= take;
        }
    }
    Ok((count as u64, bits.byte_offset().max(block_end)))
}

enum Leb128Error {
    Short,
    Overlong,
}

/// The unsigned LEB128 integer at `data[*at..]`, of at most 10 bytes (Thrift's varints and
/// the delta encodings' integers); `at` moves past the bytes read.
fn leb128(data: &[u8], at: &mut usize) -> Result<u64, Leb128Error> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at).ok_or(Leb128Error::Short)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Leb128Error::Overlong)
}

fn zigzag(u: u64) -> i64 {
    (u >> 1) as i64 ^ -((u & 1) as i64)
}

/// A little-endian bit reader, as the crate's.
struct Bits<'a> {
    data: &'a [u8],
    /// Bits read so far.
    bit: usize,
    /// Whether the last integer failed for being longer than 10 bytes.
    overlong: bool,
}

impl Bits<'_> {
    fn byte_offset(&self) -> usize {
        self.bit.div_ceil(8)
    }

    fn align(&mut self) {
        self.bit = self.byte_offset() * 8;
    }

    /// An unsigned LEB128 integer of at most 10 bytes (the crate panics past that).
    fn vlq(&mut self) -> Result<i64, String> {
        self.align();
        let mut at = self.bit / 8;
        let value = leb128(self.data, &mut at);
        self.bit = at * 8;
        match value {
            Ok(value) => Ok(value as i64),
            Err(Leb128Error::Short) => Err("not enough data for an integer".into()),
            Err(Leb128Error::Overlong) => {
                self.overlong = true;
                Err("an integer longer than 10 bytes".into())
            }
        }
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        self.vlq().map(|u| zigzag(u as u64))
    }

    fn take(&mut self, width: usize) -> Result<u64, String> {
        if self.bit + width > self.data.len() * 8 {
            return Err("not enough data for the values".into());
        }
        let mut value: u64 = 0;
        for i in 0..width {
            let bit = self.bit + i;
            value |= u64::from((self.data[bit / 8] >> (bit % 8)) & 1) << i;
        }
        self.bit += width;
        Ok(value)
    }
}

impl Iterator for CheckedPages {
    type Item = Result<Page, ParquetError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl PageReader for CheckedPages {
    fn get_next_page(&mut self) -> Result<Option<Page>, ParquetError> {
        let page = self.pages.get_next_page()?;
        if let Some(page) = &page {
            self.check(page)?;
        }
        Ok(page)
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>, ParquetError> {
        self.pages.peek_next_page()
    }

    fn skip_next_page(&mut self) -> Result<(), ParquetError> {
        self.pages.skip_next_page()
    }

    fn at_record_boundary(&mut self) -> Result<bool, ParquetError> {
        self.pages.at_record_boundary()
    }
}

/// The kind of a flat column, or why it is left out.
fn kind(column: &ColumnDescriptor) -> Result<Kind, String> {
    let physical = column.physical_type();
    let logical = column.logical_type_ref();
    if column.max_rep_level() > 0 {
        return Err("it is a list (nested)".into());
    }
    Ok(match (physical, logical) {
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Date)) => Kind::Date,
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Timestamp(t))) => {
            Kind::Timestamp(match t.unit {
                TimeUnit::MILLIS => 1,
                TimeUnit::MICROS => 1000,
                TimeUnit::NANOS => 1_000_000,
            })
        }
        (PhysicalType::INT32 | PhysicalType::INT64, Some(LogicalType::Decimal(d))) => {
            Kind::Decimal(d.scale)
        }
        (PhysicalType::INT64, Some(LogicalType::Integer(i))) if !i.is_signed => Kind::Unsigned,
        (PhysicalType::BYTE_ARRAY, Some(LogicalType::Decimal(_)))
        | (PhysicalType::FIXED_LEN_BYTE_ARRAY, Some(LogicalType::Decimal(_))) => {
            return Err("decimals stored as bytes are not supported".into())
        }
        (
            PhysicalType::BYTE_ARRAY,
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Kind::Utf8,
        (PhysicalType::BYTE_ARRAY, None)
            if column.converted_type() == parquet::basic::ConvertedType::UTF8 =>
        {
            Kind::Utf8
        }
        // Untyped byte arrays are usually text in files written by pandas and Spark.
        (PhysicalType::BYTE_ARRAY, None) => Kind::Utf8,
        (PhysicalType::BYTE_ARRAY | PhysicalType::FIXED_LEN_BYTE_ARRAY, _) => {
            return Err("binary values are not supported".into())
        }
        _ => Kind::Plain,
    })
}

/// Reads a whole column chunk, handing each value (or null, as `None`) to `push`.
fn read_column<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    max_def: i16,
    mut push: impl FnMut(Option<&T::T>),
) -> Result<(), ParquetError> {
    let mut defs: Vec<i16> = Vec::new();
    let mut values: Vec<T::T> = Vec::new();
    loop {
        defs.clear();
        values.clear();
        let levels = (max_def > 0).then_some(&mut defs);
        let (records, values_read, levels_read) =
            reader.read_records(BATCH, levels, None, &mut values)?;
        if records == 0 {
            return Ok(());
        }
        if max_def > 0 {
            let mut next = values[..values_read].iter();
            for &level in &defs[..levels_read] {
                push(if level == max_def { next.next() } else { None });
            }
        } else {
            values[..values_read].iter().for_each(|v| push(Some(v)));
        }
    }
}

fn push_i64(column: &mut ColumnBuilder, kind: Kind, x: i64, row: u64) {
    let value = match kind {
        Kind::Date => Value::Datetime(x.saturating_mul(86_400_000)),
        Kind::Timestamp(per_ms) => Value::Datetime(x.div_euclid(per_ms)),
        Kind::Decimal(scale) => Value::Float(x as f64 / 10f64.powi(scale)),
        Kind::Unsigned if x < 0 => Value::Float(x as u64 as f64),
        _ => Value::Int(x),
    };
    column.push(value, row);
}

fn read_chunk(
    row_group: &dyn RowGroupReader,
    index: usize,
    kind: Kind,
    column: &mut ColumnBuilder,
    first_row: u64,
) -> Result<(), ParquetError> {
    let chunk = row_group.metadata().column(index);
    let descr = chunk.column_descr_ptr();
    let max_def = descr.max_def_level();
    let pages = CheckedPages {
        pages: row_group.get_column_page_reader(index)?,
        column: descr.clone(),
        chunk_values: u64::try_from(chunk.num_values()).unwrap_or(0),
        dictionary: false,
    };
    let mut row = first_row;
    let mut next = || {
        row += 1;
        row
    };
    match get_column_reader(descr, Box::new(pages)) {
        ColumnReader::BoolColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(v.map_or(Value::Null, |&b| Value::Bool(b)), next())
        }),
        ColumnReader::Int32ColumnReader(mut r) => read_column(&mut r, max_def, |v| match v {
            Some(&x) => push_i64(column, kind, i64::from(x), next()),
            None => column.push(Value::Null, next()),
        }),
        ColumnReader::Int64ColumnReader(mut r) => read_column(&mut r, max_def, |v| match v {
            Some(&x) => push_i64(column, kind, x, next()),
            None => column.push(Value::Null, next()),
        }),
        ColumnReader::Int96ColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(
                v.map_or(Value::Null, |t| Value::Datetime(t.to_millis())),
                next(),
            )
        }),
        ColumnReader::FloatColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(
                v.map_or(Value::Null, |&x| Value::Float(f64::from(x))),
                next(),
            )
        }),
        ColumnReader::DoubleColumnReader(mut r) => read_column(&mut r, max_def, |v| {
            column.push(v.map_or(Value::Null, |&x| Value::Float(x)), next())
        }),
        ColumnReader::ByteArrayColumnReader(mut r) => read_column(&mut r, max_def, |v| match v {
            Some(bytes) => {
                let text = String::from_utf8_lossy(bytes.data());
                column.push(Value::Str(&text), next())
            }
            None => column.push(Value::Null, next()),
        }),
        ColumnReader::FixedLenByteArrayColumnReader(_) => Ok(()),
    }
}

impl ParquetBuffer {
    pub(crate) fn new(options: &LoadOptions) -> ParquetBuffer {
        ParquetBuffer {
            bytes: Vec::new(),
            types: options.types.clone(),
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    /// The frame of the file's columns, asking `cancelled` before each column chunk.
    pub(crate) fn finish(self, cancelled: &dyn Fn() -> bool) -> Result<Loaded, LoadError> {
        if self.bytes.is_empty() {
            return Err(LoadError::Empty {
                format: "Parquet file",
                expected: "a Parquet file",
            });
        }
        let file = bytes::Bytes::from(self.bytes);
        let reader = SerializedFileReader::new(file.clone()).map_err(error)?;
        let metadata = reader.metadata();
        check_metadata(metadata, &file)?;
        let schema = metadata.file_metadata().schema_descr();
        let mut diagnostics = Vec::new();
        let mut kept: Vec<(usize, Kind)> = Vec::new();
        let mut columns: Vec<ColumnBuilder> = Vec::new();
        for index in 0..schema.num_columns() {
            let descr = schema.column(index);
            let name = descr.path().string();
            match kind(&descr) {
                Ok(kind) => {
                    if columns.iter().any(|c| c.name == name) {
                        return Err(LoadError::Parquet(format!(
                            "duplicate column name '{name}'"
                        )));
                    }
                    kept.push((index, kind));
                    let forced = self.types.get(&name).copied();
                    columns.push(ColumnBuilder::new(name, forced));
                }
                Err(why) => diagnostics.push(Diagnostic::column(&name, format!("left out: {why}"))),
            }
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        check_types(&self.types, &names)?;
        let mut rows = 0u64;
        for group in 0..metadata.num_row_groups() {
            let row_group = reader.get_row_group(group).map_err(error)?;
            let group_rows = u64::try_from(row_group.metadata().num_rows()).unwrap_or(0);
            for ((index, kind), column) in kept.iter().zip(&mut columns) {
                if cancelled() {
                    return Err(LoadError::Cancelled);
                }
                read_chunk(row_group.as_ref(), *index, *kind, column, rows).map_err(error)?;
                // A chunk with fewer values than its row group says is a broken file.
                let expected = usize::try_from(rows + group_rows).unwrap_or(usize::MAX);
                if column.len() != expected {
                    return Err(LoadError::Parquet(format!(
                        "column '{}' has {} values in row group {} of {group_rows} rows",
                        column.name,
                        (column.len() as u64).saturating_sub(rows),
                        group + 1
                    )));
                }
            }
            rows += group_rows;
        }
        build_frame(columns, diagnostics)
    }
}
