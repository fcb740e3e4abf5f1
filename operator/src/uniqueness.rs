//! One Cooperative per namespace, and one per `coopname` in the whole cluster.
//!
//! Among Cooperatives that want the same namespace or coopname, the one already served wins;
//! among those not served yet, the oldest, then the one with the smaller uid, so two created
//! in the same second are ordered the same way by every reconcile. A reconcile decides and
//! records its claim under one lock ([`Claims::decide`]), so two reconciles running at once
//! cannot both win before either has its finalizer. A refused Cooperative is reconciled again
//! when the winner goes ([`Claims::release`] names it).

use std::collections::HashMap;
use std::sync::Mutex;

use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use mono_crds::Cooperative;

/// Why a Cooperative is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Its namespace already has the Cooperative `winner`.
    Namespace {
        /// The namespace.
        namespace: String,
        /// The Cooperative served there.
        winner: String,
    },
    /// Its coopname is served by the Cooperative `winner` in `namespace`.
    Coopname {
        /// The coopname.
        coopname: String,
        /// Namespace of the Cooperative serving it.
        namespace: String,
        /// The Cooperative serving it.
        winner: String,
    },
}

/// The conflict that keeps `coop` from being served, if any. `all` are the Cooperatives the
/// controller knows of; `served` says whether one is served already (it has the finalizer or
/// a claim), which puts it ahead of any that is not.
pub fn conflict<'a>(
    coop: &'a Cooperative,
    all: impl Iterator<Item = &'a Cooperative> + Clone,
    served: impl Fn(&Cooperative) -> bool,
) -> Option<Conflict> {
    let order = |c: &Cooperative| {
        (
            !served(c),
            c.meta().creation_timestamp.as_ref().map(|t| t.0),
            c.uid().unwrap_or_default(),
            c.namespace().unwrap_or_default(),
            c.name_any(),
        )
    };
    let is_coop =
        |c: &Cooperative| c.namespace() == coop.namespace() && c.name_any() == coop.name_any();
    let first = |same: &dyn Fn(&Cooperative) -> bool| {
        all.clone()
            .chain(std::iter::once(coop))
            .filter(|c| c.meta().deletion_timestamp.is_none() && same(c))
            .min_by_key(|c| order(c))
            .filter(|winner| !is_coop(winner))
    };
    if let Some(winner) = first(&|c| c.namespace() == coop.namespace()) {
        return Some(Conflict::Namespace {
            namespace: coop.namespace().unwrap_or_default(),
            winner: winner.name_any(),
        });
    }
    first(&|c| c.spec.coopname == coop.spec.coopname).map(|winner| Conflict::Coopname {
        coopname: coop.spec.coopname.clone(),
        namespace: winner.namespace().unwrap_or_default(),
        winner: winner.name_any(),
    })
}

/// Which Cooperative (by uid) holds each namespace and coopname, as decided by this operator
/// process; the finalizer says the same across restarts.
#[derive(Default)]
pub struct Claims {
    holders: Mutex<HashMap<String, String>>,
}

impl Claims {
    /// Decides whether `coop` may be served and, when it may, records its claims before any
    /// other reconcile can decide. `has_finalizer` tells served Cooperatives.
    pub fn decide<'a>(
        &self,
        coop: &'a Cooperative,
        all: impl Iterator<Item = &'a Cooperative> + Clone,
        has_finalizer: impl Fn(&Cooperative) -> bool,
    ) -> Option<Conflict> {
        let mut holders = self
            .holders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let served = |c: &Cooperative| {
            has_finalizer(c)
                || c.uid()
                    .is_some_and(|uid| holders.values().any(|h| *h == uid))
        };
        if let Some(conflict) = conflict(coop, all, served) {
            return Some(conflict);
        }
        let uid = coop.uid().unwrap_or_default();
        holders.insert(namespace_key(coop), uid.clone());
        holders.insert(coopname_key(coop), uid);
        None
    }

    /// Records that `coop`, served already, holds its namespace and coopname.
    pub fn claim(&self, coop: &Cooperative) {
        let uid = coop.uid().unwrap_or_default();
        let mut holders = self
            .holders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        holders.insert(namespace_key(coop), uid.clone());
        holders.insert(coopname_key(coop), uid);
    }

    /// Forgets the claims of `coop` (being deleted) and names the Cooperatives of `all` that
    /// wanted its namespace or coopname, to be reconciled again.
    pub fn release<'a>(
        &self,
        coop: &Cooperative,
        all: impl Iterator<Item = &'a Cooperative>,
    ) -> Vec<ObjectRef<Cooperative>> {
        let uid = coop.uid().unwrap_or_default();
        self.holders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, holder| *holder != uid);
        all.filter(|c| c.uid() != coop.uid())
            .filter(|c| c.namespace() == coop.namespace() || c.spec.coopname == coop.spec.coopname)
            .map(ObjectRef::from_obj)
            .collect()
    }
}

fn namespace_key(coop: &Cooperative) -> String {
    format!("namespace/{}", coop.namespace().unwrap_or_default())
}

fn coopname_key(coop: &Cooperative) -> String {
    format!("coopname/{}", coop.spec.coopname)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::fixtures::test_cooperative;

    fn coop(namespace: &str, name: &str, coopname: &str, created: i64, uid: &str) -> Cooperative {
        let mut coop = test_cooperative();
        coop.metadata.name = Some(name.to_owned());
        coop.metadata.namespace = Some(namespace.to_owned());
        coop.metadata.uid = Some(uid.to_owned());
        coop.metadata.creation_timestamp = Some(Time(Timestamp::from_second(created).unwrap()));
        coop.spec.coopname = coopname.to_owned();
        coop
    }

    fn nobody_served(_: &Cooperative) -> bool {
        false
    }

    #[test]
    fn oldest_then_smallest_uid_wins() {
        let first = coop("a", "first", "voskhod", 100, "u-5");
        let second = coop("a", "second", "zarya", 200, "u-1");
        let twin = coop("b", "twin", "voskhod", 100, "u-3");
        let other = coop("c", "other", "sever", 50, "u-9");
        let mut deleting = coop("a", "deleting", "voskhod", 10, "u-0");
        deleting.metadata.deletion_timestamp = Some(Time(Timestamp::from_second(300).unwrap()));
        let all = [&first, &second, &twin, &other, &deleting];
        let namespace_a = |winner: &str| Conflict::Namespace {
            namespace: "a".to_owned(),
            winner: winner.to_owned(),
        };
        let cases = [
            // Same second, same coopname: the smaller uid wins, whatever the names.
            (
                &first,
                Some(Conflict::Coopname {
                    coopname: "voskhod".to_owned(),
                    namespace: "b".to_owned(),
                    winner: "twin".to_owned(),
                }),
            ),
            (&twin, None),
            // The namespace's oldest wins; the one being deleted is no candidate.
            (&second, Some(namespace_a("first"))),
            (&other, None),
        ];
        for (candidate, expected) in cases {
            let found = conflict(candidate, all.iter().copied(), nobody_served);
            assert_eq!(found, expected, "{}", candidate.name_any());
        }
    }

    #[test]
    fn the_served_one_keeps_winning() {
        let older = coop("a", "older", "voskhod", 100, "u-1");
        let served = coop("b", "served", "voskhod", 200, "u-2");
        let all = [&older, &served];
        let is_served = |c: &Cooperative| c.name_any() == "served";
        assert_eq!(
            conflict(&older, all.iter().copied(), is_served),
            Some(Conflict::Coopname {
                coopname: "voskhod".to_owned(),
                namespace: "b".to_owned(),
                winner: "served".to_owned(),
            })
        );
        assert_eq!(conflict(&served, all.iter().copied(), is_served), None);
    }

    #[test]
    fn two_decisions_cannot_both_win() {
        let claims = Claims::default();
        let late = coop("a", "late", "voskhod", 100, "u-9");
        let early = coop("b", "early", "voskhod", 100, "u-1");
        // The late one is decided first, seeing only itself: it wins and claims.
        assert_eq!(
            claims.decide(&late, [&late].into_iter(), nobody_served),
            None
        );
        // The early one, though first in order, now finds the claim.
        let both = [&late, &early];
        assert!(matches!(
            claims.decide(&early, both.iter().copied(), nobody_served),
            Some(Conflict::Coopname { winner, .. }) if winner == "late"
        ));
        // Deciding again for the winner keeps it.
        assert_eq!(
            claims.decide(&late, both.iter().copied(), nobody_served),
            None
        );
        // Once the winner goes, the other is named for another reconcile, and wins it.
        let again = claims.release(&late, both.iter().copied());
        assert_eq!(again, vec![ObjectRef::from_obj(&early)]);
        assert_eq!(
            claims.decide(&early, [&early].into_iter(), nobody_served),
            None
        );
    }
}
