//! The command line: `serve` (default), `migrate`, `create-admin`, `export-schema`,
//! `import-legacy`.

use std::{io::Read, path::PathBuf};

use clap::{Parser, Subcommand};
use gerak_actors::users::CreateAdmin;

use crate::{
    app::{self, ServeError},
    config::{Config, ConfigError, Settings},
    telemetry,
};

#[derive(Parser, Debug)]
#[command(
    name = "gerak",
    version,
    about = "Gerak: the social-action and donation platform backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply every domain's database migrations, then exit.
    Migrate,
    /// Create an admin account. The password comes from GERAK_ADMIN_PASSWORD or stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        full_name: String,
    },
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import the legacy monolith's database into the five domain databases (run it again
    /// to resume or to catch up; see docs/legacy-import.md). Exits non-zero if anything is
    /// unaccounted for.
    ImportLegacy(ImportLegacyArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportLegacyArgs {
    /// The legacy database: sqlite://path, postgres://… or mysql://…
    #[arg(long = "from")]
    pub from: String,
    /// Where the rejected rows go (JSON lines).
    #[arg(long, default_value = "legacy-import-rejects.jsonl")]
    pub rejects: PathBuf,
    /// Where the full report goes (JSON: summary, merges, drifted campaigns).
    #[arg(long, default_value = "legacy-import-report.json")]
    pub report: PathBuf,
    /// Legacy ids per batch (one transaction and one checkpoint each).
    #[arg(long, default_value_t = 20_000)]
    pub batch_size: i64,
    /// Stop after this many batches as if killed (to rehearse resuming).
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Start(#[from] gerak_actors::StartError),
    #[error("{0}")]
    Domain(#[from] gerak_actors::DomainError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no password given: set GERAK_ADMIN_PASSWORD or pipe it on stdin")]
    NoPassword,
    #[error(transparent)]
    Legacy(#[from] gerak_legacy::LegacyError),
    #[error("the legacy import left rows or money unaccounted for (see the summary above)")]
    Unbalanced,
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    let settings = cli.settings;
    if let Some(Command::ExportSchema { out }) = &cli.command {
        let sdl = gerak_schema::sdl();
        match out {
            Some(path) => std::fs::write(path, sdl)?,
            None => print!("{sdl}"),
        }
        return Ok(());
    }
    let format =
        settings
            .log_format
            .unwrap_or(if settings.profile == crate::config::Profile::Production {
                crate::config::LogFormat::Json
            } else {
                crate::config::LogFormat::Text
            });
    telemetry::init(&settings.log, format);
    let config = Config::resolve(settings)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => {
            app::run_system(gerak_actors::migrate_all(&config.urls))??;
            println!("migrations applied to every domain database");
            Ok(())
        }
        Command::CreateAdmin { email, full_name } => {
            let password = admin_password()?;
            let user = app::run_system(async move {
                let domains = app::start_domains(&config).await?;
                let created = domains
                    .users
                    .send(CreateAdmin {
                        email,
                        password,
                        full_name,
                    })
                    .await;
                domains.stop().await;
                Ok::<_, CliError>(created?)
            })??;
            // Standard output ends up in container logs: the email only masked.
            println!(
                "created admin {} ({})",
                gerak_schema::mask_email(&user.email),
                user.id
            );
            Ok(())
        }
        Command::ExportSchema { .. } => Ok(()),
        Command::ImportLegacy(args) => import_legacy(config, args),
    }
}

fn import_legacy(config: Config, args: ImportLegacyArgs) -> Result<(), CliError> {
    let mut options = gerak_legacy::ImportOptions::new(args.from, config.urls);
    options.reject_file = args.rejects;
    options.report_file = args.report;
    options.batch_size = args.batch_size;
    options.stop_after_batches = args.stop_after_batches;
    let summary = app::run_system(gerak_legacy::import(options))??;
    println!("{summary}");
    if summary.is_balanced() {
        Ok(())
    } else {
        Err(CliError::Unbalanced)
    }
}

fn serve(config: Config) -> Result<(), CliError> {
    app::run_system(async move {
        let listener = app::bind(&config).await?;
        let graphiql = config.graphiql;
        tracing::info!(config = ?config, "starting");
        app::serve(config, listener, app::shutdown_signal(), move |_, addr| {
            if graphiql {
                println!("Gerak is running. GraphiQL: http://{addr}/  (GraphQL endpoint: http://{addr}/graphql)");
            } else {
                println!("Gerak is running. GraphQL endpoint: http://{addr}/graphql");
            }
        })
        .await?;
        Ok::<_, CliError>(())
    })?
}

fn admin_password() -> Result<String, CliError> {
    if let Ok(password) = std::env::var("GERAK_ADMIN_PASSWORD")
        && !password.is_empty()
    {
        return Ok(password);
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let password = input.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(CliError::NoPassword);
    }
    Ok(password)
}
