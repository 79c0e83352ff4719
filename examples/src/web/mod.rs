//! The MedTrack web app: server-rendered pages for patients, doctors and admins, and the JSON
//! API, both over one [`MedTrack`] service.
//!
//! [`router`] builds the whole app; [`serve`] runs it until a shutdown signal, finishing the
//! requests in flight; [`spawn_background`] starts the notification dispatcher and the
//! housekeeping tasks that go with it. The `medtrack-web` binary wires these to its flags.
//!
//! I kept the app free of any session store of its own: the cookie holds the core's session
//! token, so every instance of the server on one database shares the same logins, and a
//! restart keeps them. Pages use the cookie; the JSON API uses `Authorization: Bearer`.

mod api;
mod csrf;

/// Implements `Debug` as the type's name alone, for values that carry passwords, tokens,
/// names or health information, so no `{:?}` can ever print them.
macro_rules! redacted_debug {
    ($($name:ident),* $(,)?) => {$(
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    )*};
}
pub(crate) use redacted_debug;

pub mod demo_data;
mod error;
mod layers;
mod pages;
mod ratelimit;
mod templates;
mod time;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
pub use axum_client_ip::ClientIpSource;
use medtrack_core::dispatch::{DispatchConfig, Dispatcher};
use medtrack_core::notify::Notifier;
use medtrack_core::MedTrack;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use api::openapi;
pub use csrf::CsrfKey;
pub use error::ApiError;
pub use ratelimit::LoginLimits;

/// How the web app behaves, apart from the service underneath.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure`, for deployments behind TLS.
    pub secure_cookies: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How many login attempts are let through per account and per client address.
    pub login_limits: LoginLimits,
    /// Where a client's address comes from, for the per-address login limit: the connection
    /// itself when clients connect directly, or the header the proxy in front of the app
    /// sets (`RightmostXForwardedFor` behind an AWS load balancer or nginx). A header is
    /// only trustworthy when every request passes that proxy.
    pub client_address: ClientIpSource,
    /// The key CSRF tokens are derived with. Instances that share a database should share
    /// it too, or a form rendered by one is refused by another.
    pub csrf_key: CsrfKey,
}

impl WebConfig {
    /// Settings for tests: no TLS, a 64 KiB body limit, default login limits, client
    /// addresses from the connection and a random CSRF key.
    pub fn for_tests() -> Self {
        Self {
            secure_cookies: false,
            max_body_bytes: 64 * 1024,
            login_limits: LoginLimits::default(),
            client_address: ClientIpSource::ConnectInfo,
            csrf_key: CsrfKey::random(),
        }
    }
}

/// What every handler gets: the service and the app's own pieces.
#[derive(Debug, Clone)]
pub struct AppState {
    medtrack: MedTrack,
    config: Arc<WebConfig>,
    limiter: Arc<ratelimit::LoginLimiter>,
}

impl AppState {
    /// The app over `medtrack`, configured by `config`.
    pub fn new(medtrack: MedTrack, config: WebConfig) -> Self {
        let limiter = ratelimit::LoginLimiter::new(&config.login_limits);
        Self {
            medtrack,
            config: Arc::new(config),
            limiter: Arc::new(limiter),
        }
    }

    /// The service underneath.
    pub fn medtrack(&self) -> &MedTrack {
        &self.medtrack
    }
}

/// The whole app: pages, static files, the JSON API and its OpenAPI document, `/healthz`,
/// and the layers around them (security headers, request ids, tracing, body limit).
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let client_address = state.config.client_address.clone();
    let app = Router::new()
        .merge(api::router(state.clone()))
        .merge(pages::router(state))
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(client_address.into_extension());
    layers::wrap(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting connections
/// and waits for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Starts the notification dispatcher (delivering through `notifier`), the purge of expired
/// sessions and the pruning of the login limiter. They stop when `shutdown` turns true; wait
/// on the returned set to let them finish.
pub fn spawn_background(
    state: &AppState,
    notifier: Arc<dyn Notifier>,
    shutdown: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let medtrack = state.medtrack.clone();
    let dispatcher = Dispatcher::new(
        Arc::clone(medtrack.store()),
        notifier,
        Arc::clone(medtrack.clock()),
        DispatchConfig::default(),
    );
    let stop = shutdown.clone();
    tasks.spawn(async move { dispatcher.run(stopped(stop)).await });

    let limiter = Arc::clone(&state.limiter);
    let mut stop = shutdown;
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            limiter.prune();
            match medtrack.purge_expired_sessions().await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "expired sessions removed"),
                Err(err) => tracing::warn!(error = %err, "could not purge expired sessions"),
            }
        }
    });
    tasks
}

/// Completes once `shutdown` turns true (or its sender is gone).
pub async fn stopped(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
