//! Statements over a batch of rows whose text is the same whatever the batch's size.
//!
//! A multi-row INSERT has a text of its own for each number of rows, and PostgreSQL
//! parses and plans each text again on each pooled connection before it can run it. Under
//! load the batches grow, nearly every batch met a text its connection had not prepared
//! (a payment batch's parse and plan took longer than running it), the batches took
//! longer and grew further. On PostgreSQL the rows therefore go as one JSON parameter,
//! unpacked by `jsonb_to_recordset`: one text per table, prepared once per connection.
//! SQLite prepares in-process, cheaply: it keeps SeaORM's multi-row statements.

use chrono::SecondsFormat;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, ConnectionTrait, DbBackend, DbErr, EntityName,
    EntityTrait, FromQueryResult, IdenStatic, Iterable, Statement, Value,
    sea_query::{Expr, OnConflict, SimpleExpr},
};

/// Inserts `rows` (all with the same columns set) in one statement.
pub(crate) async fn insert_rows<A, C>(conn: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    if rows.is_empty() {
        return Ok(());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        let statement = recordset_insert(rows, &[], false)?;
        conn.execute_raw(statement).await.map(|_| ())
    } else {
        A::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .map(|_| ())
    }
}

/// Inserts `first`, then `then` (each batch with the same columns set in all its rows). On
/// PostgreSQL both go in one statement, the first as a data-modifying `WITH`: a round trip
/// less inside the transaction (the payments' ledger rows and their events).
pub(crate) async fn insert_rows_together<A, B, C>(
    conn: &C,
    first: Vec<A>,
    then: Vec<B>,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
    B: ActiveModelTrait,
    C: ConnectionTrait,
{
    if conn.get_database_backend() != DbBackend::Postgres || first.is_empty() || then.is_empty() {
        insert_rows(conn, first).await?;
        return insert_rows(conn, then).await;
    }
    let first = recordset_insert(first, &[], false)?;
    let then = recordset_insert(then, &[], false)?;
    // Each text binds its rows as `$1`; the second's become `$2`.
    let sql = format!(
        "WITH \"first\" AS ({}) {}",
        first.sql,
        then.sql.replace(RECORDS, "$2::jsonb")
    );
    let values = first
        .values
        .into_iter()
        .chain(then.values)
        .flat_map(|values| values.0);
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .map(|_| ())
}

/// Inserts `rows`, skipping those whose `conflict` columns match a row already stored,
/// and returns the rows inserted.
pub(crate) async fn insert_rows_returning<A, C>(
    conn: &C,
    rows: Vec<A>,
    conflict: &[<A::Entity as EntityTrait>::Column],
) -> Result<Vec<<A::Entity as EntityTrait>::Model>, DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
    <A::Entity as EntityTrait>::Model: FromQueryResult + sea_orm::IntoActiveModel<A>,
{
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        let statement = recordset_insert(rows, conflict, true)?;
        <A::Entity as EntityTrait>::Model::find_by_statement(statement)
            .all(conn)
            .await
    } else {
        A::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns(conflict.iter().copied())
                    .do_nothing()
                    .to_owned(),
            )
            .exec_with_returning(conn)
            .await
    }
}

/// `column = ANY(…)` of `values`, as one JSON parameter: an index condition on `column`.
pub(crate) fn any_of(column: &str, values: &[String]) -> SimpleExpr {
    Expr::cust_with_values(
        format!(
            "{} = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
            quoted(column)
        ),
        [Value::from(serde_json::Value::from(values).to_string())],
    )
}

/// Where a batch statement binds its rows.
const RECORDS: &str = "$1::jsonb";

/// `INSERT INTO t (cols) SELECT cols FROM jsonb_to_recordset($1) … ORDER BY the rows'
/// order` (an identity column numbers them as given), with `ON CONFLICT (conflict) DO
/// NOTHING` and `RETURNING *` when asked.
fn recordset_insert<A: ActiveModelTrait>(
    rows: Vec<A>,
    conflict: &[<A::Entity as EntityTrait>::Column],
    returning: bool,
) -> Result<Statement, DbErr> {
    let Some(first) = rows.first() else {
        return Err(DbErr::Custom("an empty batch has no statement".to_owned()));
    };
    // The columns the first row sets; an identity or defaulted column is left out.
    let columns: Vec<<A::Entity as EntityTrait>::Column> =
        <A::Entity as EntityTrait>::Column::iter()
            .filter(|column| !first.get(*column).is_not_set())
            .collect();
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut record = serde_json::Map::with_capacity(columns.len());
        for column in &columns {
            let value = row.get(*column).into_value().ok_or_else(|| {
                DbErr::Custom(format!(
                    "a batch's rows set different columns ({} unset)",
                    column.as_str()
                ))
            })?;
            record.insert(column.as_str().to_owned(), json_of(value)?);
        }
        records.push(serde_json::Value::Object(record));
    }
    let names: Vec<String> = columns.iter().map(|c| quoted(c.as_str())).collect();
    let typed = columns
        .iter()
        .map(|c| Ok(format!("{} {}", quoted(c.as_str()), pg_type(c)?)))
        .collect::<Result<Vec<_>, DbErr>>()?;
    let mut sql = format!(
        "INSERT INTO {table} ({names}) SELECT {names} FROM ROWS FROM \
         (jsonb_to_recordset({RECORDS}) AS ({typed})) WITH ORDINALITY AS r({names}, \"#\") \
         ORDER BY \"#\"",
        table = quoted(A::Entity::default().table_name()),
        names = names.join(", "),
        typed = typed.join(", "),
    );
    if !conflict.is_empty() {
        let keys: Vec<String> = conflict.iter().map(|c| quoted(c.as_str())).collect();
        sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", ")));
    }
    if returning {
        sql.push_str(" RETURNING *");
    }
    let records = serde_json::Value::Array(records).to_string();
    Ok(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::from(records)],
    ))
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The PostgreSQL type a column's JSON field is read as.
fn pg_type<C: ColumnTrait>(column: &C) -> Result<&'static str, DbErr> {
    Ok(match column.def().get_column_type() {
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => "text",
        ColumnType::BigInteger => "int8",
        ColumnType::Integer => "int4",
        ColumnType::SmallInteger => "int2",
        ColumnType::Boolean => "bool",
        ColumnType::TimestampWithTimeZone => "timestamptz",
        other => {
            return Err(DbErr::Custom(format!(
                "column {} of type {other:?} cannot go in a batch",
                column.as_str()
            )));
        }
    })
}

fn json_of(value: Value) -> Result<serde_json::Value, DbErr> {
    use serde_json::Value as Json;
    Ok(match value {
        Value::String(v) => v.map_or(Json::Null, Json::from),
        Value::BigInt(v) => v.map_or(Json::Null, Json::from),
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::SmallInt(v) => v.map_or(Json::Null, Json::from),
        Value::Bool(v) => v.map_or(Json::Null, Json::from),
        Value::ChronoDateTimeUtc(v) => v.map_or(Json::Null, |at| {
            Json::from(at.to_rfc3339_opts(SecondsFormat::Micros, true))
        }),
        other => {
            return Err(DbErr::Custom(format!(
                "a value of type {:?} cannot go in a batch",
                other.array_type()
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use gerak_entities::outbox::outbox_event;
    use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};

    use super::*;
    use crate::{db::ScratchDb, runtime::Domain};

    fn event(id: &str, at: chrono::DateTime<Utc>) -> outbox_event::ActiveModel {
        outbox_event::ActiveModel {
            event_id: Set(id.to_owned()),
            event_type: Set("kind \"quoted\" ✓".to_owned()),
            payload: Set(format!("{{\"id\":\"{id}\"}}")),
            created_at: Set(at),
            published_at: Set(None),
            ..Default::default()
        }
    }

    /// Rows go in as given (order, text, times, NULLs), a conflicting row is skipped and
    /// only the rows inserted come back: on SQLite and on PostgreSQL.
    #[tokio::test]
    async fn a_batch_goes_in_whole_and_in_order_and_conflicts_are_skipped() {
        on_both_backends(a_batch_goes_in_whole).await;
    }

    async fn on_both_backends(check: impl AsyncFn(&ScratchDb)) {
        let sqlite = ScratchDb::open(Domain::Donations).await.unwrap();
        check(&sqlite).await;
        if let Some(postgres) = ScratchDb::open_postgres(Domain::Donations).await {
            check(&postgres).await;
        }
    }

    async fn a_batch_goes_in_whole(scratch: &ScratchDb) {
        let db = &scratch.db.write;
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 3, 4, 5).unwrap()
            + chrono::TimeDelta::microseconds(123_456);
        insert_rows(db, vec![event("b", at), event("a", at)])
            .await
            .unwrap();
        let inserted = insert_rows_returning(
            db,
            vec![event("a", at), event("c", at)],
            &[outbox_event::Column::EventId],
        )
        .await
        .unwrap();
        assert_eq!(
            inserted
                .iter()
                .map(|r| r.event_id.as_str())
                .collect::<Vec<_>>(),
            ["c"]
        );
        let stored = stored_events(db).await;
        let ids: Vec<&str> = stored.iter().map(|r| r.event_id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        assert!(stored.iter().all(|r| r.created_at == at
            && r.published_at.is_none()
            && r.event_type == "kind \"quoted\" ✓"));
    }

    /// Two batches for two tables, together: every row of each lands in its own table,
    /// in order (one statement on PostgreSQL); an empty batch leaves the other whole.
    #[tokio::test]
    async fn two_batches_go_in_together() {
        on_both_backends(two_batches_together).await;
    }

    async fn two_batches_together(scratch: &ScratchDb) {
        use gerak_entities::donations::ledger_entry;
        let db = &scratch.db.write;
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 1, 2, 3).unwrap();
        let leg = |id: &str, amount: i64| ledger_entry::ActiveModel {
            id: Set(id.to_owned()),
            movement_id: Set("m".to_owned()),
            owner_type: Set("USER".to_owned()),
            owner_id: Set("u".to_owned()),
            currency: Set("IDR".to_owned()),
            amount_minor: Set(amount),
            donation_id: Set(None),
            description: Set("a $1::jsonb in the text".to_owned()),
            occurred_at: Set(at),
        };
        insert_rows_together(
            db,
            vec![leg("l1", -5), leg("l2", 5)],
            vec![event("e1", at), event("e2", at)],
        )
        .await
        .unwrap();
        insert_rows_together(
            db,
            Vec::<ledger_entry::ActiveModel>::new(),
            vec![event("e3", at)],
        )
        .await
        .unwrap();
        let legs = ledger_entry::Entity::find()
            .order_by_asc(ledger_entry::Column::Id)
            .all(db)
            .await
            .unwrap();
        assert_eq!(
            legs.iter()
                .map(|l| (l.id.as_str(), l.amount_minor, l.description.as_str()))
                .collect::<Vec<_>>(),
            [
                ("l1", -5, "a $1::jsonb in the text"),
                ("l2", 5, "a $1::jsonb in the text")
            ]
        );
        let events = stored_events(db).await;
        let ids: Vec<&str> = events.iter().map(|r| r.event_id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2", "e3"]);
    }

    async fn stored_events(db: &sea_orm::DatabaseConnection) -> Vec<outbox_event::Model> {
        outbox_event::Entity::find()
            .order_by_asc(outbox_event::Column::Seq)
            .all(db)
            .await
            .unwrap()
    }
}
