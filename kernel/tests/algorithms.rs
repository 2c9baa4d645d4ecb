//! Decision tree, k-nearest neighbours and Gaussian naive Bayes through the kernel's public
//! Rust API and through cells. Runs natively and, with wasm-bindgen-test, in a browser;
//! `predictions_are_identical_on_every_platform` pins the probabilities' bits to one value
//! that both must reproduce.

use oxbook_kernel::model::{
    DecisionTreeSettings, FittedModel, GaussianNbSettings, KnnSettings, KnnWeights, ModelError,
};
use oxbook_kernel::{evaluate, fit, Frame, ModelArtifact, Session, Settings};
use oxbook_protocol::Output;
use serde_json::json;

mod common;
use common::{bits, float, names, noise, string};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Not linearly separable: class "in" where exactly one coordinate is below 0.5 (XOR).
/// `offset` picks a different sample of the same layout.
fn checkerboard(n: u64, offset: u64) -> Frame {
    let (mut x, mut y, mut class) = (Vec::new(), Vec::new(), Vec::new());
    for i in offset..offset + n {
        let a = noise(2 * i);
        let b = noise(2 * i + 1);
        x.push(a);
        y.push(b);
        class.push(if (a < 0.5) != (b < 0.5) { "in" } else { "out" });
    }
    Frame::new(vec![float("x", x), float("y", y), string("class", class)]).unwrap()
}

/// Three well-separated Gaussian-ish blobs in two features, one per class; the second
/// feature is on a scale 1000 times larger (standardization must cope).
fn blobs(n: u64, offset: u64) -> Frame {
    let (mut a, mut b, mut class) = (Vec::new(), Vec::new(), Vec::new());
    let centres = [(0.0, 0.0, "red"), (4.0, 0.0, "green"), (2.0, 4.0, "blue")];
    for i in offset..offset + n {
        let (cx, cy, name) = centres[(i % 3) as usize];
        // A sum of uniforms: bell-shaped, bounded, platform-independent.
        let dx = noise(4 * i) + noise(4 * i + 1) - 1.0;
        let dy = noise(4 * i + 2) + noise(4 * i + 3) - 1.0;
        a.push(cx + dx);
        b.push(1000.0 * (cy + dy));
        class.push(name);
    }
    Frame::new(vec![float("a", a), float("b", b), string("class", class)]).unwrap()
}

fn accuracy(model: &ModelArtifact, frame: &Frame) -> Result<f64, oxbook_kernel::MetricError> {
    evaluate(model, frame).map(|e| e.accuracy)
}

fn tree() -> Settings {
    Settings::DecisionTree(DecisionTreeSettings::default())
}
fn knn(k: usize, weights: KnnWeights) -> Settings {
    Settings::Knn(KnnSettings { k, weights })
}
fn nb() -> Settings {
    Settings::GaussianNb(GaussianNbSettings::default())
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn decision_tree_learns_a_nonlinear_problem() {
    let features = names(&["x", "y"]);
    let model = fit(&checkerboard(400, 0), &features, "class", &tree()).unwrap();
    assert_eq!(model.algorithm_name(), "decision_tree");
    assert_eq!(accuracy(&model, &checkerboard(400, 0)).unwrap(), 1.0);
    let held_out = accuracy(&model, &checkerboard(400, 10_000)).unwrap();
    assert!(held_out > 0.95, "held-out accuracy {held_out}");
    // Leaf probabilities are class shares: each row's sum to 1.
    let predictions = model.predict_classes(&checkerboard(50, 20_000)).unwrap();
    for p in predictions.probabilities.as_ref().unwrap() {
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{p:?}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn decision_tree_respects_depth_and_uses_every_row_once() {
    let frame = checkerboard(200, 0);
    let stump = Settings::DecisionTree(DecisionTreeSettings {
        max_depth: 1,
        ..DecisionTreeSettings::default()
    });
    let model = fit(&frame, &names(&["x", "y"]), "class", &stump).unwrap();
    let FittedModel::DecisionTree(fitted) = &model.fitted else {
        panic!("{:?}", model.fitted)
    };
    assert_eq!(fitted.tree.nodes.len(), 3, "one split, two leaves");
    // No bootstrap: the leaves' counts add up to the training rows exactly.
    let total: u64 = fitted
        .tree
        .nodes
        .iter()
        .filter_map(|n| match n {
            oxbook_kernel::model::TreeNode::Leaf { counts } => Some(counts.iter().sum::<u64>()),
            _ => None,
        })
        .sum();
    assert_eq!(total, 200);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn knn_learns_blobs_on_very_different_scales() {
    let features = names(&["a", "b"]);
    for weights in [KnnWeights::Uniform, KnnWeights::Distance] {
        let model = fit(&blobs(300, 0), &features, "class", &knn(5, weights)).unwrap();
        let held_out = accuracy(&model, &blobs(300, 5_000)).unwrap();
        assert!(held_out > 0.95, "{weights:?}: held-out accuracy {held_out}");
    }
    // k = 1 remembers every (distinct) training row.
    let model = fit(
        &checkerboard(100, 0),
        &names(&["x", "y"]),
        "class",
        &knn(1, KnnWeights::Uniform),
    )
    .unwrap();
    assert_eq!(accuracy(&model, &checkerboard(100, 0)).unwrap(), 1.0);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn knn_probabilities_are_neighbour_shares() {
    // One feature: a at 0, 1, 2; b at 10, 11. Standardization scales distances uniformly,
    // so it changes neither the neighbours nor the distance weights' ratios.
    let train = Frame::new(vec![
        float("v", vec![0.0, 1.0, 2.0, 10.0, 11.0]),
        string("c", vec!["a", "a", "a", "b", "b"]),
    ])
    .unwrap();
    let query = Frame::new(vec![float("v", vec![8.0, 2.0])]).unwrap();
    let uniform = fit(&train, &names(&["v"]), "c", &knn(3, KnnWeights::Uniform)).unwrap();
    let p = uniform
        .predict_classes(&query)
        .unwrap()
        .probabilities
        .unwrap();
    // 8 → neighbours 10, 11, 2: b, b, a.
    assert_eq!(p[0], vec![1.0 / 3.0, 2.0 / 3.0]);
    assert_eq!(p[1], vec![1.0, 0.0]);
    let distance = fit(&train, &names(&["v"]), "c", &knn(3, KnnWeights::Distance)).unwrap();
    let p = distance
        .predict_classes(&query)
        .unwrap()
        .probabilities
        .unwrap();
    // Weights 1/2, 1/3 (b) and 1/6 (a): shares 5/6 and 1/6.
    assert!((p[0][0] - 1.0 / 6.0).abs() < 1e-12, "{p:?}");
    assert!((p[0][1] - 5.0 / 6.0).abs() < 1e-12, "{p:?}");
    // An exact match takes the whole vote.
    assert_eq!(p[1], vec![1.0, 0.0]);
    // Ties in distance go to the earlier training row, whichever class it has. (Values
    // with mean 0 and standard deviation 1 standardize exactly, so the tie is exact.)
    let tie = Frame::new(vec![float("v", vec![0.0])]).unwrap();
    for (order, expected) in [(["a", "b"], vec![1.0, 0.0]), (["b", "a"], vec![0.0, 1.0])] {
        let train = Frame::new(vec![
            float("v", vec![-1.0, 1.0]),
            string("c", order.to_vec()),
        ])
        .unwrap();
        let one = fit(&train, &names(&["v"]), "c", &knn(1, KnnWeights::Uniform)).unwrap();
        assert_eq!(
            one.predict_classes(&tie).unwrap().probabilities.unwrap()[0],
            expected
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gaussian_nb_learns_blobs() {
    let model = fit(&blobs(300, 0), &names(&["a", "b"]), "class", &nb()).unwrap();
    let held_out = accuracy(&model, &blobs(300, 5_000)).unwrap();
    assert!(held_out > 0.95, "held-out accuracy {held_out}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn gaussian_nb_probabilities_match_hand_computation() {
    // Class a: 0, 2 (mean 1, variance 1); class b: 4, 6 (mean 5, variance 1). The overall
    // variance is 5, so every variance gets 5e-9 added.
    let train = Frame::new(vec![
        float("v", vec![0.0, 2.0, 4.0, 6.0]),
        string("c", vec!["a", "a", "b", "b"]),
    ])
    .unwrap();
    let model = fit(&train, &names(&["v"]), "c", &nb()).unwrap();
    let FittedModel::GaussianNb(fitted) = &model.fitted else {
        panic!("{:?}", model.fitted)
    };
    assert_eq!(fitted.priors, vec![0.5, 0.5]);
    assert_eq!(fitted.means, vec![vec![1.0], vec![5.0]]);
    assert!((fitted.variances[0][0] - (1.0 + 5e-9)).abs() < 1e-15);
    let query = Frame::new(vec![float("v", vec![3.0, 1.0])]).unwrap();
    let p = model
        .predict_classes(&query)
        .unwrap()
        .probabilities
        .unwrap();
    assert!((p[0][0] - 0.5).abs() < 1e-12, "{p:?}");
    // log p(a|1) − log p(b|1) = (16 − 0) / (2 σ²) = 8 / σ².
    let expected = 1.0 / (1.0 + (-8.0 / (1.0 + 5e-9f64)).exp());
    assert!((p[1][0] - expected).abs() < 1e-12, "{p:?} vs {expected}");
    assert!((p[1][0] + p[1][1] - 1.0).abs() < 1e-12);
}

fn setting_error(algorithm: &str, settings: serde_json::Value) -> String {
    match Settings::from_json(algorithm, settings) {
        Err(e) => e.to_string(),
        Ok(s) => panic!("{algorithm} accepted {s:?}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn settings_errors_name_the_setting() {
    for (algorithm, settings, named) in [
        ("decision_tree", json!({"max_depth": 0}), "'max_depth'"),
        (
            "decision_tree",
            json!({"min_samples_split": 1}),
            "'min_samples_split'",
        ),
        ("decision_tree", json!({"trees": 3}), "trees"),
        ("decision_tree", json!({"seed": -1}), "'seed'"),
        ("knn", json!({"k": 0}), "'k'"),
        ("knn", json!({"weights": "cubic"}), "'weights'"),
        ("knn", json!({"neighbours": 3}), "neighbours"),
        (
            "gaussian_nb",
            json!({"var_smoothing": 0.0}),
            "'var_smoothing'",
        ),
        (
            "gaussian_nb",
            json!({"var_smoothing": -1.0}),
            "'var_smoothing'",
        ),
        (
            "gaussian_nb",
            json!({"var_smoothing": "small"}),
            "'var_smoothing'",
        ),
    ] {
        let message = setting_error(algorithm, settings.clone());
        assert!(message.contains(named), "{algorithm} {settings}: {message}");
    }
    // Defaults, as documented.
    assert_eq!(
        Settings::from_json("knn", serde_json::Value::Null).unwrap(),
        Settings::Knn(KnnSettings {
            k: 5,
            weights: KnnWeights::Uniform
        })
    );
    assert_eq!(
        Settings::from_json("decision_tree", json!({})).unwrap(),
        Settings::DecisionTree(DecisionTreeSettings {
            max_depth: 10,
            min_samples_split: 2,
            seed: 42
        })
    );
    assert_eq!(
        Settings::from_json("gaussian_nb", json!({})).unwrap(),
        Settings::GaussianNb(GaussianNbSettings {
            var_smoothing: 1e-9
        })
    );
    // k larger than the training set is known only when fitting.
    match fit(
        &blobs(4, 0),
        &names(&["a", "b"]),
        "class",
        &knn(5, KnnWeights::Uniform),
    ) {
        Err(e @ ModelError::InvalidSetting { .. }) => {
            assert!(e.to_string().contains("'k'"), "{e}");
            assert!(e.to_string().contains("only 4 training row"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // All features constant: naive Bayes has nothing to go on, and says so.
    let flat = Frame::new(vec![
        float("v", vec![1.0, 1.0, 1.0]),
        string("c", vec!["a", "b", "a"]),
    ])
    .unwrap();
    match fit(&flat, &names(&["v"]), "c", &nb()) {
        Err(e @ ModelError::FitFailed(_)) => assert!(e.to_string().contains("constant"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn artifacts_round_trip_with_identical_predictions() {
    let frame = blobs(90, 0);
    let query = blobs(60, 7_000);
    let features = names(&["a", "b"]);
    for settings in [tree(), knn(4, KnnWeights::Distance), nb()] {
        let model = fit(&frame, &features, "class", &settings).unwrap();
        let text = model.to_json();
        let loaded = ModelArtifact::from_json(&text).unwrap();
        assert_eq!(loaded, model);
        assert_eq!(loaded.to_json(), text);
        let before = model.predict_classes(&query).unwrap();
        let after = loaded.predict_classes(&query).unwrap();
        assert_eq!(before.labels, after.labels);
        assert_eq!(
            bits(before.probabilities.as_ref().unwrap()),
            bits(after.probabilities.as_ref().unwrap())
        );
        // Records, as an endpoint receives them.
        let records: Vec<serde_json::Map<String, serde_json::Value>> = (0..3)
            .map(|i| {
                let mut r = serde_json::Map::new();
                r.insert("a".into(), json!(query.column("a").unwrap().data.f64_at(i)));
                r.insert("b".into(), json!(query.column("b").unwrap().data.f64_at(i)));
                r
            })
            .collect();
        let response = loaded.predict_records(&records).unwrap();
        assert_eq!(response.predictions.len(), 3);
        assert_eq!(
            response.probabilities.unwrap()[0]
                .iter()
                .map(|p| p.to_bits())
                .collect::<Vec<_>>(),
            before.probabilities.as_ref().unwrap()[0]
                .iter()
                .map(|p| p.to_bits())
                .collect::<Vec<_>>()
        );
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn corrupted_parameters_are_refused() {
    let model = fit(
        &blobs(30, 0),
        &names(&["a", "b"]),
        "class",
        &knn(3, KnnWeights::Uniform),
    )
    .unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
    document["fitted"]["knn"]["labels"][0] = json!(7);
    let error = ModelArtifact::from_json(&document.to_string()).unwrap_err();
    assert!(error.to_string().contains("label"), "{error}");

    let model = fit(&blobs(30, 0), &names(&["a", "b"]), "class", &nb()).unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
    document["fitted"]["gaussian_nb"]["variances"][1][0] = json!(0.0);
    let error = ModelArtifact::from_json(&document.to_string()).unwrap_err();
    assert!(error.to_string().contains("variances"), "{error}");
}

/// FNV-1a over the probabilities' bits: one number both platforms must reproduce.
fn fingerprint(values: &[Vec<f64>]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values.iter().flatten() {
        for byte in v.to_bits().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn predictions_are_identical_on_every_platform() {
    // The checkerboard gives probabilities strictly between 0 and 1 for all three.
    let frame = checkerboard(150, 0);
    let query = checkerboard(60, 3_000);
    let features = names(&["x", "y"]);
    let mut found = Vec::new();
    let shallow = Settings::DecisionTree(DecisionTreeSettings {
        max_depth: 3,
        ..DecisionTreeSettings::default()
    });
    for settings in [shallow, knn(7, KnnWeights::Distance), nb()] {
        let model = fit(&frame, &features, "class", &settings).unwrap();
        found.push(fingerprint(
            &model
                .predict_classes(&query)
                .unwrap()
                .probabilities
                .unwrap(),
        ));
    }
    assert_eq!(
        found,
        vec![
            16217290146718249602,
            14540515170408917736,
            3995326497909136088
        ]
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn cells_fit_each_algorithm_with_and_without_settings() {
    let mut session = Session::new();
    let code = r#"
        let df = parse_csv("v,c\n0,a\n1,a\n2,a\n10,b\n11,b\n12,b\n");
        let t = decision_tree(df, ["v"], "c");
        let k = knn(df, ["v"], "c", #{k: 3, weights: "distance"});
        let g = gaussian_nb(df, ["v"], "c", #{var_smoothing: 1e-6});
        [accuracy(t, df), accuracy(k, df), accuracy(g, df)]
    "#;
    let text = outputs(&session.execute("c1", code));
    assert!(!text.contains("Error"), "{text}");
    assert!(text.contains("[1.0, 1.0, 1.0]"), "{text}");
    let text = outputs(&session.execute(
        "c2",
        r#"knn(parse_csv("v,c\n0,a\n1,b\n"), ["v"], "c", #{k: 0})"#,
    ));
    assert!(text.contains("Error") && text.contains("'k'"), "{text}");
}

fn outputs(run: &oxbook_protocol::CellRun) -> String {
    run.outputs
        .iter()
        .map(|o| match o {
            Output::DisplayData { data } => data.text.clone().unwrap_or_default(),
            Output::Error(e) => format!("Error: {e:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
