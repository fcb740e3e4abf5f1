//! Requests the reconciler makes of the API server, and their errors.

use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::children::{Child, MANAGER};
use crate::{Error, Result, Verb};

/// Applies `child` by server-side apply; returns the object the API server stored.
pub(crate) async fn apply_child(client: &Client, namespace: &str, child: &Child) -> Result<Value> {
    let resource = child.kind.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let applied = api
        .patch(
            &child.name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&child.object),
        )
        .await
        .map_err(kube_error(Verb::Apply, &resource.kind, &child.name))?;
    serde_json::to_value(applied).map_err(Error::Serialize)
}

/// The object `child` names as it exists, if it does.
pub(crate) async fn get_child(
    client: &Client,
    namespace: &str,
    child: &Child,
) -> Result<Option<Value>> {
    let resource = child.kind.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let found = api.get_opt(&child.name).await.map_err(kube_error(
        Verb::Get,
        &resource.kind,
        &child.name,
    ))?;
    found
        .map(|object| serde_json::to_value(object).map_err(Error::Serialize))
        .transpose()
}

/// The Job `child` as it exists, created from `child` when it does not.
///
/// An existing Job is never applied again: its pod template cannot change (the API server
/// refuses that with 422), and one that ran must stay as it ran. A spec change reaches a Job
/// through a new one (another version's migration), or once someone deletes it to retry.
pub(crate) async fn ensure_job(client: &Client, namespace: &str, child: &Child) -> Result<Value> {
    match get_child(client, namespace, child).await? {
        Some(job) => Ok(job),
        None => apply_child(client, namespace, child).await,
    }
}

pub(crate) fn parse<K: DeserializeOwned>(value: Value) -> Result<K> {
    serde_json::from_value(value).map_err(Error::Serialize)
}

pub(crate) fn scoped_api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

pub(crate) fn kube_error<'a>(
    verb: Verb,
    kind: &'a str,
    name: &'a str,
) -> impl FnOnce(kube::Error) -> Error + 'a {
    move |source| Error::Kube {
        verb,
        kind: kind.to_owned(),
        name: name.to_owned(),
        source: Box::new(source),
    }
}

/// The current time at whole seconds, as the API server stores it.
pub(crate) fn now() -> Time {
    let now = Timestamp::now();
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
