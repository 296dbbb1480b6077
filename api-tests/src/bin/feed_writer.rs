//! Another instance, as a separate OS process, for the change feed's
//! tests: `feed_writer DATABASE_URL LEAD_ID SCORE` sets the lead's score
//! through its own `NeonDb` handle (feed off: it only writes) and prints
//! the consistency token of the write on stdout.

use std::process::ExitCode;

use service::prelude::*;
use service::{Config, FeedMode, LeadUpdate, NeonDb};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, id, score] = args.as_slice() else {
        eprintln!("usage: feed_writer DATABASE_URL LEAD_ID SCORE");
        return ExitCode::from(2);
    };
    let Ok(score) = score.parse::<f64>() else {
        eprintln!("SCORE must be a number");
        return ExitCode::from(2);
    };
    let result = async {
        let db = NeonDb::connect(Config::new(url.clone()).with_change_feed(FeedMode::Off)).await?;
        let update = LeadUpdate {
            score: Some(Some(score)),
            ..LeadUpdate::default()
        };
        db.leads().update(id, update).await?;
        db.token().await
    }
    .await;
    match result {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("feed_writer: {e}");
            ExitCode::FAILURE
        }
    }
}
