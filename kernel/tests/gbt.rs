//! Gradient-boosted trees through the kernel's public Rust API: settings as scripts write
//! them, and fitted models as artifacts store them (JSON), including hand-edited ones.
//! Fitting and predicting take the crate-internal feature matrix, so their tests live
//! beside the code in `src/model/gbt.rs`. Runs natively and, with wasm-bindgen-test, in a
//! browser.

use oxbook_kernel::model::gbt::{
    BoostedNode, EarlyStopping, GbtModel, GradientBoostingSettings, Objective, MAX_BINS, MAX_ROUNDS,
};
use oxbook_kernel::model::ModelError;
use serde_json::json;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn settings(value: serde_json::Value) -> Result<GradientBoostingSettings, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn bad_setting(value: serde_json::Value) -> String {
    match settings(value).unwrap().validate() {
        Err(ModelError::InvalidSetting { setting, message }) => {
            assert!(!message.is_empty());
            setting
        }
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

/// Two rounds of a binary model on two features: the first tree splits feature 0, then
/// feature 1 on its right side; the second splits feature 0 again.
fn model_json() -> serde_json::Value {
    json!({
        "objective": "log_loss",
        "features": 2,
        "baseline": [0.25],
        "trees": [
            [{ "nodes": [
                { "split": { "feature": 0, "threshold": 0.5, "left": 1, "right": 2, "gain": 3.0 } },
                { "leaf": { "value": -0.2 } },
                { "split": { "feature": 1, "threshold": -1.5, "left": 3, "right": 4, "gain": 1.0 } },
                { "leaf": { "value": 0.1 } },
                { "leaf": { "value": 0.3 } }
            ] }],
            [{ "nodes": [
                { "split": { "feature": 0, "threshold": 0.25, "left": 1, "right": 2, "gain": 4.0 } },
                { "leaf": { "value": -0.1 } },
                { "leaf": { "value": 0.05 } }
            ] }]
        ]
    })
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn defaults_match_scikit_learn() {
    let s = settings(json!({})).unwrap();
    assert_eq!(s, GradientBoostingSettings::default());
    assert_eq!(s.learning_rate, 0.1);
    assert_eq!(s.max_iter, 100);
    assert_eq!(s.max_depth, None);
    assert_eq!(s.max_leaf_nodes, Some(31));
    assert_eq!(s.min_samples_leaf, 20);
    assert_eq!(s.l2_regularization, 0.0);
    assert_eq!(s.max_bins, MAX_BINS);
    assert_eq!(s.early_stopping, EarlyStopping::Auto);
    assert_eq!(s.validation_fraction, 0.1);
    assert_eq!(s.n_iter_no_change, 10);
    assert_eq!(s.tol, 1e-7);
    s.validate().unwrap();
    // "auto" switches on above 10,000 rows, as scikit-learn's.
    assert!(!EarlyStopping::Auto.applies(10_000));
    assert!(EarlyStopping::Auto.applies(10_001));
    assert!(EarlyStopping::On.applies(5));
    assert!(!EarlyStopping::Off.applies(1_000_000));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn settings_read_as_scripts_write_them() {
    let s = settings(json!({
        "learning_rate": 0.05, "max_iter": 300, "max_depth": 6, "max_leaf_nodes": null,
        "subsample": 0.8, "colsample": 1, "early_stopping": true, "seed": 7
    }))
    .unwrap();
    assert_eq!(s.max_depth, Some(6));
    assert_eq!(s.max_leaf_nodes, None);
    assert_eq!(s.colsample, 1.0);
    assert_eq!(s.early_stopping, EarlyStopping::On);
    s.validate().unwrap();
    assert_eq!(
        settings(json!({ "early_stopping": false }))
            .unwrap()
            .early_stopping,
        EarlyStopping::Off
    );
    assert_eq!(
        settings(json!({ "early_stopping": "auto" }))
            .unwrap()
            .early_stopping,
        EarlyStopping::Auto
    );
    let error = settings(json!({ "early_stopping": "yes" })).unwrap_err();
    assert!(error.contains("\"auto\""), "{error}");
    let error = settings(json!({ "n_estimators": 10 })).unwrap_err();
    assert!(error.contains("n_estimators"), "{error}");
    // Settings written back read the same.
    let back = settings(serde_json::to_value(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn validation_names_the_bad_setting() {
    let cases = [
        (json!({ "learning_rate": -0.1 }), "learning_rate"),
        (json!({ "max_iter": 0 }), "max_iter"),
        (json!({ "max_iter": MAX_ROUNDS + 1 }), "max_iter"),
        (json!({ "max_depth": 0 }), "max_depth"),
        (json!({ "max_leaf_nodes": 1 }), "max_leaf_nodes"),
        (json!({ "min_samples_leaf": 0 }), "min_samples_leaf"),
        (json!({ "l2_regularization": -2 }), "l2_regularization"),
        (json!({ "max_bins": 300 }), "max_bins"),
        (json!({ "subsample": 0 }), "subsample"),
        (json!({ "colsample": 2 }), "colsample"),
        (json!({ "validation_fraction": 0 }), "validation_fraction"),
        (json!({ "n_iter_no_change": 0 }), "n_iter_no_change"),
        (json!({ "tol": -1 }), "tol"),
    ];
    for (value, name) in cases {
        assert_eq!(bad_setting(value.clone()), name, "{value}");
    }
    let message = GradientBoostingSettings {
        subsample: 1.5,
        ..GradientBoostingSettings::default()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("'subsample'") && message.contains("1.5"),
        "{message}"
    );
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_stored_model_reads_back_and_checks() {
    let model: GbtModel = serde_json::from_value(model_json()).unwrap();
    assert_eq!(model.objective, Objective::LogLoss);
    assert_eq!(model.rounds(), 2);
    assert_eq!(model.outputs(), 2);
    model.check(2, 2).unwrap();
    // Gains 3 + 4 on feature 0 and 1 on feature 1, of 8.
    assert_eq!(model.feature_importances(), vec![0.875, 0.125]);
    let written = serde_json::to_value(&model).unwrap();
    assert_eq!(written, model_json());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn check_rejects_hand_edited_models() {
    let edited = |path: &[&str], value: serde_json::Value| -> GbtModel {
        let mut json = model_json();
        let mut target = &mut json;
        for key in path {
            target = match key.parse::<usize>() {
                Ok(i) => &mut target[i],
                Err(_) => &mut target[*key],
            };
        }
        *target = value;
        serde_json::from_value(json).unwrap()
    };
    let split = ["trees", "0", "0", "nodes", "2", "split"];
    let with = |key: &'static str| -> Vec<&'static str> {
        let mut p = split.to_vec();
        p.push(key);
        p
    };

    let message = edited(&with("feature"), json!(2)).check(2, 2).unwrap_err();
    assert!(message.contains("feature 2"), "{message}");
    let message = edited(&with("left"), json!(1)).check(2, 2).unwrap_err();
    assert!(message.contains("children"), "{message}");
    let message = edited(&with("right"), json!(9)).check(2, 2).unwrap_err();
    assert!(message.contains("children"), "{message}");
    let message = edited(&with("gain"), json!(-1.0)).check(2, 2).unwrap_err();
    assert!(message.contains("gain"), "{message}");
    let message = edited(&["trees", "1", "0", "nodes"], json!([]))
        .check(2, 2)
        .unwrap_err();
    assert!(message.contains("no nodes"), "{message}");
    // Two trees in a round of a one-score model.
    let tree = model_json()["trees"][1][0].clone();
    let message = edited(&["trees", "1"], json!([tree.clone(), tree]))
        .check(2, 2)
        .unwrap_err();
    assert!(message.contains("round 1"), "{message}");
    // The artifact's feature and class counts must match the model's.
    let model: GbtModel = serde_json::from_value(model_json()).unwrap();
    assert!(model.check(3, 2).is_err());
    assert!(model.check(2, 3).is_err());
    let message = edited(&["baseline"], json!([0.1, 0.2]))
        .check(2, 2)
        .unwrap_err();
    assert!(message.contains("baseline"), "{message}");
    // A softmax model needs a score per class, at least three.
    let message = edited(&["objective"], json!("softmax"))
        .check(2, 1)
        .unwrap_err();
    assert!(message.contains("at least 3"), "{message}");
    // A leaf pointing past the end cannot be built from JSON of the wrong shape either.
    let mut json = model_json();
    json["trees"][0][0]["nodes"][1] = json!({ "leaf": { "value": "big" } });
    assert!(serde_json::from_value::<GbtModel>(json).is_err());
    let regressor = edited(&["objective"], json!("squared_error"));
    regressor.check(2, 1).unwrap();
    assert!(regressor.check(2, 2).is_err());
    assert!(
        matches!(
            &regressor.trees[0][0].nodes[0],
            BoostedNode::Split { feature: 0, .. }
        ),
        "{:?}",
        regressor.trees[0][0]
    );
}
