//! Exploring functions of the cell language: tail, sample, correlations, box plots and
//! the data-quality report.

use super::frames::index;
use super::transform::names;
use super::*;
use crate::plot;

fn plot(svg: Result<String, plot::PlotError>, title: String) -> Res<Plot> {
    Ok(Plot {
        svg: svg.map_err(fail)?.into(),
        title,
    })
}

pub(super) fn register(engine: &mut Engine, shared: &SharedState) {
    engine.register_fn("tail", |df: Frame, n: INT| -> Res<Frame> {
        Ok(df.tail(index(n, "tail's row count")?))
    });
    engine.register_fn("sample", |df: Frame, n: INT, seed: INT| -> Res<Frame> {
        let seed =
            u64::try_from(seed).map_err(|_| fail(format!("seed must be 0 or more, not {seed}")))?;
        Ok(df.sample(index(n, "sample's row count")?, seed))
    });
    engine.register_fn("corr", |df: Frame| df.corr().map_err(fail));
    engine.register_fn("corr_heatmap", |df: Frame| {
        plot(plot::corr_heatmap(&df), "correlation heatmap".to_string())
    });
    engine.register_fn("box_plot", |df: Frame, columns: Dynamic| -> Res<Plot> {
        let columns = names(&columns, "box_plot's columns")?;
        let title = format!("box plot of {}", columns.join(", "));
        plot(plot::box_plot(&df, &columns), title)
    });
    let notes = shared.clone();
    engine.register_fn("quality_report", move |df: Frame| -> Res<Frame> {
        let (table, text) = df.quality_report(None).map_err(fail)?;
        notes.borrow_mut().notes.push(text);
        Ok(table)
    });
    let notes = shared.clone();
    engine.register_fn(
        "quality_report",
        move |df: Frame, target: &str| -> Res<Frame> {
            let (table, text) = df.quality_report(Some(target)).map_err(fail)?;
            notes.borrow_mut().notes.push(text);
            Ok(table)
        },
    );
}
