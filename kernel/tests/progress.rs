//! Progress and cancelling at the cell boundary: a host's progress callback hears how far
//! long fits have got, and its interrupt stops a fit, a cross-validation or a script loop
//! with a `Cancelled` error while the scope keeps what earlier cells made.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use oxbook_kernel::{FitProgress, Session};
use oxbook_protocol::{CellRun, CellStatus, Effect, Output};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// 60 rows where `label` follows `x` with some overlap, so trees have work to do.
fn data_cell() -> String {
    let mut csv = String::from("x,y,label\n");
    for i in 0..60 {
        let x = (i * 37 % 60) as f64 / 6.0;
        let y = (i * 11 % 13) as f64;
        csv.push_str(&format!("{x},{y},{}\n", x + y / 4.0 > 6.0));
    }
    format!("let df = parse_csv(\"{}\");", csv.replace('\n', "\\n"))
}

fn error_of(run: &CellRun) -> (&str, &str) {
    match run.outputs.iter().find_map(|o| match o {
        Output::Error(e) => Some(e),
        _ => None,
    }) {
        Some(e) => (e.ename.as_str(), e.message.as_str()),
        None => panic!("no error in {:?}", run.outputs),
    }
}

/// A session whose interrupt answers `true` once `stop_after` progress reports arrived.
fn watched(stop_after: usize) -> (Session, Rc<RefCell<Vec<FitProgress>>>) {
    let mut session = Session::new();
    let heard = Rc::new(RefCell::new(Vec::new()));
    let reported = heard.clone();
    session.set_progress(move |p| reported.borrow_mut().push(p));
    let asked = heard.clone();
    session.set_interrupt(move || asked.borrow().len() >= stop_after);
    let run = session.execute("data", &data_cell());
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    (session, heard)
}

#[test]
fn a_fit_reports_progress_per_tree() {
    let (mut s, heard) = watched(usize::MAX);
    let run = s.execute(
        "fit",
        r#"random_forest(df, ["x", "y"], "label", #{trees: 7, seed: 1})"#,
    );
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let heard = heard.borrow();
    let done: Vec<usize> = heard.iter().map(|p| p.done).collect();
    assert_eq!(done, (1..=7).collect::<Vec<_>>());
    assert!(heard.iter().all(|p| p.total == 7 && p.unit == "trees"));
}

#[test]
fn cancelling_a_fit_stops_it_and_keeps_the_scope() {
    let (mut s, heard) = watched(3);
    let run = s.execute(
        "fit",
        r#"let before = 41 + 1;
           let m = random_forest(df, ["x", "y"], "label", #{trees: 50, seed: 1});
           "not reached""#,
    );
    assert_eq!(run.status, CellStatus::Failed);
    let (ename, message) = error_of(&run);
    assert_eq!(ename, "Cancelled");
    assert!(
        message.contains("cancelled after 3 of 50 trees"),
        "{message}"
    );
    assert_eq!(
        heard.borrow().len(),
        3,
        "the fit went on after the interrupt"
    );
    // Nothing was recorded for the cancelled fit, and the session still works.
    assert!(!run
        .effects
        .iter()
        .any(|e| matches!(e, Effect::RecordRun { .. })));
    let after = s.execute("after", "before + df.rows()");
    assert_eq!(after.status, CellStatus::Done, "{:?}", after.outputs);
    assert_eq!(after.outputs, vec![Output::text("102")]);
}

#[test]
fn cancelling_a_cross_validation_names_the_fold() {
    let (mut s, _) = watched(2);
    let run = s.execute(
        "cv",
        r#"cross_validate(df, "logistic_regression", ["x", "y"], "label", #{}, #{folds: 5})"#,
    );
    let (ename, message) = error_of(&run);
    assert_eq!(ename, "Cancelled", "{message}");
    assert!(message.contains("cancelled"), "{message}");
}

/// A session whose interrupt says stop the fourth time it is asked, and how often it was.
fn stopped_on_the_fourth_question() -> (Session, Rc<Cell<u32>>) {
    let mut s = Session::new();
    let asked = Rc::new(Cell::new(0u32));
    let counter = asked.clone();
    s.set_interrupt(move || {
        counter.set(counter.get() + 1);
        counter.get() > 3
    });
    (s, asked)
}

#[test]
fn cancelling_stops_an_endless_script_loop() {
    let (mut s, asked) = stopped_on_the_fourth_question();
    let run = s.execute("loop", "let n = 0; loop { n += 1; }");
    assert_eq!(run.status, CellStatus::Failed);
    let (ename, message) = error_of(&run);
    assert_eq!(ename, "Cancelled");
    assert_eq!(message, "the cell was cancelled");
    assert_eq!(asked.get(), 4, "the interrupt is asked until it says stop");
}

#[test]
fn without_an_interrupt_cells_run_to_the_end() {
    let mut s = Session::new();
    let run = s.execute("loop", "let n = 0; while n < 100000 { n += 1; } n");
    assert_eq!(run.outputs, vec![Output::text("100000")]);
}

#[test]
fn cancelling_stops_a_users_algorithm() {
    let (mut s, asked) = stopped_on_the_fourth_question();
    let run = s.execute("data", &data_cell());
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let run = s.execute(
        "fit",
        r#"let endless = algorithm("endless", "regression", `
fn fit(x, y, settings) { loop { } }
fn predict(state, x) { x.map(|row| 0.0) }
`);
fit(df, endless, ["x"], "y")"#,
    );
    let (ename, message) = error_of(&run);
    assert_eq!(ename, "Cancelled", "{message}");
    assert!(message.contains("endless"), "{message}");
    assert!(asked.get() > 3, "the algorithm's engine asks the interrupt");
}

/// A regression algorithm that calls `progress(i, 4)` after each of four passes.
const STEPPING: &str = r#"let stepping = algorithm("stepping", "regression", `
fn fit(x, y, settings) {
    for i in 1..=4 { progress(i, 4); }
    #{ mean: y.reduce(|sum, v| sum + v, 0.0) / y.len() }
}
fn predict(state, x) { x.map(|row| state.mean) }
`);"#;

#[test]
fn a_users_algorithm_reports_its_progress() {
    let (mut s, heard) = watched(usize::MAX);
    let run = s.execute(
        "fit",
        &format!(r#"{STEPPING} fit(df, stepping, ["x"], "y")"#),
    );
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let heard = heard.borrow();
    let steps: Vec<(usize, usize, &str)> =
        heard.iter().map(|p| (p.done, p.total, p.unit)).collect();
    assert_eq!(steps, (1..=4).map(|i| (i, 4, "steps")).collect::<Vec<_>>());
}

#[test]
fn a_cross_validation_reports_folds_not_its_algorithms_steps() {
    let (mut s, heard) = watched(usize::MAX);
    let run = s.execute(
        "cv",
        &format!(r#"{STEPPING} cross_validate(df, stepping, ["x"], "y", #{{}}, #{{folds: 3}})"#),
    );
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let heard = heard.borrow();
    let folds: Vec<(usize, &str)> = heard.iter().map(|p| (p.done, p.unit)).collect();
    assert_eq!(folds, vec![(1, "folds"), (2, "folds"), (3, "folds")]);
}

#[test]
fn progress_out_of_range_is_an_error_naming_it() {
    let (mut s, heard) = watched(usize::MAX);
    let run = s.execute(
        "fit",
        r#"let bad = algorithm("bad", "regression", `
fn fit(x, y, settings) { progress(5, 4); #{} }
fn predict(state, x) { x.map(|row| 0.0) }
`);
fit(df, bad, ["x"], "y")"#,
    );
    assert_eq!(run.status, CellStatus::Failed);
    let (_, message) = error_of(&run);
    assert!(message.contains("progress(5, 4)"), "{message}");
    assert!(message.contains("0 ≤ done ≤ total"), "{message}");
    assert!(
        message.contains("(line 1, column 26)"),
        "the call is located: {message}"
    );
    assert!(heard.borrow().is_empty());
}
