//! Operational endpoints: `/healthz` (the database answers) and `/metrics`
//! (delivery queue counts from the database, and this node's delivery counters,
//! histograms and dropped `reaction` deliveries, in the Prometheus text format).

use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ctx::Ctx;

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(ctx)
}

async fn healthz(State(ctx): State<Arc<Ctx>>) -> Response {
    match ctx.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(ctx): State<Arc<Ctx>>) -> Response {
    let counts = match ctx.store.delivery_counts().await {
        Ok(counts) => counts,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable: {e}\n"),
            )
                .into_response();
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "# HELP missive_deliveries Deliveries by state.");
    let _ = writeln!(out, "# TYPE missive_deliveries gauge");
    for (state, n) in [
        ("pending", counts.pending),
        ("succeeded", counts.succeeded),
        ("failed", counts.failed),
        ("cancelled", counts.cancelled),
    ] {
        let _ = writeln!(out, "missive_deliveries{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP missive_reaction_deliveries_dropped_total Reaction deliveries this node dropped under the reaction throttle."
    );
    let _ = writeln!(
        out,
        "# TYPE missive_reaction_deliveries_dropped_total counter"
    );
    let _ = writeln!(
        out,
        "missive_reaction_deliveries_dropped_total {}",
        ctx.reaction_throttle.dropped()
    );
    let _ = writeln!(
        out,
        "# HELP missive_deliveries_pending Deliveries waiting to be sent or retried (whole database)."
    );
    let _ = writeln!(out, "# TYPE missive_deliveries_pending gauge");
    let _ = writeln!(out, "missive_deliveries_pending {}", counts.pending);
    ctx.metrics.write(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
