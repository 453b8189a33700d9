use std::{io::Read, net::TcpListener, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use xiezuo::{
    authz::Actor,
    config::Config,
    db,
    domain::Role,
    render_graphql_sdl, render_openapi, seed,
    service::{
        imports,
        users::{self, NewUser},
    },
    startup::{self, error_to_anyhow},
    telemetry,
};

/// mimalloc instead of glibc malloc: a request allocates and frees many small objects across
/// worker threads (JSON, GraphQL values, rows), and the profile of the GraphQL read path spent
/// about a fifth of its time in glibc's malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "xiezuo",
    version,
    about = "东西部扶贫协作 ledger service (REST + GraphQL)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, load the 2019 structure, create the first admin if none, and serve HTTP.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Load the 2019 organizations and pairings (idempotent) and exit.
    Seed,
    /// Create a user. The password is read from standard input, or generated and printed.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The organization's code, e.g. 520300.
        #[arg(long)]
        org_code: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (the admin's by default) and enable the account: how to recover a
    /// lost admin password. The password is read from standard input, or generated and printed.
    /// Tokens issued before stop working.
    ResetPassword {
        #[arg(long, default_value = "admin")]
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print the argon2 hash of a password read from standard input (one line), to set
    /// XIEZUO_ADMIN_PASSWORD_HASH instead of XIEZUO_ADMIN_PASSWORD.
    HashPassword,
    /// Import a spreadsheet (XLSX, or CSV in UTF-8 or GB18030) of projects, fund transactions
    /// or exchanges as the operator: the rules of `POST /api/v1/imports/{record_type}`, one
    /// transaction, all rows or none, with a progress bar. Exits non-zero when a row is bad.
    Import {
        /// The spreadsheet.
        file: PathBuf,
        /// `project`, `fund_transaction` or `exchange`.
        #[arg(long)]
        record_type: String,
        /// The organization (its code, e.g. 520300) the operator records for; records whose
        /// owner follows from what they name (a transfer is the pairing's eastern side's) are
        /// that side's whatever this says.
        #[arg(long)]
        org_code: Option<String>,
        /// Check every row against every rule and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write schema/openapi.json and schema/schema.graphql from the code.
    ExportSchema {
        #[arg(long, default_value = "schema")]
        dir: PathBuf,
    },
}

/// The context for a command that changes an account: migrated, with a first admin, without
/// loading the seed again.
async fn account_ctx(config: Config) -> anyhow::Result<xiezuo::service::AppCtx> {
    startup::prepare(Config {
        seed_on_start: false,
        ..config
    })
    .await
}

/// A password from standard input (`--password-stdin`), or a generated one, printed once.
fn read_or_generate_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text.trim_end_matches(['\r', '\n']).to_string());
    }
    let generated = xiezuo::auth::generate_password().map_err(error_to_anyhow)?;
    println!("password: {generated}");
    Ok(generated)
}

/// Field errors as one line for the terminal.
fn field_errors(err: xiezuo::error::AppError) -> anyhow::Error {
    match err {
        xiezuo::error::AppError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => error_to_anyhow(other),
    }
}

/// The id of the organization with `code`.
async fn org_by_code(ctx: &xiezuo::service::AppCtx, code: &str) -> anyhow::Result<uuid::Uuid> {
    xiezuo::service::organizations::list(
        ctx,
        &Actor::system("lookup"),
        xiezuo::service::organizations::OrganizationQuery {
            code: Some(code.to_string()),
            ..Default::default()
        },
    )
    .await
    .map_err(error_to_anyhow)?
    .items
    .first()
    .map(|o| o.id)
    .with_context(|| format!("no organization with code {code}"))
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "admin, coordinator, editor, partner or auditor".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve => {
            let listener = TcpListener::bind(&config.bind)
                .with_context(|| format!("cannot listen on {}", config.bind))?;
            let ctx = startup::prepare(config).await?;
            tracing::info!(address = %listener.local_addr()?, "xiezuo is serving");
            startup::run(listener, ctx)?.await?;
        }
        Command::Migrate => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
        }
        Command::Seed => {
            let conn = db::connect(&config).await?;
            db::migrate(&conn).await?;
            let seeded = seed::load(&conn).await.map_err(error_to_anyhow)?;
            println!(
                "added {} organizations, {} pairings, {} working groups, {} plans ({} earlier \
                 seeded plans upgraded) and {} plan tasks",
                seeded.organizations,
                seeded.pairings,
                seeded.working_groups,
                seeded.plans,
                seeded.plans_upgraded,
                seeded.plan_tasks
            );
        }
        Command::ResetPassword {
            username,
            password_stdin,
        } => {
            let password = read_or_generate_password(password_stdin)?;
            let ctx = account_ctx(config).await?;
            let id = users::id_by_username(&ctx, &username)
                .await
                .map_err(error_to_anyhow)?
                .with_context(|| format!("no user named {username}"))?;
            users::update(
                &ctx,
                &Actor::system("reset-password"),
                id,
                None,
                users::UserPatch {
                    password: Some(password),
                    disabled: Some(false),
                    ..Default::default()
                },
            )
            .await
            .map_err(field_errors)?;
            println!("reset the password of {username}; its earlier tokens no longer work");
        }
        Command::CreateUser {
            username,
            role,
            org_code,
            password_stdin,
        } => {
            let password = read_or_generate_password(password_stdin)?;
            let ctx = account_ctx(config).await?;
            let org_id = match org_code {
                Some(code) => Some(org_by_code(&ctx, &code).await?),
                None => None,
            };
            let user = users::create(
                &ctx,
                &Actor::system("create-user"),
                NewUser {
                    username,
                    password,
                    role,
                    org_id,
                },
            )
            .await
            .map_err(field_errors)?;
            println!("created user {} ({})", user.username, user.id);
        }
        Command::Import {
            file,
            record_type,
            org_code,
            dry_run,
        } => {
            let family = imports::Family::parse(&record_type).with_context(|| {
                format!("--record-type must be one of: {}", imports::Family::NAMES)
            })?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let ctx = account_ctx(config).await?;
            let actor = match org_code {
                Some(code) => Actor::system_for("import", org_by_code(&ctx, &code).await?),
                None => Actor::system("import"),
            };
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} rows")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("reading {}", file.display()));
            let report =
                imports::import_with_progress(&ctx, &actor, family, &bytes, dry_run, &|stage| {
                    match stage {
                        imports::Stage::Reading { done, total } => {
                            bar.set_length(total);
                            bar.set_position(done);
                        }
                        imports::Stage::Writing { rows } => {
                            bar.set_position(bar.length().unwrap_or(rows));
                            bar.set_message(if dry_run {
                                "checking (dry run)".to_string()
                            } else {
                                "checking and writing".to_string()
                            });
                            bar.enable_steady_tick(std::time::Duration::from_millis(120));
                        }
                    }
                })
                .await;
            bar.finish_and_clear();
            let report = match report {
                Ok(report) => report,
                Err(xiezuo::error::AppError::Validation(errors)) => {
                    for e in &errors {
                        match e.row {
                            Some(row) => eprintln!("row {row}, {}: {}", e.field, e.message),
                            None => eprintln!("{}: {}", e.field, e.message),
                        }
                    }
                    anyhow::bail!("{} errors: nothing was written", errors.len());
                }
                Err(other) => return Err(error_to_anyhow(other)),
            };
            for e in &report.errors {
                eprintln!("row {}, {}: {}", e.row, e.column, e.message);
            }
            if !report.ignored_columns.is_empty() {
                eprintln!("not read: {}", report.ignored_columns.join(", "));
            }
            println!(
                "{} rows: {} created, {} updated, {} unchanged{}",
                report.rows,
                report.created,
                report.updated,
                report.unchanged,
                if dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                }
            );
            if !report.errors.is_empty() {
                anyhow::bail!("{} errors: nothing was written", report.errors.len());
            }
        }
        Command::HashPassword => {
            let password = read_or_generate_password(true)?;
            xiezuo::domain::NewPassword::parse(&password)
                .map_err(|why| anyhow::anyhow!("the password {why}"))?;
            let hash = xiezuo::auth::hash_secret(password)
                .await
                .map_err(error_to_anyhow)?;
            println!("{hash}");
        }
        Command::ExportSchema { dir } => {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("openapi.json"), render_openapi()?)?;
            std::fs::write(dir.join("schema.graphql"), render_graphql_sdl())?;
            println!("wrote {}/openapi.json and schema.graphql", dir.display());
        }
    }
    Ok(())
}
