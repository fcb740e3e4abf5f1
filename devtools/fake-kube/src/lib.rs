//! `mono-fake-kube`: an in-memory fake Kubernetes API server for tests and local development.
//!
//! It is a development and test tool, never a cluster: it stores objects in memory, runs no
//! controllers except a minimal owner-reference garbage collector and CRD registration, and
//! schedules nothing. Tests "play the kubelet" through [`FakeKube`] (marking Deployments,
//! StatefulSets and Jobs ready, complete or failed) and read objects directly for assertions.
//! A [`Kubelet`] can also run a Job's pods with a [`Program`] standing in for the image, against
//! simulated volumes and with the real kubelet's termination-log mount and messages; a Job whose
//! claim does not exist keeps a `Pending`, unschedulable pod until the claim is created.
//!
//! What it serves over plain HTTP on loopback, enough for a kube-rs client, `Api<K>`,
//! `kube::runtime::Controller` and discovery:
//! - discovery (`/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`, `/version`);
//! - get, list and watch (label and field selectors, resourceVersion, bookmarks, `410 Gone`
//!   for compacted history), create, replace with optimistic concurrency, delete with
//!   finalizers, JSON merge patch, JSON patch, a strategic-merge subset and server-side apply;
//! - the `/status` subresource, `metadata.generation`, owner-reference garbage collection and
//!   CRDs registered through the API;
//! - namespace lifecycle: `default`, `kube-system`, `kube-public` and `kube-node-lease` exist
//!   from the start, nothing is created in a missing (`404`) or terminating (`403`) namespace,
//!   and deleting a namespace deletes its content and then the namespace;
//! - the real API server's refusals of changes to immutable fields (a Job's `spec.template`
//!   and `spec.selector`, a StatefulSet's spec but for its few mutable fields, a claim's spec
//!   but for its requests) and of claims that shrink or grow without an expandable
//!   StorageClass;
//! - the CEL rules (`x-kubernetes-validations`) of CRDs on every write of a custom resource,
//!   evaluated with kube-cel after the schema's defaults (422 with each failed rule);
//! - ValidatingAdmissionPolicies and their bindings on every create, update and delete of a
//!   [`User`]'s request (match rules and conditions, variables, `namespaceObject`, params
//!   through `paramKind` and `paramRef`, `authorizer` checks decided by the stored RBAC
//!   objects, `failurePolicy`, messages and reasons), on the same CEL interpreter; users are
//!   told apart by bearer tokens the fake hands out ([`FakeKube::client_as`]), a request
//!   without one being the administrator's;
//! - the logs of pods the [`Kubelet`] ran (`pods/<name>/log`, with `container`, `tailLines`
//!   and `limitBytes`);
//! - errors as Kubernetes `Status` bodies.
//!
//! Deliberate simplifications: `limit` is ignored (lists are never paginated), apply conflicts
//! between managers are not detected (every apply behaves as if forced), deletion propagation is
//! always background, `dryRun` requests are refused rather than silently applied, and there is
//! no authorization of requests (RBAC objects only answer policies' `authorizer`), no
//! admission but for claim resizes, namespace lifecycle and ValidatingAdmissionPolicies, no
//! defaulting but for the CEL rules' view of an object, and no OpenAPI schema validation.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let fake = mono_fake_kube::FakeKube::start().await?;
//! let client = fake.client()?;
//! # Ok(()) }
//! ```

mod admission;
mod container;
mod error;
mod handle;
mod kubelet;
mod node;
mod patch;
mod rbac;
mod resource;
mod rules;
mod select;
mod server;
mod store;
mod users;
mod validate;

pub use container::{Container, Program, WriteError};
pub use error::{Cause, CauseKind, Error, Result};
pub use handle::{FakeKube, Options, StartError};
pub use kubelet::{JobOutcome, Kubelet};
pub use resource::ResourceType;
pub use users::User;
