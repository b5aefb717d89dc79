//! The legacy import end to end: the generator's monolith database (`make_legacy_db.py`,
//! scale 1, several seeds) imported into the five domain databases of a running server,
//! on SQLite and on PostgreSQL, from SQLite and from a PostgreSQL copy. Checked: the
//! reconciliation, idempotence, resuming, catch-up, legacy logins, and that the campaign
//! totals the API shows equal the legacy paid donations net of refunds.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use gerak_actors::money::Money;
use gerak_legacy::{ImportOptions, LegacyError, Summary};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::support::{Backend, TestServer, postgres_admin_url, servers_available};

/// `GERAK_LEGACY_GENERATOR`, else `../shared/legacy/make_legacy_db.py` beside the
/// workspace, else where the shared folder lives on the team's machines.
fn generator() -> PathBuf {
    if let Ok(path) = std::env::var("GERAK_LEGACY_GENERATOR") {
        return path.into();
    }
    let beside =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/legacy/make_legacy_db.py");
    if beside.exists() {
        return beside;
    }
    PathBuf::from("/work/shared/legacy/make_legacy_db.py")
}

/// A generated legacy database (SQLite file and SQL dump) in its own directory.
struct Legacy {
    dir: PathBuf,
}

impl Legacy {
    fn generate(seed: u64) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gerak-legacy-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("python3")
            .arg(generator())
            .arg("--out")
            .arg(dir.join("legacy.sqlite"))
            .arg("--sql")
            .arg(dir.join("legacy.sql"))
            .arg("--seed")
            .arg(seed.to_string())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("python3 runs the legacy generator");
        assert!(status.success(), "the legacy generator failed");
        Self { dir }
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.dir.join("legacy.sqlite").display())
    }

    fn options(&self, server: &TestServer, source_url: &str) -> ImportOptions {
        let mut options = ImportOptions::new(source_url, server.database_urls());
        options.reject_file = self.dir.join("rejects.jsonl");
        options.report_file = self.dir.join("report.json");
        options
    }
}

impl Drop for Legacy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL copy of a legacy database, loaded from the generator's SQL dump.
struct PostgresCopy {
    name: String,
    url: String,
}

impl PostgresCopy {
    async fn load(legacy: &Legacy) -> Self {
        let name = format!(
            "gerak_legacy_{}",
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let admin = Database::connect(postgres_admin_url()).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        let base = postgres_admin_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        let db = Database::connect(&url).await.unwrap();
        let dump = std::fs::read_to_string(legacy.dir.join("legacy.sql")).unwrap();
        db.execute_unprepared(&dump)
            .await
            .expect("the dump loads into PostgreSQL");
        db.close().await.unwrap();
        Self { name, url }
    }

    async fn drop_database(self) {
        let admin = Database::connect(postgres_admin_url()).await.unwrap();
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap();
    }
}

async fn import(options: ImportOptions) -> Summary {
    gerak_legacy::import(options)
        .await
        .expect("the import runs")
}

fn assert_balanced(summary: &Summary) {
    assert!(summary.is_balanced(), "unbalanced import:\n{summary}");
    assert_eq!(summary.tables.len(), 6);
    for table in &summary.tables {
        assert!(table.read > 0, "{summary}");
        assert_eq!(table.unaccounted(), 0, "{summary}");
    }
    assert!(!summary.money.is_empty());
    for line in &summary.money {
        assert_eq!(
            line.legacy_paid,
            line.imported + line.merged + line.rejected,
            "{summary}"
        );
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url).await.unwrap()
}

async fn query(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
}

/// Counts and sums of every table the import writes: equal snapshots, equal databases
/// (the ids are derived from the legacy rows, so they are in the sums too).
async fn snapshot(server: &TestServer) -> Vec<(String, String)> {
    let urls = server.database_urls();
    let checks: &[(&str, &[&str])] = &[
        (
            &urls.users,
            &[
                "users",
                "legacy_import_merges",
                "legacy_import_rejects",
                "legacy_import_batches",
            ],
        ),
        (
            &urls.campaigns,
            &["campaigns", "campaign_members", "legacy_import_rejects"],
        ),
        (
            &urls.challenges,
            &[
                "challenges",
                "participations",
                "leaderboard_entries",
                "legacy_import_merges",
            ],
        ),
        (
            &urls.donations,
            &[
                "donations",
                "ledger_entries",
                "legacy_import_merges",
                "legacy_import_rejects",
            ],
        ),
        (
            &urls.reports,
            &[
                "reports",
                "user_states",
                "campaign_states",
                "participation_states",
                "challenge_totals",
                "raised_totals",
            ],
        ),
    ];
    let mut out = Vec::new();
    for (url, tables) in checks {
        let db = connect(url).await;
        for table in *tables {
            let row = &query(
                &db,
                &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}"),
            )
            .await[0];
            out.push((
                format!("{table} rows"),
                row.try_get_by_index::<i64>(0).unwrap().to_string(),
            ));
        }
        db.close().await.unwrap();
    }
    let sums: &[(&str, &str)] = &[
        (
            &urls.campaigns,
            "SELECT CAST(SUM(raised_minor) AS BIGINT), CAST(SUM(donor_count + participant_count) AS BIGINT) FROM campaigns",
        ),
        (
            &urls.donations,
            "SELECT CAST(SUM(amount_minor - refunded_minor) AS BIGINT), CAST(SUM(refunded_minor) AS BIGINT) FROM donations",
        ),
        (
            &urls.donations,
            "SELECT CAST(SUM(CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END) AS BIGINT), CAST(SUM(amount_minor) AS BIGINT) FROM ledger_entries",
        ),
        (
            &urls.challenges,
            "SELECT CAST(SUM(approved_count) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM challenges",
        ),
        (&urls.users, "SELECT MAX(id), MIN(email_key) FROM users"),
    ];
    for (url, sql) in sums {
        let db = connect(url).await;
        let row = &query(&db, sql).await[0];
        let a = row
            .try_get_by_index::<Option<i64>>(0)
            .ok()
            .flatten()
            .map(|v| v.to_string());
        let a = a.or_else(|| row.try_get_by_index::<Option<String>>(0).ok().flatten());
        let b = row
            .try_get_by_index::<Option<i64>>(1)
            .ok()
            .flatten()
            .map(|v| v.to_string());
        let b = b.or_else(|| row.try_get_by_index::<Option<String>>(1).ok().flatten());
        out.push(((*sql).to_owned(), format!("{a:?} {b:?}")));
        db.close().await.unwrap();
    }
    out
}

/// Per legacy campaign, what it raised according to the legacy rows themselves, computed
/// here independently of the importer: every payment once (the first row of a
/// `payment_ref`), `paid` ones counted, refunds (`REFUND-<ref>` rows) of paid payments
/// subtracted. A donation the monolith marked `refunded` counts nothing.
async fn legacy_raised(source_url: &str) -> HashMap<i64, i64> {
    let db = connect(source_url).await;
    let text = |c: &str| match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("CAST({c} AS TEXT)"),
        _ => format!("CAST({c} AS TEXT)"),
    };
    let sql = format!(
        "SELECT {}, {}, {}, {} FROM donations ORDER BY id",
        text("campaign_id"),
        text("amount"),
        text("payment_ref"),
        text("status")
    );
    let mut first_of_ref: HashMap<String, (i64, i64, String)> = HashMap::new();
    let mut refunds: Vec<(String, i64)> = Vec::new();
    for row in query(&db, &sql).await {
        let get = |i: usize| row.try_get_by_index::<Option<String>>(i).unwrap();
        let (Some(campaign), Some(amount), Some(reference), Some(status)) =
            (get(0), get(1), get(2), get(3))
        else {
            continue;
        };
        let minor = Money::parse("amount", &amount, "IDR").unwrap().minor;
        let campaign: i64 = campaign.parse().unwrap();
        if let Some(original) = reference.strip_prefix("REFUND-") {
            refunds.push((original.to_owned(), -minor));
            continue;
        }
        first_of_ref
            .entry(reference)
            .or_insert((campaign, minor, status.trim().to_lowercase()));
    }
    let mut raised: HashMap<i64, i64> = HashMap::new();
    for (campaign, minor, status) in first_of_ref.values() {
        if status == "paid" {
            *raised.entry(*campaign).or_default() += minor;
        }
    }
    for (original, refund) in refunds {
        if let Some((campaign, _, status)) = first_of_ref.get(&original)
            && status == "paid"
        {
            *raised.entry(*campaign).or_default() -= refund;
        }
    }
    db.close().await.unwrap();
    raised
}

/// Every imported campaign's `raised`, read through GraphQL as an admin (who sees drafts
/// and hidden ones too), equals the legacy paid donations net of refunds.
async fn assert_totals_match(server: &TestServer, source_url: &str) {
    let expected = legacy_raised(source_url).await;
    let admin = server
        .admin(&format!(
            "legacy-admin-{}@example.id",
            uuid::Uuid::now_v7().simple()
        ))
        .await;
    let campaigns = connect(&server.database_urls().campaigns).await;
    let rows = query(
        &campaigns,
        "SELECT id, legacy_id FROM campaigns WHERE legacy_id IS NOT NULL",
    )
    .await;
    assert!(rows.len() > 10);
    for row in rows {
        let id: String = row.try_get_by_index(0).unwrap();
        let legacy_id: i64 = row.try_get_by_index(1).unwrap();
        let data = server
            .data(
                "query($id: ID!) { campaign(id: $id) { legacyId raised { amount currency } } }",
                json!({ "id": id }),
                Some(&admin.access),
            )
            .await;
        let campaign = &data["campaign"];
        assert_eq!(campaign["legacyId"], json!(legacy_id));
        let raised = Money::parse(
            "raised",
            campaign["raised"]["amount"].as_str().unwrap(),
            campaign["raised"]["currency"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(
            raised.minor,
            expected.get(&legacy_id).copied().unwrap_or(0),
            "campaign {legacy_id}: the API's raised differs from the legacy paid donations net of refunds"
        );
    }
    campaigns.close().await.unwrap();
}

/// A migrated user of each legacy password scheme logs in with `legacy-pass-N`, and is
/// stored with argon2id afterwards.
async fn assert_legacy_logins(server: &TestServer) {
    let users = connect(&server.database_urls().users).await;
    for scheme in ["legacy-md5", "legacy-sha256"] {
        let rows = query(
            &users,
            &format!(
                "SELECT legacy_id, email FROM users WHERE legacy_id IS NOT NULL AND password_scheme = '{scheme}' \
                 AND suspended = false AND email NOT LIKE '%@legacy.invalid' ORDER BY legacy_id LIMIT 1"
            ),
        )
        .await;
        let legacy_id: i64 = rows[0].try_get_by_index(0).unwrap();
        let email: String = rows[0].try_get_by_index(1).unwrap();
        let data = server
            .data(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }",
                json!({ "e": email.to_uppercase(), "p": format!("legacy-pass-{legacy_id}") }),
                None,
            )
            .await;
        assert!(data["login"]["accessToken"].is_string());
        let wrong = server
            .gql(
                "mutation($e: String!) { login(email: $e, password: \"legacy-pass-0\") { accessToken } }",
                json!({ "e": email }),
                None,
            )
            .await;
        assert_eq!(crate::support::error_code(&wrong), "UNAUTHENTICATED");
        let row = &query(
            &users,
            &format!(
                "SELECT password_scheme, password_hash FROM users WHERE legacy_id = {legacy_id}"
            ),
        )
        .await[0];
        assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "argon2id");
        assert!(
            row.try_get_by_index::<String>(1)
                .unwrap()
                .starts_with("$argon2id$")
        );
    }
    users.close().await.unwrap();
}

/// Every index of the five domain databases, by database, and the count of indexes the
/// importer deferred and has not built yet. PostgreSQL's by name; SQLite's as table,
/// columns and kind, since the import brings a column's own key back as a unique index
/// of another name.
async fn indexes(server: &TestServer) -> (Vec<String>, i64) {
    let urls = server.database_urls();
    let mut names = Vec::new();
    let mut pending = 0;
    for (domain, url) in [
        ("users", &urls.users),
        ("campaigns", &urls.campaigns),
        ("challenges", &urls.challenges),
        ("donations", &urls.donations),
        ("reports", &urls.reports),
    ] {
        let db = connect(url).await;
        let sql = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            }
            _ => {
                "SELECT m.tbl_name || '(' || (SELECT group_concat(i.name, ',' ORDER BY i.seqno) \
                 FROM pragma_index_info(l.name) i) || ')' \
                 || CASE l.\"unique\" WHEN 1 THEN ' unique' ELSE '' END \
                 || CASE l.partial WHEN 1 THEN ' partial' ELSE '' END \
                 FROM sqlite_master m, pragma_index_list(m.name) l WHERE m.type = 'table'"
            }
        };
        for row in query(&db, sql).await {
            names.push(format!(
                "{domain}.{}",
                row.try_get_by_index::<String>(0).unwrap()
            ));
        }
        let count = query(&db, "SELECT COUNT(*) FROM legacy_import_deferred_indexes").await;
        pending += count[0].try_get_by_index::<i64>(0).unwrap();
        db.close().await.unwrap();
    }
    names.sort();
    (names, pending)
}

/// The importer built again every index it deferred for its first load.
async fn assert_all_indexes_built(server: &TestServer, backend: Backend) {
    let fresh = TestServer::start(backend).await;
    let (expected, _) = indexes(&fresh).await;
    let (built, pending) = indexes(server).await;
    assert_eq!(pending, 0, "indexes still deferred");
    assert_eq!(
        built, expected,
        "the indexes differ from a fresh database's"
    );
    let ledger_account = match backend {
        Backend::Servers => "donations.ledger_account",
        Backend::Embedded => "donations.ledger_entries(owner_id,owner_type,currency,id)",
    };
    assert!(built.iter().any(|n| n == ledger_account), "{built:?}");
}

/// Import, import again (nothing changes), log in as migrated users, compare totals.
async fn full_import(server: &TestServer, legacy: &Legacy, source_url: &str, backend: Backend) {
    let first = import(legacy.options(server, source_url)).await;
    assert_balanced(&first);
    assert!(first.batches_written > 0);
    assert_all_indexes_built(server, backend).await;
    let rejects = std::fs::read_to_string(legacy.dir.join("rejects.jsonl")).unwrap();
    let rejected: i64 = first.tables.iter().map(|t| t.rejected).sum();
    assert_eq!(
        rejects.lines().count() as i64,
        rejected + first.refused_updates
    );
    for line in rejects.lines() {
        let reject: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            reject["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{line}"
        );
        assert!(reject["row"]["id"].is_i64(), "{line}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(legacy.dir.join("report.json")).unwrap())
            .unwrap();
    assert!(
        report["merges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["table"] == "users")
    );
    assert!(!report["driftedCampaigns"].as_array().unwrap().is_empty());

    let before = snapshot(server).await;
    let second = import(legacy.options(server, source_url)).await;
    assert_balanced(&second);
    assert_eq!(
        second.batches_written, 0,
        "a second run wrote batches:\n{second}"
    );
    assert_eq!(
        snapshot(server).await,
        before,
        "a second run changed the databases"
    );

    assert_totals_match(server, source_url).await;
    assert_legacy_logins(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_source_into_sqlite_for_several_seeds() {
    for seed in [2022, 7] {
        let legacy = Legacy::generate(seed);
        let server = TestServer::start(Backend::Embedded).await;
        full_import(&server, &legacy, &legacy.sqlite_url(), Backend::Embedded).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_source_into_postgres() {
    if !servers_available().await {
        return;
    }
    let legacy = Legacy::generate(31);
    // PostgreSQL gets new rows through COPY as CSV: a reference with quotes, a comma and
    // what other COPY formats read as markers comes through unchanged.
    let awkward = "PAY-\"quoted\", \\. \\N";
    let source = connect(&format!("{}?mode=rw", legacy.sqlite_url())).await;
    let one = |sql: &'static str| {
        let db = &source;
        async move { query(db, sql).await[0].try_get_by_index::<i64>(0).unwrap() }
    };
    let id = one("SELECT MAX(id) + 1 FROM donations").await;
    let paid = one("SELECT MIN(id) FROM donations WHERE status = 'paid' AND kind = 'direct' AND amount > 0 AND payment_ref NOT IN (SELECT payment_ref FROM donations GROUP BY payment_ref HAVING COUNT(*) > 1) AND campaign_id IN (SELECT id FROM campaigns) AND created_at IS NOT NULL").await;
    source
        .execute_raw(Statement::from_sql_and_values(
            source.get_database_backend(),
            "INSERT INTO donations (id, donor_id, campaign_id, kind, amount, currency, payment_ref, status, created_at, updated_at) \
             SELECT ?, donor_id, campaign_id, kind, amount, currency, ?, status, created_at, updated_at FROM donations WHERE id = ?",
            [id.into(), awkward.into(), paid.into()],
        ))
        .await
        .unwrap();
    source.close().await.unwrap();
    let server = TestServer::start(Backend::Servers).await;
    let donations_url = server.database_urls().donations;
    full_import(&server, &legacy, &legacy.sqlite_url(), Backend::Servers).await;
    let donations = connect(&donations_url).await;
    let row = query(
        &donations,
        &format!("SELECT payment_ref, amount_minor, campaign_id FROM donations WHERE legacy_id IN ({id}, {paid}) ORDER BY legacy_id DESC"),
    )
    .await;
    assert_eq!(row.len(), 2, "both donations imported");
    assert_eq!(row[0].try_get_by_index::<String>(0).unwrap(), awkward);
    let amount_and_campaign = |r: &sea_orm::QueryResult| {
        (
            r.try_get_by_index::<i64>(1).unwrap(),
            r.try_get_by_index::<String>(2).unwrap(),
        )
    };
    assert_eq!(amount_and_campaign(&row[0]), amount_and_campaign(&row[1]));
    donations.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_source_into_postgres() {
    if !servers_available().await {
        return;
    }
    let legacy = Legacy::generate(11);
    let copy = PostgresCopy::load(&legacy).await;
    let server = TestServer::start(Backend::Servers).await;
    full_import(&server, &legacy, &copy.url, Backend::Servers).await;
    copy.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_to_the_same_result() {
    interrupted_run_resumes(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_to_the_same_result_on_postgres() {
    if !servers_available().await {
        return;
    }
    interrupted_run_resumes(Backend::Servers).await;
}

async fn interrupted_run_resumes(backend: Backend) {
    let legacy = Legacy::generate(5);
    let reference = TestServer::start(backend).await;
    assert_balanced(&import(legacy.options(&reference, &legacy.sqlite_url())).await);

    let server = TestServer::start(backend).await;
    let mut options = legacy.options(&server, &legacy.sqlite_url());
    options.batch_size = 1000;
    options.stop_after_batches = Some(12);
    let stopped = gerak_legacy::import(options.clone()).await;
    assert!(
        matches!(stopped, Err(LegacyError::Interrupted(12))),
        "{stopped:?}"
    );
    let (present, pending) = indexes(&server).await;
    assert!(pending > 0, "the first load deferred no index");
    // The first load defers the largest tables' unique keys too.
    let keys = match backend {
        Backend::Servers => [
            "donations.ledger_entries_pkey",
            "challenges.participations_challenge_user",
            "campaigns.campaign_members_pkey",
        ],
        Backend::Embedded => [
            "donations.ledger_entries(id) unique",
            "challenges.participations(challenge_id,user_id) unique",
            "campaigns.campaign_members(campaign_id,kind,user_id) unique",
        ],
    };
    for key in keys {
        assert!(!present.iter().any(|n| n == key), "{key} was not deferred");
    }
    options.stop_after_batches = None;
    let resumed = import(options).await;
    assert_balanced(&resumed);
    assert_all_indexes_built(&server, backend).await;
    let (built, _) = indexes(&server).await;
    for key in keys {
        assert!(built.iter().any(|n| n == key), "{key} was not built again");
    }
    assert_eq!(resumed.batches_unchanged, 12, "{resumed}");
    // Batch size differs from the reference (and so do the checkpoints): compare the rest.
    let without_batches = |s: Vec<(String, String)>| {
        s.into_iter()
            .filter(|(k, _)| !k.starts_with("legacy_import_batches"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_batches(snapshot(&server).await),
        without_batches(snapshot(&reference).await)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_run_catches_up_with_the_live_legacy_system() {
    let legacy = Legacy::generate(9);
    let server = TestServer::start(Backend::Embedded).await;
    let source_url = legacy.sqlite_url();
    assert_balanced(&import(legacy.options(&server, &source_url)).await);

    // The monolith keeps running: a new account, its paid gift, a pending payment that
    // went through, and a refund of a paid donation.
    let source = connect(&format!("{source_url}?mode=rw")).await;
    let one = |sql: &'static str| {
        let db = &source;
        async move { query(db, sql).await[0].try_get_by_index::<i64>(0).unwrap() }
    };
    let new_user = one("SELECT MAX(id) + 1 FROM users").await;
    let campaign = one("SELECT MIN(id) FROM campaigns WHERE deleted_at IS NULL").await;
    let pending = one("SELECT MIN(id) FROM donations WHERE status = 'pending' AND payment_ref NOT IN (SELECT payment_ref FROM donations GROUP BY payment_ref HAVING COUNT(*) > 1) AND campaign_id IN (SELECT id FROM campaigns) AND created_at IS NOT NULL").await;
    let paid = one("SELECT MIN(id) FROM donations WHERE status = 'paid' AND kind = 'direct' AND amount > 0 AND payment_ref NOT IN (SELECT payment_ref FROM donations GROUP BY payment_ref HAVING COUNT(*) > 1) AND campaign_id IN (SELECT id FROM campaigns) AND created_at IS NOT NULL").await;
    let next_donation = one("SELECT MAX(id) + 1 FROM donations").await;
    for sql in [
        format!(
            "INSERT INTO users (id, email, password_hash, full_name, phone, role, is_active, created_at, updated_at) \
             VALUES ({new_user}, 'Late.Comer@Example.co.id ', 'c0ffee', 'Late Comer', '0812-3456-7890', 'USER', 1, '2026-11-20 10:00:00', '2026-11-20 10:00:00')"
        ),
        format!(
            "INSERT INTO donations (id, donor_id, campaign_id, kind, amount, currency, payment_ref, status, created_at, updated_at) \
             VALUES ({next_donation}, {new_user}, {campaign}, 'direct', 75000, 'idr', 'PAY-2026-LATE-1', 'PAID', '2026-11-20 10:05:00', '2026-11-20 10:06:00')"
        ),
        format!(
            "INSERT INTO donations (id, donor_id, campaign_id, kind, amount, currency, payment_ref, status, created_at, updated_at) \
             SELECT {}, donor_id, campaign_id, kind, -amount, currency, 'REFUND-' || payment_ref, 'paid', '2026-11-21 09:00:00', NULL FROM donations WHERE id = {paid}",
            next_donation + 1
        ),
        format!(
            "UPDATE donations SET status = 'paid', updated_at = '2026-11-21 08:00:00' WHERE id = {pending}"
        ),
    ] {
        source.execute_unprepared(&sql).await.unwrap();
    }
    source.close().await.unwrap();

    let caught_up = import(legacy.options(&server, &source_url)).await;
    assert_balanced(&caught_up);
    assert!(
        caught_up.batches_written <= 3,
        "catch-up rewrote too much:\n{caught_up}"
    );
    let donations = connect(&server.database_urls().donations).await;
    let status = |legacy_id: i64| {
        let db = &donations;
        async move {
            let row = &query(
                db,
                &format!(
                    "SELECT status, refunded_minor FROM donations WHERE legacy_id = {legacy_id}"
                ),
            )
            .await[0];
            (
                row.try_get_by_index::<String>(0).unwrap(),
                row.try_get_by_index::<i64>(1).unwrap(),
            )
        }
    };
    assert_eq!(status(next_donation).await, ("PAID".to_owned(), 0));
    assert_eq!(status(pending).await.0, "PAID");
    assert_eq!(status(paid).await.0, "REFUNDED");
    donations.close().await.unwrap();
    let users = connect(&server.database_urls().users).await;
    let row = &query(
        &users,
        &format!("SELECT email, phone FROM users WHERE legacy_id = {new_user}"),
    )
    .await[0];
    assert_eq!(
        row.try_get_by_index::<String>(0).unwrap(),
        "late.comer@example.co.id"
    );
    assert_eq!(row.try_get_by_index::<String>(1).unwrap(), "+6281234567890");
    users.close().await.unwrap();
    assert_totals_match(&server, &source_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_compare_by_bytes_on_postgres() {
    if !servers_available().await {
        return;
    }
    let server = TestServer::start(Backend::Servers).await;
    let db = connect(&server.database_urls().campaigns).await;
    let rows = query(
        &db,
        "SELECT column_name, COALESCE(collation_name, 'default') FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'campaigns' \
         AND column_name IN ('id', 'organizer_id', 'currency', 'status', 'title', 'slug') \
         ORDER BY column_name",
    )
    .await;
    let collations: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
            )
        })
        .collect();
    let expected = [
        ("currency", "C"),
        ("id", "C"),
        ("organizer_id", "C"),
        ("slug", "default"),
        ("status", "C"),
        ("title", "default"),
    ]
    .map(|(column, collation)| (column.to_owned(), collation.to_owned()));
    assert_eq!(collations, expected);
    db.close().await.unwrap();
}
