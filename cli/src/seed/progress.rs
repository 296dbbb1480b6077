//! One progress bar per table (rows, rows/s, phase), drawn on stderr, or
//! hidden.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::Counts;
use super::plan::Table;

/// The bars of one seeding run.
pub(crate) struct Bars {
    _multi: MultiProgress,
    bars: Vec<(Table, ProgressBar)>,
}

impl Bars {
    /// A bar per table, in the schema's order; all hidden unless `enabled`.
    pub(crate) fn new(enabled: bool, counts: &Counts) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template(
            "{prefix:>18} {bar:28.cyan/blue} {pos:>9}/{len:<9} {rps:>12} {elapsed:>4} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rps",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} rows/s", state.per_sec());
            },
        )
        .progress_chars("=> ");
        let bars = Table::ALL
            .iter()
            .map(|&t| {
                let bar = multi.add(ProgressBar::new(t.count(counts)));
                bar.set_style(style.clone());
                bar.set_prefix(t.name());
                bar.set_message("waiting");
                (t, bar)
            })
            .collect();
        Self {
            _multi: multi,
            bars,
        }
    }

    /// The bar of `table`.
    pub(crate) fn bar(&self, table: Table) -> ProgressBar {
        self.bars
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(ProgressBar::hidden)
    }

    /// Marks bars that never finished as abandoned; all stay on screen as
    /// last drawn.
    pub(crate) fn finish(&self) {
        for (_, bar) in &self.bars {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
