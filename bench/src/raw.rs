//! The raw baseline: what this machine does at best with the same stack minus Gerak.
//! `POST /json` answers a JSON constant; `POST /sql` reads `{"slug": ...}` and runs one
//! sqlx query on the server's own campaigns database (SQLite: the same file, in WAL
//! with four readers as the server opens it; PostgreSQL: a pool of ten, as the server).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::post,
};
use sea_orm::sqlx::{
    self, PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use serde::Deserialize;
use serde_json::json;

use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// The campaigns database of the server under test (sqlite://… or postgres://…).
    #[arg(long)]
    database_url: String,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Deserialize)]
struct SlugBody {
    slug: String,
}

type Row = (String, String, String, i64, i64, i64);

const JSON_CONSTANT: &str = r#"{"data":{"__typename":"Query"}}"#;

async fn constant() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], JSON_CONSTANT)
}

async fn one_query(
    State(pool): State<Arc<Pool>>,
    Json(body): Json<SlugBody>,
) -> std::result::Result<Json<serde_json::Value>, (StatusCode, String)> {
    let fail = |e: sqlx::Error| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let row: Option<Row> = match &*pool {
        Pool::Sqlite(pool) => sqlx::query_as(
            "SELECT id, slug, title, raised_minor, donor_count, participant_count FROM campaigns WHERE slug = ?1",
        )
        .bind(&body.slug)
        .fetch_optional(pool)
        .await
        .map_err(fail)?,
        Pool::Postgres(pool) => sqlx::query_as(
            "SELECT id, slug, title, raised_minor, donor_count, participant_count FROM campaigns WHERE slug = $1",
        )
        .bind(&body.slug)
        .fetch_optional(pool)
        .await
        .map_err(fail)?,
    };
    let campaign = row.map(|(id, slug, title, raised, donors, participants)| {
        json!({ "id": id, "slug": slug, "title": title, "raisedMinor": raised, "donorCount": donors, "participantCount": participants })
    });
    Ok(Json(json!({ "data": { "campaign": campaign } })))
}

pub async fn run(args: Args) -> Result<()> {
    let pool = if args.database_url.starts_with("sqlite:") {
        let options: SqliteConnectOptions = args.database_url.parse()?;
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        Pool::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(4)
                .min_connections(1)
                .connect_with(options)
                .await?,
        )
    } else {
        Pool::Postgres(
            PgPoolOptions::new()
                .max_connections(10)
                .min_connections(1)
                .connect(&args.database_url)
                .await?,
        )
    };
    let app = Router::new()
        .route("/json", post(constant).get(constant))
        .route("/sql", post(one_query))
        .with_state(Arc::new(pool));
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    eprintln!("raw baseline listening on http://{}", args.addr);
    axum::serve(listener, app).await?;
    Ok(())
}
