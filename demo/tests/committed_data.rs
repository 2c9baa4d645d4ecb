//! The committed demo CSV is exactly what the generator makes, so neither can drift.

#[test]
fn committed_demo_csv_equals_generator_output() {
    let committed = include_bytes!("../../static/demo/hats.csv");
    let mut generated = Vec::new();
    oxbook_demo::write_people(3000, 7, &mut generated).unwrap();
    assert!(
        generated == committed,
        "static/demo/hats.csv differs from `generate-demo-data --rows 3000 --seed 7`"
    );
}

#[test]
fn data_has_missing_values_outliers_and_both_classes() {
    let mut generated = Vec::new();
    oxbook_demo::write_people(3000, 7, &mut generated).unwrap();
    let mut reader = csv::Reader::from_reader(generated.as_slice());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 3000);
    let empty_ages = records.iter().filter(|r| r[1].is_empty()).count();
    let outlier_ages = records.iter().filter(|r| &r[1] == "199").count();
    let bought = records.iter().filter(|r| &r[10] == "true").count();
    assert!(
        empty_ages > 20 && empty_ages < 150,
        "{empty_ages} missing ages"
    );
    assert!(outlier_ages > 0, "no age outliers");
    assert!(
        bought > 600 && bought < 2400,
        "{bought} of 3000 bought a hat"
    );
}
