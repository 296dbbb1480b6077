//! Generation on a blocking thread, streamed to the writer through a
//! bounded channel, so that generating and writing overlap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::generate;
use super::plan::{Plan, Table};
use super::sink::ChunkSink;

/// What the producer sends.
pub(crate) enum Msg<C> {
    /// A chunk of rows and how many rows it holds.
    Chunk(u64, C),
    /// Every row was sent.
    Done,
}

/// Chunks in flight between producer and writer.
const CHANNEL_CHUNKS: usize = 4;

/// Starts generating `table` into chunks of `sink`. The receiver ends
/// without [`Msg::Done`] if `cancel` is set, the writer hangs up or the
/// generator panics (the handle then reports the panic).
pub(crate) fn spawn<S: ChunkSink>(
    table: Table,
    plan: &Arc<Plan>,
    mut sink: S,
    cancel: &Arc<AtomicBool>,
) -> (mpsc::Receiver<Msg<S::Chunk>>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let plan = Arc::clone(plan);
    let cancel = Arc::clone(cancel);
    let handle = tokio::task::spawn_blocking(move || {
        let complete = generate::produce(table, &plan, &mut sink, |rows, chunk| {
            !cancel.load(Ordering::Relaxed) && tx.blocking_send(Msg::Chunk(rows, chunk)).is_ok()
        });
        if complete {
            let _ = tx.blocking_send(Msg::Done);
        }
    });
    (rx, handle)
}
