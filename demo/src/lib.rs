//! The demo data set: people with demographics and purchase history, and whether they
//! bought a hat. Generated from a seed with a platform-independent generator (ChaCha), so
//! the same arguments give the same bytes on every machine. A few values are missing and a
//! few are outliers on purpose, so the demo has something to clean.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const CITIES: [&str; 6] = ["Lisbon", "Oslo", "Austin", "Nairobi", "Osaka", "Lima"];
/// Cold, rainy or sunny places make hats more or less tempting.
const CITY_HAT_AFFINITY: [f64; 6] = [0.0, 0.9, -0.4, 0.3, 0.2, -0.2];

pub const HEADER: [&str; 11] = [
    "person_id",
    "age",
    "income",
    "city",
    "is_member",
    "past_purchases",
    "days_since_last_purchase",
    "hats_owned",
    "avg_basket",
    "newsletter_clicks",
    "bought_hat",
];

/// Writes `rows` people as CSV (header first) to `out`.
pub fn write_people<W: std::io::Write>(rows: u64, seed: u64, out: W) -> csv::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for person_id in 1..=rows {
        let record = person(&mut rng, person_id);
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(())
}

/// Standard normal draw (Box–Muller), from two uniform draws.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn person(rng: &mut ChaCha8Rng, person_id: u64) -> [String; 11] {
    let age = rng.gen_range(18..=80i64);
    let city_index = rng.gen_range(0..CITIES.len() as u32) as usize;
    let is_member = rng.gen_bool(0.35);
    let income = (10.6 + 0.45 * normal(rng) + (age as f64 - 18.0) * 0.008).exp();
    let past_purchases =
        (rng.gen_range(0.0..1.0f64) * 12.0 + if is_member { 4.0 } else { 0.0 }) as i64;
    let days_since = rng.gen_range(0..=365i64);
    let hats_owned = rng.gen_range(0..=4i64);
    let avg_basket = 20.0 + 0.0006 * income + 15.0 * normal(rng).abs();
    let newsletter_clicks = rng.gen_range(0..=10i64);

    // The hidden truth the models are to learn, plus noise.
    let score = -1.2
        + 0.9 * CITY_HAT_AFFINITY[city_index]
        + 0.025 * (age as f64 - 45.0)
        + 0.6 * (income / 50_000.0 - 1.0)
        + 0.12 * past_purchases as f64
        - 0.004 * days_since as f64
        + if is_member { 0.8 } else { 0.0 }
        - 0.35 * hats_owned as f64
        + 0.15 * newsletter_clicks as f64
        + 0.8 * normal(rng);
    let bought_hat = score > 0.0;

    // Missing values and outliers, so the demo has cleaning to do.
    let missing = |rng: &mut ChaCha8Rng, p: f64| rng.gen_bool(p);
    let age_text = if missing(rng, 0.02) {
        String::new()
    } else if rng.gen_bool(0.003) {
        "199".to_string()
    } else {
        age.to_string()
    };
    let income_text = if missing(rng, 0.03) {
        String::new()
    } else if rng.gen_bool(0.003) {
        format!("{:.2}", income * 100.0)
    } else {
        format!("{income:.2}")
    };
    let days_text = if missing(rng, 0.02) {
        "NA".to_string()
    } else {
        days_since.to_string()
    };

    [
        person_id.to_string(),
        age_text,
        income_text,
        CITIES[city_index].to_string(),
        is_member.to_string(),
        past_purchases.to_string(),
        days_text,
        hats_owned.to_string(),
        format!("{avg_basket:.2}"),
        newsletter_clicks.to_string(),
        bought_hat.to_string(),
    ]
}
