//! `medtrack-web`: the MedTrack web app.
//!
//! With no subcommand it serves the pages and the JSON API; on the memory backend it loads
//! the demo clinic and prints one login per role. `create-admin` creates the first admin
//! account of a real installation, reading the password from the terminal or a file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use medtrack_core::{MedTrack, Settings};
use medtrack_examples::backend::{self, BackendArgs, BackendKind};
use medtrack_examples::demo::demo_settings;
use medtrack_examples::web::{
    self as app, AppState, ClientIpSource, CsrfKey, LoginLimits, WebConfig,
};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// The MedTrack web app: pages for patients, doctors and admins, and the JSON API.
#[derive(Debug, Parser)]
#[command(
    name = "medtrack-web",
    version,
    about = "The MedTrack web app: pages for patients, doctors and admins, and the JSON API."
)]
struct Cli {
    #[command(flatten)]
    backend: BackendArgs,

    /// What to log: a level (`info`) or per-target directives (`info,tower_http=debug`).
    #[arg(long, global = true, default_value = "info", env = "MEDTRACK_LOG")]
    log_level: String,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "MEDTRACK_LISTEN")]
    listen: SocketAddr,

    /// Load the demo clinic at start-up [default: true on the memory backend, else false].
    #[arg(long, env = "MEDTRACK_DEMO_DATA")]
    demo_data: Option<bool>,

    /// How many patients the demo clinic has.
    #[arg(long, default_value_t = 200, env = "MEDTRACK_DEMO_PATIENTS")]
    demo_patients: usize,

    /// How many doctors the demo clinic has (the last one awaits approval).
    #[arg(long, default_value_t = 12, env = "MEDTRACK_DEMO_DOCTORS")]
    demo_doctors: usize,

    /// Let self-registered doctors be booked without an admin's approval [default: true on
    /// the memory backend, else false].
    #[arg(long, env = "MEDTRACK_AUTO_APPROVE_DOCTORS")]
    auto_approve_doctors: Option<bool>,

    /// Mark cookies `Secure` (serve behind TLS).
    #[arg(long, env = "MEDTRACK_SECURE_COOKIES")]
    secure_cookies: bool,

    /// Login attempts per minute for one email address; 0 switches the limit off.
    #[arg(long, default_value_t = LoginLimits::default().per_account_per_minute, env = "MEDTRACK_LOGIN_LIMIT_PER_ACCOUNT")]
    login_limit_per_account: u32,

    /// Login attempts per minute from one client address; 0 switches the limit off.
    #[arg(long, default_value_t = LoginLimits::default().per_address_per_minute, env = "MEDTRACK_LOGIN_LIMIT_PER_ADDRESS")]
    login_limit_per_address: u32,

    /// Where a client's address comes from, for the per-address login limit: `ConnectInfo`
    /// (the connection; no proxy in front), or the header the proxy in front sets:
    /// `RightmostXForwardedFor` (AWS load balancers, nginx), `XRealIp`, `RightmostForwarded`,
    /// `CloudFrontViewerAddress`, `CfConnectingIp`, `TrueClientIp`, `FlyClientIp`,
    /// `XEnvoyExternalAddress`.
    #[arg(long, default_value = "ConnectInfo", value_parser = client_address_source, env = "MEDTRACK_CLIENT_ADDRESS_FROM")]
    client_address_from: ClientIpSource,

    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 64 * 1024, env = "MEDTRACK_MAX_BODY_BYTES")]
    max_body_bytes: usize,

    /// A file holding the secret CSRF tokens are derived from. Instances sharing a database
    /// should share it; without it each start picks a random one.
    #[arg(long, env = "MEDTRACK_CSRF_SECRET_FILE")]
    csrf_secret_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an admin account. The password is read from the terminal, or from a file.
    CreateAdmin {
        /// The admin's login email.
        #[arg(long)]
        email: String,
        /// The name to show.
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Read the password from this file (its first line) instead of the terminal.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("medtrack-web: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match &cli.command {
            Some(Command::CreateAdmin {
                email,
                name,
                password_file,
            }) => create_admin(&cli.backend, email, name, password_file.as_deref()).await,
            None => serve(&cli).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("medtrack-web: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(directives: &str) {
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .init();
}

/// Service settings for a backend: the light demo hashing on memory, the recommended
/// hashing everywhere else.
fn settings_for(kind: BackendKind, auto_approve: bool) -> Settings {
    let base = match kind {
        BackendKind::Memory => demo_settings(),
        _ => Settings::default(),
    };
    Settings {
        auto_approve_doctors: auto_approve,
        ..base
    }
}

async fn serve(cli: &Cli) -> Result<(), String> {
    let args = &cli.serve;
    let opened = backend::open(&cli.backend)
        .await
        .map_err(|err| err.to_string())?;
    let on_memory = opened.kind == BackendKind::Memory;
    let auto_approve = args.auto_approve_doctors.unwrap_or(on_memory);
    let notifier = opened.notifier.clone();
    let medtrack = MedTrack::new(opened.store, settings_for(opened.kind, auto_approve))
        .map_err(|err| err.to_string())?;

    let demo = if args.demo_data.unwrap_or(on_memory) {
        let loaded = app::demo_data::load(&medtrack, args.demo_doctors, args.demo_patients)
            .await
            .map_err(|err| format!("could not load the demo data: {err}"))?;
        Some(loaded)
    } else {
        None
    };

    let csrf_key = match &args.csrf_secret_file {
        Some(path) => CsrfKey::from_secret(read_secret(path)?.expose_secret()),
        None => CsrfKey::random(),
    };
    let config = WebConfig {
        secure_cookies: args.secure_cookies,
        max_body_bytes: args.max_body_bytes,
        login_limits: LoginLimits {
            per_account_per_minute: args.login_limit_per_account,
            per_address_per_minute: args.login_limit_per_address,
        },
        client_address: args.client_address_from.clone(),
        csrf_key,
    };
    let state = AppState::new(medtrack, config);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", args.listen))?;
    let address = listener.local_addr().map_err(|err| err.to_string())?;

    println!(
        "MedTrack is serving on http://{address}/ (backend: {})",
        opened.kind.name()
    );
    println!(
        "Self-registered doctors are {}.",
        if auto_approve {
            "bookable at once (MEDTRACK_AUTO_APPROVE_DOCTORS=true)"
        } else {
            "bookable once an admin approves them"
        }
    );
    if let Some(demo) = &demo {
        println!(
            "Demo clinic: {} doctors, {} patients. Sign in with password {:?}:",
            demo.doctors,
            demo.patients,
            demo.password()
        );
        for login in &demo.logins {
            println!("  {:<8} {}", login.role, login.email);
        }
    }

    let (stop, stopped) = watch::channel(false);
    let mut background = app::spawn_background(&state, notifier, stopped);
    let result = app::serve(listener, app::router(state), shutdown_signal()).await;
    tracing::info!("shutting down: requests in flight are finished");
    let _ = stop.send(true);
    while background.join_next().await.is_some() {}
    result.map_err(|err| format!("the server failed: {err}"))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn read_secret(path: &std::path::Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_owned();
    if first.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(SecretString::from(first))
}

async fn create_admin(
    backend_args: &BackendArgs,
    email: &str,
    name: &str,
    password_file: Option<&std::path::Path>,
) -> Result<(), String> {
    if backend_args.backend == BackendKind::Memory {
        return Err(
            "an admin created on the memory backend is lost when this command exits; \
             choose --backend sqlite or --backend dynamo"
                .to_owned(),
        );
    }
    let opened = backend::open(backend_args)
        .await
        .map_err(|err| err.to_string())?;
    let password = match password_file {
        Some(path) => read_secret(path)?,
        None => prompt_password()?,
    };
    let medtrack = MedTrack::new(opened.store, settings_for(opened.kind, false))
        .map_err(|err| err.to_string())?;
    let profile = medtrack
        .bootstrap_admin(name, email, password.expose_secret())
        .await
        .map_err(|err| format!("could not create the admin: {err}"))?;
    println!("Created admin {} ({}).", profile.id, profile.email.as_ref());
    Ok(())
}

fn prompt_password() -> Result<SecretString, String> {
    let first = rpassword::prompt_password("Password for the new admin: ")
        .map_err(|err| format!("cannot read the password from the terminal: {err}"))?;
    let again = rpassword::prompt_password("Once more: ")
        .map_err(|err| format!("cannot read the password from the terminal: {err}"))?;
    if first != again {
        return Err("the two passwords differ".to_owned());
    }
    Ok(SecretString::from(first))
}

/// Parses a `--client-address-from` value.
fn client_address_source(value: &str) -> Result<ClientIpSource, String> {
    value
        .parse()
        .map_err(|_| format!("`{value}` is not a client address source; see --help for the names"))
}
