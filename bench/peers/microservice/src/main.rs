//! A peer for `npm run bench:queue`'s k6 comparison, written the way a team would write it to take
//! bcrypt off a Node server's event loop with a service of its own: axum answers HTTP on tokio's
//! threads, each hash or verify runs on rayon's pool (one thread per core, so the async threads
//! stay free to accept and answer), and the result comes back through a oneshot channel.
//!
//!   POST /hash    {"password": "...", "cost": 10}   → {"hash": "$2b$10$..."}
//!   POST /compare {"password": "...", "hash": "..."} → {"ok": true}
//!   GET  /health                                      → ok
//!
//! PORT (default 0: any free port) is bound on 127.0.0.1; the bound address is printed as
//! `listening on http://127.0.0.1:<port>` once the server accepts connections.

use axum::{extract::Json, http::StatusCode, routing::get, routing::post, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Deserialize)]
struct HashRequest {
    password: String,
    cost: u32,
}

#[derive(Serialize)]
struct HashResponse {
    hash: String,
}

#[derive(Deserialize)]
struct CompareRequest {
    password: String,
    hash: String,
}

#[derive(Serialize)]
struct CompareResponse {
    ok: bool,
}

type Failure = (StatusCode, String);

/// Runs `work` on rayon's pool and waits for it without holding a tokio thread.
async fn on_pool<T: Send + 'static>(work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static) -> Result<T, Failure> {
    let (tx, rx) = oneshot::channel();
    rayon::spawn(move || {
        // The receiver is gone only if the client hung up: nothing to tell.
        let _ = tx.send(work());
    });
    rx.await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "worker dropped the job".to_owned()))?
        .map_err(|err| (StatusCode::BAD_REQUEST, err.to_string()))
}

async fn hash(Json(req): Json<HashRequest>) -> Result<Json<HashResponse>, Failure> {
    let hash = on_pool(move || bcrypt::hash(req.password, req.cost)).await?;
    Ok(Json(HashResponse { hash }))
}

async fn compare(Json(req): Json<CompareRequest>) -> Result<Json<CompareResponse>, Failure> {
    let ok = on_pool(move || bcrypt::verify(req.password, &req.hash)).await?;
    Ok(Json(CompareResponse { ok }))
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let app = Router::new()
        .route("/hash", post(hash))
        .route("/compare", post(compare))
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("local address"));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serve");
}
