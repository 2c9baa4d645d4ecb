//! Clustering: k-means and DBSCAN.
//!
//! Both follow scikit-learn's definitions (`KMeans`, `DBSCAN`) closely enough that, given
//! the same starting centers, k-means ends at the same centers, labels and inertia, and
//! DBSCAN gives the same labels (the parity fixtures in `kernel/tests/fixtures/unsupervised/`
//! check this). Random choices come from [`SeededRng`], so they differ from scikit-learn's
//! but are the same on every platform.
//!
//! k-means runs Lloyd's iterations, but skips most distance computations with Hamerly's
//! bounds (one upper bound to the point's own center, one lower bound to every other
//! center): the labels come out as Lloyd's would, and an iteration after the first few
//! reads only the points near a boundary. The clusters' sums change only by the points
//! that move, so centers agree with scikit-learn's freshly summed ones to rounding (about
//! 1e-13 relative), not to the bit. Distances are summed over features in order, with IEEE
//! arithmetic and `sqrt` only, so fits are bit-identical natively and in wasm32.
//!
//! DBSCAN finds neighbours by sorting the points along their most spread-out feature and
//! comparing each point only with those within `eps` along it: no distance matrix, memory
//! linear in the points, time quadratic only when most points are within `eps` of each
//! other along that feature.

use std::ops::ControlFlow;

use multiversion::multiversion;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FitProgress, Matrix, ModelError, Monitor};
use crate::rng::SeededRng;

// ----- k-means settings ----------------------------------------------------------------

/// How k-means picks its starting centers.
#[derive(Debug, Clone, PartialEq)]
pub enum KMeansInit {
    /// `"k-means++"` (default): scikit-learn's greedy k-means++. Each new center is the best
    /// (lowest resulting inertia) of `2 + ⌊ln k⌋` points drawn with probability
    /// proportional to their squared distance to the nearest center so far.
    KMeansPlusPlus,
    /// `"random"`: `n_clusters` distinct rows drawn uniformly.
    Random,
    /// An explicit list of `n_clusters` centers, each a list of one value per feature
    /// (scikit-learn's `init=array`).
    Centers(Vec<Vec<f64>>),
}

impl Serialize for KMeansInit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            KMeansInit::KMeansPlusPlus => serializer.serialize_str("k-means++"),
            KMeansInit::Random => serializer.serialize_str("random"),
            KMeansInit::Centers(centers) => centers.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for KMeansInit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InitVisitor;
        impl<'de> Visitor<'de> for InitVisitor {
            type Value = KMeansInit;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"k-means++\", \"random\" or a list of centers (lists of numbers)")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<KMeansInit, E> {
                match value {
                    "k-means++" => Ok(KMeansInit::KMeansPlusPlus),
                    "random" => Ok(KMeansInit::Random),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<KMeansInit, A::Error> {
                let centers: Vec<Vec<f64>> =
                    Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(KMeansInit::Centers(centers))
            }
        }
        deserializer.deserialize_any(InitVisitor)
    }
}

/// How many times k-means runs from different starting centers (keeping the run of
/// lowest inertia).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KMeansRuns {
    /// `"auto"` (default), as scikit-learn ≥ 1.4: one run for `"k-means++"` or explicit
    /// centers, 10 for `"random"`.
    Auto,
    /// A number of runs, at least 1 (exactly 1 with explicit centers).
    Runs(usize),
}

impl KMeansRuns {
    /// The number of runs `init` gets.
    pub fn resolve(self, init: &KMeansInit) -> usize {
        match (self, init) {
            (KMeansRuns::Runs(n), _) => n,
            (KMeansRuns::Auto, KMeansInit::Random) => 10,
            (KMeansRuns::Auto, _) => 1,
        }
    }
}

impl Serialize for KMeansRuns {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            KMeansRuns::Auto => serializer.serialize_str("auto"),
            KMeansRuns::Runs(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for KMeansRuns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RunsVisitor;
        impl Visitor<'_> for RunsVisitor {
            type Value = KMeansRuns;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"auto\" or a whole number of runs")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<KMeansRuns, E> {
                match value {
                    "auto" => Ok(KMeansRuns::Auto),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<KMeansRuns, E> {
                usize::try_from(value)
                    .map(KMeansRuns::Runs)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<KMeansRuns, E> {
                u64::try_from(value)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        deserializer.deserialize_any(RunsVisitor)
    }
}

/// k-means settings, named and defaulted as scikit-learn's `KMeans`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KMeansSettings {
    /// Clusters to find. Default 8; at most the number of rows.
    pub n_clusters: usize,
    /// `"k-means++"` (default), `"random"`, or a list of `n_clusters` starting centers.
    pub init: KMeansInit,
    /// Runs from different starting centers, the lowest inertia kept: `"auto"` (default;
    /// 1 for k-means++ and explicit centers, 10 for random) or a number.
    pub n_init: KMeansRuns,
    /// Most Lloyd iterations per run. Default 300.
    pub max_iter: usize,
    /// A run stops once the centers' squared movement in an iteration, summed over
    /// centers, is at most `tol` times the mean of the features' variances (as
    /// scikit-learn). Default 1e-4. It also stops when no label changes.
    pub tol: f64,
    /// Seed of the random starting centers. Default 42.
    pub seed: u64,
}

impl Default for KMeansSettings {
    fn default() -> Self {
        KMeansSettings {
            n_clusters: 8,
            init: KMeansInit::KMeansPlusPlus,
            n_init: KMeansRuns::Auto,
            max_iter: 300,
            tol: 1e-4,
            seed: 42,
        }
    }
}

/// More starting runs than this is almost certainly a typo.
pub const MAX_KMEANS_RUNS: usize = 1_000;

impl KMeansSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.n_clusters == 0 {
            return Err(ModelError::setting(
                "n_clusters",
                "must be at least 1 (got 0)",
            ));
        }
        if let KMeansRuns::Runs(n) = self.n_init {
            if n == 0 || n > MAX_KMEANS_RUNS {
                return Err(ModelError::setting(
                    "n_init",
                    format!("must be \"auto\" or between 1 and {MAX_KMEANS_RUNS} (got {n})"),
                ));
            }
        }
        if self.max_iter == 0 {
            return Err(ModelError::setting(
                "max_iter",
                "must be at least 1 (got 0)",
            ));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(ModelError::setting(
                "tol",
                format!("must be a finite number of at least 0 (got {})", self.tol),
            ));
        }
        if let KMeansInit::Centers(centers) = &self.init {
            if centers.len() != self.n_clusters {
                return Err(ModelError::setting(
                    "init",
                    format!(
                        "gives {} center(s), but n_clusters is {}",
                        centers.len(),
                        self.n_clusters
                    ),
                ));
            }
            let width = centers[0].len();
            if width == 0 {
                return Err(ModelError::setting("init", "gives centers without values"));
            }
            if let Some(i) = centers.iter().position(|c| c.len() != width) {
                return Err(ModelError::setting(
                    "init",
                    format!(
                        "center {i} has {} value(s) where center 0 has {width}",
                        centers[i].len()
                    ),
                ));
            }
            if let Some(i) = centers
                .iter()
                .position(|c| !c.iter().all(|v| v.is_finite()))
            {
                return Err(ModelError::setting(
                    "init",
                    format!("center {i} has a NaN or infinite value"),
                ));
            }
            if let KMeansRuns::Runs(n) = self.n_init {
                if n != 1 {
                    return Err(ModelError::setting(
                        "n_init",
                        format!(
                            "must be 1 or \"auto\" when init gives the centers: every run \
                             would start from them (got {n})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

// ----- the k-means model ---------------------------------------------------------------

/// A fitted k-means model: the centers, and the fit's inertia (sum of squared distances
/// from each training row to its nearest center).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansModel {
    /// `n_clusters` centers of one value per feature; cluster `c` is `centers[c]`.
    pub centers: Vec<Vec<f64>>,
    pub inertia: f64,
    /// Lloyd iterations of the kept run.
    pub iterations: usize,
    /// Whether the kept run stopped by `tol` or unchanged labels rather than `max_iter`.
    pub converged: bool,
}

/// Lanes of the blocked distance kernel: four centers' coordinates side by side, so the
/// compiler can compute four distances with vector instructions. Each distance is still
/// summed over features in order, so its bits do not depend on the vectorization. The
/// helpers below are `#[inline(always)]` so that the AVX2 copies of [`lloyd`] and
/// [`kmeans_plusplus`] (see `multiversion` in Cargo.toml) compile them with AVX2 too.
const LANES: usize = 4;

/// Centers (or candidates) laid out for [`block_distances`]: block `b` holds centers
/// `4b..4b+4`, feature by feature. Lanes past the last center hold zeros and are ignored.
struct Blocks {
    data: Vec<[f64; LANES]>,
    cols: usize,
    count: usize,
}

impl Blocks {
    fn new(cols: usize) -> Blocks {
        Blocks {
            data: Vec::new(),
            cols,
            count: 0,
        }
    }

    /// Lays out `count` rows of `cols` values (row-major in `rows`).
    #[inline(always)]
    fn fill(&mut self, rows: &[f64], count: usize) {
        let blocks = count.div_ceil(LANES);
        self.count = count;
        self.data.clear();
        self.data.resize(blocks * self.cols, [0.0; LANES]);
        for (c, row) in rows.chunks_exact(self.cols).take(count).enumerate() {
            let (b, lane) = (c / LANES, c % LANES);
            for (j, &v) in row.iter().enumerate() {
                self.data[b * self.cols + j][lane] = v;
            }
        }
    }

    fn blocks(&self) -> impl Iterator<Item = &[[f64; LANES]]> {
        self.data.chunks_exact(self.cols)
    }

    /// Squared distances from `point` to every center, into `out[..count]`.
    #[inline(always)]
    fn distances(&self, point: &[f64], out: &mut [f64]) {
        for (b, block) in self.blocks().enumerate() {
            let d = block_distances(point, block);
            let start = b * LANES;
            let end = (start + LANES).min(self.count);
            out[start..end].copy_from_slice(&d[..end - start]);
        }
    }

    /// The nearest center to `point` (the first on ties), with the squared distances to
    /// it and to the second nearest (infinite when there is one center).
    #[inline(always)]
    fn nearest_two(&self, point: &[f64]) -> (usize, f64, f64) {
        let mut nearest = Nearest::default();
        let mut pairs = self.data.chunks_exact(2 * self.cols);
        let mut start = 0;
        for pair in pairs.by_ref() {
            let (a, b) = pair.split_at(self.cols);
            let (to_a, to_b) = pair_distances(point, a, b);
            nearest.consider_block(start, &to_a, self.count);
            nearest.consider_block(start + LANES, &to_b, self.count);
            start += 2 * LANES;
        }
        if !pairs.remainder().is_empty() {
            let d = block_distances(point, pairs.remainder());
            nearest.consider_block(start, &d, self.count);
        }
        (nearest.index, nearest.first, nearest.second)
    }
}

/// The running nearest and second-nearest of [`Blocks::nearest_two`]. Its updates are
/// selects rather than branches: which center is nearer is unpredictable, and the
/// mispredicted branches cost about as much as the distances.
struct Nearest {
    index: usize,
    first: f64,
    second: f64,
}

impl Default for Nearest {
    fn default() -> Nearest {
        Nearest {
            index: 0,
            first: f64::INFINITY,
            second: f64::INFINITY,
        }
    }
}

impl Nearest {
    #[inline(always)]
    fn consider_block(&mut self, start: usize, distances: &[f64; LANES], count: usize) {
        for (lane, &distance) in distances
            .iter()
            .enumerate()
            .take(count.saturating_sub(start))
        {
            let nearer = distance < self.first;
            self.second = if nearer {
                self.first
            } else {
                self.second.min(distance)
            };
            self.first = if nearer { distance } else { self.first };
            self.index = if nearer { start + lane } else { self.index };
        }
    }
}

#[inline(always)]
fn block_distances(point: &[f64], block: &[[f64; LANES]]) -> [f64; LANES] {
    let mut acc = [0.0; LANES];
    for (&v, c) in point.iter().zip(block) {
        for lane in 0..LANES {
            let t = v - c[lane];
            acc[lane] += t * t;
        }
    }
    acc
}

/// [`block_distances`] to two blocks in one sweep of `point`: twice the independent
/// sums in flight, so the additions' latency overlaps.
#[inline(always)]
fn pair_distances(
    point: &[f64],
    a: &[[f64; LANES]],
    b: &[[f64; LANES]],
) -> ([f64; LANES], [f64; LANES]) {
    let (mut to_a, mut to_b) = ([0.0; LANES], [0.0; LANES]);
    for ((&v, ca), cb) in point.iter().zip(a).zip(b) {
        for lane in 0..LANES {
            let t = v - ca[lane];
            to_a[lane] += t * t;
            let u = v - cb[lane];
            to_b[lane] += u * u;
        }
    }
    (to_a, to_b)
}

#[inline(always)]
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        sum += t * t;
    }
    sum
}

/// Every row's index of its nearest center (the first on ties) and squared distance to it.
fn assign(x: &Matrix, centers: &[f64], k: usize) -> Vec<(usize, f64)> {
    let mut blocks = Blocks::new(x.cols);
    blocks.fill(centers, k);
    (0..x.rows)
        .map(|i| {
            let (c, d, _) = blocks.nearest_two(x.row(i));
            (c, d)
        })
        .collect()
}

impl KMeansModel {
    pub fn n_clusters(&self) -> usize {
        self.centers.len()
    }

    /// That the centers fit `features` inputs, so predicting cannot index out of bounds
    /// even for an artifact edited by hand.
    pub fn check(&self, features: usize) -> Result<(), String> {
        if self.centers.is_empty() {
            return Err("k-means model has no centers".into());
        }
        if let Some(c) = self.centers.iter().position(|c| c.len() != features) {
            return Err(format!(
                "k-means center {c} has {} values for {features} features",
                self.centers[c].len()
            ));
        }
        if !self.centers.iter().flatten().all(|v| v.is_finite()) {
            return Err("k-means centers must be finite".into());
        }
        Ok(())
    }

    fn flat_centers(&self) -> Vec<f64> {
        self.centers.iter().flatten().copied().collect()
    }

    /// Each row's cluster: the index of its nearest center (the first on ties), as
    /// scikit-learn's `predict`. Only call after [`Self::check`].
    pub(crate) fn predict(&self, x: &Matrix) -> Vec<usize> {
        assign(x, &self.flat_centers(), self.centers.len())
            .into_iter()
            .map(|(c, _)| c)
            .collect()
    }

    /// Each row's Euclidean distance to every center (rows × clusters), as scikit-learn's
    /// `transform`. Only call after [`Self::check`].
    pub(crate) fn transform(&self, x: &Matrix) -> Matrix {
        let k = self.centers.len();
        let mut blocks = Blocks::new(x.cols);
        blocks.fill(&self.flat_centers(), k);
        let mut data = vec![0.0; x.rows * k];
        for (i, out) in data.chunks_exact_mut(k).enumerate() {
            blocks.distances(x.row(i), out);
            for d in out.iter_mut() {
                *d = d.sqrt();
            }
        }
        Matrix {
            rows: x.rows,
            cols: k,
            data,
        }
    }

    /// [`Self::predict`] on rows of values, checking their width.
    pub fn predict_rows(&self, points: &[Vec<f64>]) -> Result<Vec<usize>, String> {
        let x = input_matrix(points, self.centers.first().map_or(0, Vec::len))?;
        self.check(x.cols)?;
        Ok(self.predict(&x))
    }

    /// [`Self::transform`] on rows of values, checking their width.
    pub fn transform_rows(&self, points: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
        let x = input_matrix(points, self.centers.first().map_or(0, Vec::len))?;
        self.check(x.cols)?;
        Ok(rows_of(&self.transform(&x)))
    }
}

// ----- k-means fitting -----------------------------------------------------------------

/// What [`fit_kmeans`] reports progress in.
pub const KMEANS_UNIT: &str = "iterations";

/// Fits k-means to the rows of `x`. Progress is reported after every Lloyd iteration, as
/// `done` of `runs × max_iter` iterations (a run that converges early skips ahead to the
/// next run's share).
pub(crate) fn fit_kmeans(
    x: &Matrix,
    settings: &KMeansSettings,
    monitor: &mut Monitor,
) -> Result<KMeansModel, ModelError> {
    settings.validate()?;
    if x.rows == 0 || x.cols == 0 {
        return Err(ModelError::EmptyFrame);
    }
    let k = settings.n_clusters;
    if k > x.rows {
        return Err(ModelError::setting(
            "n_clusters",
            format!("is {k}, but there are only {} row(s)", x.rows),
        ));
    }
    if let KMeansInit::Centers(centers) = &settings.init {
        if centers[0].len() != x.cols {
            return Err(ModelError::setting(
                "init",
                format!(
                    "gives centers of {} value(s), but there are {} feature(s)",
                    centers[0].len(),
                    x.cols
                ),
            ));
        }
    }
    let runs = settings.n_init.resolve(&settings.init);
    let tol = tolerance(x, settings.tol);
    let total = runs * settings.max_iter;
    let mut best: Option<Run> = None;
    for run in 0..runs {
        let mut rng = SeededRng::with_stream(settings.seed, run as u64);
        let centers = match &settings.init {
            KMeansInit::KMeansPlusPlus => kmeans_plusplus(x, k, &mut rng),
            KMeansInit::Random => random_rows(x, k, &mut rng),
            KMeansInit::Centers(c) => c.iter().flatten().copied().collect(),
        };
        let offset = run * settings.max_iter;
        let result = lloyd(x, centers, k, settings.max_iter, tol, &mut |done| {
            let progress = FitProgress {
                done: offset + done,
                total,
                unit: KMEANS_UNIT,
            };
            match monitor(progress) {
                ControlFlow::Continue(()) => Ok(()),
                ControlFlow::Break(()) => Err(progress.cancelled()),
            }
        })?;
        // A later run replaces the best only if strictly better: ties keep the first.
        if best.as_ref().is_none_or(|b| result.inertia < b.inertia) {
            best = Some(result);
        }
    }
    let best = best.expect("at least one run");
    if !best.inertia.is_finite() || !best.centers.iter().all(|v| v.is_finite()) {
        return Err(ModelError::FitFailed(
            "the values are too large for k-means' squared distances; standardize them first"
                .into(),
        ));
    }
    Ok(KMeansModel {
        centers: best
            .centers
            .chunks_exact(x.cols)
            .map(<[f64]>::to_vec)
            .collect(),
        inertia: best.inertia,
        iterations: best.iterations,
        converged: best.converged,
    })
}

/// [`fit_kmeans`] on rows of values (all of one width, finite).
pub fn kmeans(
    points: &[Vec<f64>],
    settings: &KMeansSettings,
    monitor: &mut Monitor,
) -> Result<KMeansModel, ModelError> {
    fit_kmeans(&training_matrix(points)?, settings, monitor)
}

/// scikit-learn's absolute tolerance: `tol` times the mean of the features' (population)
/// variances.
fn tolerance(x: &Matrix, tol: f64) -> f64 {
    if tol == 0.0 {
        return 0.0;
    }
    let n = x.rows as f64;
    let mut means = vec![0.0; x.cols];
    for i in 0..x.rows {
        for (m, v) in means.iter_mut().zip(x.row(i)) {
            *m += v;
        }
    }
    for m in means.iter_mut() {
        *m /= n;
    }
    let mut squares = vec![0.0; x.cols];
    for i in 0..x.rows {
        for ((s, v), m) in squares.iter_mut().zip(x.row(i)).zip(&means) {
            let t = v - m;
            *s += t * t;
        }
    }
    let mean_variance = squares.iter().map(|s| s / n).sum::<f64>() / x.cols as f64;
    mean_variance * tol
}

/// A uniform draw in [0, 1) from 53 random bits.
fn uniform(rng: &mut SeededRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `k` distinct rows drawn uniformly (a partial Fisher–Yates shuffle), row-major.
fn random_rows(x: &Matrix, k: usize, rng: &mut SeededRng) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.rows).collect();
    for i in 0..k {
        let j = i + rng.below(x.rows - i);
        order.swap(i, j);
    }
    order[..k].iter().flat_map(|&i| x.row(i)).copied().collect()
}

/// Relative margin of k-means++'s pruning (see [`kmeans_plusplus`]), far above rounding.
const PRUNE_MARGIN: f64 = 1.0 + 1e-9;

/// scikit-learn's greedy k-means++ (`_kmeans_plusplus`): the first center uniformly, then
/// per center `2 + ⌊ln k⌋` candidates drawn in proportion to their squared distance to
/// the nearest center so far, keeping the one that leaves the lowest total.
///
/// A row is measured against the candidates only if one of them could be nearer than its
/// nearest center `a`: by the triangle inequality a candidate at least twice the row's
/// distance from `a` is not. Skipped rows keep their distance, exactly as measuring them
/// would, so pruning changes the speed and not the result.
#[multiversion(targets("x86_64+avx2"))]
fn kmeans_plusplus(x: &Matrix, k: usize, rng: &mut SeededRng) -> Vec<f64> {
    let (n, d) = (x.rows, x.cols);
    let trials = 2 + libm::log(k as f64) as usize;
    let mut centers = Vec::with_capacity(k * d);
    centers.extend_from_slice(x.row(rng.below(n)));
    let mut closest: Vec<f64> = (0..n)
        .map(|i| squared_distance(x.row(i), &centers[..d]))
        .collect();
    let mut nearest = vec![0usize; n];
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0.0; n];
    let mut candidates = vec![0usize; trials];
    let mut candidate_rows = Vec::with_capacity(trials * d);
    let mut blocks = Blocks::new(d);
    // Row i's squared distances to the candidates, at i * trials (when measured).
    let mut distances = vec![0.0; trials * n];
    let mut measured = vec![false; n];
    // A quarter of the squared distance from candidate t to center j, at t * k + j.
    let mut separations = vec![0.0; trials * k];
    let mut potentials = vec![0.0; trials];
    for c in 1..k {
        let mut sum = 0.0;
        for (cum, &v) in cumulative.iter_mut().zip(&closest) {
            sum += v;
            *cum = sum;
        }
        for candidate in candidates.iter_mut() {
            let target = uniform(rng) * potential;
            // The first row whose cumulative total passes the target: rows at distance 0
            // (already centers) are never drawn.
            *candidate = cumulative.partition_point(|&cum| cum <= target).min(n - 1);
        }
        candidate_rows.clear();
        for &i in &candidates {
            candidate_rows.extend_from_slice(x.row(i));
        }
        blocks.fill(&candidate_rows, trials);
        for (t, row) in candidate_rows.chunks_exact(d).enumerate() {
            for j in 0..c {
                separations[t * k + j] = 0.25 * squared_distance(row, &centers[j * d..(j + 1) * d]);
            }
        }
        potentials.fill(0.0);
        for i in 0..n {
            let own = closest[i];
            let limit = own * PRUNE_MARGIN;
            let a = nearest[i];
            measured[i] = (0..trials).any(|t| separations[t * k + a] <= limit);
            if measured[i] {
                let out = &mut distances[i * trials..(i + 1) * trials];
                blocks.distances(x.row(i), out);
                for (p, &v) in potentials.iter_mut().zip(out.iter()) {
                    *p += v.min(own);
                }
            } else {
                for p in potentials.iter_mut() {
                    *p += own;
                }
            }
        }
        let mut best = 0;
        for t in 1..trials {
            if potentials[t] < potentials[best] {
                best = t;
            }
        }
        potential = potentials[best];
        for i in 0..n {
            if measured[i] {
                let v = distances[i * trials + best];
                if v < closest[i] {
                    closest[i] = v;
                    nearest[i] = c;
                }
            }
        }
        centers.extend_from_slice(x.row(candidates[best]));
    }
    centers
}

/// One k-means run's result; centers row-major.
struct Run {
    centers: Vec<f64>,
    inertia: f64,
    iterations: usize,
    converged: bool,
}

/// Comparisons against Hamerly's bounds leave this relative margin, so that rounding in
/// the bounds can never skip a point whose nearest center changed: a point is rechecked
/// unless its bound wins by more than this. Ties closer than the margin are recomputed
/// exactly, so labels are those of plain Lloyd iterations.
const BOUND_MARGIN: f64 = 1.0 + 1e-10;

/// How far the centers moved in the last update: per center, and the largest two.
struct Movement {
    shifts: Vec<f64>,
    farthest: usize,
    largest: f64,
    second: f64,
}

impl Movement {
    fn new(squared_shifts: &[f64]) -> Movement {
        let shifts: Vec<f64> = squared_shifts.iter().map(|s| s.sqrt()).collect();
        let (mut farthest, mut largest, mut second) = (0, 0.0, 0.0);
        for (c, &s) in shifts.iter().enumerate() {
            if s > largest {
                second = largest;
                largest = s;
                farthest = c;
            } else if s > second {
                second = s;
            }
        }
        Movement {
            shifts,
            farthest,
            largest,
            second,
        }
    }
}

/// Each row's cluster with Hamerly's bounds: `upper[i]` bounds the distance from row `i`
/// to its center from above, `lower[i]` the distance to every other center from below.
/// A row whose upper bound is below both its lower bound and half the distance from its
/// center to the nearest other center cannot have changed cluster.
struct Assignment {
    labels: Vec<usize>,
    upper: Vec<f64>,
    lower: Vec<f64>,
    blocks: Blocks,
    half_gaps: Vec<f64>,
    /// The rows whose bounds could not settle their cluster in this pass.
    unsettled: Vec<usize>,
}

/// What an assignment pass keeps besides the labels.
enum Tally<'a> {
    /// Per cluster, the sum of its rows and their count: from scratch on the first pass,
    /// then moving only the rows that change cluster, so that rows whose bounds show
    /// they stay are not read at all.
    Sums(&'a mut [f64], &'a mut [usize]),
    /// The sum of squared distances from each row to its center.
    Inertia(&'a mut f64),
}

/// Up to this many clusters, an unsettled row is measured against every center at once:
/// with the centers in two blocks that costs little more than the one distance to its
/// own center that Hamerly's algorithm computes first, which settled only a third of the
/// unsettled rows in the training benchmark.
const MEASURE_ALL_UP_TO: usize = 2 * LANES;

impl Assignment {
    fn new(rows: usize, cols: usize, k: usize) -> Assignment {
        Assignment {
            labels: vec![0; rows],
            upper: vec![0.0; rows],
            lower: vec![0.0; rows],
            blocks: Blocks::new(cols),
            half_gaps: vec![0.0; k],
            unsettled: Vec::new(),
        }
    }

    /// One pass over the rows: moves the bounds by `moved` (none on the first pass, which
    /// computes every distance), assigns each row to its nearest center (the first on
    /// ties), and tallies. Returns whether any label changed.
    #[inline(always)]
    fn pass(
        &mut self,
        x: &Matrix,
        centers: &[f64],
        k: usize,
        moved: Option<&Movement>,
        mut tally: Tally,
    ) -> bool {
        let d = x.cols;
        self.blocks.fill(centers, k);
        let changed = match moved {
            None => {
                if let Tally::Sums(sums, counts) = &mut tally {
                    sums.fill(0.0);
                    counts.fill(0);
                }
                for i in 0..x.rows {
                    let row = x.row(i);
                    let (c, first, second) = self.blocks.nearest_two(row);
                    self.labels[i] = c;
                    self.upper[i] = first.sqrt();
                    self.lower[i] = second.sqrt();
                    if let Tally::Sums(sums, counts) = &mut tally {
                        counts[c] += 1;
                        add_row(sums, c, row);
                    }
                }
                false
            }
            Some(m) => self.reassign(x, centers, k, m, &mut tally),
        };
        if let Tally::Inertia(total) = tally {
            for (i, &c) in self.labels.iter().enumerate() {
                *total += squared_distance(x.row(i), &centers[c * d..(c + 1) * d]);
            }
        }
        changed
    }

    /// A pass after the centers moved by `m`: first the bounds of every row, without
    /// reading the rows, then the rows they leave unsettled, in order.
    #[inline(always)]
    fn reassign(
        &mut self,
        x: &Matrix,
        centers: &[f64],
        k: usize,
        m: &Movement,
        tally: &mut Tally,
    ) -> bool {
        let d = x.cols;
        for c in 0..k {
            let mut nearest = f64::INFINITY;
            for other in 0..k {
                if other != c {
                    nearest = nearest.min(squared_distance(
                        &centers[c * d..(c + 1) * d],
                        &centers[other * d..(other + 1) * d],
                    ));
                }
            }
            self.half_gaps[c] = 0.5 * nearest.sqrt();
        }
        self.unsettled.clear();
        for (i, (&c, (upper, lower))) in self
            .labels
            .iter()
            .zip(self.upper.iter_mut().zip(self.lower.iter_mut()))
            .enumerate()
        {
            *upper += m.shifts[c];
            *lower -= if c == m.farthest { m.second } else { m.largest };
            if *upper * BOUND_MARGIN >= self.half_gaps[c].max(*lower) {
                self.unsettled.push(i);
            }
        }
        let mut changed = false;
        for &i in &self.unsettled {
            let row = x.row(i);
            let from = self.labels[i];
            if k > MEASURE_ALL_UP_TO {
                self.upper[i] = squared_distance(row, &centers[from * d..(from + 1) * d]).sqrt();
                if self.upper[i] * BOUND_MARGIN < self.half_gaps[from].max(self.lower[i]) {
                    continue;
                }
            }
            let (to, first, second) = self.blocks.nearest_two(row);
            self.labels[i] = to;
            self.upper[i] = first.sqrt();
            self.lower[i] = second.sqrt();
            if to != from {
                changed = true;
                if let Tally::Sums(sums, counts) = tally {
                    counts[from] -= 1;
                    remove_row(sums, from, row);
                    counts[to] += 1;
                    add_row(sums, to, row);
                }
            }
        }
        changed
    }
}

/// Adds `row` to cluster `c`'s sum.
#[inline(always)]
fn add_row(sums: &mut [f64], c: usize, row: &[f64]) {
    let d = row.len();
    for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(row) {
        *s += v;
    }
}

/// Takes `row` out of cluster `c`'s sum.
#[inline(always)]
fn remove_row(sums: &mut [f64], c: usize, row: &[f64]) {
    let d = row.len();
    for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(row) {
        *s -= v;
    }
}

/// Lloyd's algorithm from `centers` (row-major), as scikit-learn's `_kmeans_single_lloyd`:
/// each iteration assigns every row to its nearest center, then moves each center to the
/// mean of its rows. It stops when no label changed, when the centers' total squared
/// movement is at most `tol`, or after `max_iter` iterations; a last assignment makes the
/// labels agree with the final centers. Only the first iteration reads every row: later
/// ones read a row only when [`Assignment`]'s bounds cannot settle its cluster, and the
/// clusters' sums change only by the rows that move.
#[multiversion(targets("x86_64+avx2"))]
fn lloyd(
    x: &Matrix,
    mut centers: Vec<f64>,
    k: usize,
    max_iter: usize,
    tol: f64,
    report: &mut dyn FnMut(usize) -> Result<(), ModelError>,
) -> Result<Run, ModelError> {
    let d = x.cols;
    let mut assignment = Assignment::new(x.rows, d, k);
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    // The sums and counts after relocating rows to empty clusters, which moves the
    // centers but not the labels.
    let (mut relocated_sums, mut relocated_counts) = (sums.clone(), counts.clone());
    let mut next = vec![0.0; k * d];
    let mut squared_shifts = vec![0.0; k];
    let mut moved: Option<Movement> = None;
    let mut iterations = 0;
    let mut converged = false;
    for iteration in 0..max_iter {
        let changed = assignment.pass(
            x,
            &centers,
            k,
            moved.as_ref(),
            Tally::Sums(&mut sums, &mut counts),
        );
        // The first assignment has no earlier labels to compare with.
        let unchanged = iteration > 0 && !changed;
        let (sums, counts) = if counts.contains(&0) {
            relocated_sums.copy_from_slice(&sums);
            relocated_counts.copy_from_slice(&counts);
            relocate_empty_clusters(
                x,
                &centers,
                &assignment.labels,
                &mut relocated_sums,
                &mut relocated_counts,
            );
            (&relocated_sums, &relocated_counts)
        } else {
            (&sums, &counts)
        };
        let mut total_shift = 0.0;
        for c in 0..k {
            let new = &mut next[c * d..(c + 1) * d];
            if counts[c] == 0 {
                // Emptied by a relocation: stays where it was.
                new.copy_from_slice(&centers[c * d..(c + 1) * d]);
            } else {
                let count = counts[c] as f64;
                for (v, s) in new.iter_mut().zip(&sums[c * d..(c + 1) * d]) {
                    *v = s / count;
                }
            }
            squared_shifts[c] = squared_distance(new, &centers[c * d..(c + 1) * d]);
            total_shift += squared_shifts[c];
        }
        std::mem::swap(&mut centers, &mut next);
        moved = Some(Movement::new(&squared_shifts));
        iterations = iteration + 1;
        report(iterations)?;
        if unchanged || total_shift <= tol {
            converged = true;
            break;
        }
    }
    // With unchanged labels the centers did not move and this pass changes nothing, but
    // it still gives the inertia.
    let mut inertia = 0.0;
    assignment.pass(x, &centers, k, moved.as_ref(), Tally::Inertia(&mut inertia));
    Ok(Run {
        centers,
        inertia,
        iterations,
        converged,
    })
}

/// scikit-learn's `_relocate_empty_clusters_dense`: each empty cluster takes one of the
/// rows farthest from their (old) center, farthest first, moving it out of its cluster's
/// sum. Labels are left alone; the next assignment settles them.
fn relocate_empty_clusters(
    x: &Matrix,
    centers: &[f64],
    labels: &[usize],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let d = x.cols;
    let mut far: Vec<(f64, usize)> = labels
        .iter()
        .enumerate()
        .map(|(i, &c)| (squared_distance(x.row(i), &centers[c * d..(c + 1) * d]), i))
        .collect();
    // Farthest first; among equals the lowest row.
    let order = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if empty.len() < far.len() {
        far.select_nth_unstable_by(empty.len() - 1, order);
    }
    far.truncate(empty.len());
    far.sort_by(order);
    for (&cluster, &(_, i)) in empty.iter().zip(&far) {
        let old = labels[i];
        remove_row(sums, old, x.row(i));
        counts[old] -= 1;
        sums[cluster * d..(cluster + 1) * d].copy_from_slice(x.row(i));
        counts[cluster] = 1;
    }
}

// ----- DBSCAN --------------------------------------------------------------------------

/// How DBSCAN measures distance between rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbscanMetric {
    /// Straight-line distance (default).
    Euclidean,
    /// Sum of absolute differences.
    Manhattan,
    /// Largest absolute difference.
    Chebyshev,
}

impl DbscanMetric {
    /// The quantity compared with [`Self::threshold`]: the squared distance for
    /// Euclidean (no square root needed), the distance otherwise. Sums stop early once
    /// past `limit`: terms are never negative, so a partial sum past it stays past it.
    fn measure(self, a: &[f64], b: &[f64], limit: f64) -> f64 {
        match self {
            DbscanMetric::Euclidean => {
                let mut sum = 0.0;
                for (x, y) in a.iter().zip(b) {
                    let t = x - y;
                    sum += t * t;
                    if sum > limit {
                        break;
                    }
                }
                sum
            }
            DbscanMetric::Manhattan => {
                let mut sum = 0.0;
                for (x, y) in a.iter().zip(b) {
                    sum += (x - y).abs();
                    if sum > limit {
                        break;
                    }
                }
                sum
            }
            DbscanMetric::Chebyshev => a
                .iter()
                .zip(b)
                .fold(0.0, |m: f64, (x, y)| m.max((x - y).abs())),
        }
    }

    /// `eps` on the scale of [`Self::measure`].
    fn threshold(self, eps: f64) -> f64 {
        match self {
            DbscanMetric::Euclidean => eps * eps,
            DbscanMetric::Manhattan | DbscanMetric::Chebyshev => eps,
        }
    }

    /// A single feature's difference on the scale of [`Self::measure`]; never more than
    /// the measure of the whole rows (also after rounding), so it can prune.
    fn axis_term(self, difference: f64) -> f64 {
        match self {
            DbscanMetric::Euclidean => difference * difference,
            DbscanMetric::Manhattan | DbscanMetric::Chebyshev => difference,
        }
    }
}

/// DBSCAN settings, named and defaulted as scikit-learn's `DBSCAN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbscanSettings {
    /// Rows within `eps` of each other (inclusive) are neighbours. Default 0.5.
    pub eps: f64,
    /// Neighbours (counting the row itself) that make a row a core row. Default 5.
    pub min_samples: usize,
    /// `"euclidean"` (default), `"manhattan"` or `"chebyshev"`.
    pub metric: DbscanMetric,
}

impl Default for DbscanSettings {
    fn default() -> Self {
        DbscanSettings {
            eps: 0.5,
            min_samples: 5,
            metric: DbscanMetric::Euclidean,
        }
    }
}

impl DbscanSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(ModelError::setting(
                "eps",
                format!("must be a finite number above 0 (got {})", self.eps),
            ));
        }
        if self.min_samples == 0 {
            return Err(ModelError::setting(
                "min_samples",
                "must be at least 1 (got 0)",
            ));
        }
        Ok(())
    }
}

/// A fitted DBSCAN: the training rows' labels, and the core rows, which label new rows.
///
/// scikit-learn's `DBSCAN` has no `predict`; here a new row takes the label of the
/// nearest core row within `eps` (the first on ties), or -1 (noise) if there is none,
/// which is the label it would get as a border point joining the training data without
/// changing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbscanModel {
    pub eps: f64,
    pub metric: DbscanMetric,
    /// Per training row: its cluster, numbered from 0 in the order scikit-learn finds them
    /// (by their lowest core row), or -1 for noise.
    pub labels: Vec<i64>,
    /// The core rows' indices, ascending.
    pub core_sample_indices: Vec<usize>,
    /// The core rows' values, in the order of `core_sample_indices`.
    pub components: Vec<Vec<f64>>,
    /// The core rows' clusters, in the same order.
    pub component_labels: Vec<i64>,
}

/// What [`fit_dbscan`] reports progress in: it searches every row's neighbourhood twice
/// (once to count neighbours, once to join clusters).
pub const DBSCAN_UNIT: &str = "neighbourhood searches";

/// Rows searched between progress reports.
const DBSCAN_REPORT_EVERY: usize = 1024;

/// Fits DBSCAN to the rows of `x`: scikit-learn's clusters (core rows with at least
/// `min_samples` neighbours within `eps`, joined when neighbours; border rows joining the
/// first cluster found among their core neighbours; the rest noise).
pub(crate) fn fit_dbscan(
    x: &Matrix,
    settings: &DbscanSettings,
    monitor: &mut Monitor,
) -> Result<DbscanModel, ModelError> {
    settings.validate()?;
    if x.rows == 0 || x.cols == 0 {
        return Err(ModelError::EmptyFrame);
    }
    let n = x.rows;
    let metric = settings.metric;
    let threshold = metric.threshold(settings.eps);
    if !threshold.is_finite() {
        return Err(ModelError::setting(
            "eps",
            format!("is too large to square (got {})", settings.eps),
        ));
    }

    // Rows sorted along the feature of widest range: two rows farther apart than eps
    // along it are not neighbours, so each row needs comparing only with a window.
    let axis = (0..x.cols)
        .map(|j| {
            let (lo, hi) = (0..n).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), i| {
                (lo.min(x.get(i, j)), hi.max(x.get(i, j)))
            });
            (j, hi - lo)
        })
        .fold((0, f64::NEG_INFINITY), |best, (j, r)| {
            if r > best.1 {
                (j, r)
            } else {
                best
            }
        })
        .0;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x.get(a, axis).total_cmp(&x.get(b, axis)).then(a.cmp(&b)));
    let projection: Vec<f64> = order.iter().map(|&i| x.get(i, axis)).collect();
    let total = 2 * n;

    // Calls `visit(i, j)` for every pair of neighbours (each pair once, i ≠ j).
    let mut scan = |pass: usize, visit: &mut dyn FnMut(usize, usize)| -> Result<(), ModelError> {
        for p in 0..n {
            if p % DBSCAN_REPORT_EVERY == 0 && p > 0 {
                let progress = FitProgress {
                    done: pass * n + p,
                    total,
                    unit: DBSCAN_UNIT,
                };
                if monitor(progress).is_break() {
                    return Err(progress.cancelled());
                }
            }
            let i = order[p];
            let row = x.row(i);
            for q in p + 1..n {
                if metric.axis_term(projection[q] - projection[p]) > threshold {
                    break;
                }
                let j = order[q];
                if metric.measure(row, x.row(j), threshold) <= threshold {
                    visit(i, j);
                }
            }
        }
        Ok(())
    };

    let mut neighbours = vec![1usize; n];
    scan(0, &mut |i, j| {
        neighbours[i] += 1;
        neighbours[j] += 1;
    })?;
    let core: Vec<bool> = neighbours
        .iter()
        .map(|&c| c >= settings.min_samples)
        .collect();

    // Core neighbours join one cluster; a non-core row has fewer than min_samples
    // neighbours, so remembering its core neighbours takes memory linear in the rows.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut border_links: Vec<(usize, usize)> = Vec::new();
    scan(1, &mut |i, j| match (core[i], core[j]) {
        (true, true) => union(&mut parent, i, j),
        (true, false) => border_links.push((j, i)),
        (false, true) => border_links.push((i, j)),
        (false, false) => {}
    })?;
    let progress = FitProgress {
        done: total,
        total,
        unit: DBSCAN_UNIT,
    };
    if monitor(progress).is_break() {
        return Err(progress.cancelled());
    }

    // scikit-learn numbers clusters as its scan over rows first meets one of their core
    // rows, and a border row keeps the first cluster that reaches it: the lowest number
    // among its core neighbours' clusters.
    let mut labels = vec![-1i64; n];
    let mut cluster_of_root = vec![-1i64; n];
    let mut clusters = 0i64;
    for i in 0..n {
        if core[i] {
            let root = find(&mut parent, i);
            if cluster_of_root[root] < 0 {
                cluster_of_root[root] = clusters;
                clusters += 1;
            }
            labels[i] = cluster_of_root[root];
        }
    }
    for &(border, core_row) in &border_links {
        let label = labels[core_row];
        if labels[border] < 0 || label < labels[border] {
            labels[border] = label;
        }
    }
    let core_sample_indices: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
    Ok(DbscanModel {
        eps: settings.eps,
        metric,
        components: core_sample_indices
            .iter()
            .map(|&i| x.row(i).to_vec())
            .collect(),
        component_labels: core_sample_indices.iter().map(|&i| labels[i]).collect(),
        core_sample_indices,
        labels,
    })
}

/// [`fit_dbscan`] on rows of values (all of one width, finite).
pub fn dbscan(
    points: &[Vec<f64>],
    settings: &DbscanSettings,
    monitor: &mut Monitor,
) -> Result<DbscanModel, ModelError> {
    fit_dbscan(&training_matrix(points)?, settings, monitor)
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    let mut root = i;
    while parent[root] != root {
        root = parent[root];
    }
    while parent[i] != root {
        let next = parent[i];
        parent[i] = root;
        i = next;
    }
    root
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    // The lower root wins; any choice gives the same clusters.
    if ra < rb {
        parent[rb] = ra;
    } else if rb < ra {
        parent[ra] = rb;
    }
}

impl DbscanModel {
    /// Clusters found (not counting noise).
    pub fn n_clusters(&self) -> usize {
        self.labels
            .iter()
            .chain(&self.component_labels)
            .max()
            .map_or(0, |&m| (m + 1).max(0) as usize)
    }

    /// That the core rows fit `features` inputs and the labels are consistent, so
    /// predicting cannot index out of bounds even for an artifact edited by hand.
    pub fn check(&self, features: usize) -> Result<(), String> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(format!("DBSCAN eps must be positive (got {})", self.eps));
        }
        if let Some(i) = self.components.iter().position(|c| c.len() != features) {
            return Err(format!(
                "DBSCAN core row {i} has {} values for {features} features",
                self.components[i].len()
            ));
        }
        if !self.components.iter().flatten().all(|v| v.is_finite()) {
            return Err("DBSCAN core rows must be finite".into());
        }
        if self.component_labels.len() != self.components.len()
            || self.core_sample_indices.len() != self.components.len()
        {
            return Err(format!(
                "DBSCAN has {} core rows, {} core labels and {} core indices",
                self.components.len(),
                self.component_labels.len(),
                self.core_sample_indices.len()
            ));
        }
        if self.component_labels.iter().any(|&l| l < 0) {
            return Err("DBSCAN core rows cannot be noise".into());
        }
        if self.labels.iter().any(|&l| l < -1) {
            return Err("DBSCAN labels are -1 (noise) or a cluster number".into());
        }
        Ok(())
    }

    /// Per row: the label of the nearest core row within `eps` (the first on ties), or
    /// -1. Compares with every core row. Only call after [`Self::check`].
    pub(crate) fn predict(&self, x: &Matrix) -> Vec<i64> {
        let threshold = self.metric.threshold(self.eps);
        (0..x.rows)
            .map(|i| {
                let row = x.row(i);
                let mut best = (f64::INFINITY, -1);
                for (core, &label) in self.components.iter().zip(&self.component_labels) {
                    let m = self.metric.measure(row, core, threshold.min(best.0));
                    if m <= threshold && m < best.0 {
                        best = (m, label);
                    }
                }
                best.1
            })
            .collect()
    }

    /// [`Self::predict`] on rows of values, checking their width.
    pub fn predict_rows(&self, points: &[Vec<f64>]) -> Result<Vec<i64>, String> {
        let width = self
            .components
            .first()
            .map_or_else(|| points.first().map_or(0, Vec::len), |c| c.len());
        let x = input_matrix(points, width)?;
        self.check(x.cols)?;
        Ok(self.predict(&x))
    }
}

// ----- rows of values ------------------------------------------------------------------

/// Rows of values as a matrix for fitting: at least one row, all of one width, finite.
pub(crate) fn training_matrix(points: &[Vec<f64>]) -> Result<Matrix, ModelError> {
    let Some(first) = points.first() else {
        return Err(ModelError::EmptyFrame);
    };
    let cols = first.len();
    if cols == 0 {
        return Err(ModelError::NoFeatures);
    }
    let mut data = Vec::with_capacity(points.len() * cols);
    for (i, row) in points.iter().enumerate() {
        if row.len() != cols {
            return Err(ModelError::FitFailed(format!(
                "row {i} has {} value(s) where row 0 has {cols}",
                row.len()
            )));
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::FitFailed(format!(
                "row {i} has a NaN or infinite value at position {j}"
            )));
        }
        data.extend_from_slice(row);
    }
    Ok(Matrix {
        rows: points.len(),
        cols,
        data,
    })
}

/// Rows of values to predict on: all `width` wide.
pub(crate) fn input_matrix(points: &[Vec<f64>], width: usize) -> Result<Matrix, String> {
    let mut data = Vec::with_capacity(points.len() * width);
    for (i, row) in points.iter().enumerate() {
        if row.len() != width {
            return Err(format!(
                "row {i} has {} value(s); the model takes {width}",
                row.len()
            ));
        }
        data.extend_from_slice(row);
    }
    Ok(Matrix {
        rows: points.len(),
        cols: width,
        data,
    })
}

pub(crate) fn rows_of(x: &Matrix) -> Vec<Vec<f64>> {
    (0..x.rows).map(|i| x.row(i).to_vec()).collect()
}
