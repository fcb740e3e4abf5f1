//! Fleet upgrades at a bounded pace: when the operator's default version changes, every
//! Cooperative without a version of its own is to be upgraded, and when its PostgreSQL image
//! changes every builtin database is to be restarted on it; at most N upgrade at once, the
//! others wait for a slot, so a bad version or image, or a loaded database server, hurts a few
//! cooperatives, not all of them.
//!
//! Slots are held in memory by the operator that leads; after a restart a Cooperative whose
//! migration Job exists takes its slot back at its first reconcile.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// Which Cooperatives (by `namespace/name`) hold one of the upgrade slots, and which wait.
pub struct UpgradeSlots {
    limit: usize,
    holders: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    holding: BTreeSet<String>,
    waiting: BTreeSet<String>,
}

impl UpgradeSlots {
    /// At most `limit` upgrades at once; 0 means no limit.
    pub fn new(limit: usize) -> UpgradeSlots {
        UpgradeSlots {
            limit,
            holders: Mutex::new(Slots::default()),
        }
    }

    /// Whether the Cooperative `key` may upgrade now: it holds a slot already, takes a free
    /// one, or (`started`: its migration Job exists) takes one back whatever the count, since
    /// an upgrade under way is never stopped halfway.
    pub fn acquire(&self, key: &str, started: bool) -> bool {
        let mut slots = self.lock();
        let free = slots.holding.len() < self.limit;
        if self.limit == 0 || slots.holding.contains(key) || started || free {
            slots.holding.insert(key.to_owned());
            slots.waiting.remove(key);
            return true;
        }
        slots.waiting.insert(key.to_owned());
        false
    }

    /// Whether the Cooperative `key` holds a slot.
    pub fn holds(&self, key: &str) -> bool {
        self.lock().holding.contains(key)
    }

    /// Frees the slot of `key` (its upgrade is done, or it is deleted); when it held one,
    /// returns the Cooperatives waiting for a slot, to be reconciled again now.
    pub fn release(&self, key: &str) -> Vec<String> {
        let mut slots = self.lock();
        slots.waiting.remove(key);
        if !slots.holding.remove(key) {
            return Vec::new();
        }
        std::mem::take(&mut slots.waiting).into_iter().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.holders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_limit_upgrade_at_once() {
        let slots = UpgradeSlots::new(2);
        assert!(slots.acquire("a/a", false));
        assert!(slots.acquire("b/b", false));
        assert!(!slots.acquire("c/c", false), "a third waits");
        assert!(slots.acquire("a/a", false), "a holder keeps its slot");
        assert!(slots.holds("a/a") && !slots.holds("c/c"));
        assert!(
            slots.acquire("d/d", true),
            "an upgrade under way takes its slot back"
        );
        assert_eq!(slots.release("a/a"), ["c/c"], "the waiting one is named");
        assert!(!slots.acquire("c/c", false), "still b and d upgrading");
        assert!(slots.release("x/x").is_empty(), "no slot, nobody named");
        assert_eq!(slots.release("b/b"), ["c/c"]);
        assert!(slots.acquire("c/c", false));
        assert!(slots.release("c/c").is_empty(), "nobody waits any more");
        let unlimited = UpgradeSlots::new(0);
        for key in ["a/a", "b/b", "c/c", "d/d"] {
            assert!(unlimited.acquire(key, false));
        }
    }
}
