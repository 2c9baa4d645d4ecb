//! k-means, DBSCAN and PCA through their public row-based API: parity with scikit-learn on
//! the cases in `fixtures/unsupervised/` (written by `scripts/make-unsupervised-fixtures.py`;
//! numbers to 1e-9, relative beyond ±1, labels exactly), recovery of well-separated blobs,
//! determinism, settings validation, cancellation, serde round trips and dimension checks.
//! Runs natively and, with wasm-bindgen-test, in a browser; `determinism` compares both with
//! one committed fixture, proving the fits bit-identical on both.

use std::ops::ControlFlow;

use oxbook_kernel::model::cluster::{
    dbscan, kmeans, DbscanMetric, DbscanModel, DbscanSettings, KMeansInit, KMeansModel, KMeansRuns,
    KMeansSettings, DBSCAN_UNIT, KMEANS_UNIT,
};
use oxbook_kernel::model::pca::{pca, PcaModel, PcaSettings};
use oxbook_kernel::model::{unmonitored, FitProgress, ModelError};
use serde_json::{json, Value};

mod common;
use common::noise;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const KMEANS: &str = include_str!("fixtures/unsupervised/kmeans.json");
const DBSCAN: &str = include_str!("fixtures/unsupervised/dbscan.json");
const PCA: &str = include_str!("fixtures/unsupervised/pca.json");
const DETERMINISM: &str = include_str!("fixtures/unsupervised/determinism.json");

// ----- fixture reading and comparison ---------------------------------------------------

fn document(fixture: &str) -> Value {
    let document: Value = serde_json::from_str(fixture).expect("fixture is JSON");
    assert!(
        !document["sklearn_version"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "the fixture records scikit-learn's version"
    );
    document
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(numbers)
        .collect()
}

fn integers(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_i64().expect("an integer"))
        .collect()
}

/// Equal to 1e-9, relative to the expected value when that is beyond ±1.
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
}

/// Collects every comparison, so that one run lists everything that differs.
#[derive(Default)]
struct Parity {
    checked: usize,
    wrong: Vec<String>,
}

impl Parity {
    fn number(&mut self, what: String, actual: f64, expected: f64) {
        self.checked += 1;
        if !close(actual, expected) {
            self.wrong
                .push(format!("{what}: {actual:e}, scikit-learn {expected:e}"));
        }
    }

    fn numbers(&mut self, what: &str, actual: &[f64], expected: &[f64]) {
        if actual.len() != expected.len() {
            self.checked += 1;
            self.wrong.push(format!(
                "{what}: {} values, scikit-learn {}",
                actual.len(),
                expected.len()
            ));
            return;
        }
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            self.number(format!("{what}[{i}]"), *a, *e);
        }
    }

    fn matrix(&mut self, what: &str, actual: &[Vec<f64>], expected: &Value) {
        let expected = matrix(expected);
        if actual.len() != expected.len() {
            self.checked += 1;
            self.wrong.push(format!(
                "{what}: {} rows, scikit-learn {}",
                actual.len(),
                expected.len()
            ));
            return;
        }
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            self.numbers(&format!("{what}[{i}]"), a, e);
        }
    }

    fn exact<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, actual: T, expected: T) {
        self.checked += 1;
        if actual != expected {
            self.wrong
                .push(format!("{what}: {actual:?}, scikit-learn {expected:?}"));
        }
    }

    fn finish(self, least: usize) {
        assert!(
            self.wrong.is_empty(),
            "{} of {} values differ from scikit-learn's:\n{}",
            self.wrong.len(),
            self.checked,
            self.wrong.join("\n")
        );
        assert!(
            self.checked >= least,
            "only {} values checked; the fixtures lost cases?",
            self.checked
        );
    }
}

// ----- parity ---------------------------------------------------------------------------

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn kmeans_from_given_centers_equals_scikit_learns() {
    let document = document(KMEANS);
    let mut parity = Parity::default();
    let cases = document["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let points = matrix(&case["points"]);
        let init = matrix(&case["init"]);
        let settings = KMeansSettings {
            n_clusters: init.len(),
            init: KMeansInit::Centers(init),
            max_iter: case["max_iter"].as_u64().unwrap() as usize,
            tol: case["tol"].as_f64().unwrap(),
            ..KMeansSettings::default()
        };
        let model = kmeans(&points, &settings, &mut unmonitored).unwrap();
        parity.matrix(&format!("{name} centers"), &model.centers, &case["centers"]);
        parity.number(
            format!("{name} inertia"),
            model.inertia,
            case["inertia"].as_f64().unwrap(),
        );
        parity.exact(
            &format!("{name} iterations"),
            model.iterations as u64,
            case["iterations"].as_u64().unwrap(),
        );
        let labels: Vec<i64> = model
            .predict_rows(&points)
            .unwrap()
            .into_iter()
            .map(|c| c as i64)
            .collect();
        parity.exact(&format!("{name} labels"), labels, integers(&case["labels"]));
        let new = matrix(&case["new_points"]);
        let new_labels: Vec<i64> = model
            .predict_rows(&new)
            .unwrap()
            .into_iter()
            .map(|c| c as i64)
            .collect();
        parity.exact(
            &format!("{name} new labels"),
            new_labels,
            integers(&case["new_labels"]),
        );
        parity.matrix(
            &format!("{name} distances"),
            &model.transform_rows(&new).unwrap(),
            &case["new_distances"],
        );
        // Stopping early is reported; stopping by max_iter is not converged.
        let max_iter = case["max_iter"].as_u64().unwrap() as usize;
        parity.exact(
            &format!("{name} converged"),
            model.converged,
            model.iterations < max_iter,
        );
    }
    assert_eq!(cases.len(), 6);
    parity.finish(600);
}

/// Relabels `labels` by first appearance, so two clusterings compare up to numbering.
fn canonical<T: PartialEq + Copy>(labels: &[T]) -> Vec<usize> {
    let mut seen: Vec<T> = Vec::new();
    labels
        .iter()
        .map(|l| {
            seen.iter().position(|s| s == l).unwrap_or_else(|| {
                seen.push(*l);
                seen.len() - 1
            })
        })
        .collect()
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn kmeans_plusplus_reaches_scikit_learns_optimum_on_blobs() {
    let document = document(KMEANS);
    let case = &document["plusplus"];
    let points = matrix(&case["points"]);
    let settings = KMeansSettings {
        n_clusters: case["n_clusters"].as_u64().unwrap() as usize,
        ..KMeansSettings::default()
    };
    let model = kmeans(&points, &settings, &mut unmonitored).unwrap();
    let expected = case["inertia"].as_f64().unwrap();
    assert!(
        close(model.inertia, expected),
        "{} vs {expected}",
        model.inertia
    );
    let labels = model.predict_rows(&points).unwrap();
    assert_eq!(
        canonical(&labels),
        canonical(&integers(&case["labels"])),
        "the same partition, up to numbering"
    );
    assert!(model.converged);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn dbscan_equals_scikit_learns() {
    let document = document(DBSCAN);
    let mut parity = Parity::default();
    let cases = document["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let points = matrix(&case["points"]);
        let settings: DbscanSettings = serde_json::from_value(json!({
            "eps": case["eps"],
            "min_samples": case["min_samples"],
            "metric": case["metric"],
        }))
        .unwrap();
        let model = dbscan(&points, &settings, &mut unmonitored).unwrap();
        parity.exact(
            &format!("{name} labels"),
            &model.labels,
            &integers(&case["labels"]),
        );
        let core: Vec<i64> = model
            .core_sample_indices
            .iter()
            .map(|&i| i as i64)
            .collect();
        parity.exact(
            &format!("{name} core samples"),
            core,
            integers(&case["core_sample_indices"]),
        );
        parity.exact(
            &format!("{name} new labels"),
            model.predict_rows(&matrix(&case["new_points"])).unwrap(),
            integers(&case["new_labels"]),
        );
        // Core rows keep their own label when predicted.
        parity.exact(
            &format!("{name} core rows predicted"),
            model.predict_rows(&model.components).unwrap(),
            model.component_labels.clone(),
        );
    }
    assert_eq!(cases.len(), 7);
    parity.finish(28);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn pca_equals_scikit_learns() {
    let document = document(PCA);
    let mut parity = Parity::default();
    let cases = document["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let points = matrix(&case["points"]);
        let settings = PcaSettings {
            n_components: case["n_components"].as_u64().map(|n| n as usize),
            whiten: case["whiten"].as_bool().unwrap(),
        };
        let model = pca(&points, &settings).unwrap();
        parity.numbers(
            &format!("{name} mean"),
            &model.mean,
            &numbers(&case["mean"]),
        );
        // Signs included: the kernel follows scikit-learn's rule.
        parity.matrix(
            &format!("{name} components"),
            &model.components,
            &case["components"],
        );
        for (field, actual) in [
            ("explained_variance", &model.explained_variance),
            ("explained_variance_ratio", &model.explained_variance_ratio),
            ("singular_values", &model.singular_values),
        ] {
            parity.numbers(&format!("{name} {field}"), actual, &numbers(&case[field]));
        }
        let transformed = model.transform_rows(&points).unwrap();
        parity.matrix(
            &format!("{name} transformed"),
            &transformed,
            &case["transformed"],
        );
        parity.matrix(
            &format!("{name} inverse transformed"),
            &model.inverse_transform_rows(&transformed).unwrap(),
            &case["inverse_transformed"],
        );
    }
    assert_eq!(cases.len(), 4);
    parity.finish(3000);
}

// ----- behaviour ------------------------------------------------------------------------

/// Roughly normal noise (the mean of four uniforms, rescaled to unit variance), computed
/// the same on every platform.
fn gaussian(i: u64) -> f64 {
    let sum: f64 = (0..4).map(|k| noise(4 * i + k)).sum();
    (sum - 2.0) * 3.0f64.sqrt()
}

/// `per` points around each center, spread `spread`, interleaved; with the true cluster.
fn blobs(centers: &[&[f64]], per: usize, spread: f64, salt: u64) -> (Vec<Vec<f64>>, Vec<usize>) {
    let d = centers[0].len() as u64;
    let mut points = Vec::new();
    let mut truth = Vec::new();
    for i in 0..per {
        for (c, center) in centers.iter().enumerate() {
            let n = (i * centers.len() + c) as u64;
            points.push(
                center
                    .iter()
                    .enumerate()
                    .map(|(j, m)| m + spread * gaussian(salt + n * d + j as u64))
                    .collect(),
            );
            truth.push(c);
        }
    }
    (points, truth)
}

fn three_blobs() -> (Vec<Vec<f64>>, Vec<usize>) {
    blobs(
        &[&[0.0, 0.0, 0.0], &[8.0, 0.0, 1.0], &[0.0, 8.0, -1.0]],
        50,
        0.7,
        0,
    )
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn well_separated_blobs_are_recovered() {
    let (points, truth) = three_blobs();
    for init in [KMeansInit::KMeansPlusPlus, KMeansInit::Random] {
        let settings = KMeansSettings {
            n_clusters: 3,
            init: init.clone(),
            ..KMeansSettings::default()
        };
        let model = kmeans(&points, &settings, &mut unmonitored).unwrap();
        let labels = model.predict_rows(&points).unwrap();
        assert_eq!(canonical(&labels), canonical(&truth), "{init:?}");
        for center in &model.centers {
            let nearest_true = [[0.0, 0.0, 0.0], [8.0, 0.0, 1.0], [0.0, 8.0, -1.0]]
                .iter()
                .map(|t| {
                    t.iter()
                        .zip(center)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min);
            assert!(nearest_true < 0.1, "{center:?}");
        }
    }

    let settings = DbscanSettings {
        eps: 1.5,
        min_samples: 5,
        ..DbscanSettings::default()
    };
    let model = dbscan(&points, &settings, &mut unmonitored).unwrap();
    assert_eq!(model.n_clusters(), 3);
    assert_eq!(canonical(&model.labels), canonical(&truth));
    // A point far from everything is noise; one near a blob joins it.
    assert_eq!(
        model
            .predict_rows(&[vec![30.0, 30.0, 30.0], vec![8.2, 0.1, 1.0]])
            .unwrap(),
        vec![-1, model.labels[1]]
    );

    // Two blobs along one direction: the first component is that direction.
    let (points, _) = blobs(&[&[-5.0, 0.0, 0.0], &[5.0, 0.0, 0.0]], 40, 0.5, 99);
    let model = pca(&points, &PcaSettings::default()).unwrap();
    assert!(model.components[0][0] > 0.99, "{:?}", model.components);
    assert!(model.explained_variance_ratio[0] > 0.95);
    let ratios: f64 = model.explained_variance_ratio.iter().sum();
    assert!((ratios - 1.0).abs() < 1e-12);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn kmeans_is_deterministic_for_a_seed() {
    // Overlapping clusters, so that where k-means ends depends on where it starts.
    let (points, _) = blobs(
        &[&[0.0, 0.0], &[2.0, 0.0], &[1.0, 1.5], &[3.0, 2.0]],
        60,
        1.0,
        7,
    );
    let fit = |seed: u64, init: KMeansInit| {
        let settings = KMeansSettings {
            n_clusters: 6,
            init,
            seed,
            ..KMeansSettings::default()
        };
        kmeans(&points, &settings, &mut unmonitored).unwrap()
    };
    for init in [KMeansInit::KMeansPlusPlus, KMeansInit::Random] {
        let a = fit(3, init.clone());
        let b = fit(3, init.clone());
        assert_eq!(bits(&a.centers), bits(&b.centers));
        assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
        let results: Vec<Vec<Vec<u64>>> = (0..6)
            .map(|s| bits(&fit(s, init.clone()).centers))
            .collect();
        assert!(
            results.iter().any(|r| r != &results[0]),
            "{init:?}: the seed changes the starting centers"
        );
    }
    // More runs never end worse: the best of ten includes the first.
    let one = fit(3, KMeansInit::Random);
    let settings = KMeansSettings {
        n_clusters: 6,
        init: KMeansInit::Random,
        n_init: KMeansRuns::Runs(1),
        seed: 3,
        ..KMeansSettings::default()
    };
    let single = kmeans(&points, &settings, &mut unmonitored).unwrap();
    assert!(one.inertia <= single.inertia, "auto = 10 runs for random");
}

fn bits(values: &[Vec<f64>]) -> Vec<Vec<u64>> {
    values
        .iter()
        .map(|row| row.iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn setting_of(error: ModelError) -> String {
    match error {
        ModelError::InvalidSetting { setting, .. } => setting,
        other => panic!("not a setting error: {other}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bad_settings_are_named() {
    let (points, _) = three_blobs();
    let few = &points[..4];
    let kmeans_error = |settings: KMeansSettings| {
        setting_of(kmeans(few, &settings, &mut unmonitored).unwrap_err())
    };
    let too_many = kmeans(
        few,
        &KMeansSettings {
            n_clusters: 5,
            ..KMeansSettings::default()
        },
        &mut unmonitored,
    )
    .unwrap_err();
    assert_eq!(
        too_many.to_string(),
        "setting 'n_clusters' is 5, but there are only 4 row(s)"
    );
    for (settings, name) in [
        (
            KMeansSettings {
                n_clusters: 0,
                ..KMeansSettings::default()
            },
            "n_clusters",
        ),
        (
            KMeansSettings {
                n_clusters: 2,
                max_iter: 0,
                ..KMeansSettings::default()
            },
            "max_iter",
        ),
        (
            KMeansSettings {
                n_clusters: 2,
                tol: -1.0,
                ..KMeansSettings::default()
            },
            "tol",
        ),
        (
            KMeansSettings {
                n_clusters: 2,
                n_init: KMeansRuns::Runs(0),
                ..KMeansSettings::default()
            },
            "n_init",
        ),
        (
            KMeansSettings {
                n_clusters: 3,
                init: KMeansInit::Centers(vec![vec![0.0; 3]; 2]),
                ..KMeansSettings::default()
            },
            "init",
        ),
        (
            KMeansSettings {
                n_clusters: 2,
                init: KMeansInit::Centers(vec![vec![0.0; 2]; 2]),
                ..KMeansSettings::default()
            },
            "init",
        ),
        (
            KMeansSettings {
                n_clusters: 2,
                init: KMeansInit::Centers(vec![vec![0.0; 3]; 2]),
                n_init: KMeansRuns::Runs(3),
                ..KMeansSettings::default()
            },
            "n_init",
        ),
    ] {
        assert_eq!(kmeans_error(settings.clone()), name, "{settings:?}");
    }

    for (eps, min_samples, name) in [
        (0.0, 5, "eps"),
        (-1.0, 5, "eps"),
        (f64::NAN, 5, "eps"),
        (1e200, 5, "eps"),
        (0.5, 0, "min_samples"),
    ] {
        let settings = DbscanSettings {
            eps,
            min_samples,
            ..DbscanSettings::default()
        };
        let error = dbscan(&points, &settings, &mut unmonitored).unwrap_err();
        assert_eq!(setting_of(error), name, "{settings:?}");
    }

    for (n_components, rows, message) in [
        (4, 150, "is 4, but there are only 3 feature(s)"),
        (3, 2, "is 3, but there are only 2 row(s)"),
        (0, 150, "must be at least 1"),
    ] {
        let settings = PcaSettings {
            n_components: Some(n_components),
            whiten: false,
        };
        let error = pca(&points[..rows], &settings).unwrap_err();
        assert!(error.to_string().contains(message), "{error}");
        assert_eq!(setting_of(error), "n_components");
    }
    assert!(matches!(
        pca(&points[..1], &PcaSettings::default()),
        Err(ModelError::FitFailed(_))
    ));

    // Rows of values are checked too.
    assert!(matches!(
        kmeans(&[], &KMeansSettings::default(), &mut unmonitored),
        Err(ModelError::EmptyFrame)
    ));
    let ragged = vec![vec![1.0, 2.0], vec![1.0]];
    let error = pca(&ragged, &PcaSettings::default()).unwrap_err();
    assert!(
        error.to_string().contains("row 1 has 1 value(s)"),
        "{error}"
    );
    let nan = vec![vec![1.0, 2.0], vec![f64::NAN, 1.0]];
    let error = dbscan(&nan, &DbscanSettings::default(), &mut unmonitored).unwrap_err();
    assert!(error.to_string().contains("NaN"), "{error}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn settings_read_from_json_with_defaults() {
    let settings: KMeansSettings = serde_json::from_value(json!({})).unwrap();
    assert_eq!(settings, KMeansSettings::default());
    assert_eq!(
        (settings.n_clusters, settings.max_iter, settings.tol),
        (8, 300, 1e-4)
    );
    assert_eq!(settings.n_init.resolve(&settings.init), 1);
    let settings: KMeansSettings =
        serde_json::from_value(json!({"init": "random", "n_init": "auto"})).unwrap();
    assert_eq!(settings.init, KMeansInit::Random);
    assert_eq!(settings.n_init.resolve(&settings.init), 10);
    let settings: KMeansSettings =
        serde_json::from_value(json!({"n_clusters": 2, "init": [[0, 1], [2.5, 3]], "n_init": 1}))
            .unwrap();
    assert_eq!(
        settings.init,
        KMeansInit::Centers(vec![vec![0.0, 1.0], vec![2.5, 3.0]])
    );
    assert_eq!(settings.n_init, KMeansRuns::Runs(1));
    // Written back, the settings read the same.
    let written = serde_json::to_value(&settings).unwrap();
    assert_eq!(written["init"], json!([[0.0, 1.0], [2.5, 3.0]]));
    assert_eq!(
        serde_json::from_value::<KMeansSettings>(written).unwrap(),
        settings
    );
    assert_eq!(
        serde_json::to_value(KMeansSettings::default()).unwrap()["n_init"],
        json!("auto")
    );

    for (bad, words) in [
        (json!({"init": "kmeans"}), "k-means++"),
        (json!({"n_init": -2}), "auto"),
        (json!({"n_init": "many"}), "auto"),
        (json!({"clusters": 3}), "unknown field"),
    ] {
        let error = serde_json::from_value::<KMeansSettings>(bad.clone()).unwrap_err();
        assert!(error.to_string().contains(words), "{bad}: {error}");
    }
    let settings: DbscanSettings = serde_json::from_value(json!({"metric": "manhattan"})).unwrap();
    assert_eq!(
        (settings.eps, settings.min_samples, settings.metric),
        (0.5, 5, DbscanMetric::Manhattan)
    );
    assert!(serde_json::from_value::<DbscanSettings>(json!({"metric": "cosine"})).is_err());
    let settings: PcaSettings = serde_json::from_value(json!({"n_components": 2})).unwrap();
    assert_eq!(settings.n_components, Some(2));
    assert!(!settings.whiten);
    assert!(serde_json::from_value::<PcaSettings>(json!({"components": 2})).is_err());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn monitor_sees_progress_and_can_cancel() {
    let (points, _) = three_blobs();
    let settings = KMeansSettings {
        n_clusters: 3,
        init: KMeansInit::Random,
        n_init: KMeansRuns::Runs(2),
        max_iter: 50,
        ..KMeansSettings::default()
    };
    let mut seen: Vec<FitProgress> = Vec::new();
    let model = kmeans(&points, &settings, &mut |p| {
        seen.push(p);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(seen.iter().all(|p| p.unit == KMEANS_UNIT && p.total == 100));
    assert!(seen.windows(2).all(|w| w[0].done < w[1].done));
    assert_eq!(seen[0].done, 1);
    // The second run's iterations count from 50.
    assert!(seen.iter().any(|p| p.done > 50));
    assert!(model.iterations >= 1);

    let mut calls = 0;
    let error = kmeans(&points, &settings, &mut |_| {
        calls += 1;
        if calls == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_err();
    assert_eq!(
        error,
        ModelError::Cancelled {
            done: 2,
            total: 100,
            unit: "iterations"
        }
    );

    // DBSCAN reports every 1024 rows searched, twice over, and once at the end.
    let (many, _) = blobs(&[&[0.0, 0.0], &[5.0, 5.0]], 600, 0.5, 3);
    let mut seen: Vec<FitProgress> = Vec::new();
    dbscan(&many, &DbscanSettings::default(), &mut |p| {
        seen.push(p);
        ControlFlow::Continue(())
    })
    .unwrap();
    let done: Vec<usize> = seen.iter().map(|p| p.done).collect();
    assert_eq!(done, vec![1024, 1200 + 1024, 2400]);
    assert!(seen
        .iter()
        .all(|p| p.total == 2400 && p.unit == DBSCAN_UNIT));
    let error = dbscan(&many, &DbscanSettings::default(), &mut |_| {
        ControlFlow::Break(())
    })
    .unwrap_err();
    assert!(matches!(
        error,
        ModelError::Cancelled {
            done: 1024,
            total: 2400,
            ..
        }
    ));
    assert!(
        error.to_string().contains("neighbourhood searches"),
        "{error}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn models_round_trip_through_json_with_identical_outputs() {
    let (points, _) = three_blobs();
    let probe: Vec<Vec<f64>> = (0..30)
        .map(|i| (0..3).map(|j| 10.0 * gaussian(5000 + 3 * i + j)).collect())
        .collect();

    let model = kmeans(
        &points,
        &KMeansSettings {
            n_clusters: 4,
            ..KMeansSettings::default()
        },
        &mut unmonitored,
    )
    .unwrap();
    let back: KMeansModel = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.predict_rows(&probe), model.predict_rows(&probe));
    assert_eq!(
        bits(&back.transform_rows(&probe).unwrap()),
        bits(&model.transform_rows(&probe).unwrap())
    );

    let model = dbscan(
        &points,
        &DbscanSettings {
            eps: 1.0,
            ..DbscanSettings::default()
        },
        &mut unmonitored,
    )
    .unwrap();
    let back: DbscanModel = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.predict_rows(&probe), model.predict_rows(&probe));

    for whiten in [false, true] {
        let model = pca(
            &points,
            &PcaSettings {
                n_components: Some(2),
                whiten,
            },
        )
        .unwrap();
        let back: PcaModel = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
        assert_eq!(back, model);
        let projected = model.transform_rows(&probe).unwrap();
        assert_eq!(
            bits(&back.transform_rows(&probe).unwrap()),
            bits(&projected)
        );
        assert_eq!(projected[0].len(), 2);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn check_rejects_wrong_dimensions() {
    let (points, _) = three_blobs();
    let narrow = vec![vec![1.0, 2.0]];

    let model = kmeans(
        &points,
        &KMeansSettings {
            n_clusters: 3,
            ..KMeansSettings::default()
        },
        &mut unmonitored,
    )
    .unwrap();
    assert_eq!(model.check(3), Ok(()));
    assert!(model.check(4).unwrap_err().contains("4 features"));
    assert!(model.predict_rows(&narrow).unwrap_err().contains("takes 3"));
    let mut broken = model.clone();
    broken.centers[1].pop();
    assert!(broken.check(3).is_err());
    broken.centers.clear();
    assert!(broken.check(3).is_err());
    let mut broken = model;
    broken.centers[0][0] = f64::NAN;
    assert!(broken.check(3).is_err());

    let model = dbscan(&points, &DbscanSettings::default(), &mut unmonitored).unwrap();
    assert_eq!(model.check(3), Ok(()));
    assert!(model.check(2).is_err());
    assert!(model.predict_rows(&narrow).is_err());
    let mut broken = model.clone();
    broken.component_labels.pop();
    assert!(broken.check(3).is_err());
    let mut broken = model;
    broken.eps = 0.0;
    assert!(broken.check(3).is_err());

    let model = pca(&points, &PcaSettings::default()).unwrap();
    assert_eq!(model.check(3), Ok(()));
    assert!(model.check(2).is_err());
    assert!(model.transform_rows(&narrow).is_err());
    assert!(model.inverse_transform_rows(&[vec![1.0; 4]]).is_err());
    let mut broken = model.clone();
    broken.explained_variance.pop();
    assert!(broken.check(3).is_err());
    let mut broken = model;
    broken.components[2].push(0.0);
    assert!(broken.check(3).is_err());
}

// ----- determinism snapshot -------------------------------------------------------------

fn hex(values: &[Vec<f64>]) -> Value {
    json!(values
        .iter()
        .map(|row| row
            .iter()
            .map(|v| format!("{:016x}", v.to_bits()))
            .collect::<Vec<_>>())
        .collect::<Vec<_>>())
}

fn determinism_fingerprint() -> Value {
    let (points, _) = blobs(
        &[
            &[0.0, 0.0, 0.0],
            &[3.0, 0.0, 1.0],
            &[0.0, 3.0, -1.0],
            &[2.0, 2.0, 2.0],
        ],
        30,
        1.0,
        11,
    );
    let kmeans_fit = |init: KMeansInit| {
        let settings = KMeansSettings {
            n_clusters: 5,
            init,
            seed: 9,
            ..KMeansSettings::default()
        };
        let model = kmeans(&points, &settings, &mut unmonitored).unwrap();
        json!({
            "centers": hex(&model.centers),
            "inertia": format!("{:016x}", model.inertia.to_bits()),
            "iterations": model.iterations,
            "labels": model.predict_rows(&points).unwrap(),
        })
    };
    let dbscan_fit = dbscan(
        &points,
        &DbscanSettings {
            eps: 0.9,
            min_samples: 4,
            ..DbscanSettings::default()
        },
        &mut unmonitored,
    )
    .unwrap();
    let pca_fit = pca(
        &points,
        &PcaSettings {
            n_components: Some(2),
            whiten: true,
        },
    )
    .unwrap();
    json!({
        "kmeans_plusplus": kmeans_fit(KMeansInit::KMeansPlusPlus),
        "kmeans_random": kmeans_fit(KMeansInit::Random),
        "dbscan_labels": dbscan_fit.labels,
        "pca": {
            "components": hex(&pca_fit.components),
            "explained_variance": hex(std::slice::from_ref(&pca_fit.explained_variance)),
            "projected": hex(&pca_fit.transform_rows(&points[..10]).unwrap()),
        },
    })
}

/// The same fits, to the bit, natively and in wasm32 (the fixture is compiled in).
/// `UPDATE_EXPECT=1 cargo test -p oxbook-kernel --test unsupervised determinism` rewrites
/// the fixture after an intended change.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn determinism() {
    let actual = determinism_fingerprint();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1") {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/unsupervised/determinism.json"
        );
        std::fs::write(path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(DETERMINISM).expect("fixture is JSON");
    for (key, value) in actual.as_object().unwrap() {
        assert_eq!(
            &expected[key], value,
            "determinism fingerprint '{key}' changed; if intended, rerun natively with \
             UPDATE_EXPECT=1"
        );
    }
    assert_eq!(expected.as_object().map(|o| o.len()), Some(4));
    assert_eq!(
        expected["dbscan_labels"].as_array().map(Vec::len),
        Some(120)
    );
}

// ----- speed ----------------------------------------------------------------------------

/// The shape of the k-means benchmark (200,000 rows × 13 standardized features, k = 8):
/// five continuous features from overlapping groups and two one-hot encoded categories of
/// four levels, all standardized. Run in release mode:
/// `cargo test --release -p oxbook-kernel --test unsupervised kmeans_speed -- --ignored --nocapture`.
/// With `OXBOOK_BENCH_CSV` set to a path, the data are also written there as CSV for a
/// side-by-side run of scikit-learn.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore = "a timing, run by hand in release mode"]
fn kmeans_speed() {
    let n = 200_000u64;
    let mut points: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let group = (noise(1_000_000_000 + i) * 3.0) as u64;
            let mut row: Vec<f64> = (0..5)
                .map(|j| group as f64 * (1.0 + j as f64 * 0.3) + gaussian(i * 13 + j))
                .collect();
            for category in 0..2 {
                let level = ((noise(2_000_000_000 + 2 * i + category) + 0.2 * group as f64) * 4.0
                    / 1.4) as usize;
                row.extend((0..4).map(|l| if l == level.min(3) { 1.0 } else { 0.0 }));
            }
            row
        })
        .collect();
    for j in 0..13 {
        let mean = points.iter().map(|r| r[j]).sum::<f64>() / n as f64;
        let sd = (points.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        for r in points.iter_mut() {
            r[j] = (r[j] - mean) / sd.max(1e-12);
        }
    }
    if let Ok(path) = std::env::var("OXBOOK_BENCH_CSV") {
        let text: String = points
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\n"
            })
            .collect();
        std::fs::write(path, text).unwrap();
    }
    let settings = KMeansSettings::default();
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let model = kmeans(&points, &settings, &mut unmonitored).unwrap();
        times.push(start.elapsed().as_secs_f64());
        println!(
            "k-means k=8 on 200000×13: {:.3} s, {} iterations, inertia {:.1}",
            times.last().unwrap(),
            model.iterations,
            model.inertia
        );
    }
    times.sort_by(f64::total_cmp);
    println!("median {:.3} s", times[2]);
}
