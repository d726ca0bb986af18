//! Moving an SQLite store into PostgreSQL (`tributary migrate-store --to postgres://…`):
//! every table's rows, ids kept, streamed with PostgreSQL's binary `COPY` in one
//! transaction, then the id sequences moved past the copied ids and the row counts of both
//! databases compared. The instance id comes along, so the merged feed's entry ids stay the
//! same for subscribers.

use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::ValueRef;

use crate::store::{Result, Store, StoreError};

/// The tables in an order that keeps every foreign key pointing at a copied row.
pub const TABLES: &[&str] = &[
    "meta",
    "feeds",
    "feed_tags",
    "articles",
    "stories",
    "copies",
    "fingerprints",
    "story_merges",
    "pages",
];

/// The tables whose ids come from a sequence on PostgreSQL.
const SEQUENCED: &[&str] = &["feeds", "articles", "stories"];

/// One SQLite value on its way into a PostgreSQL column of the type the column has.
#[derive(Debug)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    fn of(v: ValueRef<'_>) -> Cell {
        match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(n) => Cell::Int(n),
            ValueRef::Real(x) => Cell::Real(x),
            // Invalid UTF-8 that reached an SQLite text column is read leniently, as the
            // merged feed reads it.
            ValueRef::Text(b) => Cell::Text(String::from_utf8_lossy(b).into_owned()),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        }
    }
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (self, ty) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            (Cell::Int(n), &Type::INT8) => n.to_sql(ty, out),
            (Cell::Int(n), &Type::FLOAT8) => (*n as f64).to_sql(ty, out),
            (Cell::Real(x), &Type::FLOAT8) => x.to_sql(ty, out),
            (Cell::Int(n), &Type::TEXT) => n.to_string().to_sql(ty, out),
            (Cell::Text(t), &Type::TEXT) => t.to_sql(ty, out),
            (Cell::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
            (Cell::Blob(b), &Type::TEXT) => String::from_utf8_lossy(b).to_sql(ty, out),
            (cell, ty) => Err(format!("an SQLite {cell:?} does not fit a {ty} column").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// What [`copy_into`] copied: each table with its row count on both sides.
pub type Counts = Vec<(&'static str, i64, i64)>;

/// Copies every row of the SQLite store `from` into the PostgreSQL store `to`, which must
/// hold no feeds, articles or stories; returns each table's count in both afterwards.
pub fn copy_into(from: &Store, to: &mut Store) -> Result<Counts> {
    let lite = from.sqlite()?;
    let (feeds, articles, stories) = to.counts()?;
    if feeds + articles + stories > 0 {
        return Err(StoreError::NotEmpty {
            feeds,
            articles,
            stories,
        });
    }
    let super::super::Db::Postgres(pg) = &mut to.db else {
        return Err(StoreError::WrongBackend(
            "the target is not a PostgreSQL store",
        ));
    };
    let mut tx = pg.begin()?;
    // The target's own instance id (minted when it was opened) gives way to the source's.
    tx.execute("DELETE FROM meta", &[])?;
    for table in TABLES {
        let mut select = lite.prepare(&format!("SELECT * FROM {table}"))?;
        let columns: Vec<String> = select
            .column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let list = columns.join(", ");
        let types: Vec<Type> = tx
            .prepare(&format!("SELECT {list} FROM {table} LIMIT 0"))?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let sink = tx.copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let cells: Vec<Cell> = (0..columns.len())
                .map(|i| row.get_ref(i).map(Cell::of))
                .collect::<rusqlite::Result<_>>()?;
            let refs: Vec<&(dyn ToSql + Sync)> =
                cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            writer.write(&refs)?;
        }
        writer.finish()?;
    }
    // The source's search index (FTS5, without content) cannot be copied: it is built.
    super::search::index_stored_copies(&mut tx)?;
    for table in SEQUENCED {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
            ),
            &[],
        )?;
    }
    tx.commit()?;
    let mut counts = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT count(*) FROM {table}");
        let here: i64 = lite.query_row(&sql, [], |r| r.get(0))?;
        let there: i64 = pg.with(|c| c.query_one(&sql, &[])?.try_get(0))?;
        counts.push((*table, here, there));
    }
    Ok(counts)
}
