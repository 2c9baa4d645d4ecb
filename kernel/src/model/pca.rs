//! Principal component analysis.
//!
//! As scikit-learn's `PCA` with its `covariance_eigh` solver (which it picks for data of
//! many more rows than features, the usual tabular case): centre the data, take the
//! covariance matrix (features × features, dividing by rows − 1), and eigen-decompose it.
//! The eigen solver is cyclic Jacobi written here rather than a linear-algebra crate's:
//! it uses only IEEE arithmetic and `sqrt`, so components are bit-identical natively and
//! in wasm32, and it is accurate to the last bits for the small matrices PCA gives. Its
//! time grows with the cube of the feature count, fine for up to a few hundred features.
//!
//! Signs follow scikit-learn's `svd_flip(u_based_decision=False)`, which `PCA` uses for
//! every solver since 1.5: each component is negated if needed so that its entry of
//! largest absolute value (the first such, on ties) is positive.

use serde::{Deserialize, Serialize};

use super::cluster::{input_matrix, rows_of, training_matrix};
use super::{Matrix, ModelError};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PcaSettings {
    /// Components to keep, at most the smaller of the row and feature counts; `null`
    /// (default) keeps that many.
    pub n_components: Option<usize>,
    /// Scale each projected component to unit variance (divide by the square root of its
    /// explained variance). Default false.
    pub whiten: bool,
}

impl PcaSettings {
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.n_components == Some(0) {
            return Err(ModelError::setting(
                "n_components",
                "must be at least 1 (got 0); leave it out to keep every component",
            ));
        }
        Ok(())
    }
}

/// A fitted PCA: a row `x` projects to `components · (x − mean)`, divided per component by
/// the square root of its explained variance when `whiten` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaModel {
    /// The training rows' mean, per feature.
    pub mean: Vec<f64>,
    /// The principal axes, one row of one value per feature each, by decreasing explained
    /// variance; unit length.
    pub components: Vec<Vec<f64>>,
    /// Variance of the training rows along each component (dividing by rows − 1).
    pub explained_variance: Vec<f64>,
    /// Each component's share of the total variance (of all components, kept or not).
    pub explained_variance_ratio: Vec<f64>,
    /// The centred training matrix's singular values: √(explained variance × (rows − 1)).
    pub singular_values: Vec<f64>,
    pub whiten: bool,
}

/// Jacobi sweeps before giving up; it converges quadratically, in well under 20.
const MAX_SWEEPS: usize = 100;

/// Fits PCA to the rows of `x`.
pub(crate) fn fit_pca(x: &Matrix, settings: &PcaSettings) -> Result<PcaModel, ModelError> {
    settings.validate()?;
    let (n, d) = (x.rows, x.cols);
    if n == 0 || d == 0 {
        return Err(ModelError::EmptyFrame);
    }
    if n < 2 {
        return Err(ModelError::FitFailed(
            "PCA needs at least 2 rows to measure variance (got 1)".into(),
        ));
    }
    let limit = n.min(d);
    let keep = settings.n_components.unwrap_or(limit);
    if keep > d {
        return Err(ModelError::setting(
            "n_components",
            format!("is {keep}, but there are only {d} feature(s)"),
        ));
    }
    if keep > n {
        return Err(ModelError::setting(
            "n_components",
            format!("is {keep}, but there are only {n} row(s)"),
        ));
    }

    let mut mean = vec![0.0; d];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(x.row(i)) {
            *m += v;
        }
    }
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    // The upper triangle of the covariance, from centred values (more accurate than
    // XᵀX − n·mean·meanᵀ, which scikit-learn computes).
    let mut covariance = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for i in 0..n {
        for ((c, v), m) in centred.iter_mut().zip(x.row(i)).zip(&mean) {
            *c = v - m;
        }
        for a in 0..d {
            let ca = centred[a];
            for (cov, cb) in covariance[a * d + a..(a + 1) * d]
                .iter_mut()
                .zip(&centred[a..])
            {
                *cov += ca * cb;
            }
        }
    }
    let denominator = (n - 1) as f64;
    for a in 0..d {
        for b in a..d {
            let v = covariance[a * d + b] / denominator;
            covariance[a * d + b] = v;
            covariance[b * d + a] = v;
        }
    }
    if !covariance.iter().all(|v| v.is_finite()) {
        return Err(ModelError::FitFailed(
            "the values are too large for their covariance; standardize them first".into(),
        ));
    }

    let (values, vectors) = symmetric_eigen(covariance, d);
    // Largest variance first; equal ones in the solver's order.
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    // Rounding can leave variances of a rank-deficient matrix slightly negative.
    let variances: Vec<f64> = order.iter().map(|&k| values[k].max(0.0)).collect();
    let total: f64 = variances.iter().sum();
    let components: Vec<Vec<f64>> = order
        .iter()
        .take(keep)
        .map(|&k| {
            let mut axis: Vec<f64> = (0..d).map(|j| vectors[j * d + k]).collect();
            let largest = (1..d).fold(0, |best, j| {
                if axis[j].abs() > axis[best].abs() {
                    j
                } else {
                    best
                }
            });
            if axis[largest] < 0.0 {
                for v in axis.iter_mut() {
                    *v = -*v;
                }
            }
            axis
        })
        .collect();
    let explained_variance = variances[..keep].to_vec();
    let explained_variance_ratio = explained_variance
        .iter()
        .map(|v| if total > 0.0 { v / total } else { 0.0 })
        .collect();
    let singular_values = explained_variance
        .iter()
        .map(|v| (v * denominator).sqrt())
        .collect();
    Ok(PcaModel {
        mean,
        components,
        explained_variance,
        explained_variance_ratio,
        singular_values,
        whiten: settings.whiten,
    })
}

/// [`fit_pca`] on rows of values (all of one width, finite).
pub fn pca(points: &[Vec<f64>], settings: &PcaSettings) -> Result<PcaModel, ModelError> {
    fit_pca(&training_matrix(points)?, settings)
}

/// Eigenvalues and eigenvectors (as the columns of a row-major `d × d` matrix) of the
/// symmetric matrix `a` (row-major, both triangles filled), by cyclic Jacobi rotations
/// (Numerical Recipes' `jacobi`): rotations zero one off-diagonal entry at a time, sweep
/// after sweep, until all are zero in floating point.
fn symmetric_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let mut diagonal: Vec<f64> = (0..d).map(|i| a[i * d + i]).collect();
    // Diagonal updates are gathered per sweep and added at its end, for accuracy.
    let mut base = diagonal.clone();
    let mut updates = vec![0.0; d];
    for sweep in 1..=MAX_SWEEPS {
        let mut off = 0.0;
        for p in 0..d {
            for q in p + 1..d {
                off += a[p * d + q].abs();
            }
        }
        if off == 0.0 {
            break;
        }
        // Early sweeps skip entries that are already small, to rotate the big ones first.
        let threshold = if sweep < 4 {
            0.2 * off / (d * d) as f64
        } else {
            0.0
        };
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                let g = 100.0 * apq.abs();
                // An entry too small to change either diagonal entry is zeroed outright.
                if sweep > 4
                    && diagonal[p].abs() + g == diagonal[p].abs()
                    && diagonal[q].abs() + g == diagonal[q].abs()
                {
                    a[p * d + q] = 0.0;
                    continue;
                }
                if apq.abs() <= threshold {
                    continue;
                }
                let h = diagonal[q] - diagonal[p];
                let t = if h.abs() + g == h.abs() {
                    apq / h
                } else {
                    let theta = 0.5 * h / apq;
                    let t = 1.0 / (theta.abs() + (1.0 + theta * theta).sqrt());
                    if theta < 0.0 {
                        -t
                    } else {
                        t
                    }
                };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                let tau = s / (1.0 + c);
                let shift = t * apq;
                updates[p] -= shift;
                updates[q] += shift;
                diagonal[p] -= shift;
                diagonal[q] += shift;
                a[p * d + q] = 0.0;
                let rotate = |m: &mut [f64], i: usize, j: usize| {
                    let (g, h) = (m[i], m[j]);
                    m[i] = g - s * (h + g * tau);
                    m[j] = h + s * (g - h * tau);
                };
                for r in 0..p {
                    rotate(&mut a, r * d + p, r * d + q);
                }
                for r in p + 1..q {
                    rotate(&mut a, p * d + r, r * d + q);
                }
                for r in q + 1..d {
                    rotate(&mut a, p * d + r, q * d + r);
                }
                for r in 0..d {
                    rotate(&mut v, r * d + p, r * d + q);
                }
            }
        }
        for ((b, u), dg) in base.iter_mut().zip(updates.iter_mut()).zip(&mut diagonal) {
            *b += *u;
            *dg = *b;
            *u = 0.0;
        }
    }
    (diagonal, v)
}

impl PcaModel {
    pub fn n_components(&self) -> usize {
        self.components.len()
    }

    /// That the parameters fit `features` inputs, so transforming cannot index out of
    /// bounds even for an artifact edited by hand.
    pub fn check(&self, features: usize) -> Result<(), String> {
        if self.mean.len() != features {
            return Err(format!(
                "PCA has {} means for {features} features",
                self.mean.len()
            ));
        }
        let k = self.components.len();
        if k == 0 {
            return Err("PCA has no components".into());
        }
        if let Some(c) = self.components.iter().position(|c| c.len() != features) {
            return Err(format!(
                "PCA component {c} has {} values for {features} features",
                self.components[c].len()
            ));
        }
        if self.explained_variance.len() != k
            || self.explained_variance_ratio.len() != k
            || self.singular_values.len() != k
        {
            return Err(format!(
                "PCA with {k} components needs {k} explained variances, ratios and singular \
                 values"
            ));
        }
        let finite = self
            .mean
            .iter()
            .chain(self.components.iter().flatten())
            .chain(&self.explained_variance)
            .chain(&self.explained_variance_ratio)
            .chain(&self.singular_values)
            .all(|v| v.is_finite());
        if !finite {
            return Err("PCA parameters must be finite".into());
        }
        if self.explained_variance.iter().any(|&v| v < 0.0) {
            return Err("PCA explained variances cannot be negative".into());
        }
        Ok(())
    }

    /// What whitening divides each component by: √variance, at least machine epsilon (as
    /// scikit-learn), so a zero-variance component does not divide by zero.
    fn whitening_scales(&self) -> Vec<f64> {
        self.explained_variance
            .iter()
            .map(|v| v.sqrt().max(f64::EPSILON))
            .collect()
    }

    /// Each row projected on the components (rows × components). Only call after
    /// [`Self::check`].
    pub(crate) fn transform(&self, x: &Matrix) -> Matrix {
        let k = self.components.len();
        let scales = self.whiten.then(|| self.whitening_scales());
        let mut centred = vec![0.0; x.cols];
        let mut data = Vec::with_capacity(x.rows * k);
        for i in 0..x.rows {
            for ((c, v), m) in centred.iter_mut().zip(x.row(i)).zip(&self.mean) {
                *c = v - m;
            }
            for (component_index, component) in self.components.iter().enumerate() {
                let mut z = 0.0;
                for (w, c) in component.iter().zip(&centred) {
                    z += w * c;
                }
                if let Some(scales) = &scales {
                    z /= scales[component_index];
                }
                data.push(z);
            }
        }
        Matrix {
            rows: x.rows,
            cols: k,
            data,
        }
    }

    /// Rows of projections back in feature space: `projection · components + mean` (after
    /// undoing whitening). Only call after [`Self::check`], with `x` of `n_components`
    /// columns.
    pub(crate) fn inverse_transform(&self, x: &Matrix) -> Matrix {
        let d = self.mean.len();
        let scales = self.whiten.then(|| self.whitening_scales());
        let mut data = Vec::with_capacity(x.rows * d);
        for i in 0..x.rows {
            let start = data.len();
            data.extend_from_slice(&self.mean);
            let out = &mut data[start..];
            for (c, (z, component)) in x.row(i).iter().zip(&self.components).enumerate() {
                let z = match &scales {
                    Some(s) => z * s[c],
                    None => *z,
                };
                for (o, w) in out.iter_mut().zip(component) {
                    *o += z * w;
                }
            }
        }
        Matrix {
            rows: x.rows,
            cols: d,
            data,
        }
    }

    /// [`Self::transform`] on rows of values, checking their width.
    pub fn transform_rows(&self, points: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
        let x = input_matrix(points, self.mean.len())?;
        self.check(x.cols)?;
        Ok(rows_of(&self.transform(&x)))
    }

    /// [`Self::inverse_transform`] on rows of projections, checking their width.
    pub fn inverse_transform_rows(&self, points: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
        self.check(self.mean.len())?;
        let x = input_matrix(points, self.components.len())?;
        Ok(rows_of(&self.inverse_transform(&x)))
    }
}
