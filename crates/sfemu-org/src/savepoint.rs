//! Org-level savepoints (composite `allOrNone` spanning several calls): while one is open,
//! committed transactions keep their undo entries in a journal, join one change-log
//! transaction and stay unpublished; rollback replays the journal backwards and forgets the
//! change-log entries, release publishes them.

use crate::org::{Data, Org};
use crate::{Savepoint, SfError};

impl Org {
    pub(crate) fn take_savepoint(&self) -> Savepoint {
        let mut d = self.data.write();
        if d.sp_depth == 0 {
            d.sp_base = Some(d.log.last_seq);
            d.log.begin_group();
        }
        d.sp_depth += 1;
        Savepoint {
            seq: d.log.last_seq,
            commit: d.log.last_commit,
            journal: d.journal.len(),
            org: self.me.clone(),
            done: false,
        }
    }

    pub(crate) fn rollback_savepoint(&self, mut sp: Savepoint) -> Result<(), SfError> {
        sp.done = true;
        let mut d = self.data.write();
        if d.sp_depth == 0 || sp.journal > d.journal.len() || sp.seq > d.log.last_seq {
            return Err(SfError::new(
                "UNKNOWN_EXCEPTION",
                "savepoint is no longer valid",
            ));
        }
        while d.journal.len() > sp.journal {
            if let Some(u) = d.journal.pop() {
                crate::dml::undo(&mut d, u);
            }
        }
        d.log.truncate_after(sp.seq, sp.commit);
        let publish = close(&mut d);
        drop(d);
        if let Some(seq) = publish {
            self.notify(seq);
        }
        Ok(())
    }

    pub(crate) fn release_savepoint(&self) {
        let mut d = self.data.write();
        if d.sp_depth == 0 {
            return;
        }
        let publish = close(&mut d);
        drop(d);
        if let Some(seq) = publish {
            self.notify(seq);
        }
    }
}

/// Closes one savepoint level; returns the seq to publish when the outermost one closes with
/// new changes.
fn close(d: &mut Data) -> Option<u64> {
    d.sp_depth -= 1;
    if d.sp_depth > 0 {
        return None;
    }
    d.journal.clear();
    d.log.end_group();
    let base = d.sp_base.take().unwrap_or(0);
    (d.log.last_seq > base).then_some(d.log.last_seq)
}
