//! The operator's routes: `/healthz` (does the database answer?) and `/metrics`
//! (Prometheus text).

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use super::policy::HEALTH_TIMEOUT;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// A connection of the server's own (WAL readers never wait for the fetch writes).
    pub store: Arc<Mutex<Store>>,
    /// Renders `/metrics`; `None` when no recorder could be installed.
    pub metrics: Option<PrometheusHandle>,
}

/// `/healthz` and `/metrics`.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Whether the database answers within `limit` (a blocked or broken database does not).
pub async fn database_answers(store: &Arc<Mutex<Store>>, limit: Duration) -> bool {
    let store = store.clone();
    let ping = tokio::task::spawn_blocking(move || store.lock().ping());
    matches!(tokio::time::timeout(limit, ping).await, Ok(Ok(true)))
}

/// 200 and `{"status":"ok"}` when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    if database_answers(&state.store, HEALTH_TIMEOUT).await {
        (
            StatusCode::OK,
            axum::Json(
                json!({"status": "ok", "database": "ok", "version": env!("CARGO_PKG_VERSION")}),
            ),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "database": "not answering"})),
        )
            .into_response()
    }
}

/// Prometheus text exposition of the process's metrics.
async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not available\n",
        )
            .into_response(),
    }
}
