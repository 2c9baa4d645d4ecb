//! Plots of frames as SVG documents, drawn with plotters' SVG backend.
//!
//! On wasm32 plotters measures text through the page's DOM (`window().unwrap()`), which a
//! Web Worker — where the kernel runs — does not have. Plotters only measures text for
//! captions, series legends, right-hand axis labels and multi-line text; the SVG backend
//! writes every other text as a `<text>` element without measuring it. So these plots
//! draw their title and legend as single `Text` elements at computed positions and use
//! only the left and bottom axes: the same SVG natively and in any browser context.

use std::collections::BTreeMap;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::frame::{ColumnData, DType, Frame, FrameError};

pub mod model;

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
    #[error("{0}")]
    Data(String),
    #[error("this plot shows from 1 to {max} columns, not {count}; select fewer")]
    TooManyColumns { count: usize, max: usize },
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

/// The grid, ticks and axis names every x-y plot of numbers here shares.
fn xy_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), PlotError> {
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.1))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()
        .map_err(draw_err)
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
        xy_mesh(&mut chart, x, y)?;
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

/// Heatmaps show at most this many columns (a cell of text each needs room).
pub const MAX_HEATMAP_COLUMNS: usize = 30;
/// Box plots show at most this many columns side by side.
pub const MAX_BOXES: usize = 8;

/// A colour from blue (-1) through white (0) to red (+1).
fn diverging(r: f64) -> RGBColor {
    let r = r.clamp(-1.0, 1.0);
    let (end, t) = if r < 0.0 {
        ((33.0, 102.0, 172.0), -r)
    } else {
        ((178.0, 24.0, 43.0), r)
    };
    let mix = |e: f64| (255.0 + (e - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// `text` cut to about `width` pixels of 7-pixel characters, with an ellipsis: text is
/// never measured (see the module's documentation), so this is an estimate.
fn fit_text(text: &str, width: i32, char_width: i32) -> String {
    let room = (width / char_width.max(1)).max(1) as usize;
    if text.chars().count() <= room {
        text.to_string()
    } else {
        text.chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…"
    }
}

/// A heatmap of the correlation matrix of the numeric columns (see [`Frame::corr`]):
/// blue for negative, red for positive, each cell labelled with its value (blank where
/// undefined).
pub fn corr_heatmap(frame: &Frame) -> Result<String, PlotError> {
    let corr = frame.corr().map_err(|e| PlotError::Data(e.to_string()))?;
    let names: Vec<String> = corr.column_names().into_iter().skip(1).collect();
    let k = names.len();
    if k > MAX_HEATMAP_COLUMNS {
        return Err(PlotError::TooManyColumns {
            count: k,
            max: MAX_HEATMAP_COLUMNS,
        });
    }
    let values: Vec<Vec<Option<f64>>> = corr
        .columns()
        .skip(1)
        .map(|c| (0..k).map(|i| c.data.f64_at(i)).collect())
        .collect();
    let (left, top, bottom, legend) = (130i32, TITLE_HEIGHT as i32 + 10, 40i32, 70i32);
    let side =
        ((WIDTH as i32 - left - legend - 10).min(HEIGHT as i32 - top - bottom)).max(k as i32);
    let cell = side / k as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title = format!("correlations of {}", plural_columns(k));
        root.draw(&Text::new(title, ((WIDTH / 2) as i32, 8), title_style()))
            .map_err(draw_err)?;
        let font = (cell / 3).clamp(8, 13);
        let value_style = |dark: bool| {
            ("sans-serif", font)
                .into_font()
                .color(if dark { &WHITE } else { &BLACK })
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        let row_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        let column_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for (i, row_name) in names.iter().enumerate() {
            let y = top + cell * i as i32;
            root.draw(&Text::new(
                fit_text(row_name, left - 10, 7),
                (left - 6, y + cell / 2),
                row_style.clone(),
            ))
            .map_err(draw_err)?;
            for (j, column) in values.iter().enumerate() {
                let x = left + cell * j as i32;
                let value = column[i];
                let fill = value.map_or(RGBColor(240, 240, 240), diverging);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    fill.filled(),
                ))
                .map_err(draw_err)?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    WHITE.stroke_width(1),
                ))
                .map_err(draw_err)?;
                if let Some(v) = value {
                    if cell >= 18 {
                        root.draw(&Text::new(
                            format!("{v:.2}"),
                            (x + cell / 2, y + cell / 2),
                            value_style(v.abs() > 0.6),
                        ))
                        .map_err(draw_err)?;
                    }
                }
            }
        }
        let y = top + cell * k as i32 + 6;
        for (j, name) in names.iter().enumerate() {
            let x = left + cell * j as i32 + cell / 2;
            root.draw(&Text::new(
                fit_text(name, cell - 2, 7),
                (x, y),
                column_style.clone(),
            ))
            .map_err(draw_err)?;
        }
        // The colour scale: a bar from +1 (top) to -1 (bottom).
        let bar_x = WIDTH as i32 - legend + 5;
        let steps = 40;
        let step_height = (side as f64 / steps as f64).max(1.0);
        for s in 0..steps {
            let r = 1.0 - 2.0 * (s as f64 + 0.5) / steps as f64;
            let y0 = top + (s as f64 * step_height) as i32;
            let y1 = top + ((s + 1) as f64 * step_height) as i32;
            root.draw(&Rectangle::new(
                [(bar_x, y0), (bar_x + 16, y1)],
                diverging(r).filled(),
            ))
            .map_err(draw_err)?;
        }
        let scale_style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (label, frac) in [("1", 0.0), ("0", 0.5), ("-1", 1.0)] {
            let y = top + (frac * steps as f64 * step_height) as i32;
            root.draw(&Text::new(label, (bar_x + 22, y), scale_style.clone()))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn plural_columns(k: usize) -> String {
    if k == 1 {
        "1 column".to_string()
    } else {
        format!("{k} columns")
    }
}

/// One box of a box plot: quartiles, whiskers (the furthest values within 1.5 × IQR of
/// the box) and the values beyond them.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxStats {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub low_whisker: f64,
    pub high_whisker: f64,
    pub outliers: Vec<f64>,
}

pub fn box_stats(values: &[f64]) -> Option<BoxStats> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::transform::quantile(&sorted, p).unwrap_or_default();
    let (q1, median, q3) = (q(0.25), q(0.5), q(0.75));
    let (lo, hi) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
    let inside = sorted.iter().copied().filter(|&x| x >= lo && x <= hi);
    let low_whisker = inside.clone().fold(f64::INFINITY, f64::min);
    let high_whisker = inside.fold(f64::NEG_INFINITY, f64::max);
    Some(BoxStats {
        q1,
        median,
        q3,
        low_whisker,
        high_whisker,
        outliers: sorted.into_iter().filter(|&x| x < lo || x > hi).collect(),
    })
}

/// Box plots of numeric columns side by side, each on its own scale: the box spans the
/// quartiles, the line in it is the median, whiskers reach the furthest values within
/// 1.5 × IQR, and dots mark the values beyond (nulls left out).
pub fn box_plot(frame: &Frame, columns: &[String]) -> Result<String, PlotError> {
    if columns.is_empty() || columns.len() > MAX_BOXES {
        return Err(PlotError::TooManyColumns {
            count: columns.len(),
            max: MAX_BOXES,
        });
    }
    let mut stats = Vec::with_capacity(columns.len());
    for column in columns {
        let values: Vec<f64> = numeric(frame, column)?.into_iter().map(|v| v.1).collect();
        let s = box_stats(&values).ok_or_else(|| PlotError::NoData {
            column: column.clone(),
        })?;
        stats.push(s);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title = format!("box plot of {}", columns.join(", "));
        root.draw(&Text::new(
            fit_text(&title, WIDTH as i32 - 20, 9),
            ((WIDTH / 2) as i32, 8),
            title_style(),
        ))
        .map_err(draw_err)?;
        let panels = root
            .margin(TITLE_HEIGHT, 0, 0, 0)
            .split_evenly((1, columns.len()));
        for ((panel, s), column) in panels.iter().zip(&stats).zip(columns) {
            let all = [s.low_whisker, s.high_whisker]
                .into_iter()
                .chain(s.outliers.iter().copied());
            let (lo, hi) = span(column, all, 0.05)?;
            let mut chart = ChartBuilder::on(panel)
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(55)
                .build_cartesian_2d(0.0..1.0, lo..hi)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .light_line_style(TRANSPARENT)
                .bold_line_style(BLACK.mix(0.1))
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 14))
                .x_desc(fit_text(
                    column,
                    (WIDTH as usize / columns.len()) as i32 - 60,
                    8,
                ))
                .y_label_formatter(&|v| tick(*v))
                .draw()
                .map_err(draw_err)?;
            let color = PALETTE[0];
            chart
                .draw_series([Rectangle::new(
                    [(0.3, s.q1), (0.7, s.q3)],
                    color.mix(0.35).filled(),
                )])
                .map_err(draw_err)?;
            chart
                .draw_series([Rectangle::new(
                    [(0.3, s.q1), (0.7, s.q3)],
                    color.stroke_width(1),
                )])
                .map_err(draw_err)?;
            let lines = [
                vec![(0.3, s.median), (0.7, s.median)],
                vec![(0.5, s.q3), (0.5, s.high_whisker)],
                vec![(0.5, s.q1), (0.5, s.low_whisker)],
                vec![(0.4, s.high_whisker), (0.6, s.high_whisker)],
                vec![(0.4, s.low_whisker), (0.6, s.low_whisker)],
            ];
            chart
                .draw_series(
                    lines
                        .into_iter()
                        .map(|points| PathElement::new(points, color.stroke_width(2))),
                )
                .map_err(draw_err)?;
            let shown = s.outliers.iter().take(MAX_POINTS);
            chart
                .draw_series(shown.map(|&y| Circle::new((0.5, y), 3, PALETTE[3].mix(0.7).filled())))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}
