//! Linear regression: ordinary least squares, ridge (L2 penalty), lasso (L1 penalty) and
//! elastic net (both), each with an intercept unless told otherwise. Coefficients are on
//! the raw features, as scikit-learn's are, and equal its fitted coefficients
//! (`kernel/tests/regressors.rs` checks them against `scripts/make-regressor-fixtures.py`).
//!
//! Least squares and ridge solve directly: a Householder QR factorization with column
//! pivoting of the centred features (ridge appends `√alpha · I` below them, so its normal
//! equations are never formed and squared in condition number). When the features are
//! linearly dependent, a complete orthogonal decomposition gives the minimum-norm solution,
//! as scikit-learn's SVD-based solver does. Lasso and elastic net use cyclic coordinate
//! descent stopped by the duality gap, as scikit-learn's `cd_fast`.
//!
//! Everything is IEEE arithmetic and `sqrt`, summed in a fixed order, so fits are
//! bit-identical on native targets and wasm32.

use serde::{Deserialize, Serialize};

use super::{FitProgress, Matrix, ModelError, Monitor};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearRegressionSettings {
    /// Whether to fit an intercept (default true); without one the fitted plane goes
    /// through the origin.
    pub fit_intercept: bool,
}

impl Default for LinearRegressionSettings {
    fn default() -> Self {
        LinearRegressionSettings {
            fit_intercept: true,
        }
    }
}

impl LinearRegressionSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RidgeSettings {
    /// Strength of the L2 penalty: the fit minimizes `Σ (y − ŷ)² + alpha · Σ coefficient²`
    /// (the intercept is not penalized). Default 1.0; 0 is ordinary least squares.
    pub alpha: f64,
    /// Whether to fit an intercept (default true).
    pub fit_intercept: bool,
}

impl Default for RidgeSettings {
    fn default() -> Self {
        RidgeSettings {
            alpha: 1.0,
            fit_intercept: true,
        }
    }
}

impl RidgeSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(ModelError::setting(
                "alpha",
                format!("must be a finite number of at least 0 (got {})", self.alpha),
            ));
        }
        Ok(())
    }
}

/// Most coordinate-descent sweeps allowed; more is almost certainly a typo.
pub const MAX_ITERATIONS: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LassoSettings {
    /// Strength of the L1 penalty: the fit minimizes
    /// `Σ (y − ŷ)² / (2 · rows) + alpha · Σ |coefficient|`. Default 1.0; must be greater
    /// than 0 (with no penalty, use linear regression).
    pub alpha: f64,
    /// Most coordinate-descent sweeps over the features. Default 1000. A fit that runs out
    /// is still usable, and says so in [`LinearModel::converged`].
    #[serde(alias = "max_iterations")]
    pub max_iter: usize,
    /// The fit stops when the duality gap falls below `tol · Σ (y − mean y)²`
    /// (checked once the largest coefficient change in a sweep is below `tol` times
    /// the largest coefficient). Default 1e-4, as scikit-learn's.
    #[serde(alias = "tolerance")]
    pub tol: f64,
    /// Whether to fit an intercept (default true).
    pub fit_intercept: bool,
}

impl Default for LassoSettings {
    fn default() -> Self {
        LassoSettings {
            alpha: 1.0,
            max_iter: 1000,
            tol: 1e-4,
            fit_intercept: true,
        }
    }
}

impl LassoSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        validate_descent(self.alpha, self.max_iter, self.tol)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticNetSettings {
    /// Overall penalty strength: the fit minimizes `Σ (y − ŷ)² / (2 · rows) +
    /// alpha · l1_ratio · Σ |coefficient| + alpha · (1 − l1_ratio) / 2 · Σ coefficient²`.
    /// Default 1.0; must be greater than 0.
    pub alpha: f64,
    /// The L1 share of the penalty, from 0 (ridge-like) to 1 (lasso). Default 0.5.
    pub l1_ratio: f64,
    /// As for lasso. Default 1000.
    #[serde(alias = "max_iterations")]
    pub max_iter: usize,
    /// As for lasso. Default 1e-4.
    #[serde(alias = "tolerance")]
    pub tol: f64,
    /// Whether to fit an intercept (default true).
    pub fit_intercept: bool,
}

impl Default for ElasticNetSettings {
    fn default() -> Self {
        ElasticNetSettings {
            alpha: 1.0,
            l1_ratio: 0.5,
            max_iter: 1000,
            tol: 1e-4,
            fit_intercept: true,
        }
    }
}

impl ElasticNetSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        validate_descent(self.alpha, self.max_iter, self.tol)?;
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(ModelError::setting(
                "l1_ratio",
                format!("must be between 0 and 1 (got {})", self.l1_ratio),
            ));
        }
        Ok(())
    }
}

fn validate_descent(alpha: f64, max_iter: usize, tolerance: f64) -> Result<(), ModelError> {
    if !(alpha.is_finite() && alpha > 0.0) {
        return Err(ModelError::setting(
            "alpha",
            format!(
                "must be a finite number greater than 0 (got {alpha}); for no penalty use \
                 linear_regression"
            ),
        ));
    }
    if max_iter == 0 || max_iter > MAX_ITERATIONS {
        return Err(ModelError::setting(
            "max_iter",
            format!("must be between 1 and {MAX_ITERATIONS} (got {max_iter})"),
        ));
    }
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(ModelError::setting(
            "tol",
            format!("must be a finite number greater than 0 (got {tolerance})"),
        ));
    }
    Ok(())
}

/// A fitted linear model: a row `x` is predicted as `intercept + coefficients · x`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    /// Coordinate-descent sweeps used (lasso and elastic net only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<usize>,
    /// Whether coordinate descent reached its tolerance within `max_iter` (lasso and
    /// elastic net only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
}

impl LinearModel {
    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        if self.coefficients.len() != features {
            return Err(format!(
                "a linear model with {features} features needs {features} coefficients, not {}",
                self.coefficients.len()
            ));
        }
        if !self
            .coefficients
            .iter()
            .chain([&self.intercept])
            .all(|w| w.is_finite())
        {
            return Err("linear model coefficients must be finite".into());
        }
        Ok(())
    }

    pub(crate) fn predict(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows)
            .map(|i| {
                let mut sum = self.intercept;
                for (w, v) in self.coefficients.iter().zip(x.row(i)) {
                    sum += w * v;
                }
                sum
            })
            .collect()
    }
}

/// Features (column-major) and target, centred when an intercept is fitted, with the
/// means that were taken off.
struct Centred {
    rows: usize,
    cols: usize,
    /// Column `j` is `columns[j * rows..(j + 1) * rows]`.
    columns: Vec<f64>,
    y: Vec<f64>,
    x_means: Vec<f64>,
    y_mean: f64,
}

impl Centred {
    fn new(x: &Matrix, y: &[f64], fit_intercept: bool) -> Result<Centred, ModelError> {
        let (rows, cols) = (x.rows, x.cols);
        let n = rows as f64;
        let mut columns = vec![0.0; rows * cols];
        let mut x_means = vec![0.0; cols];
        for j in 0..cols {
            let column = &mut columns[j * rows..(j + 1) * rows];
            for (i, c) in column.iter_mut().enumerate() {
                *c = x.get(i, j);
            }
            if fit_intercept {
                let mean = column.iter().sum::<f64>() / n;
                if !mean.is_finite() {
                    return Err(too_large(&format!("feature {}", j + 1)));
                }
                for c in column.iter_mut() {
                    *c -= mean;
                }
                x_means[j] = mean;
            }
        }
        let mut y = y.to_vec();
        let mut y_mean = 0.0;
        if fit_intercept {
            y_mean = y.iter().sum::<f64>() / n;
            if !y_mean.is_finite() {
                return Err(too_large("the target"));
            }
            for v in y.iter_mut() {
                *v -= y_mean;
            }
        }
        Ok(Centred {
            rows,
            cols,
            columns,
            y,
            x_means,
            y_mean,
        })
    }

    fn column(&self, j: usize) -> &[f64] {
        &self.columns[j * self.rows..(j + 1) * self.rows]
    }

    /// The model with coefficients `w` on the centred data.
    fn model(&self, coefficients: Vec<f64>) -> Result<LinearModel, ModelError> {
        let mut intercept = self.y_mean;
        for (w, m) in coefficients.iter().zip(&self.x_means) {
            intercept -= w * m;
        }
        if !coefficients
            .iter()
            .chain([&intercept])
            .all(|w| w.is_finite())
        {
            return Err(ModelError::FitFailed(
                "the coefficients overflowed; the features or target may be too large \
                 (try scaling them)"
                    .into(),
            ));
        }
        Ok(LinearModel {
            coefficients,
            intercept,
            iterations: None,
            converged: None,
        })
    }
}

fn too_large(what: &str) -> ModelError {
    ModelError::FitFailed(format!("{what} has values too large to fit"))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(b) {
        sum += x * y;
    }
    sum
}

/// Fits ordinary least squares.
pub(crate) fn fit_ordinary(
    x: &Matrix,
    y: &[f64],
    settings: &LinearRegressionSettings,
) -> Result<LinearModel, ModelError> {
    let data = Centred::new(x, y, settings.fit_intercept)?;
    let w = least_squares(&data, 0.0)?;
    data.model(w)
}

/// Fits ridge regression.
pub(crate) fn fit_ridge(
    x: &Matrix,
    y: &[f64],
    settings: &RidgeSettings,
) -> Result<LinearModel, ModelError> {
    let data = Centred::new(x, y, settings.fit_intercept)?;
    let w = least_squares(&data, settings.alpha)?;
    data.model(w)
}

/// The minimum-norm `w` minimizing `‖y − X w‖² + alpha ‖w‖²` for the centred data, by
/// Householder QR with column pivoting of `[X; √alpha · I]`.
fn least_squares(data: &Centred, alpha: f64) -> Result<Vec<f64>, ModelError> {
    let (n, p) = (data.rows, data.cols);
    let extra = if alpha > 0.0 { p } else { 0 };
    let m = n + extra;
    // Column-major m × p: the features, then √alpha on the diagonal below them.
    let mut a = vec![0.0; m * p];
    let root = alpha.sqrt();
    for j in 0..p {
        a[j * m..j * m + n].copy_from_slice(data.column(j));
        if extra > 0 {
            a[j * m + n + j] = root;
        }
    }
    let mut b = vec![0.0; m];
    b[..n].copy_from_slice(&data.y);

    let qr = Qr::factor(&mut a, m, p)?;
    qr.apply_transpose(&a, &mut b);
    let rank = qr.rank();
    let r = |i: usize, j: usize| if i == j { qr.diagonal[i] } else { a[j * m + i] };

    // Solve in pivoted order, then put each coefficient back in its feature's place.
    let mut u = vec![0.0; p];
    if rank == p {
        for i in (0..p).rev() {
            let mut s = b[i];
            for (j, uj) in u.iter().enumerate().skip(i + 1) {
                s -= r(i, j) * uj;
            }
            u[i] = s / r(i, i);
        }
    } else if rank > 0 {
        // Complete orthogonal decomposition: the first `rank` rows of R, [R11 R12], are
        // factored again as [T' 0] Zᵀ from a QR of their transpose; the minimum-norm
        // solution of [R11 R12] u = c is u = Z [T'⁻¹ c; 0].
        let mut s = vec![0.0; p * rank];
        for i in 0..rank {
            for j in i..p {
                s[i * p + j] = r(i, j);
            }
        }
        let z = Qr::factor_unpivoted(&mut s, p, rank)?;
        // Tᵀ is lower triangular: forward substitution.
        let t = |i: usize, j: usize| if i == j { z.diagonal[i] } else { s[j * p + i] };
        let mut v = vec![0.0; p];
        for i in 0..rank {
            let mut sum = b[i];
            for (k, vk) in v.iter().enumerate().take(i) {
                sum -= t(k, i) * vk;
            }
            v[i] = sum / t(i, i);
        }
        z.apply(&s, &mut v);
        u = v;
    }
    let mut w = vec![0.0; p];
    for (k, &j) in qr.permutation.iter().enumerate() {
        w[j] = u[k];
    }
    Ok(w)
}

/// A Householder QR factorization stored LAPACK-style: the essential parts of the
/// reflectors below the diagonal of the factored matrix, R above it, R's diagonal here.
struct Qr {
    rows: usize,
    /// R's diagonal.
    diagonal: Vec<f64>,
    /// `v·v` of each reflector `I − 2 v vᵀ / (v·v)` (0 for none).
    norms: Vec<f64>,
    /// Column `k` of the factored matrix is column `permutation[k]` of the original.
    permutation: Vec<usize>,
}

impl Qr {
    /// Factors the column-major `rows × cols` matrix `a` in place, choosing at each step
    /// the remaining column of largest norm (so R's diagonal decreases in magnitude and
    /// reveals the rank).
    fn factor(a: &mut [f64], rows: usize, cols: usize) -> Result<Qr, ModelError> {
        Qr::factor_with(a, rows, cols, true)
    }

    fn factor_unpivoted(a: &mut [f64], rows: usize, cols: usize) -> Result<Qr, ModelError> {
        Qr::factor_with(a, rows, cols, false)
    }

    fn factor_with(a: &mut [f64], rows: usize, cols: usize, pivot: bool) -> Result<Qr, ModelError> {
        let steps = rows.min(cols);
        let mut qr = Qr {
            rows,
            diagonal: vec![0.0; cols],
            norms: vec![0.0; steps],
            permutation: (0..cols).collect(),
        };
        for k in 0..steps {
            if pivot {
                // Norms recomputed rather than downdated: no cancellation to guard against.
                let mut best = k;
                let mut best_norm = -1.0;
                for j in k..cols {
                    let column = &a[j * rows + k..(j + 1) * rows];
                    let norm = dot(column, column);
                    if norm > best_norm {
                        best = j;
                        best_norm = norm;
                    }
                }
                if best != k {
                    for i in 0..rows {
                        a.swap(k * rows + i, best * rows + i);
                    }
                    qr.permutation.swap(k, best);
                }
            }
            let column = &mut a[k * rows + k..(k + 1) * rows];
            let norm = dot(column, column).sqrt();
            if !norm.is_finite() {
                return Err(too_large("a feature"));
            }
            if norm == 0.0 {
                // Nothing left to eliminate: R's diagonal is 0 here, and no reflector.
                qr.diagonal[k] = 0.0;
                continue;
            }
            // v = x − alpha e1 with alpha of the opposite sign to x1 (no cancellation).
            let alpha = if column[0] > 0.0 { -norm } else { norm };
            column[0] -= alpha;
            let vv = dot(column, column);
            qr.diagonal[k] = alpha;
            qr.norms[k] = vv;
            let (left, right) = a.split_at_mut((k + 1) * rows);
            let v = &left[k * rows + k..];
            for j in 0..cols - k - 1 {
                let target = &mut right[j * rows + k..(j + 1) * rows];
                let scale = 2.0 * dot(v, target) / vv;
                for (t, vi) in target.iter_mut().zip(v) {
                    *t -= scale * vi;
                }
            }
        }
        // Columns beyond the rows have no diagonal of their own: R is rows × cols.
        Ok(qr)
    }

    /// Applies Qᵀ (the reflectors in order) to `b` in place.
    fn apply_transpose(&self, a: &[f64], b: &mut [f64]) {
        for k in 0..self.norms.len() {
            self.reflect(a, k, b);
        }
    }

    /// Applies Q (the reflectors in reverse order) to `b` in place.
    fn apply(&self, a: &[f64], b: &mut [f64]) {
        for k in (0..self.norms.len()).rev() {
            self.reflect(a, k, b);
        }
    }

    fn reflect(&self, a: &[f64], k: usize, b: &mut [f64]) {
        let vv = self.norms[k];
        if vv == 0.0 {
            return;
        }
        let v = &a[k * self.rows + k..(k + 1) * self.rows];
        let target = &mut b[k..];
        let scale = 2.0 * dot(v, target) / vv;
        for (t, vi) in target.iter_mut().zip(v) {
            *t -= scale * vi;
        }
    }

    /// How many of R's diagonal entries are not negligible next to the largest, with
    /// scikit-learn's cut-off for least squares: `max(rows, cols) · ε` relative.
    fn rank(&self) -> usize {
        let largest = self.diagonal.first().map_or(0.0, |d| d.abs());
        if largest == 0.0 {
            return 0;
        }
        let cutoff = largest * f64::EPSILON * self.rows.max(self.diagonal.len()) as f64;
        self.diagonal
            .iter()
            .take(self.norms.len())
            .take_while(|d| d.abs() > cutoff)
            .count()
    }
}

/// Fits the lasso: elastic net with only the L1 penalty.
pub(crate) fn fit_lasso(
    x: &Matrix,
    y: &[f64],
    settings: &LassoSettings,
    monitor: &mut Monitor<'_>,
) -> Result<LinearModel, ModelError> {
    let data = Centred::new(x, y, settings.fit_intercept)?;
    coordinate_descent(
        &data,
        settings.alpha,
        1.0,
        settings.max_iter,
        settings.tol,
        monitor,
    )
}

pub(crate) fn fit_elastic_net(
    x: &Matrix,
    y: &[f64],
    settings: &ElasticNetSettings,
    monitor: &mut Monitor<'_>,
) -> Result<LinearModel, ModelError> {
    let data = Centred::new(x, y, settings.fit_intercept)?;
    coordinate_descent(
        &data,
        settings.alpha,
        settings.l1_ratio,
        settings.max_iter,
        settings.tol,
        monitor,
    )
}

/// Cyclic coordinate descent for the elastic net on centred data, as scikit-learn's
/// `enet_coordinate_descent`: the objective scaled by the row count, so the penalties are
/// `l1 = alpha · l1_ratio · rows` and `l2 = alpha · (1 − l1_ratio) · rows`.
fn coordinate_descent(
    data: &Centred,
    alpha: f64,
    l1_ratio: f64,
    max_iter: usize,
    tolerance: f64,
    monitor: &mut Monitor<'_>,
) -> Result<LinearModel, ModelError> {
    let (n, p) = (data.rows, data.cols);
    let l1 = alpha * l1_ratio * n as f64;
    let l2 = alpha * (1.0 - l1_ratio) * n as f64;
    let squared_norms: Vec<f64> = (0..p)
        .map(|j| {
            let c = data.column(j);
            dot(c, c)
        })
        .collect();
    let gap_tolerance = tolerance * dot(&data.y, &data.y);
    let mut w = vec![0.0; p];
    // The residual y − X w.
    let mut residual = data.y.clone();
    // Zero may already be the answer (a penalty so strong every coefficient is 0).
    let mut converged = duality_gap(data, &w, &residual, l1, l2) <= gap_tolerance;
    let mut iterations = 0;
    while !converged && iterations < max_iter {
        let mut largest = 0.0f64;
        let mut largest_change = 0.0f64;
        for j in 0..p {
            if squared_norms[j] == 0.0 {
                continue;
            }
            let column = data.column(j);
            let old = w[j];
            if old != 0.0 {
                for (r, c) in residual.iter_mut().zip(column) {
                    *r += old * c;
                }
            }
            let correlation = dot(column, &residual);
            let shrunk = correlation.abs() - l1;
            w[j] = if shrunk > 0.0 {
                correlation.signum() * shrunk / (squared_norms[j] + l2)
            } else {
                0.0
            };
            if w[j] != 0.0 {
                for (r, c) in residual.iter_mut().zip(column) {
                    *r -= w[j] * c;
                }
            }
            largest_change = largest_change.max((w[j] - old).abs());
            largest = largest.max(w[j].abs());
        }
        iterations += 1;
        if !largest.is_finite() {
            return Err(ModelError::FitFailed(
                "coordinate descent diverged; the features or target may be too large \
                 (try scaling them)"
                    .into(),
            ));
        }
        let small_steps = largest == 0.0 || largest_change / largest <= tolerance;
        if (small_steps || iterations == max_iter)
            && duality_gap(data, &w, &residual, l1, l2) <= gap_tolerance
        {
            converged = true;
        }
        let progress = FitProgress {
            done: iterations,
            total: max_iter,
            unit: "iterations",
        };
        if monitor(progress).is_break() {
            return Err(progress.cancelled());
        }
        if converged {
            break;
        }
    }
    let mut model = data.model(w)?;
    model.iterations = Some(iterations);
    model.converged = Some(converged);
    Ok(model)
}

/// The elastic net's duality gap at `w` (with `residual = y − X w`), as scikit-learn
/// computes it. With an L1 penalty, the dual point is the residual scaled to be feasible
/// (Fercoq et al. 2015); without one (pure L2), the dual that needs no feasibility
/// (Dünner et al. 2016, 5.2.3).
fn duality_gap(data: &Centred, w: &[f64], residual: &[f64], l1: f64, l2: f64) -> f64 {
    let residual_norm = dot(residual, residual);
    let w_norm = if l2 > 0.0 { dot(w, w) } else { 0.0 };
    let ry = dot(residual, &data.y);
    if l1 == 0.0 {
        // l2 > 0 here: alpha > 0 and l1_ratio < 1.
        let mut xtr_norm = 0.0;
        for j in 0..data.cols {
            let xtr = dot(data.column(j), residual);
            xtr_norm += xtr * xtr;
        }
        return residual_norm + 0.5 * l2 * w_norm - ry + xtr_norm / (2.0 * l2);
    }
    let mut dual_norm = 0.0f64;
    for (j, wj) in w.iter().enumerate() {
        let xta = dot(data.column(j), residual) - l2 * wj;
        dual_norm = dual_norm.max(xta.abs());
    }
    let l1_norm: f64 = w.iter().map(|v| v.abs()).sum();
    let primal = 0.5 * (residual_norm + l2 * w_norm) + l1 * l1_norm;
    let scale = if dual_norm > l1 { l1 / dual_norm } else { 1.0 };
    let dual = -0.5 * scale * scale * (residual_norm + l2 * w_norm) + scale * ry;
    primal - dual
}
