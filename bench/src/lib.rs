//! Shared by the native benchmarks and their wasm32 twins (`tests/wasm.rs`,
//! `tests/wasm_train.rs`): loading bytes in chunks through the kernel's [`Loader`] and
//! measuring the frame, and the training workload ([`train`]).

pub mod train;

// The allocator of the `oxbook` binary, whose kernel the native benchmarks measure (see
// server/Cargo.toml); declared here, it is every bench binary's.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use oxbook_kernel::{ColumnData, Format, Frame, LoadOptions, Loaded, Loader, Values};

/// The benchmark's data: the demo generator's people, as `generate-demo-data --rows N`
/// writes them (seed 7), so the native and wasm runs read the same bytes.
pub fn demo_csv(rows: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    oxbook_demo::write_people(rows, 7, &mut bytes).expect("writing to memory cannot fail");
    bytes
}

/// Loads `bytes` as CSV, pushing `chunk` bytes at a time, as the browser worker does with
/// a file: unnamed, because the worker hashes the file with WebCrypto, off its thread.
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
    /// Heap bytes the frame's columns hold ([`ColumnData::heap_bytes`]: vectors, bitmaps,
    /// text buffers and dictionaries by capacity; the allocator's own overhead left out).
    pub heap: usize,
    /// The values' raw size: 8 bytes per int, float or datetime, 1 per bool, a string's
    /// UTF-8 length; nulls take nothing.
    pub values: usize,
}

pub fn sizes(frame: &Frame) -> Sizes {
    fn present<T: Copy + Default>(v: &Values<T>, each: usize) -> usize {
        (v.len() - v.null_count()) * each
    }
    let mut total = Sizes { heap: 0, values: 0 };
    for column in frame.columns() {
        let values = match &column.data {
            ColumnData::Float(v) => present(v, 8),
            ColumnData::Int(v) | ColumnData::Datetime(v) => present(v, 8),
            ColumnData::Bool(v) => present(v, 1),
            ColumnData::Str(v) => v.iter().flatten().map(str::len).sum(),
        };
        total.heap += column.data.heap_bytes();
        total.values += values;
    }
    total
}
