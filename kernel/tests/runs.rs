//! Experiment runs and lineage at the cell boundary: each fit and cross-validation asks
//! the host to record a run named from the host's session id, and a fitted model's
//! artifact names its run, notebook and revision.

use std::cell::Cell;
use std::rc::Rc;

use oxbook_kernel::load::{Loaded, Loader};
use oxbook_kernel::{ModelArtifact, Session};
use oxbook_protocol::{
    CellStatus, DatasetRef, Effect, LoadRequest, LoadSource, RunContext, RunKind, RunSpec,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const PEOPLE: &str = "age,income,member\n\
34,52000,true\n28,31000,false\n45,88000,true\n52,97000,true\n23,24000,false\n\
38,45000,true\n31,58000,false\n61,72000,true\n26,29000,false\n41,66000,false\n";

/// `sha256sum` of `PEOPLE`.
const PEOPLE_SHA256: &str = "441a4366b528bfa7c18315c81523bbf0f90ab0deecffee7b5c173b684dade60d";

fn people_dataset() -> Option<DatasetRef> {
    Some(DatasetRef {
        name: "/people.csv".into(),
        sha256: PEOPLE_SHA256.into(),
    })
}

/// A session whose clock advances 5 ms every time it is read.
fn session() -> Session {
    let mut session = Session::new();
    session.set_context(RunContext {
        session_id: "s1".into(),
        notebook_id: Some("nb-7".into()),
        notebook_revision: Some(3),
    });
    let ticks = Rc::new(Cell::new(0.0));
    session.set_clock(move || {
        ticks.set(ticks.get() + 5.0);
        1_764_300_000_000.0 + ticks.get()
    });
    session.provide_file("/people.csv", PEOPLE.as_bytes().to_vec());
    session
}

fn runs(effects: &[Effect]) -> Vec<&RunSpec> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RecordRun { run } => Some(run),
            _ => None,
        })
        .collect()
}

#[test]
fn fits_and_cross_validations_are_recorded_as_runs() {
    let mut s = session();
    let run = s.execute(
        "c1",
        r#"let df = read_csv("/people.csv");
           let m = logistic_regression(df, ["age", "income"], "member", #{max_iter: 50});
           save_model(m, "m")"#,
    );
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let recorded = runs(&run.effects);
    assert_eq!(recorded.len(), 1);
    let fit = recorded[0];
    assert_eq!(fit.id, "s1-1");
    assert_eq!(fit.kind, RunKind::Fit);
    assert_eq!(fit.algorithm, "logistic_regression");
    assert_eq!(fit.target.as_deref(), Some("member"));
    assert_eq!(fit.features, ["age", "income"]);
    assert_eq!(fit.rows, 10);
    assert_eq!(fit.dataset, people_dataset());
    assert_eq!(fit.settings["max_iter"], 50);
    assert!(fit.metrics["train_accuracy"] > 0.5);
    assert!(fit.duration_ms > 0.0);

    let artifact = run
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::SaveModel { artifact, .. } => Some(ModelArtifact::from_json(artifact).unwrap()),
            _ => None,
        })
        .unwrap();
    let lineage = artifact.lineage.expect("a fitted model has lineage");
    assert_eq!(lineage.run_id, "s1-1");
    assert_eq!(lineage.notebook_id.as_deref(), Some("nb-7"));
    assert_eq!(lineage.notebook_revision, Some(3));
    assert!(lineage.created_at.unwrap().starts_with("2025-11-28"));
    assert_eq!(lineage.dataset, people_dataset());
    assert_eq!(artifact.recipe.dataset, None, "named once, in the lineage");

    let run = s.execute(
        "c2",
        r#"cross_validate(df, "ridge", ["age"], "income", #{}, #{folds: 2})"#,
    );
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let recorded = runs(&run.effects);
    assert_eq!(recorded.len(), 1);
    let cv = recorded[0];
    assert_eq!(cv.id, "s1-2");
    assert_eq!(cv.kind, RunKind::CrossValidation);
    assert_eq!(cv.dataset, people_dataset());
    assert!(cv.metrics["cv_r2_mean"].is_finite());
    assert!(cv.metrics["cv_mae_std"] >= 0.0);

    // Ids keep counting across a reset, so they never repeat in a session.
    s.reset();
    s.provide_file("/people.csv", PEOPLE.as_bytes().to_vec());
    let run = s.execute("c3", r#"ridge(read_csv("/people.csv"), ["age"], "income")"#);
    assert_eq!(runs(&run.effects)[0].id, "s1-3");
}

#[test]
fn frames_keep_naming_their_dataset_through_transforms() {
    let mut s = session();
    s.provide_file("/other.csv", b"age,city\n34,Oslo\n28,Rome\n".to_vec());
    let dataset_of = |s: &mut Session, code: &str| {
        let run = s.execute(
            "c",
            &format!("let m = kmeans({code}, [\"age\"], #{{n_clusters: 1}});"),
        );
        assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
        runs(&run.effects)[0].dataset.clone()
    };
    let transformed = r#"read_csv("/people.csv").filter("age > 25").standard_scale(["income"])
        .derive("old", "age > 40").select(["age", "income", "old"])"#;
    assert_eq!(dataset_of(&mut s, transformed), people_dataset());
    // A join of two data sets comes from neither; of one with itself, from it.
    let joined = r#"read_csv("/people.csv").join(read_csv("/other.csv"), ["age"])"#;
    assert_eq!(dataset_of(&mut s, joined), None);
    let self_joined = r#"read_csv("/people.csv").join(read_csv("/people.csv").select(["age"]).dedupe(), ["age"])"#;
    assert_eq!(dataset_of(&mut s, self_joined), people_dataset());
    // Text written in the cell is no data set.
    assert_eq!(dataset_of(&mut s, r#"parse_csv("age\n1\n2")"#), None);
}

#[test]
fn a_streamed_load_names_its_file_and_hash() {
    let mut s = session();
    let request = LoadRequest {
        load_id: "l1".into(),
        variable: "people".into(),
        source: LoadSource::File {
            name: "people.csv".into(),
            size: PEOPLE.len() as u64,
        },
        format: None,
        options: Default::default(),
    };
    // The host names the loader for the kernel to hash the bytes.
    let mut loader = Loader::for_request(&request).unwrap().named("people.csv");
    for chunk in PEOPLE.as_bytes().chunks(7) {
        loader.push(chunk).unwrap();
    }
    let (ok, outputs) = s.finish_load("people", loader.finish());
    assert!(ok, "{outputs:?}");
    let run = s.execute("c", r#"ridge(people, ["age"], "income")"#);
    let expected = DatasetRef {
        name: "people.csv".into(),
        sha256: PEOPLE_SHA256.into(),
    };
    assert_eq!(runs(&run.effects)[0].dataset, Some(expected.clone()));

    // Unnamed, the loader hashes nothing; a host that hashed the bytes itself (the
    // browser's worker, with WebCrypto) names the frame's dataset, and runs name it.
    let mut loader = Loader::for_request(&request).unwrap();
    loader.push(PEOPLE.as_bytes()).unwrap();
    let loaded = loader.finish().unwrap();
    assert_eq!(
        loaded.frame.dataset(),
        None,
        "an unnamed load hashes nothing"
    );
    let loaded = Loaded {
        frame: loaded.frame.from_dataset(expected.clone()),
        ..loaded
    };
    let (ok, outputs) = s.finish_load("hashed", Ok(loaded));
    assert!(ok, "{outputs:?}");
    let run = s.execute(
        "c2",
        r#"ridge(hashed.filter("age > 0"), ["age"], "income")"#,
    );
    assert_eq!(runs(&run.effects)[0].dataset, Some(expected));
}

#[test]
fn a_failed_fit_records_nothing() {
    let mut s = session();
    let run = s.execute(
        "c1",
        r#"ridge(read_csv("/people.csv"), ["age"], "income", #{alpha: -1.0})"#,
    );
    assert_eq!(run.status, CellStatus::Failed);
    assert!(runs(&run.effects).is_empty());
}

#[test]
fn registry_models_load_back_into_a_notebook() {
    let mut s = session();
    let run = s.execute(
        "c1",
        r#"let df = read_csv("/people.csv");
           let m = ridge(df, ["age"], "income");
           save_model(m, "income");
           m.predict(df).column("prediction")"#,
    );
    assert_eq!(run.status, CellStatus::Done, "{:?}", run.outputs);
    let artifact = run
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::SaveModel { artifact, .. } => Some(artifact.clone()),
            _ => None,
        })
        .unwrap();
    let code = r#"let back = load_model("income"); back.predict(df).column("prediction")"#;
    let waiting = s.execute("c2", code);
    assert_eq!(waiting.status, CellStatus::Waiting);
    let url = "/api/models/income/versions/latest/artifact";
    assert!(matches!(&waiting.effects[..], [Effect::FetchFile { url: u }] if u == url));
    s.provide_file(url, artifact.clone().into_bytes());
    let loaded = s.execute("c2", code);
    assert_eq!(loaded.status, CellStatus::Done, "{:?}", loaded.outputs);
    assert_eq!(
        loaded.outputs, run.outputs,
        "the loaded model predicts the same"
    );

    s.provide_file(
        "/api/models/income/versions/2/artifact",
        artifact
            .replace("\"format_version\":1", "\"format_version\":9")
            .into_bytes(),
    );
    let newer = s.execute("c3", r#"load_model("income", 2)"#);
    assert_eq!(newer.status, CellStatus::Failed);
    let text = format!("{:?}", newer.outputs);
    assert!(text.contains("format 9 is newer"), "{text}");
    let bad = s.execute("c4", r#"load_model("income", 0)"#);
    assert!(format!("{:?}", bad.outputs).contains("count from 1"));
}

#[test]
fn large_and_small_chunks_hash_to_the_files_sha256() {
    use sha2::{Digest, Sha256};
    let mut csv = String::from("age,income,member\n");
    for i in 0..300_000 {
        csv.push_str(&format!(
            "{},{},{}\n",
            20 + i % 50,
            1000 * (i % 97),
            i % 3 == 0
        ));
    }
    assert!(
        csv.len() > 4 << 20,
        "big enough to be parsed in several pieces, each hashed on the pipeline's thread"
    );
    // With a byte order mark too, which the parser holds back but the hash takes in.
    let with_bom = [&b"\xEF\xBB\xBF"[..], csv.as_bytes()].concat();
    let small_end = csv[..6000].rfind('\n').unwrap() + 1;
    let small_with_bom = [&b"\xEF\xBB\xBF"[..], &csv.as_bytes()[..small_end]].concat();
    let cases = [
        (csv.as_bytes(), [csv.len(), 300 * 1024]),
        (&with_bom[..], [with_bom.len(), 4096]),
        (&small_with_bom[..], [1, 2]),
    ];
    for (bytes, chunks) in cases {
        let rows = bytes.iter().filter(|&&b| b == b'\n').count() - 1;
        let expected = hex::encode(Sha256::digest(bytes));
        for chunk in chunks {
            let mut loader = Loader::new(oxbook_kernel::Format::Csv, Default::default())
                .unwrap()
                .named("big.csv");
            for part in bytes.chunks(chunk) {
                loader.push(part).unwrap();
            }
            let loaded = loader.finish().unwrap();
            assert_eq!(loaded.frame.row_count(), rows);
            assert_eq!(
                loaded.frame.column_names()[0],
                "age",
                "chunks of {chunk} bytes"
            );
            let dataset = loaded.frame.dataset().expect("a named load names its data");
            assert_eq!(dataset.sha256, expected, "chunks of {chunk} bytes");
        }
    }
}
