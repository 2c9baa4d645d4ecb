//! Shared by the native benchmark (`bench-load`) and its wasm32 twin (`tests/wasm.rs`):
//! loading bytes in chunks through the kernel's [`Loader`], and measuring the frame.

use oxbook_kernel::{ColumnData, Format, Frame, LoadOptions, Loaded, Loader};

/// The benchmark's data: the demo generator's people, as `generate-demo-data --rows N`
/// writes them (seed 7), so the native and wasm runs read the same bytes.
pub fn demo_csv(rows: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    oxbook_demo::write_people(rows, 7, &mut bytes).expect("writing to memory cannot fail");
    bytes
}

/// Loads `bytes` as CSV, pushing `chunk` bytes at a time (as the worker does with a file).
pub fn load_in_chunks(bytes: &[u8], chunk: usize) -> Loaded {
    let mut loader = Loader::new(Format::Csv, LoadOptions::default()).expect("default options");
    loader.size_hint(bytes.len() as u64);
    for part in bytes.chunks(chunk.max(1)) {
        loader.push(part).expect("the benchmark file loads");
    }
    loader.finish().expect("the benchmark file loads")
}

/// What a frame's values take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Heap bytes the frame's columns hold (vectors by capacity, strings by capacity;
    /// the allocator's own overhead left out).
    pub heap: usize,
    /// The values' raw size: 8 bytes per int, float or datetime, 1 per bool, a string's
    /// UTF-8 length; nulls take nothing.
    pub values: usize,
}

pub fn sizes(frame: &Frame) -> Sizes {
    fn slots<T>(v: &Vec<Option<T>>) -> usize {
        v.capacity() * std::mem::size_of::<Option<T>>()
    }
    fn present<T>(v: &[Option<T>], each: usize) -> usize {
        v.iter().filter(|x| x.is_some()).count() * each
    }
    let mut total = Sizes { heap: 0, values: 0 };
    for column in frame.columns() {
        let (heap, values) = match &column.data {
            ColumnData::Float(v) => (slots(v), present(v, 8)),
            ColumnData::Int(v) | ColumnData::Datetime(v) => (slots(v), present(v, 8)),
            ColumnData::Bool(v) => (slots(v), present(v, 1)),
            ColumnData::Str(v) => (
                slots(v) + v.iter().flatten().map(String::capacity).sum::<usize>(),
                v.iter().flatten().map(String::len).sum(),
            ),
            // Columns added later are not measured rather than guessed at.
            #[allow(unreachable_patterns)]
            _ => (0, 0),
        };
        total.heap += heap;
        total.values += values;
    }
    total
}
