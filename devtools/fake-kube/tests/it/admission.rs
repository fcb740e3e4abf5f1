//! ValidatingAdmissionPolicies, their bindings and the users requests come from.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use mono_fake_kube::User;
use serde_json::{Value, json};

use crate::{api_error, config_map, start};

/// A policy on ConfigMaps, for everyone but `system:masters`: a `color` label must be one the
/// namespace's `example.org/colors` annotation lists, and a `keep: "true"` annotation holds
/// deletion.
fn policy() -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "colors"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["configmaps"],
            }]},
            "matchConditions": [{
                "name": "not-admins",
                "expression": "!request.userInfo.groups.exists(g, g == 'system:masters')",
            }],
            "variables": [
                {"name": "annotations", "expression": "has(namespaceObject.metadata.annotations) ? namespaceObject.metadata.annotations : {}"},
                {"name": "colors", "expression": "'example.org/colors' in variables.annotations ? variables.annotations['example.org/colors'].split(',') : []"},
            ],
            "validations": [
                {
                    "expression": "request.operation == 'DELETE' || !has(object.metadata.labels) || !('color' in object.metadata.labels) || object.metadata.labels['color'] in variables.colors",
                    "messageExpression": "'color ' + object.metadata.labels['color'] + ' is not one of ' + variables.colors.join(', ')",
                    "reason": "Forbidden",
                },
                {
                    "expression": "request.operation != 'DELETE' || !has(oldObject.metadata.annotations) || !('keep' in oldObject.metadata.annotations)",
                    "message": "kept",
                    "reason": "Invalid",
                },
            ],
        },
    })
}

fn binding(namespace_labels: Value) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "colors-binding"},
        "spec": {
            "policyName": "colors",
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": namespace_labels}},
        },
    })
}

async fn create(client: &kube::Client, plural: &str, kind: &str, object: Value) {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind),
        plural,
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(object).expect("object"),
    )
    .await
    .expect("create admission object");
}

fn labelled(name: &str, color: &str) -> ConfigMap {
    let mut map = config_map(name, &[("color", color)], "v1");
    if name == "kept" {
        map.metadata.annotations = Some([("keep".to_owned(), "true".to_owned())].into());
    }
    map
}

#[tokio::test]
async fn policies_judge_requests_by_user_object_and_namespace() {
    let (fake, admin) = start().await;
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .patch(
            "coop",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {
                "labels": {"tenant": "true"},
                "annotations": {"example.org/colors": "red,green"},
            }})),
        )
        .await
        .expect("label the tenant namespace");
    create(
        &admin,
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        policy(),
    )
    .await;
    create(
        &admin,
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        binding(json!({"tenant": "true"})),
    )
    .await;

    let tenant = fake
        .client_as(User::new("alice", &["tenants"]))
        .expect("tenant client");
    let maps: Api<ConfigMap> = Api::namespaced(tenant.clone(), "coop");
    maps.create(&PostParams::default(), &labelled("fine", "red"))
        .await
        .expect("an allowed color");
    let refused = maps
        .create(&PostParams::default(), &labelled("loud", "blue"))
        .await;
    let Err(kube::Error::Api(status)) = refused else {
        panic!("blue was admitted: {refused:?}");
    };
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "configmaps \"loud\" is forbidden: ValidatingAdmissionPolicy 'colors' with binding \
         'colors-binding' denied request: color blue is not one of red, green"
    );
    let recolored = maps
        .patch(
            "fine",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"color": "blue"}}})),
        )
        .await;
    assert_eq!(
        api_error(recolored),
        (403, "Forbidden".to_owned()),
        "updates too"
    );

    // Administrators are not matched; namespaces the binding does not select are not either.
    let admin_maps: Api<ConfigMap> = Api::namespaced(admin.clone(), "coop");
    admin_maps
        .create(&PostParams::default(), &labelled("kept", "blue"))
        .await
        .expect("system:masters is exempt");
    let elsewhere: Api<ConfigMap> = Api::namespaced(tenant.clone(), "other");
    elsewhere
        .create(&PostParams::default(), &labelled("free", "blue"))
        .await
        .expect("a namespace the binding does not select");

    // A delete sees the stored object as oldObject; the reason Invalid gives 422.
    assert_eq!(
        api_error(maps.delete("kept", &DeleteParams::default()).await),
        (422, "Invalid".to_owned())
    );
    maps.delete("fine", &DeleteParams::default())
        .await
        .expect("delete an unkept map");

    // A token the fake never handed out is refused before anything else.
    let mut config = kube::Config::new(fake.url().parse().expect("url"));
    config.auth_info.token = Some("stolen".to_owned().into());
    let stranger: Api<ConfigMap> =
        Api::namespaced(kube::Client::try_from(config).expect("client"), "coop");
    assert_eq!(
        api_error(stranger.get("kept").await),
        (401, "Unauthorized".to_owned())
    );
}

/// The message of an API error, with its code.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A policy on tenants' ConfigMaps (every user but `system:masters`) whose validations are
/// `validations`, with `extra` merged into its spec.
fn tenant_policy(name: &str, validations: Value, extra: Value) -> Value {
    let mut policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"],
            }]},
            "matchConditions": [{
                "name": "not-admins",
                "expression": "!request.userInfo.groups.exists(g, g == 'system:masters')",
            }],
            "validations": validations,
        },
    });
    if let (Some(spec), Some(extra)) = (policy["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    policy
}

/// A binding of `policy` in every namespace, with `extra` merged into its spec.
fn tenant_binding(policy: &str, extra: Value) -> Value {
    let mut binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": format!("{policy}-binding")},
        "spec": {"policyName": policy, "validationActions": ["Deny"]},
    });
    if let (Some(spec), Some(extra)) = (binding["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    binding
}

/// A ConfigMap of allowed colors, `colors` separated by commas.
fn palette(name: &str, labels: Value, colors: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "data": {"colors": colors},
    }))
    .expect("palette")
}

async fn bind(admin: &kube::Client, policy: Value, binding: Value) {
    create(
        admin,
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        policy,
    )
    .await;
    create(
        admin,
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        binding,
    )
    .await;
}

const COLOR_IN_PARAMS: &str = "!has(object.metadata.labels) || !('color' in object.metadata.labels) || object.metadata.labels['color'] in params.data.colors.split(',')";

#[tokio::test]
async fn params_are_the_objects_a_binding_names() {
    let (fake, admin) = start().await;
    let validations = json!([{
        "expression": COLOR_IN_PARAMS,
        "messageExpression": "'color ' + object.metadata.labels['color'] + ' is not in ' + params.metadata.name",
        "reason": "Forbidden",
    }]);
    let param_kind = json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}});
    bind(
        &admin,
        tenant_policy("palette", validations, param_kind),
        tenant_binding(
            "palette",
            json!({
                "paramRef": {"name": "palette", "namespace": "other", "parameterNotFoundAction": "Deny"},
                // The params are looked up before the match conditions run, so the namespace
                // holding them stays out of the binding's reach.
                "matchResources": {"namespaceSelector": {"matchLabels": {"tenant": "true"}}},
            }),
        ),
    )
    .await;
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces
        .patch(
            "coop",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tenant": "true"}}})),
        )
        .await
        .expect("label the tenant namespace");
    let tenant = fake
        .client_as(User::new("alice", &["tenants"]))
        .expect("tenant client");
    let maps: Api<ConfigMap> = Api::namespaced(tenant.clone(), "coop");

    // `Deny` when the params are missing: a configuration error, which `Fail` turns into 422.
    assert_eq!(
        refusal(
            maps.create(&PostParams::default(), &labelled("early", "red"))
                .await
        ),
        (
            422,
            "configmaps \"early\" is invalid: ValidatingAdmissionPolicy 'palette' with binding \
             'palette-binding' denied request: failed to configure binding: no params found for \
             policy binding with `Deny` parameterNotFoundAction"
                .to_owned()
        )
    );
    let palettes: Api<ConfigMap> = Api::namespaced(admin.clone(), "other");
    palettes
        .create(
            &PostParams::default(),
            &palette("palette", json!({}), "red,green"),
        )
        .await
        .expect("params");
    maps.create(&PostParams::default(), &labelled("fine", "red"))
        .await
        .expect("a color the params list");
    assert_eq!(
        refusal(
            maps.create(&PostParams::default(), &labelled("loud", "blue"))
                .await
        )
        .1,
        "configmaps \"loud\" is forbidden: ValidatingAdmissionPolicy 'palette' with binding \
         'palette-binding' denied request: color blue is not in palette"
    );
}

#[tokio::test]
async fn params_selected_by_labels_in_the_requests_namespace_all_judge() {
    let (fake, admin) = start().await;
    let validations = json!([{"expression": COLOR_IN_PARAMS, "reason": "Forbidden"}]);
    let param_kind = json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}});
    bind(
        &admin,
        tenant_policy("palettes", validations, param_kind),
        tenant_binding(
            "palettes",
            json!({"paramRef": {
                "selector": {"matchExpressions": [{"key": "palette", "operator": "In", "values": ["strict", "loose"]}]},
                "parameterNotFoundAction": "Allow",
            }}),
        ),
    )
    .await;
    for (name, kind, colors) in [
        ("strict", "strict", "red"),
        ("loose", "loose", "red,blue"),
        ("ignored", "none", "green"),
    ] {
        let palettes: Api<ConfigMap> = Api::namespaced(admin.clone(), "coop");
        palettes
            .create(
                &PostParams::default(),
                &palette(name, json!({"palette": kind}), colors),
            )
            .await
            .expect("params");
    }
    let tenant = fake
        .client_as(User::new("alice", &["tenants"]))
        .expect("tenant client");
    let maps: Api<ConfigMap> = Api::namespaced(tenant.clone(), "coop");
    maps.create(&PostParams::default(), &labelled("fine", "red"))
        .await
        .expect("red is in both selected palettes");
    assert_eq!(
        api_error(
            maps.create(&PostParams::default(), &labelled("loud", "blue"))
                .await
        ),
        (403, "Forbidden".to_owned()),
        "the strict palette lacks blue"
    );
    assert_eq!(
        api_error(
            maps.create(&PostParams::default(), &labelled("calm", "green"))
                .await
        ),
        (403, "Forbidden".to_owned()),
        "the unselected palette does not count"
    );
    // No params in this namespace, and `Allow`: the binding admits without evaluating.
    let elsewhere: Api<ConfigMap> = Api::namespaced(tenant.clone(), "elsewhere");
    elsewhere
        .create(&PostParams::default(), &labelled("free", "green"))
        .await
        .expect("no params, Allow");
}

#[tokio::test]
async fn failure_policy_decides_what_an_error_does() {
    let (fake, admin) = start().await;
    // `object.data.missing` fails on a map without that key.
    let failing = json!([{"expression": "object.data.missing == 'x'", "reason": "Forbidden"}]);
    bind(
        &admin,
        tenant_policy("strict", failing.clone(), json!({})),
        tenant_binding("strict", json!({})),
    )
    .await;
    let tenant = fake
        .client_as(User::new("alice", &["tenants"]))
        .expect("tenant client");
    let maps: Api<ConfigMap> = Api::namespaced(tenant.clone(), "coop");
    let (code, message) = refusal(
        maps.create(&PostParams::default(), &labelled("a", "red"))
            .await,
    );
    assert_eq!(code, 422, "an error is no validation's reason: {message}");
    assert!(
        message.contains("expression 'object.data.missing == 'x'' resulted in error"),
        "{message}"
    );

    let policies = kube::api::Api::<DynamicObject>::all_with(
        admin.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingAdmissionPolicy",
            ),
            "validatingadmissionpolicies",
        ),
    );
    policies
        .patch(
            "strict",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"failurePolicy": "Ignore"}})),
        )
        .await
        .expect("ignore errors");
    maps.create(&PostParams::default(), &labelled("a", "red"))
        .await
        .expect("an error is passed over under Ignore");

    // Under Ignore, missing params with `Deny` are passed over too; a false validation still
    // denies.
    bind(
        &admin,
        tenant_policy(
            "lenient",
            json!([{"expression": "!('color' in object.metadata.labels) || object.metadata.labels['color'] != 'blue'", "message": "no blue"}]),
            json!({"failurePolicy": "Ignore", "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}),
        ),
        tenant_binding(
            "lenient",
            json!({"paramRef": {"name": "absent", "parameterNotFoundAction": "Deny"}}),
        ),
    )
    .await;
    maps.create(&PostParams::default(), &labelled("b", "blue"))
        .await
        .expect("missing params are a configuration error, ignored");
    let params: Api<ConfigMap> = Api::namespaced(admin.clone(), "coop");
    params
        .create(&PostParams::default(), &palette("absent", json!({}), ""))
        .await
        .expect("params");
    assert_eq!(
        api_error(
            maps.create(&PostParams::default(), &labelled("c", "blue"))
                .await
        ),
        (422, "Invalid".to_owned()),
        "a validation that is false denies whatever failurePolicy says"
    );
}

#[tokio::test]
async fn the_authorizer_asks_rbac_as_the_requesting_user() {
    let (fake, admin) = start().await;
    let validations = json!([
        {
            "expression": "!has(object.metadata.labels) || !('privileged' in object.metadata.labels) || authorizer.group('').resource('secrets').namespace(object.metadata.namespace).check('delete').allowed()",
            "messageExpression": "'only who may delete secrets may set privileged: ' + authorizer.requestResource.check('create').reason()",
            "reason": "Forbidden",
        },
        {
            "expression": "!has(object.metadata.labels) || !('deployer' in object.metadata.labels) || authorizer.serviceAccount(object.metadata.namespace, object.metadata.labels['deployer']).group('apps').resource('deployments').subresource('scale').namespace(object.metadata.namespace).name('web').check('update').allowed()",
            "message": "that service account may not scale web",
            "reason": "Forbidden",
        },
        {
            "expression": "!has(object.metadata.labels) || !('probe' in object.metadata.labels) || authorizer.path('/healthz').check('get').allowed()",
            "message": "no health checks",
            "reason": "Forbidden",
        },
    ]);
    bind(
        &admin,
        tenant_policy("privileged", validations, json!({})),
        tenant_binding("privileged", json!({})),
    )
    .await;
    let rbac = |plural: &str, kind: &str, namespace: Option<&str>, object: Value| {
        let admin = admin.clone();
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
            plural,
        );
        let namespace = namespace.map(str::to_owned);
        async move {
            let api: Api<DynamicObject> = match namespace {
                Some(namespace) => Api::namespaced_with(admin, &namespace, &resource),
                None => Api::all_with(admin, &resource),
            };
            api.create(
                &PostParams::default(),
                &serde_json::from_value(object).expect("rbac object"),
            )
            .await
            .expect("create rbac object");
        }
    };
    rbac("roles", "Role", Some("coop"), json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "maps", "namespace": "coop"},
        "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
            {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["update"], "resourceNames": ["web"]},
        ],
    }))
    .await;
    rbac(
        "rolebindings",
        "RoleBinding",
        Some("coop"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "tenants-maps", "namespace": "coop"},
            "subjects": [
                {"kind": "Group", "name": "tenants"},
                {"kind": "ServiceAccount", "name": "scaler"},
            ],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "maps"},
        }),
    )
    .await;

    let alice = fake
        .client_as(User::new("alice", &["tenants"]))
        .expect("tenant client");
    let maps: Api<ConfigMap> = Api::namespaced(alice.clone(), "coop");
    assert_eq!(
        refusal(
            maps.create(
                &PostParams::default(),
                &labelled_as("a", "privileged", "yes")
            )
            .await
        )
        .1,
        "configmaps \"a\" is forbidden: ValidatingAdmissionPolicy 'privileged' with binding \
         'privileged-binding' denied request: only who may delete secrets may set privileged: \
         RBAC: allowed by RoleBinding \"tenants-maps/coop\" of Role \"maps\" to Group \"tenants\""
    );
    maps.create(
        &PostParams::default(),
        &labelled_as("b", "deployer", "scaler"),
    )
    .await
    .expect("scaler may scale web");
    assert_eq!(
        api_error(
            maps.create(
                &PostParams::default(),
                &labelled_as("c", "deployer", "default")
            )
            .await
        ),
        (403, "Forbidden".to_owned())
    );
    assert_eq!(
        api_error(
            maps.create(&PostParams::default(), &labelled_as("d", "probe", "yes"))
                .await
        ),
        (403, "Forbidden".to_owned()),
        "no non-resource rule for alice"
    );

    rbac(
        "clusterroles",
        "ClusterRole",
        None,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "secret-keeper"},
            "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]},
                {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
            ],
        }),
    )
    .await;
    rbac("clusterrolebindings", "ClusterRoleBinding", None, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "alice-secrets"},
        "subjects": [{"kind": "User", "name": "alice"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-keeper"},
    }))
    .await;
    maps.create(
        &PostParams::default(),
        &labelled_as("a", "privileged", "yes"),
    )
    .await
    .expect("alice may delete secrets now");
    maps.create(&PostParams::default(), &labelled_as("d", "probe", "yes"))
        .await
        .expect("alice may get /healthz now");
}

/// A ConfigMap with one label.
fn labelled_as(name: &str, label: &str, value: &str) -> ConfigMap {
    config_map(name, &[(label, value)], "v1")
}
