//! `column` is one of a list of keys, written the way each backend's planner serves best.
//!
//! PostgreSQL gets one array parameter (`= ANY($n)`): one statement text for any number of
//! keys, and a condition the planner always takes into the index. A list of separate
//! parameters (`IN ($1, …, $n)`) makes a new statement per list length, and a generic plan of
//! it, made on a table whose statistics are not yet gathered, walked the whole index and
//! filtered the keys afterwards. SQLite has no arrays and plans the `IN` list well.

use sqlx::{Postgres, QueryBuilder, Sqlite};

/// A backend's way of writing `column IN keys`.
pub(crate) trait KeyList: sqlx::Database {
    /// Appends ` AND {column} IN keys` to `query`.
    fn push_key_list(query: &mut QueryBuilder<Self>, column: &str, keys: &[String]);
}

impl KeyList for Postgres {
    fn push_key_list(query: &mut QueryBuilder<Self>, column: &str, keys: &[String]) {
        query
            .push(format_args!(" AND {column} = ANY("))
            .push_bind(keys.to_vec())
            .push(")");
    }
}

impl KeyList for Sqlite {
    fn push_key_list(query: &mut QueryBuilder<Self>, column: &str, keys: &[String]) {
        query.push(format_args!(" AND {column} IN ("));
        let mut separated = query.separated(", ");
        for key in keys {
            separated.push_bind(key.clone());
        }
        query.push(")");
    }
}
