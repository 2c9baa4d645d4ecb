//! Plots of models and their evaluations, from plain data (the callers compute the
//! numbers with [`crate::metrics`] and the models): a confusion-matrix heatmap, ROC and
//! precision-recall curves, residuals against predictions, signed bars for importances or
//! coefficients, and clusters on two axes. Same text rules as the parent module: titles
//! and legends are single `Text` elements, only the left and bottom axes.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    draw_err, fit_text, span, tick, title_style, xy_mesh, PlotError, HEIGHT, LEGEND_WIDTH,
    MAX_GROUPS, MAX_HEATMAP_COLUMNS, MAX_POINTS, PALETTE, TITLE_HEIGHT, WIDTH,
};

/// Bars drawn at most; the rest (the smallest by magnitude) are left out and the title
/// says so.
pub const MAX_BARS: usize = 30;

/// One curve of a ROC or precision-recall plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The legend's text, e.g. the positive class.
    pub label: String,
    /// (x, y) points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// The area under the curve (ROC AUC or average precision), shown in the legend.
    pub area: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    Roc,
    PrecisionRecall,
}

fn legend_style() -> TextStyle<'static> {
    ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center))
}

/// A sequential colour from white (0) to dark blue (1).
fn sequential(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |end: f64| (255.0 + (end - 255.0) * t).round() as u8;
    RGBColor(mix(8.0), mix(48.0), mix(107.0))
}

/// A confusion matrix as a heatmap: a row per true class, a column per predicted class,
/// each cell showing its count and shaded by the share of its row (the class's recall on
/// the diagonal), so that small classes are as readable as large ones.
pub fn confusion_heatmap(labels: &[String], counts: &[Vec<u64>]) -> Result<String, PlotError> {
    let k = labels.len();
    if k == 0 || k > MAX_HEATMAP_COLUMNS {
        return Err(PlotError::TooManyColumns {
            count: k,
            max: MAX_HEATMAP_COLUMNS,
        });
    }
    if counts.len() != k || counts.iter().any(|row| row.len() != k) {
        return Err(PlotError::Data(format!(
            "a confusion matrix of {k} classes needs {k} rows of {k} counts"
        )));
    }
    let (left, top, bottom) = (130i32, TITLE_HEIGHT as i32 + 24, 50i32);
    let side = ((WIDTH as i32 - left - 20).min(HEIGHT as i32 - top - bottom)).max(k as i32);
    let cell = side / k as i32;
    let total: u64 = counts.iter().flatten().sum();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        root.draw(&Text::new(
            format!("confusion matrix ({total} rows)"),
            ((WIDTH / 2) as i32, 8),
            title_style(),
        ))
        .map_err(draw_err)?;
        let axis_style = ("sans-serif", 13)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            "predicted",
            (left + cell * k as i32 / 2, top - 18),
            axis_style.clone(),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            "actual",
            (left / 2 - 20, top - 18),
            axis_style.clone(),
        ))
        .map_err(draw_err)?;
        let font = (cell / 3).clamp(8, 14);
        let row_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (i, row) in counts.iter().enumerate() {
            let y = top + cell * i as i32;
            root.draw(&Text::new(
                fit_text(&labels[i], left - 10, 7),
                (left - 6, y + cell / 2),
                row_style.clone(),
            ))
            .map_err(draw_err)?;
            let row_total: u64 = row.iter().sum();
            for (j, &n) in row.iter().enumerate() {
                let x = left + cell * j as i32;
                let share = if row_total == 0 {
                    0.0
                } else {
                    n as f64 / row_total as f64
                };
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    sequential(share).filled(),
                ))
                .map_err(draw_err)?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    WHITE.stroke_width(1),
                ))
                .map_err(draw_err)?;
                if cell >= 16 {
                    let style = ("sans-serif", font)
                        .into_font()
                        .color(if share > 0.5 { &WHITE } else { &BLACK })
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    root.draw(&Text::new(
                        n.to_string(),
                        (x + cell / 2, y + cell / 2),
                        style,
                    ))
                    .map_err(draw_err)?;
                }
            }
        }
        let y = top + cell * k as i32 + 6;
        for (j, name) in labels.iter().enumerate() {
            let x = left + cell * j as i32 + cell / 2;
            root.draw(&Text::new(
                fit_text(name, cell - 2, 7),
                (x, y),
                axis_style.clone(),
            ))
            .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// ROC curves (false positive rate against true positive rate, with the chance
/// diagonal) or precision-recall curves (recall against precision), one per class for a
/// one-vs-rest plot, with each curve's area in the legend.
pub fn curves(kind: CurveKind, series: &[Curve]) -> Result<String, PlotError> {
    if series.is_empty() || series.len() > MAX_GROUPS {
        return Err(PlotError::Data(format!(
            "a curve plot shows from 1 to {MAX_GROUPS} curves, not {}",
            series.len()
        )));
    }
    if let Some(curve) = series.iter().find(|c| c.points.is_empty()) {
        return Err(PlotError::Data(format!(
            "the curve of '{}' has no points",
            curve.label
        )));
    }
    let (title, x_desc, y_desc, area_name) = match kind {
        CurveKind::Roc => (
            "ROC curve",
            "false positive rate",
            "true positive rate",
            "AUC",
        ),
        CurveKind::PrecisionRecall => ("precision-recall curve", "recall", "precision", "AP"),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        root.draw(&Text::new(title, ((WIDTH / 2) as i32, 8), title_style()))
            .map_err(draw_err)?;
        let plot_width = WIDTH - LEGEND_WIDTH - 30;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(TITLE_HEIGHT)
            .margin_right(10 + WIDTH - plot_width)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.02)
            .map_err(draw_err)?;
        xy_mesh(&mut chart, x_desc, y_desc)?;
        if kind == CurveKind::Roc {
            chart
                .draw_series([PathElement::new(
                    vec![(0.0, 0.0), (1.0, 1.0)],
                    BLACK.mix(0.3).stroke_width(1),
                )])
                .map_err(draw_err)?;
        }
        for (i, curve) in series.iter().enumerate() {
            // Curves are step functions of up to one point per distinct score: thin
            // them evenly so one SVG stays small.
            let step = curve.points.len().div_ceil(MAX_POINTS).max(1);
            let mut points: Vec<(f64, f64)> = curve.points.iter().step_by(step).copied().collect();
            if let Some(&last) = curve.points.last() {
                if points.last() != Some(&last) {
                    points.push(last);
                }
            }
            chart
                .draw_series([PathElement::new(points, PALETTE[i].stroke_width(2))])
                .map_err(draw_err)?;
        }
        let left = (plot_width + 10) as i32;
        for (i, curve) in series.iter().enumerate() {
            let y = TITLE_HEIGHT as i32 + 20 + 22 * i as i32;
            root.draw(&Rectangle::new(
                [(left, y - 2), (left + 14, y + 2)],
                PALETTE[i].filled(),
            ))
            .map_err(draw_err)?;
            let text = format!(
                "{} ({area_name} {:.3})",
                fit_text(&curve.label, LEGEND_WIDTH as i32 - 20, 7),
                curve.area
            );
            root.draw(&Text::new(text, (left + 20, y), legend_style()))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Residuals (actual − predicted) against predictions, with the zero line: a regressor's
/// errors should scatter evenly about it.
pub fn residuals(predicted: &[f64], actual: &[f64]) -> Result<String, PlotError> {
    if predicted.len() != actual.len() {
        return Err(PlotError::Data(format!(
            "{} predictions for {} actual values",
            predicted.len(),
            actual.len()
        )));
    }
    let points: Vec<(f64, f64)> = predicted
        .iter()
        .zip(actual)
        .map(|(&p, &a)| (p, a - p))
        .filter(|(p, r)| p.is_finite() && r.is_finite())
        .collect();
    if points.is_empty() {
        return Err(PlotError::Data("no finite predictions to plot".into()));
    }
    let shown = &points[..points.len().min(MAX_POINTS)];
    let (x_lo, x_hi) = span("prediction", shown.iter().map(|p| p.0), 0.05)?;
    let largest = shown.iter().fold(0.0f64, |m, p| m.max(p.1.abs()));
    let (y_lo, y_hi) = span("residual", [-largest, largest].into_iter(), 0.05)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut title = format!("residuals of {} predictions", points.len());
        if shown.len() < points.len() {
            title = format!("residuals (first {} of {} rows)", shown.len(), points.len());
        }
        root.draw(&Text::new(title, ((WIDTH / 2) as i32, 8), title_style()))
            .map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(TITLE_HEIGHT)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(draw_err)?;
        xy_mesh(&mut chart, "prediction", "actual − prediction")?;
        chart
            .draw_series([PathElement::new(
                vec![(x_lo, 0.0), (x_hi, 0.0)],
                BLACK.mix(0.4).stroke_width(1),
            )])
            .map_err(draw_err)?;
        chart
            .draw_series(
                shown
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, PALETTE[0].mix(0.7).filled())),
            )
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Horizontal bars of signed values by name (feature importances or coefficients),
/// largest magnitude first; negative values in a second colour.
pub fn bars(title: &str, names: &[String], values: &[f64]) -> Result<String, PlotError> {
    if names.len() != values.len() {
        return Err(PlotError::Data(format!(
            "{} names for {} values",
            names.len(),
            values.len()
        )));
    }
    let mut order: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    if order.is_empty() {
        return Err(PlotError::Data("no finite values to plot".into()));
    }
    // Largest magnitude first; names break ties so the order never depends on input order.
    order.sort_by(|&a, &b| {
        values[b]
            .abs()
            .total_cmp(&values[a].abs())
            .then_with(|| names[a].cmp(&names[b]))
    });
    let total = order.len();
    order.truncate(MAX_BARS);
    let lo = order.iter().fold(0.0f64, |m, &i| m.min(values[i]));
    let hi = order.iter().fold(0.0f64, |m, &i| m.max(values[i]));
    let (lo, hi) = span(title, [lo, hi].into_iter(), 0.05)?;
    let count = order.len() as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut heading = title.to_string();
        if total > order.len() {
            heading.push_str(&format!(" (largest {} of {total})", order.len()));
        }
        root.draw(&Text::new(
            fit_text(&heading, WIDTH as i32 - 20, 9),
            ((WIDTH / 2) as i32, 8),
            title_style(),
        ))
        .map_err(draw_err)?;
        let label_width = 150i32;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(TITLE_HEIGHT)
            .margin_left(label_width)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(0)
            .build_cartesian_2d(lo..hi, 0.0..count as f64)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|v| tick(*v))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(order.iter().enumerate().map(|(rank, &i)| {
                let y0 = count as f64 - rank as f64 - 0.85;
                let color = if values[i] < 0.0 {
                    PALETTE[3]
                } else {
                    PALETTE[0]
                };
                Rectangle::new([(0.0, y0), (values[i], y0 + 0.7)], color.filled())
            }))
            .map_err(draw_err)?;
        let name_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (rank, &i) in order.iter().enumerate() {
            let (_, y) = chart.backend_coord(&(0.0, count as f64 - rank as f64 - 0.5));
            root.draw(&Text::new(
                fit_text(&names[i], label_width - 16, 7),
                (label_width + 4, y),
                name_style.clone(),
            ))
            .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Points on two axes (such as the first two principal components) coloured by cluster;
/// label -1 is noise, drawn grey.
pub fn clusters(
    points: &[(f64, f64)],
    labels: &[i64],
    x_desc: &str,
    y_desc: &str,
) -> Result<String, PlotError> {
    if points.len() != labels.len() {
        return Err(PlotError::Data(format!(
            "{} points for {} cluster labels",
            points.len(),
            labels.len()
        )));
    }
    let mut groups: Vec<i64> = labels.to_vec();
    groups.sort_unstable();
    groups.dedup();
    let clustered = groups.iter().filter(|&&g| g >= 0).count();
    if clustered > MAX_GROUPS {
        return Err(PlotError::Data(format!(
            "{clustered} clusters; this plot colours at most {MAX_GROUPS}"
        )));
    }
    let shown: Vec<(f64, f64, i64)> = points
        .iter()
        .zip(labels)
        .filter(|(p, _)| p.0.is_finite() && p.1.is_finite())
        .take(MAX_POINTS)
        .map(|(p, &l)| (p.0, p.1, l))
        .collect();
    if shown.is_empty() {
        return Err(PlotError::Data("no finite points to plot".into()));
    }
    let (x_lo, x_hi) = span(x_desc, shown.iter().map(|p| p.0), 0.05)?;
    let (y_lo, y_hi) = span(y_desc, shown.iter().map(|p| p.1), 0.05)?;
    let color = |label: i64| {
        if label < 0 {
            RGBColor(170, 170, 170)
        } else {
            // Clusters are numbered 0.. in order; the palette index is the rank among
            // the non-noise labels.
            let rank = groups.iter().filter(|&&g| g >= 0 && g < label).count();
            PALETTE[rank % MAX_GROUPS]
        }
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut title = format!("{clustered} clusters on {x_desc} and {y_desc}");
        if shown.len() < points.len() {
            title.push_str(&format!(" (first {} of {})", shown.len(), points.len()));
        }
        root.draw(&Text::new(
            fit_text(&title, WIDTH as i32 - 20, 9),
            ((WIDTH / 2) as i32, 8),
            title_style(),
        ))
        .map_err(draw_err)?;
        let plot_width = WIDTH - LEGEND_WIDTH;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(TITLE_HEIGHT)
            .margin_right(10 + WIDTH - plot_width)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(draw_err)?;
        xy_mesh(&mut chart, x_desc, y_desc)?;
        chart
            .draw_series(
                shown
                    .iter()
                    .map(|&(x, y, l)| Circle::new((x, y), 3, color(l).mix(0.8).filled())),
            )
            .map_err(draw_err)?;
        let left = (plot_width + 10) as i32;
        for (i, &group) in groups.iter().enumerate() {
            let y = TITLE_HEIGHT as i32 + 20 + 22 * i as i32;
            root.draw(&Circle::new((left, y), 5, color(group).filled()))
                .map_err(draw_err)?;
            let text = if group < 0 {
                "noise".to_string()
            } else {
                format!("cluster {group}")
            };
            root.draw(&Text::new(text, (left + 12, y), legend_style()))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    /// Whether the SVG has a text element reading `text` (the backend puts it on a line
    /// of its own).
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    #[test]
    fn confusion_heatmap_has_a_cell_and_count_per_pair() {
        let labels = vec!["no".to_string(), "yes".to_string()];
        let svg = confusion_heatmap(&labels, &[vec![50, 3], vec![7, 40]]).unwrap();
        assert!(has_text(&svg, "confusion matrix (100 rows)"));
        for n in ["50", "3", "7", "40"] {
            assert!(has_text(&svg, n), "count {n} missing");
        }
        // Four shaded cells plus four outlines, and the white background.
        assert_eq!(count(&svg, "<rect"), 9);
        let err = confusion_heatmap(&labels, &[vec![1, 2]]).unwrap_err();
        assert!(err.to_string().contains("2 rows of 2 counts"), "{err}");
    }

    #[test]
    fn roc_curves_show_the_diagonal_and_each_area() {
        let curve = Curve {
            label: "yes".into(),
            points: vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)],
            area: 0.875,
        };
        let roc = curves(CurveKind::Roc, std::slice::from_ref(&curve)).unwrap();
        assert!(has_text(&roc, "yes (AUC 0.875)"));
        let pr = curves(CurveKind::PrecisionRecall, &[curve]).unwrap();
        assert!(has_text(&pr, "yes (AP 0.875)"));
        // The same curve, and on the ROC plot the chance diagonal too.
        assert_eq!(count(&roc, "<polyline"), count(&pr, "<polyline") + 1);
        assert!(curves(CurveKind::Roc, &[]).is_err());
    }

    #[test]
    fn residuals_plot_a_point_per_row() {
        let svg = residuals(&[1.0, 2.0, 3.0], &[1.5, 1.0, 3.0]).unwrap();
        assert_eq!(count(&svg, "<circle"), 3);
        assert!(has_text(&svg, "residuals of 3 predictions"));
        assert!(residuals(&[1.0], &[]).is_err());
        assert!(residuals(&[f64::NAN], &[1.0]).is_err());
    }

    #[test]
    fn bars_order_by_magnitude_and_cap_the_count() {
        let names: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        let values: Vec<f64> = (0..40).map(|i| (i as f64 - 20.0) / 10.0).collect();
        let svg = bars("coefficients", &names, &values).unwrap();
        assert!(has_text(&svg, "coefficients (largest 30 of 40)"));
        // f0 = -2.0 is the largest magnitude and is drawn; f20 = 0 is among the dropped.
        assert!(has_text(&svg, "f0") && has_text(&svg, "f39"));
        assert!(!has_text(&svg, "f20"));
        assert!(svg.find(">\nf0\n<") < svg.find(">\nf39\n<"));
    }

    #[test]
    fn clusters_colour_noise_grey_and_list_every_cluster() {
        let points = [(0.0, 0.0), (1.0, 1.0), (5.0, 5.0), (9.0, 0.0)];
        let svg = clusters(&points, &[0, 0, 1, -1], "PC1", "PC2").unwrap();
        assert!(has_text(&svg, "2 clusters on PC1 and PC2"));
        assert!(has_text(&svg, "noise") && has_text(&svg, "cluster 1"));
        assert!(svg.contains("#AAAAAA"));
        assert!(clusters(&points, &[0], "a", "b").is_err());
    }
}
