//! The native benchmark of loading (see `main.rs`).

use std::process::ExitCode;
use std::time::Instant;

use oxbook_kernel::{Format, LoadOptions, Loader};

/// A field of /proc/self/status in bytes (its values are in kB), 0 where there is none.
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(field)?.strip_prefix(':')?;
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
        })
        .map_or(0, |kb| kb * 1024)
}

fn run(path: &str, chunk: Option<usize>, repeat: usize) -> Result<(), String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{path}: {e}"))?
        .len();
    let rss_before = status_bytes("VmRSS");
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        // Drop the previous frame first, so that peak memory is one load's.
        drop(last.take());
        let start = Instant::now();
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        // Named, as every load from a file or URL is, so the time includes hashing it.
        let mut loader = Loader::new(Format::Csv, LoadOptions::default())
            .map_err(|e| e.to_string())?
            .named(path);
        // Safety: the benchmark's file is not written while it is mapped.
        let mapped = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
            .map_err(|e| format!("{path}: {e}"))?;
        let loaded = match chunk {
            // As the server's runs load a dataset: its bytes whole.
            None => loader.load_all(&mapped),
            // As the browser's worker streams a file, whose size it knows.
            Some(chunk) => {
                loader.size_hint(size);
                mapped
                    .chunks(chunk.max(1))
                    .try_for_each(|part| loader.push(part))
                    .and_then(|()| loader.finish())
            }
        }
        .map_err(|e| e.to_string())?;
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(loaded);
    }
    let loaded = last.expect("at least one run");
    let sizes = oxbook_bench::sizes(&loaded.frame);
    let peak = status_bytes("VmHWM");
    let mb = size as f64 / 1e6;
    println!(
        "native: {} rows × {} columns, {mb:.1} MB in {:.3} s = {:.0} MB/s (best of {repeat})",
        loaded.frame.row_count(),
        loaded.frame.column_names().len(),
        best,
        mb / best
    );
    println!(
        "memory: peak RSS {:.1} MB (before loading {:.1} MB); frame heap {:.1} MB, raw values {:.1} MB ({:.2}×)",
        peak as f64 / 1e6,
        rss_before as f64 / 1e6,
        sizes.heap as f64 / 1e6,
        sizes.values as f64 / 1e6,
        sizes.heap as f64 / sizes.values.max(1) as f64
    );
    for diagnostic in &loaded.diagnostics {
        println!("diagnostic: {diagnostic}");
    }
    println!(
        "{{\"engine\":\"native\",\"bytes\":{size},\"seconds\":{best},\"mb_per_s\":{},\"peak_rss\":{peak},\"rss_before\":{rss_before},\"frame_heap\":{},\"raw_values\":{},\"rows\":{}}}",
        mb / best,
        sizes.heap,
        sizes.values,
        loaded.frame.row_count()
    );
    Ok(())
}

pub fn main() -> ExitCode {
    let mut path = None;
    let mut chunk = None;
    let mut repeat = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let parsed = match arg.as_str() {
            "--chunk" => args
                .next()
                .and_then(|v| v.parse().ok())
                .map(|v| chunk = Some(v)),
            "--repeat" => args.next().and_then(|v| v.parse().ok()).map(|v| repeat = v),
            _ if path.is_none() && !arg.starts_with("--") => {
                path = Some(arg);
                Some(())
            }
            _ => None,
        };
        if parsed.is_none() {
            eprintln!("usage: bench-load FILE [--chunk BYTES] [--repeat N]");
            return ExitCode::from(2);
        }
    }
    let Some(path) = path else {
        eprintln!("usage: bench-load FILE [--chunk BYTES] [--repeat N]");
        return ExitCode::from(2);
    };
    match run(&path, chunk, repeat) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
