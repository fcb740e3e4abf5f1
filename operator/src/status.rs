//! Conditions, phase and Events derived from what the reconciler observed.
//!
//! Pure: the clock is an argument and nothing here reads the cluster. A condition keeps its
//! `lastTransitionTime` while its status does not change, so a steady Cooperative produces
//! an identical status on every reconcile.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use mono_crds::{CooperativeStatus, CooperativeUsage, Phase};

use crate::uniqueness::Conflict;

/// What the reconciler saw of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseState {
    /// Whether it accepts connections.
    pub ready: bool,
    /// Whether a person must act (as opposed to waiting for it to start).
    pub failed: bool,
    /// CamelCase reason for the `DatabaseReady` condition.
    pub reason: &'static str,
    /// What is going on, in words a person can act on.
    pub message: String,
}

/// What the reconciler saw of the builtin database's volume, against `database.storage`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StorageState {
    /// As the spec asks, or not there yet, or not the operator's to size (other modes).
    #[default]
    AsRequested,
    /// Asked to grow; the storage system has not reached the size yet.
    Expanding {
        /// The claim.
        claim: String,
        /// The size it has.
        from: String,
        /// The size it was asked for.
        to: String,
    },
    /// The spec asks for less than the volume holds; volumes never shrink.
    ShrinkRefused {
        /// The claim.
        claim: String,
        /// The size it has.
        current: String,
        /// The smaller size the spec asks for.
        requested: String,
    },
    /// The API server refused to grow the volume, typically because its StorageClass does
    /// not allow volume expansion.
    NotExpandable {
        /// The claim.
        claim: String,
        /// The size it has.
        current: String,
        /// The size the spec asks for.
        requested: String,
        /// The API server's message.
        refusal: String,
    },
    /// The spec names another StorageClass than the volume's, which cannot change.
    ClassChangeRefused {
        /// The claim.
        claim: String,
        /// The volume's StorageClass.
        current: String,
        /// The one the spec names.
        requested: String,
    },
}

/// State of a one-off Job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Not finished yet.
    Running,
    /// Succeeded.
    Complete,
    /// Gave up; the message says why.
    Failed(String),
}

/// What the reconciler saw of the instance Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentState {
    /// Version of its pod template.
    pub version: String,
    /// Desired pods.
    pub replicas: i32,
    /// Ready pods.
    pub ready: i32,
    /// Pods on the current template.
    pub updated: i32,
    /// Whether the Deployment controller has seen the latest template.
    pub observed: bool,
}

/// The instance's own report from `GET /status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceReport {
    /// Last block the instance applied.
    pub synced_block: u64,
    /// Chain head known to the instance.
    pub head_block: u64,
    /// Its usage counters, when it reports them.
    pub usage: Option<InstanceUsage>,
}

/// The usage counters of an instance's `/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceUsage {
    /// Bytes its database takes.
    pub database_bytes: u64,
    /// Documents its actions carried.
    pub documents: u64,
    /// HTTP requests the answering replica served.
    pub api_requests: u64,
    /// Response bytes the answering replica sent.
    pub bytes_sent: u64,
}

impl InstanceUsage {
    /// As the status keeps it.
    pub fn to_status(self) -> CooperativeUsage {
        CooperativeUsage {
            storage_bytes: self.database_bytes,
            storage: readable_bytes(self.database_bytes),
            documents: self.documents,
            api_requests: self.api_requests,
            bytes_sent: self.bytes_sent,
        }
    }
}

/// `bytes` in binary units as Kubernetes quantities print them: `512`, `8.2Mi`, `123Mi`,
/// `1.5Gi` (one decimal below 10 of a unit).
pub fn readable_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if bytes < 1024 {
        return bytes.to_string();
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// Everything one reconcile observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Why the spec cannot be acted on, if it cannot.
    pub invalid: Option<String>,

    /// The database.
    pub database: DatabaseState,
    /// The builtin database's volume against the spec.
    pub storage: StorageState,
    /// The import Job, when the spec bootstraps from an export.
    pub import: Option<JobState>,
    /// The export volume's claim, while the import still needs it and it does not exist.
    pub export_claim_missing: Option<String>,
    /// The migration Job and its version, while an upgrade waits for it.
    pub migration: Option<(String, JobState)>,
    /// The instance Deployment, once it exists.
    pub deployment: Option<DeploymentState>,
    /// The instance's `/status`, or why it could not be read (not probed, unreachable, not
    /// the expected JSON).
    pub instance: Result<InstanceReport, String>,
    /// `spec.suspend`.
    pub suspended: bool,
    /// Version the spec asks for.
    pub target_version: String,
    /// Children the API server refused, as `<verb> <kind> <name>: <why>`; the others were
    /// applied.
    pub failures: Vec<String>,
    /// Whether the upgrade to the target version waits for one of the fleet's upgrade slots.
    pub upgrade_queued: bool,
    /// The builtin database's image kept, and the one refused for being of another
    /// PostgreSQL major version.
    pub postgres_major_refused: Option<(String, String)>,
    /// The builtin database's image kept, and the new one that waits for an upgrade slot.
    pub postgres_queued: Option<(String, String)>,
}

/// Blocks an instance may lag behind the head and still count as synced (5 s of blocks).
pub const SYNC_TOLERANCE_BLOCKS: u64 = 10;

/// Severity of an Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Informational.
    Normal,
    /// A person should look.
    Warning,
}

/// An Event to publish about the Cooperative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub severity: Severity,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable note.
    pub note: String,
}

/// The status describing `observed`, keeping transition times from `previous`.
pub fn status(
    observed: &Observed,
    generation: Option<i64>,
    previous: Option<&CooperativeStatus>,
    endpoint: Option<String>,
    now: &Time,
) -> CooperativeStatus {
    let previous_conditions = previous.map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    let previous_version = previous.and_then(|s| s.version.clone());
    let rolled_out = observed.deployment.as_ref().is_some_and(|d| {
        d.version == observed.target_version
            && d.observed
            && d.updated >= d.replicas
            && d.ready >= d.replicas
    });
    // A new version counts as reached once its pods are ready and, when the instance
    // reports its sync state, it has caught up with the chain again.
    let lagging = observed.instance.as_ref().is_ok_and(|report| {
        report.head_block.saturating_sub(report.synced_block) > SYNC_TOLERANCE_BLOCKS
    });
    let upgrade = previous_version
        .as_deref()
        .is_some_and(|version| version != observed.target_version);
    let reached = rolled_out && !observed.suspended && !(upgrade && lagging);
    let version = if reached {
        Some(observed.target_version.clone())
    } else {
        previous_version.clone()
    };
    let drafts = [
        ready(observed),
        progressing(observed, rolled_out),
        degraded(observed),
        database_ready(observed),
        synced(observed),
        upgrading(observed, rolled_out, lagging, upgrade),
        reconciled(observed),
    ];
    let conditions: Vec<Condition> = drafts
        .into_iter()
        // Once a version runs, the bootstrap is over and the import is no longer news.
        .chain(importing(observed).filter(|_| version.is_none()))
        .map(|draft| draft.into_condition(generation, previous_conditions, now))
        .collect();
    let phase = phase(observed, &conditions);
    CooperativeStatus {
        observed_generation: generation,
        phase: Some(phase),
        conditions,
        endpoint,
        version,
        synced_block: observed.instance.as_ref().ok().map(|i| i.synced_block),
        head_block: observed.instance.as_ref().ok().map(|i| i.head_block),
        // An instance that cannot be read keeps its last known usage.
        usage: match &observed.instance {
            Ok(InstanceReport {
                usage: Some(usage), ..
            }) => Some(usage.to_status()),
            _ => previous.and_then(|s| s.usage.clone()),
        },
    }
}

/// Status of a Cooperative that is not reconciled because of `conflict`.
pub fn duplicate_status(
    conflict: &Conflict,
    generation: Option<i64>,
    previous: Option<&CooperativeStatus>,
    now: &Time,
) -> CooperativeStatus {
    let previous_conditions = previous.map(|s| s.conditions.as_slice()).unwrap_or(&[]);
    let draft = match conflict {
        Conflict::Namespace { namespace, winner } => Draft::new(
            "Ready",
            Some(false),
            "DuplicateCooperative",
            format!(
                "namespace {namespace} already has Cooperative {winner}; only one Cooperative per namespace is served, delete this one or move it to its own namespace"
            ),
        ),
        Conflict::Coopname {
            coopname,
            namespace,
            winner,
        } => Draft::new(
            "Ready",
            Some(false),
            "DuplicateCoopname",
            format!(
                "coopname {coopname} is served by Cooperative {winner} in namespace {namespace}; a coopname is served once in the cluster, delete one of them"
            ),
        ),
    };
    CooperativeStatus {
        observed_generation: generation,
        phase: Some(Phase::Failed),
        conditions: vec![draft.into_condition(generation, previous_conditions, now)],
        ..CooperativeStatus::default()
    }
}

/// `previous` with `Reconciled=False`: a reconcile failed before it could observe anything,
/// for the reason `reason` (CamelCase) and with the error as `message`. Everything else stays
/// as the last complete reconcile left it, `observedGeneration` included.
pub fn reconcile_failed(
    previous: Option<&CooperativeStatus>,
    generation: Option<i64>,
    reason: &'static str,
    message: String,
    now: &Time,
) -> CooperativeStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let draft = Draft::new(
        "Reconciled",
        Some(false),
        reason,
        format!("the last reconcile failed and is retried with back-off: {message}"),
    );
    let condition = draft.into_condition(generation, &status.conditions, now);
    match status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == condition.type_)
    {
        Some(existing) => *existing = condition,
        None => status.conditions.push(condition),
    }
    status
}

/// `previous` with the spec of `generation` refused: what it asks for that hosting staff do
/// not allow (`refusals`) makes `Ready=False` and `Progressing=False` with reason `NotAllowed`
/// and the phase `Failed`; what runs keeps running as it was, and the other conditions say
/// how.
pub fn refused_status(
    previous: Option<&CooperativeStatus>,
    generation: Option<i64>,
    refusals: &[String],
    now: &Time,
) -> CooperativeStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let drafts = [
        Draft::new(
            "Ready",
            Some(false),
            "NotAllowed",
            format!(
                "hosting staff do not allow this spec: {}; nothing is changed until it asks for what is allowed",
                refusals.join("; ")
            ),
        ),
        Draft::new(
            "Progressing",
            Some(false),
            "NotAllowed",
            "nothing is changed until the spec asks for what is allowed".to_owned(),
        ),
    ];
    for draft in drafts {
        let condition = draft.into_condition(generation, &status.conditions, now);
        match status
            .conditions
            .iter_mut()
            .find(|c| c.type_ == condition.type_)
        {
            Some(existing) => *existing = condition,
            None => status.conditions.push(condition),
        }
    }
    status.observed_generation = generation;
    status.phase = Some(Phase::Failed);
    status
}

/// `previous` with `Reconciled=False` reason `Paused`: the annotation `annotation` pauses
/// reconciliation; everything else stays as the last reconcile left it.
pub fn paused_status(
    previous: Option<&CooperativeStatus>,
    generation: Option<i64>,
    annotation: &str,
    now: &Time,
) -> CooperativeStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let draft = Draft::new(
        "Reconciled",
        Some(false),
        "Paused",
        format!(
            "reconciliation is paused by the annotation {annotation}; nothing is applied until it is removed"
        ),
    );
    let condition = draft.into_condition(generation, &status.conditions, now);
    match status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == condition.type_)
    {
        Some(existing) => *existing = condition,
        None => status.conditions.push(condition),
    }
    status
}

/// Events for condition changes a person cares about.
pub fn events(previous: &[Condition], current: &[Condition]) -> Vec<EventNote> {
    let mut notes = Vec::new();
    for condition in current {
        let before = previous.iter().find(|c| c.type_ == condition.type_);
        let changed =
            before.is_none_or(|b| b.status != condition.status || b.reason != condition.reason);
        if !changed {
            continue;
        }
        let was_true = before.is_some_and(|b| b.status == "True");
        let note = |severity, reason: &str| EventNote {
            severity,
            reason: reason.to_owned(),
            note: condition.message.clone(),
        };
        match (condition.type_.as_str(), condition.status.as_str()) {
            ("Degraded", "True") => notes.push(note(Severity::Warning, &condition.reason)),
            ("Reconciled", "False") if condition.reason == "Paused" => {
                notes.push(note(Severity::Normal, "Paused"));
            }
            ("Reconciled", "False") if condition.reason == "DeletionProtected" => {
                notes.push(note(Severity::Warning, "DeletionProtected"));
            }
            ("Reconciled", "False") if condition.reason != "ApplyFailed" => {
                notes.push(note(Severity::Warning, "ReconcileFailed"));
            }
            ("Ready", "False")
                if matches!(
                    condition.reason.as_str(),
                    "DuplicateCooperative" | "DuplicateCoopname" | "InvalidSpec" | "NotAllowed"
                ) =>
            {
                notes.push(note(Severity::Warning, &condition.reason));
            }
            ("Ready", "True") => notes.push(note(Severity::Normal, "Ready")),
            ("Importing", "False") if condition.reason == "ExportVolumeMissing" => {
                notes.push(note(Severity::Warning, "ExportVolumeMissing"));
            }
            ("Upgrading", "True") if condition.reason == "Migrating" => {
                notes.push(note(Severity::Normal, "UpgradeStarted"));
            }
            ("Upgrading", "False") if was_true => {
                notes.push(note(Severity::Normal, "UpgradeCompleted"))
            }
            _ => {}
        }
    }
    notes
}

/// A condition before it gets its generation and transition time.
struct Draft {
    type_: &'static str,
    status: Option<bool>,
    reason: &'static str,
    message: String,
}

impl Draft {
    fn new(
        type_: &'static str,
        status: Option<bool>,
        reason: &'static str,
        message: String,
    ) -> Draft {
        Draft {
            type_,
            status,
            reason,
            message,
        }
    }

    fn into_condition(
        self,
        generation: Option<i64>,
        previous: &[Condition],
        now: &Time,
    ) -> Condition {
        let status = match self.status {
            Some(true) => "True",
            Some(false) => "False",
            None => "Unknown",
        };
        let last_transition_time = previous
            .iter()
            .find(|c| c.type_ == self.type_ && c.status == status)
            .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
        Condition {
            type_: self.type_.to_owned(),
            status: status.to_owned(),
            reason: self.reason.to_owned(),
            message: self.message,
            observed_generation: generation,
            last_transition_time,
        }
    }
}

fn failed_job(job: Option<&JobState>) -> Option<&str> {
    match job {
        Some(JobState::Failed(message)) => Some(message),
        _ => None,
    }
}

fn ready(observed: &Observed) -> Draft {
    let not_ready = |reason, message: String| Draft::new("Ready", Some(false), reason, message);
    if let Some(invalid) = &observed.invalid {
        return not_ready(
            "InvalidSpec",
            format!("the spec cannot be acted on: {invalid}; fix the Cooperative"),
        );
    }

    if observed.suspended {
        return not_ready(
            "Suspended",
            "spec.suspend is true: the instance is scaled to zero and its data is kept".to_owned(),
        );
    }
    if !observed.database.ready {
        return not_ready("DatabaseNotReady", observed.database.message.clone());
    }
    if let Some(message) = failed_job(observed.import.as_ref()) {
        return not_ready("ImportFailed", format!("the import Job failed: {message}"));
    }
    if let Some(claim) = &observed.export_claim_missing {
        return not_ready("ExportVolumeMissing", export_volume_missing(claim));
    }
    if observed.import == Some(JobState::Running) && observed.deployment.is_none() {
        return not_ready(
            "Importing",
            "the import Job is restoring the export".to_owned(),
        );
    }
    if observed.deployment.is_none() {
        match &observed.migration {
            Some((version, JobState::Running)) => {
                return not_ready(
                    "Migrating",
                    format!(
                        "the migration Job prepares the database for version {version} before the first start"
                    ),
                );
            }
            Some((version, JobState::Failed(message))) => {
                return not_ready(
                    "MigrationFailed",
                    format!(
                        "the migration Job to version {version} failed ({message}); the instance is not started"
                    ),
                );
            }
            Some((_, JobState::Complete)) | None => {}
        }
    }
    match &observed.deployment {
        None => not_ready(
            "InstanceNotCreated",
            "the instance Deployment is being created".to_owned(),
        ),
        Some(d) if d.ready < d.replicas.max(1) => not_ready(
            "InstanceNotReady",
            format!("{} of {} instance pods are ready", d.ready, d.replicas),
        ),
        Some(d) => Draft::new(
            "Ready",
            Some(true),
            "InstanceReady",
            format!(
                "{} instance pods of version {} are ready",
                d.ready, d.version
            ),
        ),
    }
}

/// The `Importing` condition, while the spec bootstraps from an export.
fn importing(observed: &Observed) -> Option<Draft> {
    let draft =
        |status, reason, message| Some(Draft::new("Importing", Some(status), reason, message));
    if let Some(claim) = &observed.export_claim_missing {
        return draft(false, "ExportVolumeMissing", export_volume_missing(claim));
    }
    match observed.import.as_ref()? {
        JobState::Running => draft(
            true,
            "Running",
            "the import Job is restoring the export".to_owned(),
        ),
        JobState::Complete => draft(false, "Imported", "the export is imported".to_owned()),
        JobState::Failed(message) => draft(
            false,
            "ImportFailed",
            format!("the import Job failed ({message})"),
        ),
    }
}

fn export_volume_missing(claim: &str) -> String {
    format!(
        "the export volume claim {claim} does not exist in the Cooperative's namespace; the import Job cannot start until a PersistentVolumeClaim of that name holds the export"
    )
}

fn progressing(observed: &Observed, rolled_out: bool) -> Draft {
    let busy = |reason, message: String| Draft::new("Progressing", Some(true), reason, message);
    if observed.invalid.is_some() {
        return Draft::new(
            "Progressing",
            Some(false),
            "InvalidSpec",
            "nothing is changed until the spec is fixed".to_owned(),
        );
    }

    if !observed.database.ready && !observed.database.failed {
        return busy("ProvisioningDatabase", observed.database.message.clone());
    }
    if let Some(claim) = &observed.export_claim_missing {
        return Draft::new(
            "Progressing",
            Some(false),
            "ExportVolumeMissing",
            format!("the import waits for the export volume claim {claim}"),
        );
    }
    if observed.import == Some(JobState::Running) {
        return busy(
            "Importing",
            "the import Job is restoring the export".to_owned(),
        );
    }
    if let Some((version, JobState::Running)) = &observed.migration {
        return busy(
            "Migrating",
            format!("the migration Job to version {version} is running"),
        );
    }
    if let StorageState::Expanding { claim, from, to } = &observed.storage {
        return busy(
            "ExpandingStorage",
            format!("the database volume {claim} grows from {from} to {to}"),
        );
    }
    let stalled = observed.database.failed
        || failed_job(observed.import.as_ref()).is_some()
        || matches!(observed.migration, Some((_, JobState::Failed(_))));
    if observed.upgrade_queued && !observed.suspended {
        return busy(
            "UpgradeQueued",
            format!(
                "version {} waits for an upgrade slot",
                observed.target_version
            ),
        );
    }
    if let Some((_, image)) = &observed.postgres_queued {
        return busy(
            "UpgradeQueued",
            format!("PostgreSQL image {image} waits for an upgrade slot"),
        );
    }
    if !stalled && !rolled_out && !observed.suspended {
        return busy(
            "RollingOut",
            format!("rolling out version {}", observed.target_version),
        );
    }
    Draft::new(
        "Progressing",
        Some(false),
        "Stable",
        "no change in progress".to_owned(),
    )
}

fn degraded(observed: &Observed) -> Draft {
    let degraded = |reason, message: String| Draft::new("Degraded", Some(true), reason, message);
    if let Some((version, JobState::Failed(message))) = &observed.migration {
        let message = if observed.deployment.is_some() {
            format!(
                "the migration Job to version {version} failed ({message}); the rollout is stopped and the previous version keeps running; read the Job's logs, then fix the database and delete the Job to retry, or set spec.instance.version back"
            )
        } else {
            format!(
                "the migration Job to version {version} failed ({message}); the instance is not started; read the Job's logs, then fix the database and delete the Job to retry"
            )
        };
        return degraded("MigrationFailed", message);
    }
    if let Some(message) = failed_job(observed.import.as_ref()) {
        return degraded(
            "ImportFailed",
            format!(
                "the import Job failed ({message}); check the export volume and the Job's logs"
            ),
        );
    }
    if observed.database.failed {
        return degraded(observed.database.reason, observed.database.message.clone());
    }
    if let Some((kept, refused)) = &observed.postgres_major_refused {
        return degraded(
            "PostgresMajorChangeRefused",
            format!(
                "the builtin database runs {kept}; {refused} is another PostgreSQL major version, whose server cannot open this data directory, so the database keeps {kept}; move the cooperative to a new database (export, then bootstrap a Cooperative from it) before giving it the new major version"
            ),
        );
    }
    if !observed.failures.is_empty() {
        return degraded("ApplyFailed", not_applied(&observed.failures));
    }
    match &observed.storage {
        StorageState::AsRequested | StorageState::Expanding { .. } => {}
        StorageState::ShrinkRefused {
            claim,
            current,
            requested,
        } => {
            return degraded(
                "StorageShrinkRefused",
                format!(
                    "spec.database.storage.size {requested} is smaller than the database volume {claim} ({current}); volumes cannot shrink: set it to at least {current}"
                ),
            );
        }
        StorageState::NotExpandable {
            claim,
            current,
            requested,
            refusal,
        } => {
            return degraded(
                "StorageNotExpandable",
                format!(
                    "the database volume {claim} cannot grow from {current} to {requested}: the API server refused it ({refusal}); give its StorageClass allowVolumeExpansion: true, or set spec.database.storage.size back to {current}"
                ),
            );
        }
        StorageState::ClassChangeRefused {
            claim,
            current,
            requested,
        } => {
            return degraded(
                "StorageClassImmutable",
                format!(
                    "the database volume {claim} is of StorageClass {current}, not {requested}; a volume's class cannot change: set spec.database.storage.storageClassName back to {current}"
                ),
            );
        }
    }
    Draft::new(
        "Degraded",
        Some(false),
        "AsExpected",
        "nothing needs attention".to_owned(),
    )
}

fn not_applied(failures: &[String]) -> String {
    format!(
        "{} could not be applied and the other children were: {}; the operator retries with back-off",
        match failures.len() {
            1 => "1 child".to_owned(),
            n => format!("{n} children"),
        },
        failures.join("; ")
    )
}

fn reconciled(observed: &Observed) -> Draft {
    if observed.failures.is_empty() {
        Draft::new(
            "Reconciled",
            Some(true),
            "Applied",
            "every child is applied as the spec asks".to_owned(),
        )
    } else {
        Draft::new(
            "Reconciled",
            Some(false),
            "ApplyFailed",
            not_applied(&observed.failures),
        )
    }
}

fn database_ready(observed: &Observed) -> Draft {
    let database = &observed.database;
    Draft::new(
        "DatabaseReady",
        Some(database.ready),
        database.reason,
        database.message.clone(),
    )
}

fn synced(observed: &Observed) -> Draft {
    match &observed.instance {
        Err(why) => Draft::new(
            "Synced",
            None,
            "StatusUnavailable",
            format!("the instance's /status could not be read: {why}"),
        ),
        Ok(report) => {
            let behind = report.head_block.saturating_sub(report.synced_block);
            if behind <= SYNC_TOLERANCE_BLOCKS {
                Draft::new(
                    "Synced",
                    Some(true),
                    "CaughtUp",
                    format!("synced to block {}", report.synced_block),
                )
            } else {
                Draft::new(
                    "Synced",
                    Some(false),
                    "CatchingUp",
                    format!(
                        "block {} of {}, {behind} blocks behind",
                        report.synced_block, report.head_block
                    ),
                )
            }
        }
    }
}

fn upgrading(observed: &Observed, rolled_out: bool, lagging: bool, upgrade: bool) -> Draft {
    let target = &observed.target_version;
    if observed.deployment.is_none() && !upgrade {
        // The first rollout migrates too, but there is no earlier version to upgrade from.
        return Draft::new(
            "Upgrading",
            Some(false),
            "Installing",
            format!("version {target} is being installed; there is no earlier version"),
        );
    }
    match &observed.migration {
        Some((version, JobState::Running)) => {
            return Draft::new(
                "Upgrading",
                Some(true),
                "Migrating",
                format!("migrating the database to version {version} before the rollout"),
            );
        }
        Some((version, JobState::Failed(_))) => {
            return Draft::new(
                "Upgrading",
                Some(true),
                "MigrationFailed",
                format!("the upgrade to version {version} is stopped because its migration failed"),
            );
        }
        Some((_, JobState::Complete)) | None => {}
    }
    if observed.upgrade_queued {
        return Draft::new(
            "Upgrading",
            Some(true),
            "Queued",
            format!(
                "version {target} waits for an upgrade slot: the operator upgrades a limited number of cooperatives at once (--max-concurrent-upgrades)"
            ),
        );
    }
    if let Some((running, image)) = &observed.postgres_queued {
        return Draft::new(
            "Upgrading",
            Some(true),
            "Queued",
            format!(
                "PostgreSQL image {image} waits for an upgrade slot; the database runs {running} meanwhile: the operator upgrades a limited number of cooperatives at once (--max-concurrent-upgrades)"
            ),
        );
    }
    if upgrade && !rolled_out {
        return Draft::new(
            "Upgrading",
            Some(true),
            "RollingOut",
            format!("rolling out version {target}"),
        );
    }
    if upgrade && lagging {
        return Draft::new(
            "Upgrading",
            Some(true),
            "CatchingUp",
            format!("version {target} is rolled out and catching up with the chain"),
        );
    }
    Draft::new(
        "Upgrading",
        Some(false),
        "UpToDate",
        format!("version {target} is the requested version"),
    )
}

fn phase(observed: &Observed, conditions: &[Condition]) -> Phase {
    let is_true = |type_: &str| {
        conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == "True")
    };
    if observed.invalid.is_some() {
        Phase::Failed
    } else if is_true("Degraded") {
        Phase::Degraded
    } else if observed.suspended {
        Phase::Suspended
    } else if is_true("Upgrading") {
        Phase::Upgrading
    } else if is_true("Ready") {
        Phase::Running
    } else {
        Phase::Provisioning
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn database_ready_state() -> DatabaseState {
        DatabaseState {
            ready: true,
            failed: false,
            reason: "PodsReady",
            message: "the database pod is ready".to_owned(),
        }
    }

    fn deployment(version: &str, ready: i32) -> DeploymentState {
        DeploymentState {
            version: version.to_owned(),
            replicas: 1,
            ready,
            updated: ready,
            observed: true,
        }
    }

    fn running() -> Observed {
        Observed {
            invalid: None,
            database: database_ready_state(),
            storage: StorageState::AsRequested,
            import: None,
            export_claim_missing: None,
            migration: None,
            deployment: Some(deployment("2.4.1", 1)),
            instance: Ok(InstanceReport {
                synced_block: 1000,
                head_block: 1005,
                usage: None,
            }),
            suspended: false,
            target_version: "2.4.1".to_owned(),
            failures: Vec::new(),
            upgrade_queued: false,
            postgres_queued: None,
            postgres_major_refused: None,
        }
    }

    /// `(type, status, reason)` of every condition.
    type ConditionSummary = Vec<(String, String, String)>;

    /// The conditions' summary, then the phase and version.
    fn summary(status: &CooperativeStatus) -> (ConditionSummary, Option<Phase>, Option<String>) {
        let conditions = status
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
            .collect();
        (conditions, status.phase, status.version.clone())
    }

    /// `(type, status, reason)` of every condition of a running instance that caught up, in
    /// the order the status lists them.
    const STEADY: [(&str, &str, &str); 7] = [
        ("Ready", "True", "InstanceReady"),
        ("Progressing", "False", "Stable"),
        ("Degraded", "False", "AsExpected"),
        ("DatabaseReady", "True", "PodsReady"),
        ("Synced", "True", "CaughtUp"),
        ("Upgrading", "False", "UpToDate"),
        ("Reconciled", "True", "Applied"),
    ];

    /// Checks all seven conditions, the phase and the version of the status of `observed`. A
    /// case lists only the conditions that differ from [`STEADY`], so what it changes stands
    /// out; every other condition must be as in [`STEADY`].
    fn check(
        observed: Observed,
        previous_version: Option<&str>,
        changed: &[(&str, &str, &str)],
        phase: Phase,
        version: Option<&str>,
    ) {
        // A misspelt type would otherwise be ignored rather than checked.
        for (type_, _, _) in changed {
            assert!(
                STEADY.iter().any(|(steady, _, _)| steady == type_),
                "no condition {type_}"
            );
        }
        let previous = CooperativeStatus {
            version: previous_version.map(str::to_owned),
            ..CooperativeStatus::default()
        };
        let status = status(&observed, Some(3), Some(&previous), None, &at(100));
        let expected_conditions = STEADY
            .iter()
            .map(|steady| {
                let (t, s, r) = changed
                    .iter()
                    .find(|(type_, _, _)| *type_ == steady.0)
                    .unwrap_or(steady);
                ((*t).to_owned(), (*s).to_owned(), (*r).to_owned())
            })
            .collect();
        assert_eq!(
            summary(&status),
            (expected_conditions, Some(phase), version.map(str::to_owned)),
            "{observed:?}"
        );
    }

    #[test]
    fn a_missing_export_volume_is_named_until_it_appears() {
        let importing = Observed {
            import: Some(JobState::Running),
            deployment: None,
            instance: Err("no instance pod is ready".to_owned()),
            ..running()
        };
        let waiting = Observed {
            export_claim_missing: Some("move-export".to_owned()),
            ..importing.clone()
        };
        let first = status(&waiting, Some(1), None, None, &at(100));
        let reason = |status: &CooperativeStatus, type_: &str| {
            status
                .conditions
                .iter()
                .find(|c| c.type_ == type_)
                .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        };
        let (state, why, message) = reason(&first, "Importing").expect("an Importing condition");
        assert_eq!(
            (state.as_str(), why.as_str()),
            ("False", "ExportVolumeMissing")
        );
        assert!(message.contains("claim move-export"), "{message}");
        assert_eq!(
            reason(&first, "Ready").map(|(s, r, _)| (s, r)),
            Some(("False".to_owned(), "ExportVolumeMissing".to_owned()))
        );
        let notes = events(&[], &first.conditions);
        assert!(
            notes.iter().any(|n| n.severity == Severity::Warning
                && n.reason == "ExportVolumeMissing"
                && n.note.contains("move-export")),
            "{notes:?}"
        );

        let second = status(&importing, Some(1), Some(&first), None, &at(200));
        assert_eq!(
            reason(&second, "Importing").map(|(s, r, _)| (s, r)),
            Some(("True".to_owned(), "Running".to_owned()))
        );
        assert_eq!(
            reason(&second, "Ready").map(|(s, r, _)| (s, r)),
            Some(("False".to_owned(), "Importing".to_owned()))
        );
        assert_eq!(
            reason(
                &status(&running(), Some(1), Some(&second), None, &at(300)),
                "Importing"
            ),
            None
        );
    }

    #[test]
    fn running_instance_is_ready() {
        check(running(), None, &[], Phase::Running, Some("2.4.1"));
    }

    #[test]
    fn database_volume_states() {
        let with = |storage| Observed {
            storage,
            ..running()
        };
        let claim = || "data-voskhod-db-0".to_owned();
        check(
            with(StorageState::Expanding {
                claim: claim(),
                from: "10Gi".to_owned(),
                to: "20Gi".to_owned(),
            }),
            Some("2.4.1"),
            &[("Progressing", "True", "ExpandingStorage")],
            Phase::Running,
            Some("2.4.1"),
        );
        let refusals = [
            (
                StorageState::ShrinkRefused {
                    claim: claim(),
                    current: "20Gi".to_owned(),
                    requested: "15Gi".to_owned(),
                },
                "StorageShrinkRefused",
            ),
            (
                StorageState::NotExpandable {
                    claim: claim(),
                    current: "10Gi".to_owned(),
                    requested: "20Gi".to_owned(),
                    refusal: "forbidden".to_owned(),
                },
                "StorageNotExpandable",
            ),
            (
                StorageState::ClassChangeRefused {
                    claim: claim(),
                    current: "standard".to_owned(),
                    requested: "fast".to_owned(),
                },
                "StorageClassImmutable",
            ),
        ];
        // A person must act, and the instance keeps running meanwhile.
        for (storage, reason) in refusals {
            check(
                with(storage),
                Some("2.4.1"),
                &[("Degraded", "True", reason)],
                Phase::Degraded,
                Some("2.4.1"),
            );
        }
    }

    #[test]
    fn new_cooperative_waits_for_its_database() {
        let observed = Observed {
            database: DatabaseState {
                ready: false,
                failed: false,
                reason: "PodsNotReady",
                message: "the database pod is starting".to_owned(),
            },
            deployment: Some(deployment("2.4.1", 0)),
            instance: Err("no instance pod is ready".to_owned()),
            ..running()
        };
        check(
            observed,
            None,
            &[
                ("Ready", "False", "DatabaseNotReady"),
                ("Progressing", "True", "ProvisioningDatabase"),
                ("DatabaseReady", "False", "PodsNotReady"),
                ("Synced", "Unknown", "StatusUnavailable"),
            ],
            Phase::Provisioning,
            None,
        );
    }

    #[test]
    fn upgrade_migrates_then_rolls_out_then_completes() {
        let migrating = Observed {
            migration: Some(("2.5.0".to_owned(), JobState::Running)),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        check(
            migrating,
            Some("2.4.1"),
            &[
                ("Progressing", "True", "Migrating"),
                ("Upgrading", "True", "Migrating"),
            ],
            Phase::Upgrading,
            Some("2.4.1"),
        );
        let rolling = Observed {
            migration: Some(("2.5.0".to_owned(), JobState::Complete)),
            deployment: Some(DeploymentState {
                updated: 0,
                ..deployment("2.5.0", 1)
            }),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        check(
            rolling,
            Some("2.4.1"),
            &[
                ("Progressing", "True", "RollingOut"),
                ("Upgrading", "True", "RollingOut"),
            ],
            Phase::Upgrading,
            Some("2.4.1"),
        );
        let done = Observed {
            deployment: Some(deployment("2.5.0", 1)),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        check(done, Some("2.4.1"), &[], Phase::Running, Some("2.5.0"));
    }

    #[test]
    fn upgrade_completes_only_once_the_new_version_caught_up() {
        let lagging = Observed {
            deployment: Some(deployment("2.5.0", 1)),
            instance: Ok(InstanceReport {
                synced_block: 100,
                head_block: 500,
                usage: None,
            }),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        check(
            lagging.clone(),
            Some("2.4.1"),
            &[
                ("Synced", "False", "CatchingUp"),
                ("Upgrading", "True", "CatchingUp"),
            ],
            Phase::Upgrading,
            Some("2.4.1"),
        );
        // Lagging without an upgrade (a fresh start) is not an upgrade.
        check(
            lagging,
            None,
            &[("Synced", "False", "CatchingUp")],
            Phase::Running,
            Some("2.5.0"),
        );
    }

    #[test]
    fn first_rollout_migrates_before_the_instance_exists() {
        let installing = |job| Observed {
            migration: Some(("2.4.1".to_owned(), job)),
            deployment: None,
            instance: Err("no instance pod is ready".to_owned()),
            ..running()
        };
        check(
            installing(JobState::Running),
            None,
            &[
                ("Ready", "False", "Migrating"),
                ("Progressing", "True", "Migrating"),
                ("Synced", "Unknown", "StatusUnavailable"),
                ("Upgrading", "False", "Installing"),
            ],
            Phase::Provisioning,
            None,
        );
        // Completed: the Deployment is created in the same reconcile; until it is observed
        // the instance is being created.
        check(
            installing(JobState::Complete),
            None,
            &[
                ("Ready", "False", "InstanceNotCreated"),
                ("Progressing", "True", "RollingOut"),
                ("Synced", "Unknown", "StatusUnavailable"),
                ("Upgrading", "False", "Installing"),
            ],
            Phase::Provisioning,
            None,
        );
        let failed = installing(JobState::Failed("BackoffLimitExceeded".to_owned()));
        check(
            failed.clone(),
            None,
            &[
                ("Ready", "False", "MigrationFailed"),
                ("Degraded", "True", "MigrationFailed"),
                ("Synced", "Unknown", "StatusUnavailable"),
                ("Upgrading", "False", "Installing"),
            ],
            Phase::Degraded,
            None,
        );
        // The failure is a Warning Event that says the instance is not started.
        let before = status(
            &installing(JobState::Running),
            Some(1),
            None,
            None,
            &at(100),
        );
        let after = status(&failed, Some(1), Some(&before), None, &at(200));
        let notes = events(&before.conditions, &after.conditions);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(
            (notes[0].severity, notes[0].reason.as_str()),
            (Severity::Warning, "MigrationFailed")
        );
        assert!(
            notes[0]
                .note
                .contains("the migration Job to version 2.4.1 failed (BackoffLimitExceeded); the instance is not started"),
            "{}",
            notes[0].note
        );
    }

    #[test]
    fn failed_migration_stops_the_rollout() {
        let observed = Observed {
            migration: Some((
                "2.5.0".to_owned(),
                JobState::Failed("BackoffLimitExceeded".to_owned()),
            )),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        check(
            observed,
            Some("2.4.1"),
            &[
                ("Degraded", "True", "MigrationFailed"),
                ("Upgrading", "True", "MigrationFailed"),
            ],
            Phase::Degraded,
            Some("2.4.1"),
        );
    }

    #[test]
    fn suspended_and_invalid_and_lagging() {
        let suspended = Observed {
            suspended: true,
            deployment: Some(DeploymentState {
                replicas: 0,
                ..deployment("2.4.1", 0)
            }),
            instance: Err("no instance pod is ready".to_owned()),
            ..running()
        };
        check(
            suspended,
            Some("2.4.1"),
            &[
                ("Ready", "False", "Suspended"),
                ("Synced", "Unknown", "StatusUnavailable"),
            ],
            Phase::Suspended,
            Some("2.4.1"),
        );
        let invalid = Observed {
            invalid: Some("coopname must not end with '.'".to_owned()),
            ..running()
        };
        check(
            invalid,
            None,
            &[
                ("Ready", "False", "InvalidSpec"),
                ("Progressing", "False", "InvalidSpec"),
            ],
            Phase::Failed,
            Some("2.4.1"),
        );
        let running_status = status(&running(), Some(3), None, None, &at(50));
        let refused = refused_status(
            Some(&running_status),
            Some(4),
            &["host a.example is not under coops.example.org".to_owned()],
            &at(100),
        );
        assert_eq!(
            summary(&refused),
            (
                [
                    ("Ready", "False", "NotAllowed"),
                    ("Progressing", "False", "NotAllowed"),
                    STEADY[2],
                    STEADY[3],
                    STEADY[4],
                    STEADY[5],
                    STEADY[6],
                ]
                .iter()
                .map(|(t, s, r)| ((*t).to_owned(), (*s).to_owned(), (*r).to_owned()))
                .collect(),
                Some(Phase::Failed),
                Some("2.4.1".to_owned())
            )
        );
        assert_eq!(refused.observed_generation, Some(4));
        assert_eq!(refused.synced_block, running_status.synced_block);
        let ready = refused.conditions[0].clone();
        assert_eq!(
            ready.message,
            "hosting staff do not allow this spec: host a.example is not under coops.example.org; nothing is changed until it asks for what is allowed"
        );
        assert_eq!(
            events(&[], &[ready])
                .into_iter()
                .map(|n| (n.severity, n.reason))
                .collect::<Vec<_>>(),
            [(Severity::Warning, "NotAllowed".to_owned())]
        );
        let lagging = Observed {
            instance: Ok(InstanceReport {
                synced_block: 100,
                head_block: 5000,
                usage: None,
            }),
            ..running()
        };
        let status = status(&lagging, Some(3), None, None, &at(100));
        let synced = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Synced")
            .unwrap();
        assert_eq!(
            (synced.status.as_str(), synced.reason.as_str()),
            ("False", "CatchingUp")
        );
        assert_eq!(synced.message, "block 100 of 5000, 4900 blocks behind");
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let first = status(&running(), Some(3), None, None, &at(100));
        let second = status(&running(), Some(4), Some(&first), None, &at(200));
        assert!(
            second
                .conditions
                .iter()
                .all(|c| c.last_transition_time == at(100))
        );
        assert!(
            second
                .conditions
                .iter()
                .all(|c| c.observed_generation == Some(4))
        );
        let broken = Observed {
            migration: Some((
                "2.5.0".to_owned(),
                JobState::Failed("DeadlineExceeded".to_owned()),
            )),
            ..running()
        };
        let third = status(&broken, Some(5), Some(&second), None, &at(300));
        let times: Vec<(&str, &Time)> = third
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), &c.last_transition_time))
            .collect();
        assert_eq!(times[2], ("Degraded", &at(300)));
        assert_eq!(times[0], ("Ready", &at(100)));
    }

    #[test]
    fn events_follow_condition_changes() {
        let first = status(&running(), Some(3), None, None, &at(100));
        let reasons = |notes: Vec<EventNote>| -> Vec<(Severity, String)> {
            notes.into_iter().map(|n| (n.severity, n.reason)).collect()
        };
        assert_eq!(
            reasons(events(&[], &first.conditions)),
            vec![(Severity::Normal, "Ready".to_owned())]
        );
        assert_eq!(
            reasons(events(&first.conditions, &first.conditions)),
            vec![]
        );
        let migrating = Observed {
            migration: Some(("2.5.0".to_owned(), JobState::Running)),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        let second = status(&migrating, Some(4), Some(&first), None, &at(200));
        assert_eq!(
            reasons(events(&first.conditions, &second.conditions)),
            vec![(Severity::Normal, "UpgradeStarted".to_owned())]
        );
        let failed = Observed {
            migration: Some((
                "2.5.0".to_owned(),
                JobState::Failed("BackoffLimitExceeded".to_owned()),
            )),
            ..migrating
        };
        let third = status(&failed, Some(4), Some(&second), None, &at(300));
        assert_eq!(
            reasons(events(&second.conditions, &third.conditions)),
            vec![(Severity::Warning, "MigrationFailed".to_owned())]
        );
        let done = Observed {
            deployment: Some(deployment("2.5.0", 1)),
            target_version: "2.5.0".to_owned(),
            ..running()
        };
        let fourth = status(&done, Some(4), Some(&third), None, &at(400));
        assert_eq!(
            reasons(events(&third.conditions, &fourth.conditions)),
            vec![(Severity::Normal, "UpgradeCompleted".to_owned())]
        );
    }

    #[test]
    fn duplicate_cooperative_is_failed_with_a_clear_message() {
        let conflict = Conflict::Namespace {
            namespace: "coop-a".to_owned(),
            winner: "first".to_owned(),
        };
        let status = duplicate_status(&conflict, Some(1), None, &at(100));
        assert_eq!(status.phase, Some(Phase::Failed));
        let ready = &status.conditions[0];
        assert_eq!(
            (
                ready.type_.as_str(),
                ready.status.as_str(),
                ready.reason.as_str()
            ),
            ("Ready", "False", "DuplicateCooperative")
        );
        assert!(
            ready
                .message
                .contains("namespace coop-a already has Cooperative first")
        );
    }

    #[test]
    fn children_the_api_server_refused_are_named() {
        let one = Observed {
            failures: vec!["apply NetworkPolicy voskhod: forbidden".to_owned()],
            ..running()
        };
        check(
            one.clone(),
            Some("2.4.1"),
            &[
                ("Degraded", "True", "ApplyFailed"),
                ("Reconciled", "False", "ApplyFailed"),
            ],
            Phase::Degraded,
            Some("2.4.1"),
        );
        let status = status(&one, Some(3), None, None, &at(100));
        let reconciled = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Reconciled")
            .expect("a Reconciled condition");
        assert_eq!(
            reconciled.message,
            "1 child could not be applied and the other children were: apply NetworkPolicy voskhod: forbidden; the operator retries with back-off"
        );
        let two = Observed {
            failures: vec![
                "apply Ingress voskhod: a".to_owned(),
                "apply Service voskhod: b".to_owned(),
            ],
            ..running()
        };
        let status = super::status(&two, Some(3), None, None, &at(100));
        let degraded = &status.conditions[2];
        assert!(
            degraded
                .message
                .starts_with("2 children could not be applied")
                && degraded
                    .message
                    .contains("apply Ingress voskhod: a; apply Service voskhod: b"),
            "{}",
            degraded.message
        );
        // A more specific cause of degradation comes first; Reconciled still says it.
        let failed_migration = Observed {
            migration: Some(("2.5.0".to_owned(), JobState::Failed("Deadline".to_owned()))),
            target_version: "2.5.0".to_owned(),
            ..two
        };
        let status = super::status(&failed_migration, Some(3), None, None, &at(100));
        let reasons: Vec<(&str, &str)> = status
            .conditions
            .iter()
            .map(|c| (c.type_.as_str(), c.reason.as_str()))
            .filter(|(t, _)| *t == "Degraded" || *t == "Reconciled")
            .collect();
        assert_eq!(
            reasons,
            [
                ("Degraded", "MigrationFailed"),
                ("Reconciled", "ApplyFailed")
            ]
        );
    }

    #[test]
    fn failed_reconcile_keeps_the_last_observation() {
        let steady = status(&running(), Some(3), None, None, &at(100));
        let failed = reconcile_failed(
            Some(&steady),
            Some(4),
            "GetFailed",
            "get Deployment voskhod: connection refused".to_owned(),
            &at(200),
        );
        assert_eq!(failed.observed_generation, Some(3));
        assert_eq!(failed.phase, Some(Phase::Running));
        assert_eq!(failed.conditions[..6], steady.conditions[..6]);
        let reconciled = &failed.conditions[6];
        assert_eq!(
            (
                reconciled.type_.as_str(),
                reconciled.status.as_str(),
                reconciled.reason.as_str(),
                reconciled.observed_generation,
                &reconciled.last_transition_time,
            ),
            ("Reconciled", "False", "GetFailed", Some(4), &at(200))
        );
        assert_eq!(
            reconciled.message,
            "the last reconcile failed and is retried with back-off: get Deployment voskhod: connection refused"
        );
        let notes = events(&steady.conditions, &failed.conditions);
        assert_eq!(
            notes
                .iter()
                .map(|n| (n.severity, n.reason.as_str()))
                .collect::<Vec<_>>(),
            [(Severity::Warning, "ReconcileFailed")]
        );
        // A first reconcile that fails leaves a status with only that condition.
        let first = reconcile_failed(None, Some(1), "ApplyFailed", "x".to_owned(), &at(300));
        assert_eq!(first.conditions.len(), 1);
        assert_eq!(first.phase, None);
        // The next complete reconcile sets it back to True.
        let recovered = status(&running(), Some(4), Some(&failed), None, &at(400));
        assert_eq!(recovered.conditions[6].status, "True");
        assert_eq!(recovered.conditions[6].last_transition_time, at(400));
    }

    #[test]
    fn bytes_read_as_quantities() {
        let cases = [
            (0, "0"),
            (1023, "1023"),
            (1024, "1.0Ki"),
            (8_600_000, "8.2Mi"),
            (129_000_000, "123Mi"),
            (1_610_612_736, "1.5Gi"),
            (u64::MAX, "16Ei"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(readable_bytes(bytes), expected, "{bytes}");
        }
    }

    #[test]
    fn usage_comes_from_the_report_and_outlives_an_unreadable_instance() {
        let usage = InstanceUsage {
            database_bytes: 8_600_000,
            documents: 12,
            api_requests: 340,
            bytes_sent: 91_000,
        };
        let reporting = Observed {
            instance: Ok(InstanceReport {
                synced_block: 1000,
                head_block: 1005,
                usage: Some(usage),
            }),
            ..running()
        };
        let first = status(&reporting, Some(3), None, None, &at(100));
        assert_eq!(
            first.usage,
            Some(CooperativeUsage {
                storage_bytes: 8_600_000,
                storage: "8.2Mi".to_owned(),
                documents: 12,
                api_requests: 340,
                bytes_sent: 91_000,
            })
        );
        let unreadable = Observed {
            instance: Err("connection refused".to_owned()),
            ..running()
        };
        let second = status(&unreadable, Some(3), Some(&first), None, &at(200));
        assert_eq!(second.usage, first.usage);
        assert_eq!(second.synced_block, None);
        // An instance that reports no usage keeps the last known one too.
        let third = status(&running(), Some(3), Some(&first), None, &at(300));
        assert_eq!(third.usage, first.usage);
        assert_eq!(
            status(&running(), Some(3), None, None, &at(300)).usage,
            None
        );
    }

    #[test]
    fn a_queued_upgrade_keeps_the_old_version_serving() {
        let queued = Observed {
            target_version: "2.5.0".to_owned(),
            upgrade_queued: true,
            postgres_queued: None,
            ..running()
        };
        check(
            queued,
            Some("2.4.1"),
            &[
                ("Progressing", "True", "UpgradeQueued"),
                ("Upgrading", "True", "Queued"),
            ],
            Phase::Upgrading,
            Some("2.4.1"),
        );
    }

    #[test]
    fn another_postgres_major_is_refused_and_said() {
        let refused = Observed {
            postgres_major_refused: Some(("postgres:17.6".to_owned(), "postgres:18.1".to_owned())),
            ..running()
        };
        check(
            refused.clone(),
            Some("2.4.1"),
            &[("Degraded", "True", "PostgresMajorChangeRefused")],
            Phase::Degraded,
            Some("2.4.1"),
        );
        let status = status(&refused, Some(3), None, None, &at(100));
        assert!(
            status.conditions[2]
                .message
                .starts_with("the builtin database runs postgres:17.6; postgres:18.1 is another PostgreSQL major version"),
            "{}",
            status.conditions[2].message
        );
    }
}
