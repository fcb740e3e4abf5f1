//! Scheduled exports: a CooperativeExport with a `schedule` creates one CooperativeExport per
//! scheduled time, as a CronJob creates Jobs, and deletes those beyond its `retention`
//! together with their volumes.
//!
//! The exports it creates are owned by it, so deleting the schedule deletes them; their
//! volumes, like every export volume, have no owner and stay until retention or staff delete
//! them. [`Schedule`] and [`beyond_retention`] are pure: the clock is an argument.

use std::str::FromStr;
use std::time::Duration;

use croner::Cron;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use mono_crds::{CooperativeExport, CooperativeExportSpec, CooperativeExportStatus, ExportPhase};

use super::{ExportContext, claim_name, write_status};
use crate::reconcile::kube_error;
use crate::{Error, Result, Verb};

/// Annotation of a scheduled export holding the time it was scheduled for (RFC 3339, UTC).
pub const SCHEDULED_AT: &str = "mono.coopenomics.io/scheduled-at";
/// Shortest wait before the next look at a schedule, so a schedule of every second does not
/// spin.
const MIN_REQUEUE: Duration = Duration::from_secs(1);

/// A parsed `spec.schedule`: cron fields in UTC, seconds optional.
#[derive(Debug)]
pub struct Schedule(Cron);

impl FromStr for Schedule {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Schedule, CronError> {
        CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(text)
            .map(Schedule)
    }
}

impl Schedule {
    /// The latest scheduled time after `after` and not after `now`: the export to create now.
    /// Only the latest of several missed times is returned; exporting each one late would
    /// only repeat the same data.
    pub fn due(&self, after: Timestamp, now: Timestamp) -> Option<Timestamp> {
        let latest = self
            .0
            .find_previous_occurrence(&now.to_zoned(TimeZone::UTC), true)
            .ok()?
            .timestamp();
        (latest > after).then_some(latest)
    }

    /// The first scheduled time after `now`.
    pub fn next(&self, now: Timestamp) -> Option<Timestamp> {
        self.0
            .find_next_occurrence(&now.to_zoned(TimeZone::UTC), false)
            .ok()
            .map(|next| next.timestamp())
    }
}

/// Name of the export the schedule `schedule` creates for `at`: the schedule's name and the
/// time in seconds since the epoch, as a CronJob names its Jobs.
pub fn export_name(schedule: &str, at: Timestamp) -> String {
    format!("{schedule}-{}", at.as_second())
}

/// One export a schedule created, as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made<'a> {
    /// Its name.
    pub name: &'a str,
    /// The time it was scheduled for.
    pub at: Timestamp,
    /// Where it is; `None` before its first status.
    pub phase: Option<ExportPhase>,
}

/// The exports to delete under `retention`: the succeeded ones beyond the newest `retention`
/// succeeded, and the failed ones older than the oldest succeeded one kept. Nothing goes while
/// fewer than `retention` succeeded, so failures never cost the last good exports, and
/// running ones are never deleted.
pub fn beyond_retention<'a>(made: &[Made<'a>], retention: u32) -> Vec<&'a str> {
    let mut succeeded: Vec<&Made<'a>> = made
        .iter()
        .filter(|m| m.phase == Some(ExportPhase::Succeeded))
        .collect();
    succeeded.sort_by_key(|m| std::cmp::Reverse(m.at));
    let keep = usize::try_from(retention).unwrap_or(usize::MAX);
    let Some(oldest_kept) = succeeded.get(keep.saturating_sub(1)).filter(|_| keep > 0) else {
        return Vec::new();
    };
    let mut doomed: Vec<&Made<'a>> = made
        .iter()
        .filter(|m| {
            matches!(m.phase, Some(ExportPhase::Succeeded | ExportPhase::Failed))
                && m.at < oldest_kept.at
        })
        .collect();
    doomed.sort_by_key(|m| (m.at, m.name));
    doomed.into_iter().map(|m| m.name).collect()
}

/// Reconciles the schedule `export`: creates the export that is due, deletes those beyond
/// retention and records the times in the status.
pub(super) async fn reconcile(
    export: &CooperativeExport,
    text: &str,
    ctx: &ExportContext,
) -> Result<Action> {
    let namespace = export
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let api: Api<CooperativeExport> = Api::namespaced(ctx.client.clone(), &namespace);
    let schedule = match text.parse::<Schedule>() {
        Ok(schedule) => schedule,
        Err(err) => {
            let status = schedule_status(
                export,
                None,
                None,
                ("InvalidSchedule", format!("schedule {text:?}: {err}")),
            );
            write_status(&api, export, status).await?;
            return Ok(Action::await_change());
        }
    };
    let uid = export
        .uid()
        .ok_or(Error::MissingObjectKey("metadata.uid"))?;
    let now = Timestamp::now();
    let previous = export.status.as_ref();
    let since = previous
        .and_then(|s| s.last_schedule_time.as_ref())
        .or(export.metadata.creation_timestamp.as_ref())
        .map_or(now, |time| time.0);
    let mut last = previous.and_then(|s| s.last_schedule_time.as_ref().map(|t| t.0));
    if let Some(at) = schedule.due(since, now) {
        create_export(&api, export, at).await?;
        last = Some(at);
    }

    let all = api.list(&ListParams::default()).await.map_err(kube_error(
        Verb::List,
        "CooperativeExport",
        "",
    ))?;
    let ours: Vec<&CooperativeExport> = all
        .items
        .iter()
        .filter(|made| {
            made.owner_references()
                .iter()
                .any(|owner| owner.controller == Some(true) && owner.uid == uid)
        })
        .collect();
    let mut kept = ours.len();
    if let Some(retention) = export.spec.retention {
        let made: Vec<Made<'_>> = ours.iter().filter_map(|m| made(m)).collect();
        let claims: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
        for name in beyond_retention(&made, retention) {
            // The volume first: were the export deleted first and the operator stopped in
            // between, nothing would name the volume any more.
            delete(&claims, &claim_name(name), "PersistentVolumeClaim").await?;
            delete(&api, name, "CooperativeExport").await?;
            kept -= 1;
        }
    }

    let next = schedule.next(now);
    let message = match next {
        Some(next) => format!("{kept} exports kept; next at {next}"),
        None => format!("{kept} exports kept; the schedule has no later time"),
    };
    let status = schedule_status(export, last, next, ("Scheduled", message));
    write_status(&api, export, status).await?;
    Ok(match next {
        Some(next) => {
            let wait = Duration::try_from(next.duration_since(now)).unwrap_or(MIN_REQUEUE);
            Action::requeue(wait.max(MIN_REQUEUE))
        }
        None => Action::await_change(),
    })
}

/// Creates the export of `schedule` for `at`; one that exists already (a reconcile that
/// stopped before writing the status) is left as it is.
async fn create_export(
    api: &Api<CooperativeExport>,
    schedule: &CooperativeExport,
    at: Timestamp,
) -> Result<()> {
    let name = export_name(&schedule.name_any(), at);
    let export = CooperativeExport {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: schedule.namespace(),
            annotations: Some([(SCHEDULED_AT.to_owned(), at.to_string())].into()),
            owner_references: schedule.controller_owner_ref(&()).map(|owner| vec![owner]),
            ..ObjectMeta::default()
        },
        spec: CooperativeExportSpec {
            cooperative: schedule.spec.cooperative.clone(),
            storage: schedule.spec.storage.clone(),
            schedule: None,
            retention: None,
        },
        status: None,
    };
    match api.create(&PostParams::default(), &export).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(source) => Err(kube_error(Verb::Create, "CooperativeExport", &name)(source)),
    }
}

/// What retention needs of an export the schedule made; `None` without its scheduled time.
fn made(export: &CooperativeExport) -> Option<Made<'_>> {
    let at = export.annotations().get(SCHEDULED_AT)?.parse().ok()?;
    Some(Made {
        name: export.metadata.name.as_deref()?,
        at,
        phase: export.status.as_ref().and_then(|s| s.phase),
    })
}

async fn delete<K>(api: &Api<K>, name: &str, kind: &str) -> Result<()>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(source) => Err(kube_error(Verb::Delete, kind, name)(source)),
    }
}

/// The status of a schedule: its times and one `Scheduled` condition.
fn schedule_status(
    export: &CooperativeExport,
    last: Option<Timestamp>,
    next: Option<Timestamp>,
    (reason, message): (&str, String),
) -> CooperativeExportStatus {
    let status = if reason == "Scheduled" {
        "True"
    } else {
        "False"
    };
    let last_transition_time = export
        .status
        .as_ref()
        .and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Scheduled" && c.status == status)
        })
        .map_or_else(crate::reconcile::now, |c| c.last_transition_time.clone());
    CooperativeExportStatus {
        observed_generation: export.meta().generation,
        phase: Some(ExportPhase::Scheduled),
        last_schedule_time: last.map(Time),
        next_schedule_time: next.map(Time),
        conditions: vec![Condition {
            type_: "Scheduled".to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message,
            observed_generation: export.meta().generation,
            last_transition_time,
        }],
        ..CooperativeExportStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn due_is_the_latest_time_since_the_last() {
        let nightly: Schedule = "0 3 * * *".parse().unwrap();
        let cases = [
            // Created in the afternoon: nothing before the first night.
            ("2026-11-22T15:00:00Z", "2026-11-22T20:00:00Z", None),
            (
                "2026-11-22T15:00:00Z",
                "2026-11-23T03:00:00Z",
                Some("2026-11-23T03:00:00Z"),
            ),
            // Already made for that night.
            ("2026-11-23T03:00:00Z", "2026-11-23T09:00:00Z", None),
            // Three nights missed: only the latest.
            (
                "2026-11-23T03:00:00Z",
                "2026-11-26T04:00:00Z",
                Some("2026-11-26T03:00:00Z"),
            ),
        ];
        for (after, now, expected) in cases {
            assert_eq!(
                nightly.due(at(after), at(now)),
                expected.map(at),
                "{after} .. {now}"
            );
        }
        assert_eq!(
            nightly.next(at("2026-11-23T03:00:00Z")),
            Some(at("2026-11-24T03:00:00Z"))
        );
        let every_two_seconds: Schedule = "*/2 * * * * *".parse().unwrap();
        assert_eq!(
            every_two_seconds.due(at("2026-11-22T15:00:00Z"), at("2026-11-22T15:00:03Z")),
            Some(at("2026-11-22T15:00:02Z"))
        );
        let daily: Schedule = "@daily".parse().unwrap();
        assert_eq!(
            daily.next(at("2026-11-22T15:00:00Z")),
            Some(at("2026-11-23T00:00:00Z"))
        );
        for bad in ["", "every night", "61 * * * *", "* * * *"] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_carry_the_time() {
        assert_eq!(
            export_name("nightly", at("2026-11-23T03:00:00Z")),
            "nightly-1795402800"
        );
    }

    #[test]
    fn retention_keeps_the_newest_succeeded() {
        use ExportPhase::{Failed, Running, Succeeded};
        let m = |name: &'static str, hour: u8, phase: Option<ExportPhase>| Made {
            name,
            at: at(&format!("2026-11-22T{hour:02}:00:00Z")),
            phase,
        };
        let cases: Vec<(Vec<Made<'static>>, u32, Vec<&str>)> = vec![
            (vec![], 2, vec![]),
            (
                vec![m("a", 1, Some(Succeeded)), m("b", 2, Some(Succeeded))],
                2,
                vec![],
            ),
            (
                vec![
                    m("c", 3, Some(Succeeded)),
                    m("a", 1, Some(Succeeded)),
                    m("b", 2, Some(Succeeded)),
                ],
                2,
                vec!["a"],
            ),
            // Failed ones older than the oldest kept go too; newer ones stay to be read.
            (
                vec![
                    m("a", 1, Some(Failed)),
                    m("b", 2, Some(Succeeded)),
                    m("c", 3, Some(Failed)),
                    m("d", 4, Some(Succeeded)),
                ],
                1,
                vec!["a", "b", "c"],
            ),
            // Failures never cost the last good export.
            (
                vec![
                    m("a", 1, Some(Succeeded)),
                    m("b", 2, Some(Failed)),
                    m("c", 3, Some(Failed)),
                ],
                1,
                vec![],
            ),
            (
                vec![
                    m("a", 1, Some(Succeeded)),
                    m("b", 2, Some(Failed)),
                    m("c", 3, Some(Failed)),
                ],
                2,
                vec![],
            ),
            // Running and unstarted exports are never deleted.
            (
                vec![
                    m("a", 1, Some(Running)),
                    m("b", 2, None),
                    m("c", 3, Some(Succeeded)),
                ],
                1,
                vec![],
            ),
        ];
        for (made, retention, expected) in cases {
            assert_eq!(
                beyond_retention(&made, retention),
                expected,
                "{made:?} keeping {retention}"
            );
        }
    }
}
