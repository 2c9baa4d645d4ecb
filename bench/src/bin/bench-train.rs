//! `bench-train FILE [--repeat N] [--split-out FILE]`: the training benchmark of
//! BENCHMARKS.md, natively (the workload is `oxbook_bench::train`). Prints one JSON line
//! per fit for `bench/run-train-bench.sh`.
//!
//! `--split-out` writes the split's row positions (after dropping nulls) as JSON, so that
//! the scikit-learn side trains and scores on exactly the same rows.

use std::process::ExitCode;
use std::time::Instant;

use oxbook_bench::train;

fn run(path: &str, repeat: usize, split_out: Option<&str>) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let start = Instant::now();
    let data = train::prepare(&bytes).map_err(|e| format!("{path}: {e}"))?;
    eprintln!(
        "prepared {} of {} rows, {} features, {} train / {} test, in {:.3} s",
        data.frame.row_count(),
        data.raw_rows,
        data.features.len(),
        data.train_rows.len(),
        data.test_rows.len(),
        start.elapsed().as_secs_f64()
    );
    if let Some(out) = split_out {
        std::fs::write(out, data.split_json().to_string()).map_err(|e| format!("{out}: {e}"))?;
    }
    let clock = || start.elapsed().as_secs_f64();
    train::run(&data, "oxbook native", repeat, &clock, &mut |line| {
        println!("{line}")
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut repeat = 3;
    let mut split_out = None;
    let usage = "usage: bench-train FILE [--repeat N] [--split-out FILE]";
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => repeat = n,
                None => {
                    eprintln!("--repeat needs a number\n{usage}");
                    return ExitCode::FAILURE;
                }
            },
            "--split-out" => match args.next() {
                Some(file) => split_out = Some(file),
                None => {
                    eprintln!("--split-out needs a file\n{usage}");
                    return ExitCode::FAILURE;
                }
            },
            _ if path.is_none() && !arg.starts_with("--") => path = Some(arg),
            _ => {
                eprintln!("unexpected argument '{arg}'\n{usage}");
                return ExitCode::FAILURE;
            }
        }
    }
    let Some(path) = path else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    match run(&path, repeat, split_out.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-train: {e}");
            ExitCode::FAILURE
        }
    }
}
