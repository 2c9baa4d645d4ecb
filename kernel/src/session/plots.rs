//! Plot functions of the cell language.

use super::*;
use crate::plot;

pub(super) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<Plot>("Plot");
    fn plot(svg: Result<String, plot::PlotError>, title: String) -> Res<Plot> {
        Ok(Plot {
            svg: svg.map_err(fail)?.into(),
            title,
        })
    }
    const DEFAULT_BINS: INT = 10;
    engine.register_fn("histogram", |df: Frame, column: &str| {
        plot(
            plot::histogram(&df, column, DEFAULT_BINS),
            format!("histogram of {column}"),
        )
    });
    engine.register_fn("histogram", |df: Frame, column: &str, bins: INT| {
        plot(
            plot::histogram(&df, column, bins),
            format!("histogram of {column}"),
        )
    });
    engine.register_fn("scatter", |df: Frame, x: &str, y: &str| {
        plot(
            plot::scatter(&df, x, y, None),
            format!("scatter plot of {y} vs {x}"),
        )
    });
    engine.register_fn("scatter", |df: Frame, x: &str, y: &str, color_by: &str| {
        plot(
            plot::scatter(&df, x, y, Some(color_by)),
            format!("scatter plot of {y} vs {x} by {color_by}"),
        )
    });
    engine.register_fn("to_string", |p: &mut Plot| p.title.clone());
    engine.register_fn("to_debug", |p: &mut Plot| p.title.clone());
}
