//! Maintenance windows planned by operators (the HTTP API's
//! `/api/v1/maintenance`): listed with their ids, added, deleted. Windows
//! from `[sla]` in the config are not stored here and cannot be deleted.

use rusqlite::params;

use super::load::MaintenanceRow;
use super::write::insert_maintenance;
use super::{HistoryStore, StoreError};
use crate::upkeep::history::Maintenance;

impl HistoryStore {
    /// Every stored window with its id, earliest first.
    pub fn maintenance_windows(&self) -> Result<Vec<(i64, Maintenance)>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT from_ts, to_ts, device, kind, reason, rowid FROM maintenance ORDER BY from_ts, rowid",
            )?;
            let rows = stmt.query_map([], |row| Ok((row.get::<_, i64>(5)?, MaintenanceRow::read(row)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, window) = row?;
                out.push((id, window.decode()?));
            }
            Ok(out)
        })
    }

    /// Stores `window`; returns its id.
    pub fn add_maintenance(&self, window: &Maintenance) -> Result<i64, StoreError> {
        self.with(|conn| Ok(insert_maintenance(conn, window)?))
    }

    /// Deletes window `id`; false if there is none.
    pub fn delete_maintenance(&self, id: i64) -> Result<bool, StoreError> {
        self.with(|conn| {
            Ok(conn.execute("DELETE FROM maintenance WHERE rowid = ?1", params![id])? > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::Timestamp;

    use super::*;
    use crate::upkeep::store::Bound;

    #[test]
    fn windows_are_added_listed_and_deleted_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path(), Bound::new(400, 1 << 30)).unwrap();
        let window = |from: i64| Maintenance {
            from: Timestamp::from_millis(from),
            to: Timestamp::from_millis(from + 1000),
            device: None,
            kind: None,
            reason: Default::default(),
        };
        let late = store.add_maintenance(&window(5000)).unwrap();
        let early = store.add_maintenance(&window(1000)).unwrap();
        let listed = store.maintenance_windows().unwrap();
        assert_eq!(listed, vec![(early, window(1000)), (late, window(5000))]);
        assert!(store.delete_maintenance(early).unwrap());
        assert!(!store.delete_maintenance(early).unwrap());
        assert_eq!(
            store.maintenance_windows().unwrap(),
            vec![(late, window(5000))]
        );
    }
}
