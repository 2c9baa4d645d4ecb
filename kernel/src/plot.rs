//! Plots of frames as SVG documents, drawn with plotters' SVG backend.
//!
//! On wasm32 plotters measures text through the page's DOM (`window().unwrap()`), which a
//! Web Worker — where the kernel runs — does not have. Plotters only measures text for
//! captions, series legends, right-hand axis labels and multi-line text; the SVG backend
//! writes every other text as a `<text>` element without measuring it. So these plots
//! draw their title and legend as single `Text` elements at computed positions and use
//! only the left and bottom axes: the same SVG natively and in any browser context.

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::frame::{ColumnData, DType, Frame, FrameError};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 400;
const TITLE_HEIGHT: u32 = 30;
const LEGEND_WIDTH: u32 = 130;
pub const MAX_BINS: usize = 1000;
/// Scatter plots draw at most this many points, so that one SVG stays a few megabytes.
pub const MAX_POINTS: usize = 20_000;
pub const MAX_GROUPS: usize = 10;

/// Tableau's ten categorical colours: distinguishable and colour-blind friendly.
const PALETTE: [RGBColor; MAX_GROUPS] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlotError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("column '{column}' is {dtype}; plots need an int or float column")]
    NotNumeric { column: String, dtype: DType },
    #[error("column '{column}' has no values to plot (it is empty or all null)")]
    NoData { column: String },
    #[error("no row has values in both '{x}' and '{y}'")]
    NoPoints { x: String, y: String },
    #[error("bins must be between 1 and {MAX_BINS}, not {0}")]
    BadBins(i64),
    #[error("column '{column}' has {count} distinct values; color_by takes at most {MAX_GROUPS}")]
    TooManyGroups { column: String, count: usize },
    #[error("the values of column '{column}' span too wide a range to plot")]
    Range { column: String },
    #[error("drawing failed: {0}")]
    Draw(String),
}

fn draw_err<E: std::fmt::Debug>(e: E) -> PlotError {
    PlotError::Draw(format!("{e:?}"))
}

/// The non-null values of a numeric column, with their row numbers.
fn numeric(frame: &Frame, column: &str) -> Result<Vec<(usize, f64)>, PlotError> {
    let data = &frame.column(column)?.data;
    match data.dtype() {
        DType::Int | DType::Float => {}
        dtype => {
            return Err(PlotError::NotNumeric {
                column: column.to_string(),
                dtype,
            })
        }
    }
    // Infinite values (a CSV may hold 1e999) have no place on an axis.
    Ok((0..frame.row_count())
        .filter_map(|r| data.f64_at(r).filter(|x| x.is_finite()).map(|x| (r, x)))
        .collect())
}

/// `[lo, hi]` of `values` widened by `pad` of its width on each side, and so that a
/// single value still gets a visible range; an error when the width overflows.
fn span(
    column: &str,
    values: impl Iterator<Item = f64>,
    pad: f64,
) -> Result<(f64, f64), PlotError> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    };
    let margin = (hi - lo) * pad;
    let (lo, hi) = (lo - margin, hi + margin);
    if (hi - lo).is_finite() {
        Ok((lo, hi))
    } else {
        Err(PlotError::Range {
            column: column.to_string(),
        })
    }
}

fn title_style() -> TextStyle<'static> {
    ("sans-serif", 18)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top))
}

/// A histogram of a numeric column in `bins` equal-width bins over its range (nulls
/// left out; the last bin includes the maximum).
pub fn histogram(frame: &Frame, column: &str, bins: i64) -> Result<String, PlotError> {
    let bin_count = usize::try_from(bins)
        .ok()
        .filter(|b| (1..=MAX_BINS).contains(b))
        .ok_or(PlotError::BadBins(bins))?;
    let values = numeric(frame, column)?;
    if values.is_empty() {
        return Err(PlotError::NoData {
            column: column.to_string(),
        });
    }
    let (lo, hi) = span(column, values.iter().map(|v| v.1), 0.0)?;
    let width = (hi - lo) / bin_count as f64;
    let mut counts = vec![0usize; bin_count];
    for &(_, x) in &values {
        let bin = (((x - lo) / width) as usize).min(bin_count - 1);
        counts[bin] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1);
    // Headroom above the tallest bar, in whole counts so that ticks are whole numbers.
    let y_top = (top + top.div_ceil(20)) as u64;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title = format!(
            "histogram of {column} ({} values, {bin_count} bins)",
            values.len()
        );
        root.draw(&Text::new(title, ((WIDTH / 2) as i32, 8), title_style()))
            .map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(TITLE_HEIGHT)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, 0u64..y_top)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .x_desc(column)
            .y_desc("count")
            .x_label_formatter(&|x| tick(*x))
            .draw()
            .map_err(draw_err)?;
        let bars = counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| {
                let x0 = lo + width * i as f64;
                ([(x0, 0u64), (x0 + width, n as u64)], i)
            });
        chart
            .draw_series(
                bars.clone()
                    .map(|(corners, _)| Rectangle::new(corners, PALETTE[0].filled())),
            )
            .map_err(draw_err)?;
        // White outlines keep neighbouring bars apart.
        chart
            .draw_series(bars.map(|(corners, _)| Rectangle::new(corners, WHITE.stroke_width(1))))
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// A scatter plot of two numeric columns over the rows where both have values,
/// coloured by the values of `color_by` (any type, at most [`MAX_GROUPS`] distinct
/// values; nulls form a `null` group) with a legend.
pub fn scatter(
    frame: &Frame,
    x: &str,
    y: &str,
    color_by: Option<&str>,
) -> Result<String, PlotError> {
    let xs = numeric(frame, x)?;
    let ys = &frame.column(y)?.data;
    if !matches!(ys.dtype(), DType::Int | DType::Float) {
        return Err(PlotError::NotNumeric {
            column: y.to_string(),
            dtype: ys.dtype(),
        });
    }
    let points: Vec<(usize, f64, f64)> = xs
        .iter()
        .filter_map(|&(r, xv)| ys.f64_at(r).filter(|y| y.is_finite()).map(|yv| (r, xv, yv)))
        .collect();
    if points.is_empty() {
        return Err(PlotError::NoPoints {
            x: x.to_string(),
            y: y.to_string(),
        });
    }
    // Each group's colour index, in legend order: values ascending (numbers as numbers),
    // nulls last.
    let groups: Option<(&ColumnData, BTreeMap<String, usize>)> = match color_by {
        None => None,
        Some(name) => {
            let data = &frame.column(name)?.data;
            let mut rows_by_label: BTreeMap<String, usize> = BTreeMap::new();
            for &(r, _, _) in &points {
                rows_by_label.entry(group_label(data, r)).or_insert(r);
            }
            if rows_by_label.len() > MAX_GROUPS {
                return Err(PlotError::TooManyGroups {
                    column: name.to_string(),
                    count: rows_by_label.len(),
                });
            }
            let mut order: Vec<(String, usize)> = rows_by_label.into_iter().collect();
            order.sort_by(|(a, ra), (b, rb)| {
                let key = |r: usize| (data.is_null(r), data.f64_at(r));
                let (ka, kb) = (key(*ra), key(*rb));
                ka.0.cmp(&kb.0)
                    .then(ka.1.partial_cmp(&kb.1).unwrap_or(std::cmp::Ordering::Equal))
                    .then(a.cmp(b))
            });
            let labels = order
                .into_iter()
                .enumerate()
                .map(|(i, (label, _))| (label, i))
                .collect();
            Some((data, labels))
        }
    };
    let shown = &points[..points.len().min(MAX_POINTS)];
    let (x_lo, x_hi) = span(x, shown.iter().map(|p| p.1), 0.05)?;
    let (y_lo, y_hi) = span(y, shown.iter().map(|p| p.2), 0.05)?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut title = format!("{y} vs {x}");
        if let Some(name) = color_by {
            title.push_str(&format!(" by {name}"));
        }
        if shown.len() < points.len() {
            title.push_str(&format!(
                " (first {} of {} points)",
                shown.len(),
                points.len()
            ));
        }
        let plot_width = WIDTH - if groups.is_some() { LEGEND_WIDTH } else { 0 };
        root.draw(&Text::new(title, ((WIDTH / 2) as i32, 8), title_style()))
            .map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(TITLE_HEIGHT)
            .margin_right(10 + WIDTH - plot_width)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .x_desc(x)
            .y_desc(y)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(shown.iter().map(|&(r, xv, yv)| {
                let color = match &groups {
                    Some((data, labels)) => PALETTE[labels[&group_label(data, r)]],
                    None => PALETTE[0],
                };
                Circle::new((xv, yv), 3, color.mix(0.8).filled())
            }))
            .map_err(draw_err)?;
        if let Some((_, labels)) = &groups {
            let left = (plot_width + 10) as i32;
            let label_style = ("sans-serif", 14)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            let mut legend: Vec<(&String, &usize)> = labels.iter().collect();
            legend.sort_by_key(|(_, &index)| index);
            for (i, (label, &index)) in legend.into_iter().enumerate() {
                let y_pos = TITLE_HEIGHT as i32 + 20 + 22 * i as i32;
                root.draw(&Circle::new((left, y_pos), 5, PALETTE[index].filled()))
                    .map_err(draw_err)?;
                root.draw(&Text::new(
                    label.clone(),
                    (left + 12, y_pos),
                    label_style.clone(),
                ))
                .map_err(draw_err)?;
            }
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// An axis tick as people write numbers: no trailing `.0`, at most three decimals, and
/// exponents only for very large or small magnitudes.
fn tick(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-3..1e9).contains(&magnitude) {
        return format!("{value:.1e}");
    }
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn group_label(data: &ColumnData, row: usize) -> String {
    data.display_at(row).unwrap_or_else(|| "null".to_string())
}
