//! `sfemu`: serve one or several emulated Salesforce orgs on loopback.

use anyhow::Context;
use clap::Parser;
use sfemu::server::{Emulator, EmulatorConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// A local Salesforce org emulator (OAuth, REST, SOQL, Collections, Composite).
///
/// Without --config: one org named `sfemu` with the default schema, user `admin@sfemu.test` /
/// `sfemu` and connected app `sfemu-client` / `sfemu-secret`.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address of the single default org (not with --config, whose orgs name their ports).
    #[arg(long, default_value = "127.0.0.1:8484", conflicts_with = "config")]
    listen: SocketAddr,
    /// Config file describing several orgs (see examples/sfemu.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate generated at start.
    #[arg(long)]
    tls: bool,
    /// Write the generated certificate (PEM) here, to be trusted by clients. Implies --tls.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// Persist every org under DIR/<org name>/ (saved every few seconds and on shutdown).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    // Logs go to stderr (stdout lists the orgs); they never carry tokens, passwords or secrets.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => match EmulatorConfig::from_toml_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sfemu: bad configuration: {e}");
                return ExitCode::from(2);
            }
        },
        None => {
            let mut c = EmulatorConfig::single_org();
            c.host = args.listen.ip();
            c.orgs[0].port = args.listen.port();
            c
        }
    };
    if args.tls || args.cert_out.is_some() {
        config.tls = true;
    }
    if let Some(d) = &args.data_dir {
        config.data_dir = Some(d.clone());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sfemu: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config, args.cert_out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sfemu: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: EmulatorConfig, cert_out: Option<PathBuf>) -> anyhow::Result<()> {
    let emu = Emulator::start(config).await?;
    if let (Some(path), Some(pem)) = (
        &cert_out,
        emu.orgs().first().and_then(|o| o.ca_pem.as_ref()),
    ) {
        std::fs::write(path, pem)
            .with_context(|| format!("writing the certificate to {}", path.display()))?;
        tracing::info!(path = %path.display(), "certificate written");
    }
    for o in emu.orgs() {
        println!("{} {} {}", o.name, o.org_id, o.base_url);
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    emu.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
